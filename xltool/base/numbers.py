"""Numbers as users and JSON see them: exact decimals to int/float, and numbers written in messages."""

from __future__ import annotations

from decimal import Decimal


def decimal_to_number(d: Decimal) -> int | float:
    """An exact decimal as the JSON number of the report: an int when it is whole (5.0 -> 5), else a float."""
    return int(d) if d == d.to_integral_value() else float(d)


def plain_number(x: float | None) -> str:
    """A bound or value in a message: '0', '2100', '0.5' (no '2100.0')."""
    if x is None:
        return ""
    if isinstance(x, int):  # exact, and an int past float's range (a cell of 400 nines) has no float
        return str(x)
    return str(int(x)) if float(x).is_integer() else repr(float(x))
