"""Validate a report (JSON instance) against a model: jsonschema first, then the rules.

Returns `Issue` values, never raises for bad data. Amount decimals are checked on the number as
written (JSON parsed with Decimal, or a float's shortest repr), so nothing is rounded silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ..base.numbers import decimal_to_number
from ..spec.kinds import expected_en, expected_zh
from ..spec.layout import Layout, build_layout
from ..spec.model import Field, Model
from ..spec.rules import Expr
from ..spec.schemas import schema_for_year
from .evaluate import FAIL, Outcome, evaluate, flatten
from .issues import Issue, sort_issues
from .rule_text import compare_text
from .schema_fast import compile_check

if TYPE_CHECKING:  # jsonschema is imported when a report is checked: a read refused at the gate never is
    from jsonschema import Draft202012Validator


def _validator(model: Model) -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    validator: Draft202012Validator = model._cached("validator", lambda: Draft202012Validator(model.json_schema))
    return validator


def _errors_validator(model: Model, report: Any) -> Draft202012Validator | None:
    """None when the compiled check (compiled once per model) finds the report valid. Otherwise the
    jsonschema validator that lists its errors: the model's own, or, when the schema compiled, one
    for the schema with the parts the check finds valid pruned (`FastSchema.prune`: same errors,
    same order). A wrong "invalid" from the check costs time, never a verdict: jsonschema decides."""
    fast = model._cached("schema_fast", lambda: compile_check(_validator(model)))
    if fast is None:
        return _validator(model)
    try:
        if fast(report):
            return None
    except Exception:  # e.g. a comparison jsonschema itself would raise on: let it do so
        return _validator(model)
    from jsonschema import Draft202012Validator

    return Draft202012Validator(fast.prune(model.json_schema, report))


def decimals_of(value: Any) -> int:
    """Number of decimal places as written."""
    if isinstance(value, Decimal):
        exp = value.normalize().as_tuple().exponent
        return max(0, -exp) if isinstance(exp, int) else 0
    if isinstance(value, float):
        text = repr(value)
        if "e" in text or "E" in text:
            return decimals_of(Decimal(text))
        return len(text.split(".")[1].rstrip("0")) if "." in text else 0
    return 0


def _field_issue(code: str, f: Field | None, pointer: str, zh: str, en: str, found: Any, expected: Any = None) -> Issue:
    name = f.label if f else pointer
    return Issue(
        code, "error", f"{name}：{zh}", f"{pointer}: {en}", pointer=pointer, expected=expected, found=_plain(found)
    )


def _plain(v: Any) -> Any:
    if isinstance(v, Decimal):
        return decimal_to_number(v)
    if isinstance(v, (dict, list)):
        return "…"
    return v


def schema_issues(model: Model, report: Any) -> list[Issue]:
    """jsonschema errors as Issues, one per problem, named by field label and pointer."""
    validator = _errors_validator(model, report)
    if validator is None:
        return []
    out: list[Issue] = []
    fields = model.by_pointer
    for err in validator.iter_errors(report):
        pointer = "".join("/" + _escape(p) for p in err.absolute_path)
        kw = err.validator
        if kw == "required":
            for missing in _missing(err.validator_value, err.instance):
                ptr = f"{pointer}/{_escape(missing)}"
                f = fields.get(ptr)
                out.append(_field_issue("MISSING_FIELD", f, ptr, "缺少此项", "missing field", None))
            continue
        if kw == "additionalProperties":
            for extra in _extras(err.schema, err.instance):
                ptr = f"{pointer}/{_escape(extra)}"
                out.append(
                    Issue(
                        "UNKNOWN_FIELD",
                        "error",
                        f"{ptr}：模式中没有此项",
                        f"{ptr}: not a field of the schema",
                        pointer=ptr,
                    )
                )
            continue
        f = fields.get(pointer)
        kind = f.kind if f else ""
        found = err.instance
        if kw == "type":
            want_zh = expected_zh(f) if f else str(err.validator_value)
            want_en = expected_en(f) if f else str(err.validator_value)
            out.append(
                _field_issue(
                    "WRONG_TYPE",
                    f,
                    pointer,
                    f"应为{want_zh}，实际为 {found!r}",
                    f"expected {want_en}, found {found!r}",
                    found,
                    kind,
                )
            )
        elif kw in ("minimum", "exclusiveMinimum"):
            out.append(
                _field_issue(
                    "NEGATIVE" if err.validator_value == 0 else "OUT_OF_RANGE",
                    f,
                    pointer,
                    f"不能小于{err.validator_value}，实际为 {_plain(found)}",
                    f"must be >= {err.validator_value}, found {_plain(found)}",
                    found,
                    f">= {err.validator_value}",
                )
            )
        elif kw in ("maximum", "exclusiveMaximum"):
            out.append(
                _field_issue(
                    "OUT_OF_RANGE",
                    f,
                    pointer,
                    f"不能大于{err.validator_value}，实际为 {_plain(found)}",
                    f"must be <= {err.validator_value}, found {_plain(found)}",
                    found,
                    f"<= {err.validator_value}",
                )
            )
        elif kw == "maxLength":
            out.append(
                _field_issue(
                    "TOO_LONG",
                    f,
                    pointer,
                    f"超过{err.validator_value}个字符",
                    f"longer than {err.validator_value} characters",
                    len(found),
                    err.validator_value,
                )
            )
        elif kw in ("pattern", "minLength"):
            out.append(
                _field_issue("BAD_FORMAT", f, pointer, f"格式不正确：{found!r}", f"bad format: {found!r}", found)
            )
        else:
            out.append(_field_issue("SCHEMA", f, pointer, err.message, err.message, found))
    return out


def _escape(part: Any) -> str:
    """A JSON pointer token (RFC 6901): a key may hold '/' or '~'."""
    return str(part).replace("~", "~0").replace("/", "~1")


def _missing(required: Any, instance: Any) -> list[str]:
    """Names a `required` error is about, from its structured fields (never from the message text)."""
    if not isinstance(required, list) or not isinstance(instance, dict):
        return []
    return [str(name) for name in required if name not in instance]


def _extras(schema: Any, instance: Any) -> list[str]:
    """Keys an `additionalProperties: false` error is about: those neither in properties nor patternProperties."""
    if not isinstance(schema, dict) or not isinstance(instance, dict):
        return []
    props = schema.get("properties", {})
    patterns = list(schema.get("patternProperties", {}))
    return [str(k) for k in instance if k not in props and not any(re.search(p, str(k)) for p in patterns)]


def decimal_issues(model: Model, values: Mapping[str, Any]) -> list[Issue]:
    out = []
    for f in model.fields:
        v = values.get(f.pointer)
        if f.decimals is not None and isinstance(v, (float, Decimal)) and decimals_of(v) > f.decimals:
            out.append(
                _field_issue(
                    "TOO_MANY_DECIMALS",
                    f,
                    f.pointer,
                    f"最多保留{f.decimals}位小数，实际为 {v}",
                    f"at most {f.decimals} decimals, found {v}",
                    v,
                    f.decimals,
                )
            )
    return out


def outcome_issue(o: Outcome, layout: Layout) -> Issue:
    """A failed rule instance; a comparison names and values both of its sides (generated from the rule
    tree and the official labels), other checks use the schema's message."""
    rule, inst = o.rule, o.instance
    fmt = {"item": inst.item_label or "", "left": _plain(o.left), "right": _plain(o.right)}
    zh = rule.message_zh.format(**fmt) if rule.message_zh else f"{rule.title_zh}不成立"
    en = rule.message_en.format(**fmt) if rule.message_en else f"{rule.title_en} does not hold"
    zh, en = compare_text(layout, rule, inst, fmt["left"], fmt["right"]) or (zh, en)
    return Issue(
        code=rule.id,
        severity="error" if rule.severity == "error" else "warning",
        message_zh=f"{rule.id} {zh}",
        message_en=f"{rule.id} {en}",
        pointer=inst.anchor,
        rule=inst.label,
        expected=_plain(o.right),
        found=_plain(o.left),
    )


def rule_issues(
    model: Model,
    values: Mapping[str, Any],
    level: str | None,
    derived: Mapping[str, Expr] | None = None,
    previous: Mapping[str, Any] | None = None,
) -> list[Issue]:
    plain = {k: _plain(v) if isinstance(v, Decimal) else v for k, v in values.items()}
    prev = {k: _plain(v) if isinstance(v, Decimal) else v for k, v in previous.items()} if previous else None
    layout = build_layout(model)
    return [
        outcome_issue(o, layout)
        for o in evaluate(model, plain, level=level, derived=derived, previous=prev)
        if o.state == FAIL
    ]


def validate_report(
    model: Model, report: Any, *, level: str | None = None, previous: Mapping[str, Any] | None = None
) -> list[Issue]:
    """All issues of a report JSON: types and bounds, decimals, then every rule (cross-year rules
    only when `previous`, last year's report flattened by pointer, is given)."""
    if not isinstance(report, dict):
        return [Issue("NOT_AN_OBJECT", "error", "报告必须是JSON对象", "the report must be a JSON object")]
    issues = schema_issues(model, report)
    values = flatten(model, report)
    issues += decimal_issues(model, values)
    issues += format_year_issues(model, values)
    issues += rule_issues(model, values, level, previous=previous)
    return sort_issues(dedupe(issues))


def format_year_issues(model: Model, values: Mapping[str, Any]) -> list[Issue]:
    """The year rule of every command, as a finding about the data: a report year the schema's format
    is not used for (a 2020 report checked against the 2021 format). Out-of-range years are the
    schema's own bounds (OUT_OF_RANGE)."""
    pointer = model.identity_fields.get("year")
    year = values.get(pointer) if pointer else None
    first, last = model.years
    if not isinstance(year, int) or isinstance(year, bool):
        return []
    if (first is None or year >= first) and (last is None or year <= last):
        return []
    span = f"{first or ''}–{last or ''}"
    return [
        Issue(
            "YEAR_FORMAT",
            "error",
            f"{year}年度报告应使用 {schema_for_year(year)} 格式，{model.name} 适用于{span}年度",
            f"the {year} report uses the {schema_for_year(year)} format; {model.name} is for {span}",
            pointer=pointer,
            expected=span,
            found=year,
        )
    ]


def dedupe(issues: Iterable[Issue]) -> list[Issue]:
    return list(dict.fromkeys(issues))
