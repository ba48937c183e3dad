"""Filled reports built on purpose for the rule agreement test: consistent ones (every rule instance
passes) and single violations (one chosen instance fails).

Random values almost never satisfy an equality such as R1 (一+二 = （七）总计+四), so a random fill sees
R1 fail and never pass. Here a report is first drawn at random and then *settled*: each rule
instance is made to pass by adjusting one of its own input fields, read from the rule tree (no
field of the report is named here). A violation then changes exactly one thing for one instance:
a total typed over its formula, one input off by k, one text too long or missing its word.

A case is {"inputs": pointer -> value, "overrides": derived pointer -> value typed over its formula}.
"""

from __future__ import annotations

import random
from typing import Any

from xltool.check.evaluate import FAIL, PASS, derive, evaluate_instance
from xltool.spec.model import Model
from xltool.spec.rules import Compare, Const, Contains, Expr, Len, Ref, RuleInstance, Sum

TEXTS = ["本年度工作正常开展。", "第一段\n第二段", "无其他需要报告的事项。", "字" * 300]
Case = dict[str, dict[str, Any]]


def _direct_inputs(expr: Expr, derived: dict[str, Expr]) -> list[str]:
    """Input fields an expression adds up directly (not through a derived total)."""
    items = expr.items if isinstance(expr, Sum) else (expr,)
    return [i.pointer for i in items if isinstance(i, Ref) and i.pointer not in derived]


def _value(expr: Expr, values: dict[str, Any]) -> Any:
    if isinstance(expr, Ref):
        return values.get(expr.pointer) or 0
    if isinstance(expr, Const):
        return expr.value
    if isinstance(expr, Sum):
        return sum(_value(i, values) for i in expr.items)
    raise TypeError(expr)


def random_inputs(model: Model, rng: random.Random, blanks: float = 0.0) -> dict[str, Any]:
    """Every input field drawn at random (a share `blanks` left empty); identity fields stay empty."""
    identity = set(model.identity_fields.values())
    out: dict[str, Any] = {}
    for f in model.fields:
        if f.pointer in model.derived or f.pointer in identity:
            continue
        if rng.random() < blanks:
            out[f.pointer] = None
        elif f.kind in ("count", "signed_count"):
            out[f.pointer] = rng.randint(0, 40)
        elif f.kind == "amount":
            out[f.pointer] = rng.randint(0, 10**6) / 10**4
        elif f.kind == "integer":
            out[f.pointer] = rng.randint(2019, 2030)
        else:
            out[f.pointer] = rng.choice(TEXTS)
    return out


def _settle_instance(model: Model, inst: RuleInstance, values: dict[str, Any], level: str) -> bool:
    """Change one input of `values` so that the instance passes; False if it passes already or
    cannot be settled through its own inputs (a check of totals only holds once its parts do)."""
    rule = model.rule(inst.rule_id)
    full = derive(model, values)
    if evaluate_instance(rule, inst, full, level=level, derived=model.derived).state != FAIL:
        return False
    check = inst.check
    if isinstance(check, Contains) and isinstance(check.arg, Ref):
        values[check.arg.pointer] = f"本年度未收取{check.text}。"
        return True
    if isinstance(check, Compare) and check.op == "le" and isinstance(check.right, Const):
        if isinstance(check.left, Len) and isinstance(check.left.arg, Ref):
            values[check.left.arg.pointer] = "本年度工作正常开展。"
            return True
        for p in _direct_inputs(check.left, model.derived):
            values[p] = 0
        return True
    if isinstance(check, Compare) and check.op == "eq":
        diff = _value(check.left, full) - _value(check.right, full)
        side = check.right if diff > 0 else check.left
        free = _direct_inputs(side, model.derived)
        if free:
            values[free[0]] = (values.get(free[0]) or 0) + abs(diff)
            return True
        return False
    raise AssertionError(f"no way to settle {inst.label}: {check}")


def consistent(model: Model, rng: random.Random, *, blanks: float = 0.0, level: str = "township") -> Case:
    """A report on which every rule instance (cross-year ones aside) passes, or is blank."""
    values = random_inputs(model, rng, blanks)
    for _ in range(4):
        changed = [
            _settle_instance(model, inst, values, level)
            for rule in model.rules
            if not rule.cross_year
            for inst in rule.instances
        ]
        if not any(changed):
            break
    full = derive(model, values)
    for rule in model.rules:
        for inst in rule.instances:
            state = evaluate_instance(rule, inst, full, level=level, derived=model.derived).state
            assert state != FAIL, f"could not settle {inst.label}"
    return {"inputs": values, "overrides": {}}


def violate(model: Model, base: Case, inst: RuleInstance, k: int, *, level: str = "township") -> Case:
    """`base` with one change that makes `inst` fail (checked with the evaluator)."""
    rule = model.rule(inst.rule_id)
    values, overrides = dict(base["inputs"]), dict(base["overrides"])
    full = derive(model, values, keep=set(overrides))
    check = inst.check
    if isinstance(check, Contains) and isinstance(check.arg, Ref):
        values[check.arg.pointer] = "无其他需要报告的事项。"
    elif isinstance(check, Compare) and isinstance(check.left, Len) and isinstance(check.left.arg, Ref):
        assert isinstance(check.right, Const) and isinstance(check.right.value, int)
        values[check.left.arg.pointer] = "字" * (check.right.value + k)
    elif isinstance(check, Compare) and check.op == "le" and isinstance(check.right, Const):
        p = _direct_inputs(check.left, model.derived)[0]
        values[p] = (values.get(p) or 0) + int(check.right.value) + k
    elif isinstance(check, Compare) and check.op == "eq":
        free = _direct_inputs(check.left, model.derived)
        if isinstance(check.left, Ref) and check.left.pointer in model.derived:
            overrides[check.left.pointer] = (full[check.left.pointer] or 0) + k  # a total typed over
        elif free:
            values[free[0]] = (values.get(free[0]) or 0) + k
        else:  # only totals on the left: type over the first one
            first = next(i for i in (check.left.items if isinstance(check.left, Sum) else ()) if isinstance(i, Ref))
            overrides[first.pointer] = (full[first.pointer] or 0) + k
    else:
        raise AssertionError(f"no way to violate {inst.label}: {check}")
    case = {"inputs": values, "overrides": overrides}
    after = derive(model, values, keep=set(overrides))
    assert evaluate_instance(rule, inst, after, level=level, derived=model.derived).state == FAIL, inst.label
    return case


def passes_everywhere(model: Model, case: Case, level: str = "township") -> bool:
    full = derive(model, case["inputs"], keep=set(case["overrides"]))
    return all(
        evaluate_instance(r, i, full, level=level, derived=model.derived).state == PASS
        for r in model.rules
        if not r.cross_year and (not r.levels or level in r.levels)
        for i in r.instances
    )
