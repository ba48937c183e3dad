"""Cell -> typed value, the coercion table of DESIGN §6.

People type numbers as text, in full-width digits, with thousands separators, spaces, units and
words; spreadsheet programs turn some entries into dates or booleans. Each case has its own stable
code: harmless forms are read with a warning, anything that needs a human decision is an error
that says what was expected and what was found. Nothing is rounded or guessed silently, and the
cached result of a formula typed into an input cell is never used.
"""

from __future__ import annotations

import ast
import datetime as dt
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal, DivisionByZero, InvalidOperation
from typing import Any, NamedTuple

from ..base.text import printable
from ..check.issues import Severity
from ..check.validate import decimals_of
from ..spec.kinds import bounds as _bounds
from ..spec.kinds import expected_en, expected_zh
from ..spec.kinds import plain_number as _num
from ..spec.model import Field
from .cells import CellError, ForgedValue, RawCell

MAX_EXACT = 2**53
INTEGER_KINDS = ("count", "signed_count", "integer")


class Problem(NamedTuple):
    code: str
    severity: Severity
    zh: str
    en: str
    expected: Any = None
    found: Any = None


@dataclass
class Coerced:
    value: Any
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)


def clip(text: str, limit: int = 80) -> str:
    """User text quoted in a message: cut to `limit` characters (a cell can hold a megabyte), and
    control characters shown as escapes (a message is printed on a terminal: ESC could drive it)."""
    return printable(text if len(text) <= limit else text[: limit - 1] + "…")


def show(value: Any) -> str:
    """A value as a person would recognise it in a message."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return _num(value) if math.isfinite(value) else str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return str(value)


# -- text that should be a number -------------------------------------------------------------

_FULLWIDTH = {ord(c): ord(c) - 0xFEE0 for c in "０１２３４５６７８９．＋－"}
_FULLWIDTH.update({0x2212: ord("-"), 0x2012: ord("-"), 0x2013: ord("-")})  # minus signs from word processors
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_GROUPED_RE = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _decimal_value(d: Decimal) -> int | float:
    return int(d) if d == d.to_integral_value() else float(d)


def _from_text(text: str) -> tuple[int | float | None, list[str]]:
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
    return _decimal_value(d), steps


# -- formulas typed into input cells ------------------------------------------------------------

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
    return _decimal_value(d)


# -- the table ---------------------------------------------------------------------------------


def coerce(raw: RawCell, field: Field, *, strict: bool) -> Coerced:
    """One input cell's raw content -> the value for the report, with every problem found."""
    if raw.formula is None and isinstance(raw.value, ForgedValue):
        return _forged(raw.value, field)
    if field.numeric:
        return _coerce_number(raw, field, strict)
    return _coerce_text(raw, field, strict)


def _forged(value: ForgedValue, f: Field) -> Coerced:
    """A stored value no spreadsheet program writes: the file was edited outside one. Never cast."""
    quoted = clip(value)
    return Coerced(
        None if f.numeric else "",
        [
            Problem(
                "FORGED_VALUE",
                "error",
                f"单元格的存储值「{quoted}」不是表格程序写出的有效内容（文件可能被其他工具改动），请在Excel中重新填写后保存",
                f"the stored value '{quoted}' is not valid spreadsheet content (the file may have been altered by another tool); retype it in Excel and save",
                expected_zh(f) if f.numeric else "文字",
                quoted,
            )
        ],
    )


def _blank(raw: RawCell) -> bool:
    return raw.formula is None and (raw.value is None or isinstance(raw.value, str) and not raw.value.strip())


def _coerce_number(raw: RawCell, f: Field, strict: bool) -> Coerced:
    exp_zh, exp_en = expected_zh(f), expected_en(f)
    problems: list[Problem] = []
    if _blank(raw):
        low, high = _bounds(f)
        zero_ok = (low is None or low <= 0) and (high is None or high >= 0)
        if strict or not zero_ok:
            return Coerced(
                0 if zero_ok else None,
                [
                    Problem(
                        "BLANK_CELL",
                        "error",
                        f"未填写；应填写{exp_zh}" + ("，无数据请填0" if zero_ok else ""),
                        f"blank; expected {exp_en}" + (" (0 when there is nothing to report)" if zero_ok else ""),
                        exp_zh,
                        None,
                    )
                ],
            )
        return Coerced(
            0,
            [
                Problem(
                    "BLANK_CELL",
                    "warning",
                    "未填写，已按0计；无数据请填0",
                    "blank, read as 0; type 0 when there is nothing to report",
                    0,
                    None,
                )
            ],
        )

    value: Any = raw.value
    if raw.formula is not None:
        number = constant_formula(raw.formula)
        shown = clip("=" + raw.formula)
        if number is None:
            return Coerced(
                None,
                [
                    Problem(
                        "FORMULA_IN_INPUT",
                        "error",
                        f"填写了公式「{shown}」；此处只能直接填写{exp_zh}，不读取公式的计算结果",
                        f"holds the formula '{shown}'; type {exp_en} directly (formula results are not read)",
                        exp_zh,
                        shown,
                    )
                ],
            )
        problems.append(
            Problem(
                "FORMULA_IN_INPUT",
                "warning",
                f"填写了公式「{shown}」，已按其计算结果 {show(number)} 读取；请直接填写数字",
                f"holds the formula '{shown}', read as its result {show(number)}; type the number directly",
                number,
                shown,
            )
        )
        value = number

    if isinstance(value, bool):
        return Coerced(
            None,
            problems
            + [
                Problem(
                    "BOOLEAN_IN_NUMBER",
                    "error",
                    f"应填写{exp_zh}，实际为逻辑值 {show(value)}",
                    f"expected {exp_en}, found the boolean {show(value)}",
                    exp_zh,
                    show(value),
                )
            ],
        )
    if isinstance(value, (dt.datetime, dt.date, dt.time, dt.timedelta)):
        return Coerced(
            None,
            problems
            + [
                Problem(
                    "DATE_IN_NUMBER",
                    "error",
                    f"应填写{exp_zh}，实际为日期或时间 {show(value)}（可能被表格程序自动识别为日期，请改为数字）",
                    f"expected {exp_en}, found the date/time {show(value)} (the spreadsheet may have turned the entry into a date)",
                    exp_zh,
                    show(value),
                )
            ],
        )
    if isinstance(value, CellError):
        return Coerced(
            None,
            problems
            + [
                Problem(
                    "TEXT_IN_NUMBER",
                    "error",
                    f"应填写{exp_zh}，实际为错误值 {value}",
                    f"expected {exp_en}, found the error value {value}",
                    exp_zh,
                    str(value),
                )
            ],
        )
    if isinstance(value, str):
        number, steps = _from_text(value)
        if number is None:
            quoted = clip(value)
            return Coerced(
                None,
                problems
                + [
                    Problem(
                        "TEXT_IN_NUMBER",
                        "error",
                        f"应填写{exp_zh}，只能填写数字，不能含单位或文字；实际填写了「{quoted}」",
                        f"expected {exp_en}: a number only, no units or words; found '{quoted}'",
                        exp_zh,
                        quoted,
                    )
                ],
            )
        if math.isfinite(number):
            problems += _text_warnings(value, number, steps)
        value = number
    if isinstance(value, Decimal):
        value = _decimal_value(value)
    if not isinstance(value, (int, float)):
        return Coerced(
            None,
            problems
            + [
                Problem(
                    "TEXT_IN_NUMBER",
                    "error",
                    f"应填写{exp_zh}，实际为 {show(value)}",
                    f"expected {exp_en}, found {show(value)}",
                    exp_zh,
                    show(value),
                )
            ],
        )
    return _check_number(value, f, problems)


_STEP_TEXT = {
    "SURROUNDING_SPACES": ("数字前后有空格", "spaces around the number"),
    "FULLWIDTH_DIGITS": ("含全角数字或符号", "full-width digits or signs"),
    "THOUSANDS_SEPARATOR": ("含千位分隔符", "a thousands separator"),
    "TEXT_NUMBER": ("数字以文本形式存储", "a number stored as text"),
}


def _text_warnings(text: str, number: float, steps: list[str]) -> list[Problem]:
    out = []
    for code in steps or ["TEXT_NUMBER"]:
        zh, en = _STEP_TEXT[code]
        quoted = clip(text)
        out.append(
            Problem(
                code,
                "warning",
                f"{zh}（「{quoted}」），已按数字 {show(number)} 读取",
                f"{en} ('{quoted}'), read as the number {show(number)}",
                show(number),
                quoted,
            )
        )
    return out


def _check_number(value: float, f: Field, problems: list[Problem]) -> Coerced:
    exp_zh, exp_en = expected_zh(f), expected_en(f)
    if isinstance(value, float) and not math.isfinite(value):
        return Coerced(
            None,
            problems
            + [
                Problem(
                    "NOT_FINITE",
                    "error",
                    f"应填写{exp_zh}，实际数值无效（{show(value)}）",
                    f"expected {exp_en}, found an invalid number ({show(value)})",
                    exp_zh,
                    show(value),
                )
            ],
        )
    if abs(value) > MAX_EXACT:
        return Coerced(
            value,
            problems
            + [
                Problem(
                    "OUT_OF_RANGE",
                    "error",
                    f"数值过大（{show(value)}），超出可精确保存的范围",
                    f"the number {show(value)} is too large to be stored exactly",
                    f"<= {MAX_EXACT}",
                    value,
                )
            ],
        )
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    errors: list[Problem] = []
    low, high = _bounds(f)
    if f.kind in INTEGER_KINDS and isinstance(value, float):
        errors.append(
            Problem(
                "FRACTION_IN_COUNT",
                "error",
                f"应填写{exp_zh}，不能有小数；实际为 {show(value)}",
                f"expected {exp_en}, no fractions; found {show(value)}",
                exp_zh,
                value,
            )
        )
    if value < 0 and f.kind in ("count", "amount"):
        errors.append(
            Problem(
                "NEGATIVE",
                "error",
                f"应填写{exp_zh}，不能为负数；实际为 {show(value)}",
                f"expected {exp_en}, not a negative number; found {show(value)}",
                exp_zh,
                value,
            )
        )
    elif (low is not None and value < low) or (high is not None and value > high):
        errors.append(
            Problem(
                "OUT_OF_RANGE",
                "error",
                f"应填写{exp_zh}，实际为 {show(value)}",
                f"expected {exp_en}, found {show(value)}",
                exp_zh,
                value,
            )
        )
    if f.decimals is not None and isinstance(value, float) and decimals_of(value) > f.decimals:
        n = decimals_of(value)
        errors.append(
            Problem(
                "TOO_MANY_DECIMALS",
                "error",
                f"最多保留{f.decimals}位小数，实际为 {show(value)}（{n}位小数）",
                f"at most {f.decimals} decimals, found {show(value)} ({n} decimals)",
                f.decimals,
                value,
            )
        )
    return Coerced(value, problems + errors)


def _text_of(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date().isoformat()
    return show(value)


def _coerce_text(raw: RawCell, f: Field, strict: bool) -> Coerced:
    if raw.formula is not None:
        shown = clip("=" + raw.formula)
        return Coerced(
            "",
            [
                Problem(
                    "FORMULA_IN_INPUT",
                    "error",
                    f"填写了公式「{shown}」；此处只能直接填写文字，不读取公式的计算结果",
                    f"holds the formula '{shown}'; type the text directly (formula results are not read)",
                    "文字",
                    shown,
                )
            ],
        )
    if _blank(raw):
        severity: Severity = "error" if strict and f.required else "warning"
        note_zh, note_en = ("（选填）", " (optional)") if not f.required else ("", "")
        return Coerced("", [Problem("BLANK_CELL", severity, f"未填写{note_zh}", f"blank{note_en}", "文字", None)])
    text = raw.value if isinstance(raw.value, str) else _text_of(raw.value)
    problems = []
    bad = _CONTROL_RE.findall(text)
    if bad:
        codes = " ".join(sorted({f"U+{ord(c):04X}" for c in bad}))
        problems.append(
            Problem(
                "CONTROL_CHARACTERS",
                "warning",
                f"含不可见的控制字符（{codes}），已保留原文，请检查",
                f"contains invisible control characters ({codes}); kept as typed, please check",
                None,
                codes,
            )
        )
    return Coerced(text, problems)
