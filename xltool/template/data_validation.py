"""Data validation for input cells: what Excel/WPS/LibreOffice enforce while a user types.

Derived from the field kind and, for text, from a schema rule `len(field) <= N` (its severity decides
a soft warning or a stop). Prompts and alerts are in Chinese; xlsxwriter option dicts are returned.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..spec.layout import FieldCell
from ..spec.model import Field, Model
from ..spec.rules import Compare, Const, Len, Ref

INT_MAX = 999_999_999


def length_rule(model: Model, pointer: str) -> tuple[int, str] | None:
    """A rule `len(field) <= N` becomes the field's length validation (warning or stop)."""
    for rule in model.rules:
        for inst in rule.instances:
            c = inst.check
            if (
                isinstance(c, Compare)
                and c.op == "le"
                and isinstance(c.left, Len)
                and c.left.arg == Ref(pointer)
                and isinstance(c.right, Const)
            ):
                return int(c.right.value), rule.severity
    return None


def _count(f: Field, model: Model) -> dict[str, Any]:
    return {
        "validate": "integer",
        "criteria": "between",
        "minimum": 0,
        "maximum": INT_MAX,
        "input_message": "请填写不小于0的整数；无数据请填0。",
        "error_message": "此处只能填写不小于0的整数，不要填写小数、负数、单位或文字。",
    }


def _signed_count(f: Field, model: Model) -> dict[str, Any]:
    return {
        "validate": "integer",
        "criteria": "between",
        "minimum": -INT_MAX,
        "maximum": INT_MAX,
        "input_message": "请填写整数，减少时填负数（如 -4）；无数据请填0。",
        "error_message": "此处只能填写整数（减少填负数，如 -4），不要填写“减”“增”等文字。",
    }


def _amount(f: Field, model: Model) -> dict[str, Any]:
    unit = f"单位：{f.unit}，" if f.unit else ""
    places = f"最多{f.decimals}位小数" if f.decimals is not None else "可含小数"
    return {
        "validate": "decimal",
        "criteria": ">=",
        "value": 0,
        "input_message": f"请填写不小于0的数字（{unit}{places}）；无数据请填0。",
        "error_message": f"此处只能填写不小于0的数字（{unit}{places}），不要填写“元”“万元”等单位。",
    }


def _integer(f: Field, model: Model) -> dict[str, Any]:
    lo = int(f.minimum) if f.minimum is not None else 0
    hi = int(f.maximum) if f.maximum is not None else INT_MAX
    return {
        "validate": "integer",
        "criteria": "between",
        "minimum": lo,
        "maximum": hi,
        "input_message": f"请填写{lo}至{hi}之间的整数。",
        "error_message": f"此处只能填写{lo}至{hi}之间的整数。",
    }


def _text(f: Field, model: Model) -> dict[str, Any]:
    limit = f.max_length or 32767
    error_type = "stop"
    soft = length_rule(model, f.pointer)
    msg = f"请填写文字，不超过{limit}字。"
    if soft:
        limit, sev = soft
        error_type = "warning" if sev == "warning" else "stop"
        msg = f"请填写文字，篇幅原则上不超过{limit}字。"
    return {
        "validate": "length",
        "criteria": "<=",
        "value": limit,
        "error_type": error_type,
        "input_message": msg,
        "error_message": f"超过{limit}字。" + ("可以继续，但请精简。" if error_type == "warning" else ""),
    }


BY_KIND: dict[str, Callable[[Field, Model], dict[str, Any]]] = {
    "count": _count,
    "signed_count": _signed_count,
    "amount": _amount,
    "integer": _integer,
    "text": _text,
    "string": _text,
}


def validation_options(model: Model, fc: FieldCell, f: Field) -> dict[str, Any]:
    """xlsxwriter data_validation options for one input cell."""
    title = (fc.label_path[-1] if fc.label_path else f.pointer)[:32]
    opts = BY_KIND[f.kind](f, model)
    opts.setdefault("error_type", "stop")
    opts.update({"input_title": title, "error_title": "输入有误"})
    return opts
