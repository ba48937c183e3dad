"""Cell -> typed value, the coercion table of DESIGN §6.

People type numbers as text, in full-width digits, with thousands separators, spaces, units and
words; spreadsheet programs turn some entries into dates or booleans. Each case has its own stable
code: harmless forms are read with a warning, anything that needs a human decision is an error
that says what was expected and what was found. Nothing is rounded or guessed silently, and the
cached result of a formula typed into an input cell is never used.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from ..base.numbers import decimal_to_number
from ..base.text import clip, show
from ..check.issues import Severity
from ..check.validate import decimals_of
from ..spec.kinds import KINDS, expected_en, expected_zh
from ..spec.kinds import bounds as _bounds
from ..spec.model import Field
from .cells import CellError, ForgedValue, RawCell
from .typed_numbers import constant_formula, number_from_text

MAX_EXACT = 2**53
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


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


def _refused(
    problems: list[Problem], code: str, severity: Severity, zh: str, en: str, expected: Any, found: Any
) -> Coerced:
    """No value: the problems found so far and the one that stops this cell."""
    return Coerced(None, [*problems, Problem(code, severity, zh, en, expected, found)])


# -- the table ---------------------------------------------------------------------------------


def coerce(raw: RawCell, field: Field, *, strict: bool) -> Coerced:
    """One input cell's raw content -> the value for the report, with every problem found."""
    if raw.formula is None and isinstance(raw.value, ForgedValue):  # never cast: edited outside a spreadsheet
        zh, en = raw.value.messages(quoted := clip(raw.value))
        expected = expected_zh(field) if field.numeric else "文字"
        return Coerced(None if field.numeric else "", [Problem("FORGED_VALUE", "error", zh, en, expected, quoted)])
    if field.numeric:
        return _coerce_number(raw, field, strict)
    return _coerce_text(raw, field, strict)


def _blank(raw: RawCell) -> bool:
    return raw.formula is None and (raw.value is None or isinstance(raw.value, str) and not raw.value.strip())


def _coerce_number(raw: RawCell, f: Field, strict: bool) -> Coerced:
    exp_zh, exp_en = expected_zh(f), expected_en(f)
    problems: list[Problem] = []
    if _blank(raw):
        low, high = _bounds(f)
        zero_ok = (low is None or low <= 0) and (high is None or high >= 0)
        if strict or not zero_ok:
            zh = f"未填写；应填写{exp_zh}" + ("，无数据请填0" if zero_ok else "")
            en = f"blank; expected {exp_en}" + (" (0 when there is nothing to report)" if zero_ok else "")
            return Coerced(0 if zero_ok else None, [Problem("BLANK_CELL", "error", zh, en, exp_zh, None)])
        zh, en = "未填写，已按0计；无数据请填0", "blank, read as 0; type 0 when there is nothing to report"
        return Coerced(0, [Problem("BLANK_CELL", "warning", zh, en, 0, None)])

    value: Any = raw.value
    if raw.formula is not None:
        number = constant_formula(raw.formula)
        shown = clip("=" + raw.formula)
        if number is None:
            return _refused(
                problems,
                "FORMULA_IN_INPUT",
                "error",
                f"填写了公式「{shown}」；此处只能直接填写{exp_zh}，不读取公式的计算结果",
                f"holds the formula '{shown}'; type {exp_en} directly (formula results are not read)",
                exp_zh,
                shown,
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
        return _refused(
            problems,
            "BOOLEAN_IN_NUMBER",
            "error",
            f"应填写{exp_zh}，实际为逻辑值 {show(value)}",
            f"expected {exp_en}, found the boolean {show(value)}",
            exp_zh,
            show(value),
        )
    if isinstance(value, (dt.datetime, dt.date, dt.time, dt.timedelta)):
        return _refused(
            problems,
            "DATE_IN_NUMBER",
            "error",
            f"应填写{exp_zh}，实际为日期或时间 {show(value)}（可能被表格程序自动识别为日期，请改为数字）",
            f"expected {exp_en}, found the date/time {show(value)} (the spreadsheet may have turned the entry into a date)",
            exp_zh,
            show(value),
        )
    if isinstance(value, CellError):
        return _refused(
            problems,
            "TEXT_IN_NUMBER",
            "error",
            f"应填写{exp_zh}，实际为错误值 {value}",
            f"expected {exp_en}, found the error value {value}",
            exp_zh,
            str(value),
        )
    if isinstance(value, str):
        number, steps = number_from_text(value)
        if number is None:
            quoted = clip(value)
            return _refused(
                problems,
                "TEXT_IN_NUMBER",
                "error",
                f"应填写{exp_zh}，只能填写数字，不能含单位或文字；实际填写了「{quoted}」",
                f"expected {exp_en}: a number only, no units or words; found '{quoted}'",
                exp_zh,
                quoted,
            )
        if math.isfinite(number):
            problems += _text_warnings(value, number, steps)
        value = number
    if isinstance(value, Decimal):
        value = decimal_to_number(value)
    if not isinstance(value, (int, float)):
        return _refused(
            problems,
            "TEXT_IN_NUMBER",
            "error",
            f"应填写{exp_zh}，实际为 {show(value)}",
            f"expected {exp_en}, found {show(value)}",
            exp_zh,
            show(value),
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
        return _refused(
            problems,
            "NOT_FINITE",
            "error",
            f"应填写{exp_zh}，实际数值无效（{show(value)}）",
            f"expected {exp_en}, found an invalid number ({show(value)})",
            exp_zh,
            show(value),
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
    if KINDS[f.kind].whole and isinstance(value, float):
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
    if value < 0 and KINDS[f.kind].non_negative:
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
