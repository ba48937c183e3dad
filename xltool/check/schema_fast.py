"""A yes/no validity check compiled once per schema, so a valid report skips jsonschema.

jsonschema builds a child validator for every value it descends into (about 250 per report); for
the common case, a valid report, all that work produces nothing. This module compiles the schema
into plain closures that answer only "valid?". When they say no, the caller runs jsonschema for
the exact issues, so a verdict can only ever come from jsonschema.

Soundness by construction: only a small set of keywords is compiled, each with jsonschema's own
primitives (its type checker, `re.search` with Python's regex dialect, the same comparison and
`len` on code points); a schema with any other keyword, or a keyword value of an unusual shape,
is not compiled at all (`compile_check` returns None and jsonschema alone is used). Annotations
(`title`, `$schema`, `x-*`, ...) assert nothing in Draft 2020-12 and are skipped, as jsonschema
does. `tests/test_schema_fast.py` compares both verdicts on generated instances.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"
Check = Callable[[Any], bool]
IsType = Callable[[Any, str], bool]
Record = dict[int, tuple[Any, Check]]  # id(subschema) -> (subschema, its check), for `prune`

# Keywords that never assert anything for Draft202012Validator without a format checker.
_ANNOTATIONS = {
    *("$schema", "$id", "$comment", "title", "description", "default", "examples", "deprecated", "format"),
    *("readOnly", "writeOnly"),
}
_NUMBER_BOUNDS = {"minimum": "lt", "maximum": "gt", "exclusiveMinimum": "le", "exclusiveMaximum": "ge"}


class Unsupported(Exception):
    """The schema uses something this compiler does not reproduce exactly: use jsonschema only."""


class FastSchema:
    """The compiled check of a whole schema (call it with an instance), and `prune`."""

    def __init__(self, check: Check, record: Record) -> None:
        self._check, self._record = check, record

    def __call__(self, instance: Any) -> bool:
        return self._check(instance)

    def prune(self, schema: Any, instance: Any) -> Any:
        """A copy of `schema` in which every property whose value the compiled check finds valid has
        the subschema `true`. jsonschema yields no error for such a value under either schema, and
        everything else (the property names for `additionalProperties`, the order of keywords and
        of properties, the subschemas that do fail) is the same objects, so `iter_errors` on the
        copy yields the same errors in the same order, without descending into the valid parts."""
        props = schema.get("properties") if isinstance(schema, dict) else None
        if not isinstance(props, dict) or type(instance) is not dict:
            return schema
        kept: dict[str, Any] = {}
        for name, sub in props.items():
            hit = self._record.get(id(sub))
            if name not in instance or hit is None or hit[0] is not sub:
                kept[name] = sub
                continue
            try:
                valid = hit[1](instance[name])
            except Exception:  # jsonschema decides, on the subschema as it is
                valid = False
            kept[name] = True if valid else self.prune(sub, instance[name])
        return {**schema, "properties": kept}


def compile_check(validator: Draft202012Validator) -> FastSchema | None:
    """A function instance -> bool that agrees with `validator.is_valid`, or None when the schema
    holds anything outside the compiled subset. Types are checked by the validator's own checker."""
    from jsonschema import Draft202012Validator

    schema = validator.schema
    if type(validator) is not Draft202012Validator or validator.format_checker is not None:
        return None  # `format` asserts, or another dialect: jsonschema only
    if isinstance(schema, dict) and schema.get("$schema", DRAFT_2020_12) != DRAFT_2020_12:
        return None  # the keywords would be read by another draft's rules
    try:
        record: dict[int, tuple[Any, Check]] = {}
        return FastSchema(_compile(schema, validator.is_type, record, root=True), record)
    except Unsupported:
        return None


def _is_object(v: Any, is_type: IsType) -> bool:
    return type(v) is dict or is_type(v, "object")


def _number(value: Any) -> bool:
    return type(value) in (int, float)


def _compile(schema: Any, is_type: IsType, record: Record, *, root: bool = False) -> Check:
    if schema is True:
        return lambda _v: True
    if schema is False:
        return lambda _v: False
    if not isinstance(schema, dict):
        raise Unsupported(type(schema).__name__)
    checks: list[Check] = []
    for key, value in schema.items():
        if key in _ANNOTATIONS or key.startswith("x-"):
            if key in ("$schema", "$id") and not root:  # a new resource inside: leave it to jsonschema
                raise Unsupported(key)
            continue
        checks.append(_keyword(key, value, schema, is_type, record))
    if not checks:
        return lambda _v: True
    if len(checks) == 1:
        return checks[0]
    whole = _all(checks)
    return _count_leaf(schema, whole) or whole


def _all(checks: list[Check]) -> Check:
    def check(v: Any) -> bool:
        for c in checks:
            if not c(v):
                return False
        return True

    return check


def _count_leaf(schema: dict[str, Any], whole: Check) -> Check | None:
    """The common leaf `{"type": "integer"|"number", "minimum": m, "maximum": M}` given an int: for an
    exact int both type names hold and jsonschema's `v < m` / `v > M` are plain integer comparisons."""
    asserting = {k for k in schema if k not in _ANNOTATIONS and not k.startswith("x-")}
    if schema.get("type") not in ("integer", "number") or not asserting <= {"type", "minimum", "maximum"}:
        return None
    low, high = schema.get("minimum"), schema.get("maximum")

    def check(v: Any) -> bool:
        if type(v) is int:
            return not ((low is not None and v < low) or (high is not None and v > high))
        return whole(v)

    return check


def _keyword(key: str, value: Any, schema: dict[str, Any], is_type: IsType, record: Record) -> Check:
    if key == "type":
        return _type(value, is_type)
    if key in _NUMBER_BOUNDS:
        if not _number(value):
            raise Unsupported(key)
        return _bound(_NUMBER_BOUNDS[key], value, is_type)
    if key in ("maxLength", "minLength"):
        if type(value) is not int or value < 0:
            raise Unsupported(key)
        if key == "maxLength":
            return lambda v: not (is_type(v, "string") and len(v) > value)
        return lambda v: not (is_type(v, "string") and len(v) < value)
    if key == "pattern":
        if not isinstance(value, str):
            raise Unsupported(key)
        try:
            search = re.compile(value).search  # the same dialect and cache-independent result as re.search
        except re.error:
            raise Unsupported(key) from None
        return lambda v: not (is_type(v, "string") and not search(v))
    if key == "required":
        if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
            raise Unsupported(key)
        names = tuple(value)
        return lambda v: not _is_object(v, is_type) or all(n in v for n in names)
    if key == "properties":
        if not isinstance(value, dict):
            raise Unsupported(key)
        subs = tuple((name, _compile(sub, is_type, record)) for name, sub in value.items())
        record.update((id(sub), (sub, check)) for (_name, check), sub in zip(subs, value.values(), strict=True))

        def properties(v: Any) -> bool:
            if not _is_object(v, is_type):
                return True
            for name, check in subs:
                if name in v and not check(v[name]):
                    return False
            return True

        return properties
    if key == "additionalProperties":
        return _additional(value, schema, is_type, record)
    raise Unsupported(key)


def _type(value: Any, is_type: IsType) -> Check:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise Unsupported("type")
    for n in names:
        try:
            is_type(None, n)
        except Exception:  # jsonschema raises UnknownType at validation time: keep its behaviour
            raise Unsupported(f"type {n!r}") from None
    wanted = tuple(names)
    # Exact shortcuts for the two common instance types; everything else asks jsonschema's checker.
    quick: dict[type, bool] = {
        int: any(n in ("integer", "number") for n in wanted),
        str: "string" in wanted,
    }

    def check(v: Any) -> bool:
        hit = quick.get(type(v))
        if hit is not None:
            return hit
        return any(is_type(v, n) for n in wanted)

    return check


def _bound(op: str, limit: float, is_type: IsType) -> Check:
    """The comparison jsonschema makes, failing when it fails (`instance < minimum` etc.)."""
    if op == "lt":
        return lambda v: not (is_type(v, "number") and v < limit)
    if op == "gt":
        return lambda v: not (is_type(v, "number") and v > limit)
    if op == "le":
        return lambda v: not (is_type(v, "number") and v <= limit)
    return lambda v: not (is_type(v, "number") and v >= limit)


def _additional(value: Any, schema: dict[str, Any], is_type: IsType, record: Record) -> Check:
    if "patternProperties" in schema:
        raise Unsupported("patternProperties")
    props = schema.get("properties", {})
    if not isinstance(props, dict):
        raise Unsupported("properties")
    known = frozenset(props)
    if value is False:
        return lambda v: not _is_object(v, is_type) or known.issuperset(v)
    sub = _compile(value, is_type, record)
    return lambda v: not _is_object(v, is_type) or all(sub(v[k]) for k in v if k not in known)
