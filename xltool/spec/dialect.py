"""Lint the schema's x- dialect: every problem named with its schema pointer.

A schema that passes this lint can be turned into a model, a template and a validator; a schema
that does not is refused (`xltool schemas --check FILE` prints the list, exit 2).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .kinds import KINDS as FIELD_KINDS
from .rules import CHECK_OPS, parse_check, refs_of

ROOT_KEYWORDS = {"x-name", "x-version", "x-years", "x-levels", "x-template", "x-layout", "x-rules"}
LEAF_KEYWORDS = {"x-label", "x-kind", "x-unit", "x-decimals", "x-identity"}
IDENTITY_ROLES = {"org_name", "org_code", "year"}
KINDS = {*FIELD_KINDS, "meta"}
RULE_KEYS = {"id", "title", "source", "severity", "derives", "levels", "for_each", "check", "message"}
SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")


@dataclass(frozen=True)
class Problem:
    pointer: str
    message: str


def _esc(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _walk(node: Any, ptr: str) -> Iterator[tuple[str, str, Any]]:
    """Yield (schema pointer, key, value) for every key of every dict in the document."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield ptr, k, v
            yield from _walk(v, f"{ptr}/{_esc(k)}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{ptr}/{i}")


def _fields(doc: dict[str, Any]) -> tuple[dict[str, str], list[Problem]]:
    """Data pointer -> schema pointer for every leaf; problems for leaves without x-kind/x-label."""
    out: dict[str, str] = {}
    problems: list[Problem] = []

    def visit(node: dict[str, Any], data_ptr: str, schema_ptr: str) -> None:
        for key, sub in node.get("properties", {}).items():
            sp = f"{schema_ptr}/properties/{_esc(key)}"
            dp = f"{data_ptr}/{key}"
            if not isinstance(sub, dict) or key.startswith("_"):
                continue
            if sub.get("type") == "object" and "properties" in sub:
                visit(sub, dp, sp)
                continue
            kind = sub.get("x-kind")
            if kind not in KINDS:
                problems.append(Problem(sp, f"field {dp} needs x-kind, one of {sorted(KINDS - {'meta'})}"))
                continue
            label = sub.get("x-label")
            if not (isinstance(label, list) and label and all(isinstance(s, str) and s for s in label)):
                problems.append(Problem(sp, f"field {dp} needs x-label: a non-empty list of label texts"))
                continue
            role = sub.get("x-identity")
            if role is not None:
                if role not in IDENTITY_ROLES:
                    problems.append(Problem(f"{sp}/x-identity", f"x-identity must be one of {sorted(IDENTITY_ROLES)}"))
                elif role in roles:
                    problems.append(
                        Problem(f"{sp}/x-identity", f"x-identity '{role}' is already given to {roles[role]}")
                    )
                else:
                    roles[role] = dp
            out[dp] = sp

    roles: dict[str, str] = {}
    visit(doc, "", "")
    return out, problems


def _lint_rules(doc: dict[str, Any], fields: dict[str, str]) -> list[Problem]:
    problems: list[Problem] = []
    levels = set(doc.get("x-levels", {}))
    seen: set[str] = set()
    for i, rule in enumerate(doc.get("x-rules", [])):
        rp = f"/x-rules/{i}"
        if not isinstance(rule, dict):
            problems.append(Problem(rp, "a rule must be an object"))
            continue
        for key in rule:
            if key not in RULE_KEYS:
                problems.append(Problem(f"{rp}/{_esc(key)}", f"unknown rule key '{key}'"))
        rid = rule.get("id")
        if not isinstance(rid, str) or not rid:
            problems.append(Problem(f"{rp}/id", "rule needs an id"))
            continue
        if rid in seen:
            problems.append(Problem(f"{rp}/id", f"duplicate rule id {rid}"))
        seen.add(rid)
        if rule.get("severity", "error") not in ("error", "warning"):
            problems.append(Problem(f"{rp}/severity", "severity must be error or warning"))
        for lv in rule.get("levels", []):
            if lv not in levels:
                problems.append(Problem(f"{rp}/levels", f"level '{lv}' is not declared in x-levels"))
        substs: list[dict[str, str]] = [{}]
        each = rule.get("for_each")
        if each is not None:
            if not (
                isinstance(each, dict) and isinstance(each.get("var"), str) and isinstance(each.get("items"), list)
            ):
                problems.append(Problem(f"{rp}/for_each", "for_each needs var and items"))
                continue
            bad = [
                j for j, it in enumerate(each["items"]) if not (isinstance(it, dict) and isinstance(it.get("key"), str))
            ]
            if bad:
                problems.append(Problem(f"{rp}/for_each/items/{bad[0]}", "each item needs a key"))
                continue
            substs = [{each["var"]: it["key"]} for it in each["items"]]
        check = rule.get("check")
        if not (isinstance(check, dict) and len(check) == 1 and next(iter(check)) in CHECK_OPS):
            problems.append(Problem(f"{rp}/check", f"check must be one of {list(CHECK_OPS)}"))
            continue
        for subst in substs:
            try:
                parsed = parse_check(check, subst)
            except (ValueError, KeyError, IndexError) as exc:
                problems.append(Problem(f"{rp}/check", f"cannot parse check: {exc}"))
                break
            missing = [p for p in refs_of(parsed) + refs_of(parsed, previous=True) if p not in fields]
            if missing:
                problems.append(Problem(f"{rp}/check", f"rule {rid} refers to missing field {missing[0]}"))
                break
            if rule.get("derives") and not (
                getattr(parsed, "op", None) == "eq" and type(getattr(parsed, "left", None)).__name__ == "Ref"
            ):
                problems.append(Problem(f"{rp}/derives", "a deriving rule must be eq with a single field on the left"))
                break
    return problems


def _lint_layout(doc: dict[str, Any], fields: dict[str, str], rule_ids: set[str]) -> list[Problem]:
    problems: list[Problem] = []
    lay = doc.get("x-layout")
    if lay is None:
        return [Problem("/x-layout", "x-layout is missing: the template needs to know where each field sits")]
    placed: dict[str, str] = {}
    names: set[str] = set()
    for si, sheet in enumerate(lay.get("sheets", [])):
        sp = f"/x-layout/sheets/{si}"
        name = sheet.get("name", "")
        if not name or len(name) > 31 or SHEET_NAME_BAD.search(name) or name in names:
            problems.append(
                Problem(f"{sp}/name", f"bad or duplicate sheet name '{name}' (1-31 characters, none of []:*?/\\)")
            )
        names.add(name)
        for bi, block in enumerate(sheet.get("blocks", [])):
            bp = f"{sp}/blocks/{bi}"
            if block.get("type") not in ("heading", "table"):
                problems.append(Problem(f"{bp}/type", "block type must be heading or table"))
                continue
            if block["type"] == "heading" and not block.get("text"):
                problems.append(Problem(f"{bp}/text", "a heading needs text"))
            for part in ("header", "body"):
                for ri, row in enumerate(block.get(part, [])):
                    for ci, cell in enumerate(row):
                        cp = f"{bp}/{part}/{ri}/{ci}"
                        if "field" in cell:
                            ptr = cell["field"]
                            if ptr not in fields:
                                problems.append(Problem(cp, f"layout refers to missing field {ptr}"))
                            elif ptr in placed:
                                problems.append(Problem(cp, f"field {ptr} is placed twice (first at {placed[ptr]})"))
                            else:
                                placed[ptr] = cp
                        elif not isinstance(cell.get("text"), str):
                            problems.append(Problem(cp, "a cell needs a field or a label text"))
            for ci, check in enumerate(block.get("checks", [])):
                if check.get("rule") not in rule_ids:
                    problems.append(Problem(f"{bp}/checks/{ci}", f"check refers to missing rule {check.get('rule')}"))
                if check.get("place", "below") not in ("below", "right"):
                    problems.append(Problem(f"{bp}/checks/{ci}/place", "place must be below or right"))
    for ptr, sp in fields.items():
        if ptr not in placed:
            problems.append(Problem(sp, f"field {ptr} has no cell in x-layout"))
    return problems


def lint(doc: dict[str, Any]) -> list[Problem]:
    """All dialect problems of a schema document (empty list: the schema is usable)."""
    problems: list[Problem] = []
    for ptr, key, _ in _walk(doc, ""):
        if not key.startswith("x-"):
            continue
        at_root = ptr == ""
        ok = key in ROOT_KEYWORDS if at_root else key in LEAF_KEYWORDS
        if not ok and not (ptr.startswith("/x-") or "/x-" in ptr):
            problems.append(Problem(f"{ptr}/{_esc(key)}", f"unknown extension keyword '{key}'"))
    fields, field_problems = _fields(doc)
    problems += field_problems
    if not fields:
        problems.append(Problem("/properties", "the schema defines no fields with x-kind"))
    problems += _lint_rules(doc, fields)
    rule_ids = {str(r["id"]) for r in doc.get("x-rules", []) if isinstance(r, dict) and r.get("id") is not None}
    problems += _lint_layout(doc, fields, rule_ids)
    return problems
