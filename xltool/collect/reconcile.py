"""Decide what every received file is, from what reading it gave, the roster and the archive.

A pure function of its inputs (no I/O): `reconcile` recomputes every submission row of a
collection (schema, year) each run, so a rerun after an interruption, a roster change or a newly
archived previous year reaches the same rows a clean run would, and the index only changes when
the outcome does.

States (one per distinct file; identical bytes under several names are one submission):
  accepted     read without errors, for a known organisation and this year; its current version
  superseded   accepted, but an organisation's newer version (file time, then arrival) is current
  duplicate    the same data as an archived version of the organisation (e.g. a re-saved copy)
  errors       read, but the data has errors: archived as received-with-errors, never accepted
  wrong_org    filled for another organisation than the template was issued to (ORG_MISMATCH)
  wrong_year   a template or report for another year
  unknown_org  the organisation is not on the roster
  wrong_format another schema or template layout (e.g. the 2019 format, an older xltool)
  rejected     not readable as a template: not a workbook, damaged, encrypted, worker crash, …
"""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..base.pointers import resolve as get
from ..check.issues import Issue, count, sort_issues
from ..check.validate import rule_issues
from ..spec.identity import norm_name, year_mismatch, year_of
from ..spec.layout import Layout
from ..spec.model import Model
from .archive import Archive, org_stem

STATES = (
    "accepted",
    "superseded",
    "duplicate",
    "errors",
    "wrong_org",
    "wrong_year",
    "unknown_org",
    "wrong_format",
    "rejected",
)
PROBLEMS = frozenset({"errors", "wrong_org", "wrong_year", "unknown_org", "wrong_format", "rejected"})
FEEDBACK_STATES = frozenset({"errors", "wrong_org", "wrong_year", "unknown_org"})
FORMAT_CODES = frozenset({"WRONG_SCHEMA", "WRONG_LAYOUT"})
#: Cross-year pairs are found by this naming convention (the dialect has no keyword for them yet):
#: this year's `…/carried_over/x` must equal last year's `…/carried_forward/x`.


def norm(text: Any) -> str:
    return norm_name(text)  # one answer: `spec.identity` decides when two names are the same


@dataclass(frozen=True)
class OrgRef:
    key: str  # the code, or "name:<name>" for an organisation without one
    name: str
    code: str
    level: str = ""
    row: int = 0  # roster row (0: not on a roster)


def org_key(name: str, code: str) -> str:
    return norm(code).upper() or f"name:{norm(name)}"


class Orgs:
    """Find an organisation by code, then by name; with no roster every named one is known."""

    def __init__(self, roster: list[OrgRef] | None) -> None:
        self.roster = roster
        self.by_code = {norm(o.code).upper(): o for o in roster or [] if o.code}
        self.by_name = {norm(o.name): o for o in roster or []}

    def find(self, name: Any, code: Any) -> OrgRef | None:
        name, code = norm(name), norm(code).upper()
        if code and code in self.by_code:
            return self.by_code[code]
        if name and name in self.by_name:
            return self.by_name[name]
        if self.roster is None and (name or code):
            return OrgRef(org_key(name, code), name, code)
        return None


@dataclass(frozen=True)
class Received:
    """One distinct content of a collection, with every name it was received under."""

    sha256: str
    paths: tuple[str, ...]
    size: int
    mtime: float
    arrived_at: str
    source_path: str | None

    def order(self) -> tuple[Any, ...]:
        """'Newer' = later file time, then later arrival (then path, for a total order)."""
        return (self.mtime, self.arrived_at, self.paths[0], self.sha256)


def _issue(
    code: str, severity: str, zh: str, en: str, layout: Layout | None, pointer: str | None = None, **kw: Any
) -> Issue:
    fc = layout.fields.get(pointer or "") if layout is not None else None
    where = {"sheet": fc.box.sheet, "cell": fc.box.a1} if fc is not None else {}
    return Issue(code, severity, zh, en, pointer=pointer, **where, **kw)  # type: ignore[arg-type]


def cross_year(model: Model, layout: Layout, this: dict[str, Any], prev_year: int, prev: dict[str, Any]) -> list[Issue]:
    """The schema's cross-year rules (e.g. 上年结转 = last year's 结转下年度继续办理), evaluated
    against the organisation's archived report of `prev_year`; issues are placed at their cells."""
    values = {f.pointer: get(this, f.pointer) for f in model.fields}
    out = []
    for issue in rule_issues(model, values, None, previous=prev):
        rule = model.rule(issue.code)
        if not rule.cross_year:
            continue
        fc = layout.fields.get(issue.pointer or "")
        where: dict[str, Any] = {"sheet": fc.box.sheet, "cell": fc.box.a1} if fc is not None else {}
        zh = f"{issue.message_zh}（上年度指{prev_year}年度已归档的报告）"
        en = f"{issue.message_en} (last year = the archived {prev_year} report)"
        out.append(dataclasses.replace(issue, message_zh=zh, message_en=en, **where))
    return out


def _loads(text: str | None, default: Any) -> Any:
    return default if not text else json.loads(text)


def _file_year(identity: dict[str, str], filled: dict[str, Any]) -> int | None:
    for value in (identity.get("year"), filled.get("year")):
        if year_of(value) is not None:
            return year_of(value)
    return None


@dataclass
class Context:
    schema: str
    year: int
    model: Model
    layout: Layout
    orgs: Orgs
    previous: list[tuple[str, str, dict[str, Any]]]  # (name, code, {pointer: value}) of year-1 currents
    report_of: Callable[[str], dict[str, Any]]


def _previous(ctx: Context, org: OrgRef) -> dict[str, Any] | None:
    code = norm(org.code).upper()
    for _name, pcode, report in ctx.previous:
        if code and norm(pcode).upper() == code:
            return report
    for name, _pcode, report in ctx.previous:
        if norm(name) == norm(org.name):
            return report
    return None


def _classify(
    ctx: Context, rec: Received, fact: dict[str, Any], row: dict[str, Any]
) -> tuple[str, OrgRef | None, list[Issue]]:
    """State (before versions), organisation and the collection's own issues of one submission."""
    if not fact["ok"]:
        return ("wrong_format" if fact["error_code"] in FORMAT_CODES else "rejected"), None, []
    ident, filled = _loads(fact["identity_json"], {}), _loads(fact["filled_json"], {})
    row.update(
        template_org_name=ident.get("org_name") or None,
        template_org_code=ident.get("org_code") or None,
        filled_org_name=norm(filled.get("org_name")) or None,
        filled_org_code=norm(filled.get("org_code")) or None,
    )
    codes = {i["code"] for i in _loads(fact["issues_json"], [])}
    tmpl = ctx.orgs.find(ident.get("org_name"), ident.get("org_code"))
    mine = ctx.orgs.find(filled.get("org_name"), filled.get("org_code"))
    year = _file_year(ident, filled)
    row["file_year"] = year
    if "ORG_MISMATCH" in codes:
        return "wrong_org", mine or tmpl, []
    has_identity = bool(ident.get("org_name") or ident.get("org_code"))
    org = tmpl if has_identity else mine
    if org is None:
        who = (
            ident.get("org_name")
            or filled.get("org_name")
            or ident.get("org_code")
            or filled.get("org_code")
            or "（未填写）"
        )
        row.update(org_name=norm(who), org_code=norm(ident.get("org_code") or filled.get("org_code")) or None)
        return (
            "unknown_org",
            None,
            [
                _issue(
                    "UNKNOWN_ORG",
                    "error",
                    f"填报单位「{who}」不在本次报送名单中，请核对单位名称或使用下发给本单位的模板",
                    f"the organisation '{who}' is not on the roster; check the name or use the template issued to you",
                    None,
                )
            ],
        )
    mismatch = year_mismatch(ctx.year, year)
    if mismatch is not None:
        return (
            "wrong_year",
            org,
            []
            if "YEAR_MISMATCH" in codes  # the reader already said it, with the template's year
            else [
                _issue(
                    "YEAR_MISMATCH",
                    "error",
                    *mismatch,
                    ctx.layout,
                    ctx.model.identity_fields.get("year"),
                    expected=ctx.year,
                    found=year,
                )
            ],
        )
    extra: list[Issue] = []
    prev = _previous(ctx, org)
    if prev is not None:
        extra = cross_year(ctx.model, ctx.layout, ctx.report_of(rec.sha256), ctx.year - 1, prev)
    return ("errors" if fact["errors"] else "accepted"), org, extra


def reconcile(
    ctx: Context,
    received: list[Received],
    facts: dict[str, dict[str, Any]],
    old: dict[str, dict[str, Any]],
    stems: dict[str, str],
    roster: list[OrgRef] | None,
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Every submission row of the collection, and the file stems newly assigned."""
    rows: dict[str, dict[str, Any]] = {}
    orgs: dict[str, OrgRef] = {o.key: o for o in roster or []}
    candidates: dict[str, list[Received]] = defaultdict(list)
    for rec in sorted(received, key=Received.order):
        fact = facts[rec.sha256]
        row: dict[str, Any] = dict.fromkeys(
            (
                "org_key",
                "org_name",
                "org_code",
                "level",
                "template_org_name",
                "template_org_code",
                "filled_org_name",
                "filled_org_code",
                "file_year",
                "version",
                "duplicate_of",
                "archive_path",
                "feedback_path",
            )
        )
        row.update(
            schema=ctx.schema,
            year=ctx.year,
            sha256=rec.sha256,
            path_in_inbox=rec.paths[0],
            file_name=rec.paths[0].rsplit("/", 1)[-1],
            copies=len(rec.paths),
            size=rec.size,
            file_mtime=rec.mtime,
            arrived_at=rec.arrived_at,
            read_at=fact["read_at"],
            error_code=fact["error_code"],
            message_zh=fact["message_zh"],
            message_en=fact["message_en"],
            data_sha256=fact["data_sha256"],
            json_sha256=fact["json_sha256"],
            source_path=rec.source_path,
            is_current=0,
        )
        state, org, extra = _classify(ctx, rec, fact, row)
        issues = [Issue(**i) for i in _loads(fact["issues_json"], [])] + extra
        errors, warnings = count(issues)
        row.update(
            state=state,
            errors=errors,
            warnings=warnings,
            issues_json=json.dumps(
                [i.as_dict() for i in sort_issues(issues, ctx.layout.sheet_names)], ensure_ascii=False, default=str
            ),
        )
        if org is not None:
            orgs.setdefault(org.key, org)
            row.update(org_key=org.key, org_name=org.name, org_code=org.code or None, level=org.level or None)
            if state == "accepted":
                candidates[org.key].append(rec)
        rows[rec.sha256] = row

    # file stems: roster order first, then others by key; fixed once assigned
    new_stems: dict[str, str] = {}
    taken = {s.lower() for s in stems.values()}
    for key, org in sorted(orgs.items(), key=lambda kv: (kv[1].row or 1 << 30, kv[0])):
        if key not in stems:
            new_stems[key] = org_stem(org.name, key, taken)
    stem = {**stems, **new_stems}

    # versions: one per distinct data; the newest is current, the others are history
    used: dict[str, list[int]] = defaultdict(list)  # version numbers ever given, per organisation
    for r in old.values():
        if r.get("org_key") and r.get("version"):
            used[r["org_key"]].append(r["version"])
    for key, recs in candidates.items():
        reps: dict[str, Received] = {}
        newest: dict[str, Received] = {}  # data hash -> its newest submission
        for rec in recs:  # oldest first; a data hash already versioned keeps that submission
            data = rows[rec.sha256]["data_sha256"]
            newest[data] = rec
            prior = reps.get(data)
            if prior is None or (
                not old.get(prior.sha256, {}).get("version") and old.get(rec.sha256, {}).get("version")
            ):
                reps[data] = rec
        next_version = max(used[key], default=0)
        for rec in sorted(reps.values(), key=Received.order):
            version = old.get(rec.sha256, {}).get("version") if old.get(rec.sha256, {}).get("org_key") == key else None
            if not version:
                next_version += 1
                version = next_version
            rows[rec.sha256]["version"] = version
        # current: the data sent last (a file reverting to an earlier version's data brings it back)
        current = reps[max(newest, key=lambda d: newest[d].order())]
        for rec in recs:
            row = rows[rec.sha256]
            rep = reps[row["data_sha256"]]
            if rep is not rec:
                row.update(state="duplicate", duplicate_of=rep.sha256)
            elif rec is current:
                row.update(is_current=1, archive_path=Archive.current_path(ctx.schema, ctx.year, stem[key]))
            else:
                row.update(
                    state="superseded",
                    archive_path=Archive.history_path(ctx.schema, ctx.year, stem[key], row["version"], rec.sha256),
                )

    for row in rows.values():
        if row["state"] in FEEDBACK_STATES and fact_kind(facts[row["sha256"]]) in ("xlsx", "xlsm"):
            name = stem.get(row["org_key"] or "") or org_stem(
                row["org_name"] or row["file_name"].rsplit(".", 1)[0], row["sha256"], set()
            )
            row["feedback_path"] = Archive.feedback_path(ctx.year, name, row["sha256"])
    return sorted(rows.values(), key=lambda r: r["sha256"]), new_stems


def fact_kind(fact: dict[str, Any]) -> str | None:
    return fact.get("kind")
