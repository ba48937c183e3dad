"""The rule tree: a small declarative language for consistency checks, defined once in the schema.

A rule in ``x-rules`` is a check expression, optionally repeated ``for_each`` item (a column, a row,
a block), with a severity and a message. The same tree is compiled twice: to Python by
`evaluate` (the authority) and to Excel formulas by `excel`. Rules marked ``derives`` also say how a
total is computed: the template writes the left-hand cell as a formula of the right-hand side.

Expressions (JSON):
    "/pointer/{var}"                  a field
    3, "text"                         a constant
    {"sum": [expr, ...]}              sum, blanks as 0
    {"len": expr}                     text length
    {"previous": "/pointer/{var}"}    the field in the same organisation's previous-year report
                                      (cross-year rules: checked when collecting into an archive
                                      that holds last year; skipped where there is no last year)
Checks:
    {"eq"|"le"|"ge"|"lt"|"gt": [expr, expr]}
    {"contains": [expr, "text"]}
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

COMPARE_OPS = ("eq", "le", "ge", "lt", "gt")
CHECK_OPS = COMPARE_OPS + ("contains",)
EXPR_OPS = ("sum", "len")


@dataclass(frozen=True)
class Ref:
    pointer: str


@dataclass(frozen=True)
class Const:
    value: int | float | str


@dataclass(frozen=True)
class Sum:
    items: tuple[Expr, ...]


@dataclass(frozen=True)
class Len:
    arg: Expr


@dataclass(frozen=True)
class Previous:
    pointer: str


Expr = Ref | Const | Sum | Len | Previous


@dataclass(frozen=True)
class Compare:
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Contains:
    arg: Expr
    text: str


Check = Compare | Contains


@dataclass(frozen=True)
class RuleInstance:
    """One repetition of a rule (e.g. R1 for the column 自然人)."""

    rule_id: str
    index: int
    key: str | None
    item_label: str | None
    check: Check

    @property
    def refs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(refs_of(self.check)))

    @property
    def previous_refs(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(refs_of(self.check, previous=True)))

    @property
    def anchor(self) -> str:
        """The field that best represents the instance: first pointer of the left-hand side."""
        return self.refs[0]

    @property
    def label(self) -> str:
        return f"{self.rule_id}[{self.key}]" if self.key else self.rule_id


@dataclass(frozen=True)
class Rule:
    id: str
    title_zh: str
    title_en: str
    source: str
    severity: str
    derives: bool
    levels: tuple[str, ...]
    message_zh: str
    message_en: str
    instances: tuple[RuleInstance, ...]

    @functools.cached_property
    def cross_year(self) -> bool:
        """Reads last year's report: evaluable only where an archive holds it, never in a workbook."""
        return any(inst.previous_refs for inst in self.instances)


def parse_expr(node: Any, subst: dict[str, str]) -> Expr:
    if isinstance(node, str):
        if node.startswith("/"):
            return Ref(node.format(**subst) if subst else node)
        return Const(node)
    if isinstance(node, bool):
        raise ValueError("booleans are not expressions")
    if isinstance(node, (int, float)):
        return Const(node)
    if isinstance(node, dict) and len(node) == 1:
        op, arg = next(iter(node.items()))
        if op == "sum" and isinstance(arg, list):
            return Sum(tuple(parse_expr(a, subst) for a in arg))
        if op == "len":
            return Len(parse_expr(arg, subst))
        if op == "previous" and isinstance(arg, str) and arg.startswith("/"):
            return Previous(arg.format(**subst) if subst else arg)
    raise ValueError(f"not an expression: {node!r}")


def parse_check(node: Any, subst: dict[str, str]) -> Check:
    if isinstance(node, dict) and len(node) == 1:
        op, arg = next(iter(node.items()))
        if op in COMPARE_OPS and isinstance(arg, list) and len(arg) == 2:
            return Compare(op, parse_expr(arg[0], subst), parse_expr(arg[1], subst))
        if op == "contains" and isinstance(arg, list) and len(arg) == 2 and isinstance(arg[1], str):
            return Contains(parse_expr(arg[0], subst), arg[1])
    raise ValueError(f"not a check: {node!r}")


_REFS: dict[tuple[int, bool], tuple[Any, list[str]]] = {}  # id(node) -> (node kept alive, refs)
_INPUTS: dict[tuple[int, tuple[str, ...]], tuple[Any, list[str]]] = {}


def refs_of(node: Check | Expr, *, previous: bool = False) -> list[str]:
    """Fields a check or expression reads: this year's, or (previous=True) last year's.

    Memoised per node object: rules are immutable and every read walks the same ones."""
    hit = _REFS.get((id(node), previous))
    if hit is None or hit[0] is not node:
        hit = _REFS[(id(node), previous)] = (node, _refs(node, previous))
    return list(hit[1])


def _refs(node: Check | Expr, previous: bool) -> list[str]:
    if isinstance(node, Ref):
        return [] if previous else [node.pointer]
    if isinstance(node, Previous):
        return [node.pointer] if previous else []
    if isinstance(node, Const):
        return []
    if isinstance(node, Sum):
        return [p for item in node.items for p in refs_of(item, previous=previous)]
    if isinstance(node, Len):
        return refs_of(node.arg, previous=previous)
    if isinstance(node, Compare):
        return refs_of(node.left, previous=previous) + refs_of(node.right, previous=previous)
    if isinstance(node, Contains):
        return refs_of(node.arg, previous=previous)
    raise TypeError(node)


def parse_rule(doc: dict[str, Any]) -> Rule:
    """Expand one ``x-rules`` entry into a Rule with its instances (doc already linted)."""
    title = doc.get("title", {})
    message = doc.get("message", {})
    each = doc.get("for_each")
    instances: list[RuleInstance] = []
    if each:
        var = each["var"]
        for i, item in enumerate(each["items"]):
            subst = {var: item["key"]}
            instances.append(
                RuleInstance(doc["id"], i, item["key"], item.get("label"), parse_check(doc["check"], subst))
            )
    else:
        instances.append(RuleInstance(doc["id"], 0, None, None, parse_check(doc["check"], {})))
    return Rule(
        id=doc["id"],
        title_zh=title.get("zh", doc["id"]),
        title_en=title.get("en", doc["id"]),
        source=doc.get("source", "table"),
        severity=doc.get("severity", "error"),
        derives=bool(doc.get("derives", False)),
        levels=tuple(doc.get("levels", ())),
        message_zh=message.get("zh", ""),
        message_en=message.get("en", ""),
        instances=tuple(instances),
    )


def derivations(rules: tuple[Rule, ...]) -> dict[str, Expr]:
    """Derived field -> the expression that computes it, from rules marked ``derives``.

    The left side of a deriving rule must be a single field; the first rule that derives a field
    wins, later ones stay pure checks (e.g. the corner cell （七）总计/总计 is derived by its row sum,
    and its column sum is still checked).
    """
    out: dict[str, Expr] = {}
    for rule in rules:
        if not rule.derives:
            continue
        for inst in rule.instances:
            check = inst.check
            if isinstance(check, Compare) and check.op == "eq" and isinstance(check.left, Ref):
                out.setdefault(check.left.pointer, check.right)
    return out


def derivation_order(derived: dict[str, Expr]) -> list[str]:
    """Derived fields ordered so that every field comes after the derived fields it uses."""
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(p: str) -> None:
        if state.get(p) == 2:
            return
        if state.get(p) == 1:
            raise ValueError(f"derivation cycle at {p}")
        state[p] = 1
        for q in refs_of(derived[p]):
            if q in derived:
                visit(q)
        state[p] = 2
        order.append(p)

    for p in derived:
        visit(p)
    return order


def input_refs(pointers: list[str] | tuple[str, ...], derived: Mapping[str, Expr]) -> list[str]:
    """Expand derived fields to the input fields they are computed from (deduplicated, in order).

    Memoised per (derived map object, pointers): a model's map is built once and never changed."""
    key = (id(derived), tuple(pointers))
    hit = _INPUTS.get(key)
    if hit is None or hit[0] is not derived:
        hit = _INPUTS[key] = (derived, _input_refs(key[1], derived))
    return list(hit[1])


def _input_refs(pointers: tuple[str, ...], derived: Mapping[str, Expr]) -> list[str]:
    out: dict[str, None] = {}

    def walk(p: str) -> None:
        if p in derived:
            for q in refs_of(derived[p]):
                walk(q)
        else:
            out.setdefault(p, None)

    for p in pointers:
        walk(p)
    return list(out)
