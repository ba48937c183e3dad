"""The rule tree compiled to Python: the authority on every check.

Values are a flat mapping pointer -> value (None for a blank). An instance whose input cells are
all blank is 'blank' (nothing typed yet: no ✗ shown), exactly as the template's check cells do; a
rule limited to organisation levels is 'skipped' when the level is unknown or not listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..base.pointers import parts, resolve
from ..spec.model import Model
from ..spec.rules import (
    Compare,
    Const,
    Contains,
    Expr,
    Len,
    Previous,
    Ref,
    Rule,
    RuleInstance,
    Sum,
    input_refs,
    refs_of,
)
from .compiled_expr import Compiled, compile_expr

PASS, FAIL, BLANK, SKIPPED = "pass", "fail", "blank", "skipped"


@dataclass(frozen=True)
class Outcome:
    rule: Rule
    instance: RuleInstance
    state: str
    left: Any = None
    right: Any = None

    @property
    def failed(self) -> bool:
        return self.state == FAIL


def _num(v: Any) -> Any:
    return 0 if v is None else v


def eval_expr(expr: Expr, values: Mapping[str, Any], previous: Mapping[str, Any] | None = None) -> Any:
    if isinstance(expr, Ref):
        return values.get(expr.pointer)
    if isinstance(expr, Previous):
        return (previous or {}).get(expr.pointer)
    if isinstance(expr, Const):
        return expr.value
    if isinstance(expr, Sum):
        total: Any = 0
        for item in expr.items:
            v = eval_expr(item, values, previous)
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                v = 0  # text and blanks count as 0, as Excel's SUM does
            total += v
        return total
    if isinstance(expr, Len):
        v = eval_expr(expr.arg, values, previous)
        return len(v) if isinstance(v, str) else len(str(_num(v))) if v is not None else 0
    raise TypeError(expr)


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
    return a == b


def _compare(op: str, a: Any, b: Any) -> bool:
    a, b = _num(a), _num(b)
    if op == "eq":
        return _equal(a, b)
    if op == "le":
        return a <= b or _equal(a, b)
    if op == "ge":
        return a >= b or _equal(a, b)
    if op == "lt":
        return a < b and not _equal(a, b)
    if op == "gt":
        return a > b and not _equal(a, b)
    raise ValueError(op)


def evaluate_instance(
    rule: Rule,
    inst: RuleInstance,
    values: Mapping[str, Any],
    *,
    level: str | None = None,
    derived: Mapping[str, Expr] | None = None,
    previous: Mapping[str, Any] | None = None,
) -> Outcome:
    """Evaluate one rule instance. `derived` names the fields computed from others (their inputs,
    not the derived cells, decide whether the instance is blank); `previous` is last year's report
    (flat), for cross-year rules — skipped without it."""
    if rule.levels and level not in rule.levels:
        return Outcome(rule, inst, SKIPPED)
    if inst.previous_refs and (previous is None or all(previous.get(p) is None for p in inst.previous_refs)):
        return Outcome(rule, inst, SKIPPED)
    inputs = input_refs(refs_of(inst.check), derived or {})
    if all(values.get(p) in (None, "") for p in inputs):
        return Outcome(rule, inst, BLANK)
    check = inst.check
    if isinstance(check, Compare):
        left, right = eval_expr(check.left, values, previous), eval_expr(check.right, values, previous)
        ok = _compare(check.op, left, right)
        return Outcome(rule, inst, PASS if ok else FAIL, _num(left), _num(right))
    if isinstance(check, Contains):
        v = eval_expr(check.arg, values, previous)
        ok = isinstance(v, str) and check.text in v
        return Outcome(rule, inst, PASS if ok else FAIL, v, check.text)
    raise TypeError(check)


def evaluate(
    model: Model,
    values: Mapping[str, Any],
    *,
    level: str | None = None,
    derived: Mapping[str, Expr] | None = None,
    previous: Mapping[str, Any] | None = None,
) -> list[Outcome]:
    """Every rule instance; with no `derived` or the model's own, through the plan compiled once per
    model (`_rule_plan`), which gives what `evaluate_instance` gives."""
    plan = _rule_plan(model, bool(derived)) if not derived or derived is model.derived else None
    if plan is None:
        return [
            evaluate_instance(rule, inst, values, level=level, derived=derived, previous=previous)
            for rule in model.rules
            for inst in rule.instances
        ]
    return [_run(step, values, level, previous) for step in plan]


@dataclass(frozen=True)
class _Step:
    """One rule instance with what `evaluate_instance` works out from the rule tree, done once."""

    rule: Rule
    inst: RuleInstance
    previous_refs: tuple[str, ...]
    inputs: tuple[str, ...]
    op: str  # a comparison's operator; "" for Contains
    left: Compiled  # a comparison's left side, or the argument of Contains
    right: Compiled | None
    text: str


def _rule_plan(model: Model, expand: bool) -> tuple[_Step, ...] | None:
    """Steps in `evaluate` order; `expand` as `derived=model.derived`, else as `derived=None`. None
    (use `evaluate_instance`) when a check is of a type compiled here does not know."""

    def make() -> tuple[_Step, ...] | None:
        derived = model.derived if expand else {}
        steps = []
        for rule in model.rules:
            for inst in rule.instances:
                check = inst.check
                inputs = tuple(input_refs(refs_of(check), derived))
                if isinstance(check, Compare):
                    left, right = compile_expr(check.left), compile_expr(check.right)
                    steps.append(_Step(rule, inst, inst.previous_refs, inputs, check.op, left, right, ""))
                elif isinstance(check, Contains):
                    arg = compile_expr(check.arg)
                    steps.append(_Step(rule, inst, inst.previous_refs, inputs, "", arg, None, check.text))
                else:
                    return None
        return tuple(steps)

    plan: tuple[_Step, ...] | None = model._cached(f"rule_plan:{expand}", make)
    return plan


def _run(s: _Step, values: Mapping[str, Any], level: str | None, previous: Mapping[str, Any] | None) -> Outcome:
    """`evaluate_instance` for a compiled step, check by check in the same order."""
    rule, inst = s.rule, s.inst
    if rule.levels and level not in rule.levels:
        return Outcome(rule, inst, SKIPPED)
    if s.previous_refs and (previous is None or all(previous.get(p) is None for p in s.previous_refs)):
        return Outcome(rule, inst, SKIPPED)
    if all(values.get(p) in (None, "") for p in s.inputs):
        return Outcome(rule, inst, BLANK)
    if s.right is not None:
        left, right = s.left(values, previous), s.right(values, previous)
        ok = _compare(s.op, left, right)
        return Outcome(rule, inst, PASS if ok else FAIL, _num(left), _num(right))
    v = s.left(values, previous)
    ok = isinstance(v, str) and s.text in v
    return Outcome(rule, inst, PASS if ok else FAIL, v, s.text)


def derive(model: Model, values: Mapping[str, Any], keep: frozenset[str] | set[str] = frozenset()) -> dict[str, Any]:
    """Fill every derived total from its inputs (None when all its inputs are blank).

    Pointers in `keep` are left as given (a total typed over its formula): totals computed from
    them use the given value, as the spreadsheet does. Expressions are compiled once per model."""
    out = dict(values)
    get = out.get
    for ptr, inputs, compute in _derive_plan(model):
        if ptr in keep:
            continue
        for p in inputs:
            if get(p) is not None:
                out[ptr] = compute(out, None)
                break
        else:
            out[ptr] = None
    return out


def _derive_plan(model: Model) -> tuple[tuple[str, tuple[str, ...], Compiled], ...]:
    def make() -> tuple[tuple[str, tuple[str, ...], Compiled], ...]:
        derived = model.derived
        return tuple(
            (p, tuple(input_refs(refs_of(derived[p]), derived)), compile_expr(derived[p])) for p in model.derived_order
        )

    plan: tuple[tuple[str, tuple[str, ...], Compiled], ...] = model._cached("derive_plan", make)
    return plan


def flatten(model: Model, report: Mapping[str, Any]) -> dict[str, Any]:
    """Report JSON -> pointer -> value (None where a field is missing)."""
    return {f.pointer: resolve(report, f.pointer) for f in model.fields}


def pick(report: Mapping[str, Any], pointers: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Selected pointers of a report of any schema (e.g. last year's, in an older format)."""
    return {p: resolve(report, p) for p in pointers}


def previous_pointers(model: Model) -> list[str]:
    """Every field of last year's report that a cross-year rule reads."""
    return list(dict.fromkeys(p for r in model.rules for i in r.instances for p in i.previous_refs))


def unflatten(model: Model, values: Mapping[str, Any]) -> dict[str, Any]:
    """pointer -> value back to nested report JSON, in schema field order (`put` on each pointer,
    its parts split once per model)."""
    root: dict[str, Any] = {}
    paths = model._cached("pointer_parts", lambda: tuple((f.pointer, *_split(f.pointer)) for f in model.fields))
    for pointer, path, last in paths:
        if pointer in values:
            node = root
            for part in path:
                node = node.setdefault(part, {})
            node[last] = values[pointer]
    return root


def _split(pointer: str) -> tuple[tuple[str, ...], str]:
    *path, last = parts(pointer)
    return tuple(path), last
