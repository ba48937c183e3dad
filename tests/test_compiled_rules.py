"""The per-model plans give exactly what the readable definitions give.

`evaluate`/`derive` (rule trees compiled once per model) against `evaluate_instance`/`eval_expr` on
the tree, and each field's coercer (`read/value_plan.py`) against `coerce.coerce`, on generated
values of every type a cell or a report can hold: ints around the bounds and 2^53, floats with
-0.0 and NaN, Decimals, bools, text, blanks, formulas and forged values.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from xltool.base.pointers import put
from xltool.check.compiled_expr import compile_expr
from xltool.check.evaluate import _rule_plan, _run, derive, eval_expr, evaluate, evaluate_instance, unflatten
from xltool.read.cells import RawCell
from xltool.read.coerce import MAX_EXACT, coerce
from xltool.read.scan import ForgedValue
from xltool.read.value_plan import coercer
from xltool.spec.model import Model, load_model
from xltool.spec.rules import input_refs, refs_of

MODELS = ["annual-report-2021", "annual-report-2019"]
NUMBER = st.one_of(
    st.none(),
    st.just(""),
    st.booleans(),
    st.integers(-3, 1500),
    st.sampled_from([0.0, -0.0, 0.1, 0.2, 1e16, float("nan"), float("inf"), 2**53, 2**53 + 1, -(2**53) - 1]),
    st.floats(-1e6, 1e6, allow_nan=False),
)
TEXT = st.one_of(st.none(), st.just(""), st.text(max_size=4), st.sampled_from(["不收费", "x" * 1001]))


def _same(a: Any, b: Any) -> bool:
    """Equal, including the type, the sign of zero and NaN."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    return type(a) is type(b) and a == b


def _reference_derive(model: Model, values: dict[str, Any], keep: frozenset[str]) -> dict[str, Any]:
    out = dict(values)
    for ptr in model.derived_order:
        if ptr in keep:
            continue
        expr = model.derived[ptr]
        inputs = input_refs(refs_of(expr), model.derived)
        out[ptr] = None if all(out.get(p) is None for p in inputs) else eval_expr(expr, out)
    return out


@pytest.mark.parametrize("name", MODELS)
@settings(max_examples=60, deadline=None, derandomize=True, database=None, phases=[Phase.explicit, Phase.generate])
@given(data=st.data())
def test_plans_match_the_tree(name: str, data: st.DataObject) -> None:
    model = load_model(name)
    pointers = [f.pointer for f in model.fields]
    kinds = [NUMBER if f.numeric else TEXT for f in model.fields]
    values = dict(zip(pointers, data.draw(st.tuples(*kinds)), strict=True))
    previous = data.draw(st.one_of(st.none(), st.fixed_dictionaries(dict(zip(pointers[:40], kinds[:40], strict=True)))))
    level = data.draw(st.sampled_from([None, "township", "county", "city"]))
    keep = frozenset(data.draw(st.lists(st.sampled_from(list(model.derived) or pointers), max_size=3)))

    nested: dict[str, Any] = {}
    for p in pointers:
        put(nested, p, values[p])
    assert json.dumps(unflatten(model, values)) == json.dumps(nested)  # same keys, same order

    fast, slow = derive(model, values, keep), _reference_derive(model, values, keep)
    assert list(fast) == list(slow) and all(_same(fast[p], slow[p]) for p in slow)

    pairs = [(r, i) for r in model.rules for i in r.instances]
    for derived in (model.derived, None):
        plan = _rule_plan(model, bool(derived))
        assert plan is not None and [(s.rule, s.inst) for s in plan] == pairs
        for step, (rule, inst) in zip(plan, pairs, strict=True):
            try:
                want = evaluate_instance(rule, inst, values, level=level, derived=derived, previous=previous)
            except TypeError:  # text compared with a number: the plan raises as well
                with pytest.raises(TypeError):
                    _run(step, values, level, previous)
                continue
            got = _run(step, values, level, previous)
            assert (got.rule, got.instance, got.state) == (want.rule, want.instance, want.state)
            assert _same(got.left, want.left) and _same(got.right, want.right)
    clean = {p: (0 if v == "" and f.numeric else v) for (p, v), f in zip(values.items(), model.fields, strict=True)}
    try:
        want_all = [evaluate_instance(r, i, clean, level=level, derived=model.derived) for r, i in pairs]
    except TypeError:
        return
    got_all = evaluate(model, clean, level=level, derived=model.derived)
    assert [(o.rule, o.instance, o.state) for o in got_all] == [(o.rule, o.instance, o.state) for o in want_all]


@pytest.mark.parametrize("name", MODELS)
def test_every_expression_compiles_to_the_same_value(name: str) -> None:
    model = load_model(name)
    exprs = list(model.derived.values())
    exprs += [e for r in model.rules for i in r.instances for e in vars(i.check).values() if hasattr(e, "__dict__")]
    assert len(exprs) > 50
    samples = [{}, {p: -0.0 for p in model.by_pointer}, {p: 0.1 for p in model.by_pointer}]
    samples += [{p: v for p in model.by_pointer} for v in (1, True, "abc", None, float("nan"), 2**60)]
    for expr in exprs:
        fn = compile_expr(expr)
        for values in samples:
            try:
                want = eval_expr(expr, values, values)
            except TypeError:
                with pytest.raises(TypeError):
                    fn(values, values)
                continue
            assert _same(fn(values, values), want), expr


RAW = st.one_of(
    st.builds(RawCell, st.integers(-(2**54), 2**54)),
    st.builds(RawCell, st.sampled_from([0, -1, 1, 2**53, 2**53 + 1, -(2**53), -(2**53) - 1, 1900, 2100, 2101])),
    st.builds(RawCell, st.sampled_from([None, "", " ", "12", "１２", "1,234", "abc", True, False, Decimal("1.5")])),
    st.builds(RawCell, st.floats(allow_nan=True, allow_infinity=True)),
    st.builds(RawCell, st.sampled_from([dt.date(2024, 1, 1), ForgedValue("12")])),
    st.builds(RawCell, st.integers(0, 100), st.sampled_from(["1+1", "SUM(A1:A2)", "12"])),
    st.sampled_from([RawCell(), RawCell(None, None, 12), RawCell(None, "SUM(A1:A2)", 3), RawCell("\t")]),
)


@pytest.mark.parametrize("name", MODELS)
@pytest.mark.parametrize("strict", [False, True])
@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(raw=RAW, index=st.integers(0, 10_000))
def test_coercer_is_coerce(name: str, strict: bool, raw: RawCell, index: int) -> None:
    model = load_model(name)
    f = model.fields[index % len(model.fields)]
    got, want = coercer(f, strict)(raw), coerce(raw, f, strict=strict)
    assert _same(got.value, want.value) or got.value == want.value is None
    assert got.problems == want.problems


@pytest.mark.parametrize("name", MODELS)
def test_coercer_at_every_fields_bounds(name: str) -> None:
    model = load_model(name)
    for f in model.fields:
        edges = {0, -1, 1, MAX_EXACT, MAX_EXACT + 1, -MAX_EXACT, -MAX_EXACT - 1}
        edges |= {int(b) + d for b in (f.minimum, f.maximum) if b is not None for d in (-1, 0, 1)}
        for v in sorted(edges):
            got, want = coercer(f, False)(RawCell(v)), coerce(RawCell(v), f, strict=False)
            assert (type(got.value), got.value, got.problems) == (type(want.value), want.value, want.problems), v
