"""Field kinds: one table saying, for each `x-kind`, whether it is a number, whether it must be whole
and non-negative, and what it expects in words (Chinese and English). The validator, the reader's
coercion messages, the template's input prompts and the schema lint all read this table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..base.numbers import plain_number

if TYPE_CHECKING:
    from .model import Field


@dataclass(frozen=True)
class Kind:
    name: str
    numeric: bool
    whole: bool  # integers only
    non_negative: bool  # 0 is the implicit minimum
    expected_zh: Callable[[Field], str]
    expected_en: Callable[[Field], str]


def bounds(f: Field) -> tuple[float | None, float | None]:
    low = f.minimum
    if low is None and KINDS[f.kind].non_negative:
        low = 0
    return low, f.maximum


def _range(f: Field, zh: bool) -> str:
    low, high = bounds(f)
    if low is None or high is None:
        return "整数" if zh else "a whole number"
    lo, hi = plain_number(low), plain_number(high)
    return f"{lo}至{hi}之间的整数" if zh else f"a whole number from {lo} to {hi}"


def _amount_zh(f: Field) -> str:
    unit = f"单位：{f.unit}" if f.unit else ""
    extra = "，".join(x for x in (unit, f"最多{f.decimals}位小数" if f.decimals is not None else "") if x)
    return "不小于0的数字" + (f"（{extra}）" if extra else "")


def _amount_en(f: Field) -> str:
    unit = f"in {f.unit}" if f.unit else ""
    parts = [x for x in (unit, f"at most {f.decimals} decimals" if f.decimals is not None else "") if x]
    return "a number >= 0" + (f" ({', '.join(parts)})" if parts else "")


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("count", True, True, True, lambda f: "不小于0的整数", lambda f: "a whole number >= 0"),
        Kind(
            "signed_count",
            True,
            True,
            False,
            lambda f: "整数（减少填负数，如 -4）",
            lambda f: "a whole number (negative for a decrease, e.g. -4)",
        ),
        Kind("integer", True, True, False, lambda f: _range(f, True), lambda f: _range(f, False)),
        Kind("amount", True, False, True, _amount_zh, _amount_en),
        Kind("text", False, False, False, lambda f: "文字", lambda f: "text"),
        Kind("string", False, False, False, lambda f: "文字", lambda f: "text"),
    )
}
NUMERIC_KINDS = frozenset(name for name, k in KINDS.items() if k.numeric)


def expected_zh(f: Field) -> str:
    return KINDS[f.kind].expected_zh(f)


def expected_en(f: Field) -> str:
    return KINDS[f.kind].expected_en(f)
