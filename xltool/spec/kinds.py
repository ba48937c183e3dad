"""What a field of each kind expects, in words (Chinese and English): one wording shared by the
validator, the reader's coercion messages and the template's input prompts."""

from __future__ import annotations

from .model import Field


def bounds(f: Field) -> tuple[float | None, float | None]:
    low = f.minimum
    if low is None and f.kind in ("count", "amount"):
        low = 0
    return low, f.maximum


def plain_number(x: float | None) -> str:
    if x is None:
        return ""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def expected_zh(f: Field) -> str:
    unit = f"单位：{f.unit}" if f.unit else ""
    if f.kind == "count":
        return "不小于0的整数"
    if f.kind == "signed_count":
        return "整数（减少填负数，如 -4）"
    if f.kind == "integer":
        low, high = bounds(f)
        if low is not None and high is not None:
            return f"{plain_number(low)}至{plain_number(high)}之间的整数"
        return "整数"
    if f.kind == "amount":
        extra = "，".join(x for x in (unit, f"最多{f.decimals}位小数" if f.decimals is not None else "") if x)
        return "不小于0的数字" + (f"（{extra}）" if extra else "")
    return "文字"


def expected_en(f: Field) -> str:
    if f.kind == "count":
        return "a whole number >= 0"
    if f.kind == "signed_count":
        return "a whole number (negative for a decrease, e.g. -4)"
    if f.kind == "integer":
        low, high = bounds(f)
        if low is not None and high is not None:
            return f"a whole number from {plain_number(low)} to {plain_number(high)}"
        return "a whole number"
    if f.kind == "amount":
        parts = [
            x
            for x in (
                f"in {f.unit}" if f.unit else "",
                f"at most {f.decimals} decimals" if f.decimals is not None else "",
            )
            if x
        ]
        return "a number >= 0" + (f" ({', '.join(parts)})" if parts else "")
    return "text"
