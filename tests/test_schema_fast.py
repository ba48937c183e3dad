"""The compiled validity check (`check/schema_fast.py`) gives jsonschema's verdict, never a kinder one,
and the schema it prunes for an invalid instance gives jsonschema's errors in jsonschema's order.

Compared with `Draft202012Validator.is_valid` on: every distinct leaf of both built-in schemas with a
pool of edge values (bool vs integer, Decimal, big integers, NaN/inf, code points beyond the BMP,
full-width digits against a pattern, a trailing newline against `$`); whole reports of both schemas
with generated edits (values replaced, keys removed and added); and generated small schemas with
generated instances, including keywords the compiler does not know (it must then refuse to compile).
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator, Draft202012Validator, FormatChecker

from xltool.check.report_json import load_report
from xltool.check.schema_fast import compile_check
from xltool.check.validate import schema_issues
from xltool.spec.model import load_model

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = {"annual-report-2021": "synthetic-2021.json", "annual-report-2019": "hucun-2020.json"}

EDGE: list[Any] = [
    *(0, 1, -1, 2**53, 2**53 + 1, -(2**53) - 1, 2**64, -(2**70), 10**400, 1900, 2100, 2101, 1899),
    *(0.0, -0.0, 1.0, 1.5, -0.5, 2100.0, 2100.5, 1e300, -1e-300, float("nan"), float("inf"), float("-inf")),
    *(Decimal("0"), Decimal("-0.0001"), Decimal("1E+400"), Decimal("2100.0000001"), Decimal("NaN")),
    *(True, False, None, [], [1], {}, {"a": 1}),
    *("", "a", "0", "12", "１２", "A" * 18, "1" * 18, "1" * 17, "1" * 18 + "\n", "a" * 18 + "\n", "ａ" * 18),
    *("𠀀" * 200, "𠀀" * 201, "x" * 200, "x" * 201, "x" * 32767, "x" * 32768, "\u0660" * 18),
]


def _leaves(node: Any) -> list[dict[str, Any]]:
    props = node.get("properties") if isinstance(node, dict) else None
    if not isinstance(props, dict):
        return [node]
    return [leaf for sub in props.values() for leaf in _leaves(sub)]


def _agree(schema: Any, instance: Any) -> None:
    """Same verdict. Where the check raises or says no, schema_issues asks jsonschema, so there jsonschema
    may raise as it always did; a yes must be jsonschema's yes."""
    validator = Draft202012Validator(schema)
    check = compile_check(validator)
    if check is None:
        return
    try:
        fast = check(instance)
    except Exception as exc:
        with pytest.raises(type(exc)):
            validator.is_valid(instance)
        return
    try:
        valid = not list(validator.iter_errors(instance))  # all errors, as schema_issues asks for
    except Exception:  # jsonschema raises where the check said no: the caller runs jsonschema, which raises
        assert fast is False, (schema, instance)
        return
    assert fast == valid, (schema, instance)
    if not valid:
        pruned = Draft202012Validator(check.prune(schema, instance))
        assert _errors(pruned, instance) == _errors(validator, instance), (schema, instance)


def _errors(validator: Draft202012Validator, instance: Any) -> list[tuple[Any, ...]]:
    """Everything schema_issues reads of each error, in order."""
    return [
        (e.message, list(e.absolute_path), e.validator, repr(e.validator_value), repr(e.instance), _keys(e.schema))
        for e in validator.iter_errors(instance)
    ]


def _keys(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return schema
    return [list(schema), list(schema.get("properties", {})), list(schema.get("patternProperties", {}))]


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_builtin_schemas_compile(name: str) -> None:
    model = load_model(name)
    assert compile_check(Draft202012Validator(model.json_schema)) is not None


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_leaf_with_edge_values(name: str) -> None:
    model = load_model(name)
    distinct = {json.dumps(leaf, sort_keys=True): leaf for leaf in _leaves(model.json_schema)}
    assert len(distinct) > 5
    for leaf in distinct.values():
        assert compile_check(Draft202012Validator(leaf)) is not None, leaf
        for value in EDGE:
            _agree(leaf, value)


def _sample(name: str) -> dict[str, Any]:
    return load_report(ROOT / "samples" / SAMPLES[name])


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_valid_sample_takes_the_fast_path_and_stays_valid(name: str) -> None:
    model = load_model(name)
    report = _sample(name)
    validator = Draft202012Validator(model.json_schema)
    check = compile_check(validator)
    assert check is not None and check(report) is True and validator.is_valid(report)
    assert schema_issues(model, report) == []


def _edit(report: Any, path: list[str], how: str, value: Any) -> Any:
    """A copy of the report with one place changed: replaced, removed or given an extra key."""
    if not path:
        return value if how == "set" else report
    if not isinstance(report, dict):
        return report
    out = dict(report)
    head = path[0]
    if len(path) == 1 and how == "drop":
        out.pop(head, None)
    elif len(path) == 1 and how == "extra":
        target = out.get(head)
        out[head] = {**target, "extra~/": value} if isinstance(target, dict) else value
    else:
        out[head] = _edit(out.get(head), path[1:], how, value)
    return out


@pytest.mark.parametrize("name", sorted(SAMPLES))
@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(data=st.data())
def test_edited_reports_agree(name: str, data: st.DataObject) -> None:
    model = load_model(name)
    report = _sample(name)
    pointers = [f.pointer for f in model.fields]
    edits = data.draw(
        st.lists(
            st.tuples(
                st.sampled_from(pointers),
                st.sampled_from(["set", "set", "set", "drop", "extra"]),
                st.sampled_from(EDGE[:-6]),  # the long strings are in the leaf test
            ),
            min_size=1,
            max_size=4,
        )
    )
    for pointer, how, value in edits:
        parts = pointer.lstrip("/").split("/")
        parts = parts[: data.draw(st.integers(1, len(parts)))] if how != "set" else parts
        report = _edit(report, parts, how, value)
    _agree(model.json_schema, report)
    try:
        valid = not list(Draft202012Validator(model.json_schema).iter_errors(report))
    except Exception as exc:  # jsonschema raises: so does schema_issues, as before
        with pytest.raises(type(exc)):
            schema_issues(model, report)
        return
    issues = schema_issues(model, report)
    assert (issues == []) == valid
    memo = model.__dict__["_memo"]
    fast = memo["schema_fast"]
    memo["schema_fast"] = None  # the plain jsonschema path, as before the compiled check
    try:
        assert schema_issues(model, report) == issues
    finally:
        memo["schema_fast"] = fast


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False, allow_infinity=True),
    st.text(max_size=6),
    st.sampled_from(["１２", "12\n", "𠀀𠀀", "AB", "٣"]),
)
INSTANCES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["a", "b", "c", "x-y"]), inner, max_size=3)
    ),
    max_leaves=8,
)
NUMBER = st.one_of(st.integers(-5, 5), st.floats(-5, 5, allow_nan=False), st.just(2**60))
LEAF_KEYWORDS = st.fixed_dictionaries(
    {},
    optional={
        "type": st.one_of(
            st.sampled_from(["integer", "number", "string", "boolean", "null", "object", "array", "nope"]),
            st.lists(st.sampled_from(["integer", "number", "string", "null"]), max_size=3),
        ),
        "minimum": NUMBER,
        "maximum": NUMBER,
        "exclusiveMinimum": NUMBER,
        "exclusiveMaximum": NUMBER,
        "minLength": st.integers(0, 3),
        "maxLength": st.one_of(st.integers(0, 3), st.just(2.0)),
        "pattern": st.sampled_from([r"^\d+$", r"^[0-9A-Z]{2}$", "^a", "b$", "(", r"\w", "^([0-9A-Z]{18})?$"]),
        "format": st.sampled_from(["date", "email"]),
        "x-label": st.just("标签"),
        "title": st.just("t"),
        "enum": st.just([1, "a"]),
        "const": st.just(1),
        "$schema": st.just("http://json-schema.org/draft-07/schema#"),
    },
)
SCHEMAS = st.recursive(
    st.one_of(LEAF_KEYWORDS, st.booleans()),
    lambda inner: st.builds(
        lambda leaf, props, required, additional: {
            **(leaf if isinstance(leaf, dict) else {}),
            "properties": props,
            **({"required": required} if required is not None else {}),
            **({"additionalProperties": additional} if additional is not None else {}),
        },
        st.one_of(LEAF_KEYWORDS, st.booleans()),
        st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3),
        st.one_of(st.none(), st.lists(st.sampled_from(["a", "b", "c", "d"]), max_size=3)),
        st.one_of(st.none(), st.booleans(), inner),
    ),
    max_leaves=6,
)


@settings(max_examples=1500, deadline=None, derandomize=True, database=None)
@given(schema=SCHEMAS, instance=INSTANCES)
def test_generated_schemas_and_instances_agree(schema: Any, instance: Any) -> None:
    _agree(schema, instance)


@pytest.mark.parametrize(
    "schema",
    [
        {"enum": [1]},
        {"$ref": "#/$defs/a", "$defs": {"a": {"type": "integer"}}},
        {"properties": {"a": {"$schema": "http://json-schema.org/draft-04/schema#", "type": "integer"}}},
        {"$schema": "http://json-schema.org/draft-07/schema#", "type": "integer"},
        {"patternProperties": {"^a": {"type": "integer"}}, "additionalProperties": False},
        {"type": "whatever"},
        {"pattern": "("},
        {"maxLength": 2.0},
        {"minimum": True},
        {"required": "a"},
        {"allOf": [{"type": "integer"}]},
        {"dependentRequired": {"a": ["b"]}},
    ],
)
def test_what_it_does_not_reproduce_is_left_to_jsonschema(schema: dict[str, Any]) -> None:
    assert compile_check(Draft202012Validator(schema)) is None


def test_asserted_formats_and_other_dialects_are_left_to_jsonschema() -> None:
    schema = {"type": "string", "format": "date"}
    assert compile_check(Draft202012Validator(schema, format_checker=FormatChecker())) is None
    assert compile_check(Draft7Validator({"type": "integer"})) is None
    check = compile_check(Draft202012Validator(schema))
    assert check is not None and check("not a date") is Draft202012Validator(schema).is_valid("not a date") is True


def test_a_comparison_jsonschema_raises_on_still_raises() -> None:
    model = load_model("annual-report-2021")
    report = _sample("annual-report-2021")
    first = next(f for f in model.fields if f.numeric and f.pointer.count("/") > 1)
    broken = _edit(report, first.pointer.lstrip("/").split("/"), "set", complex(1, 1))
    with pytest.raises(TypeError):
        schema_issues(model, broken)
