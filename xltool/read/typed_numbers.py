"""Numbers as people type them into cells: text with full-width digits, separators and spaces, and
formulas made only of arithmetic on constants (`=12+3`). Exact: parsed as Decimal, never guessed."""

from __future__ import annotations

import ast
import math
import re
from decimal import Decimal, DivisionByZero, InvalidOperation

from ..base.numbers import decimal_to_number

_FULLWIDTH = {ord(c): ord(c) - 0xFEE0 for c in "０１２３４５６７８９．＋－"}
_FULLWIDTH.update({0x2212: ord("-"), 0x2012: ord("-"), 0x2013: ord("-")})  # minus signs from word processors
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_GROUPED_RE = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def number_from_text(text: str) -> tuple[int | float | None, list[str]]:
    """Parse a number typed as text; returns (number or None, normalisations applied)."""
    steps = []
    stripped = text.strip()
    if stripped != text:
        steps.append("SURROUNDING_SPACES")
    converted = stripped.translate(_FULLWIDTH)
    if converted != stripped:
        steps.append("FULLWIDTH_DIGITS")
    converted = converted.replace("，", ",")  # a full-width comma is a separator, not a digit
    if "," in converted:
        if not _GROUPED_RE.match(converted):
            return None, steps
        converted = converted.replace(",", "")
        steps.append("THOUSANDS_SEPARATOR")
    if not _NUMBER_RE.match(converted):
        return None, steps
    try:
        d = Decimal(converted)
    except InvalidOperation:  # pragma: no cover - the regex admits only valid literals
        return None, steps
    if not d.is_finite() or abs(d) > Decimal(10) ** 308:
        return math.inf if d > 0 else -math.inf, steps
    return decimal_to_number(d), steps


_OPS = {ast.Add: "__add__", ast.Sub: "__sub__", ast.Mult: "__mul__", ast.Div: "__truediv__"}


def _const_eval(node: ast.AST) -> Decimal:
    if isinstance(node, ast.Expression):
        return _const_eval(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return Decimal(repr(node.value)) if isinstance(node.value, float) else Decimal(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
        v = _const_eval(node.operand)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = _const_eval(node.left), _const_eval(node.right)
        return getattr(left, _OPS[type(node.op)])(right)
    raise ValueError("not constant arithmetic")


def constant_formula(text: str) -> int | float | None:
    """Value of a formula made only of numbers, + - * / and parentheses; None otherwise."""
    if not re.fullmatch(r"[0-9.eE+\-*/() \t]+", text or ""):
        return None
    try:
        d = _const_eval(ast.parse(text.strip(), mode="eval"))
    except (SyntaxError, ValueError, ArithmeticError, DivisionByZero, InvalidOperation, RecursionError):
        return None
    if not d.is_finite():
        return None
    return decimal_to_number(d)
