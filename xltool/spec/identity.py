"""Template identity: which schema, layout, year and organisation a workbook was issued for.

Written by the writer in three places (hidden meta sheet, workbook defined names, custom document
properties) so that a reader can recognise its own templates even after a re-save by Excel, WPS or
LibreOffice, and refuse or flag files built from another schema, layout or organisation.

It is also the one place that answers the questions every command asks about identity, so that
template, fill, validate, read and collect cannot disagree: when two organisation names or codes are
the same (NFKC), when two years are, which years a format is for, what a valid 统一社会信用代码 is
(GB 32100-2015) and what a date is.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from ..base.errors import XltoolError
from .model import Model, load_model
from .schemas import schema_for_year

KEYS = (
    "generator",
    "schema_id",
    "schema_name",
    "schema_version",
    "schema_digest",
    "layout_fingerprint",
    "year",
    "org_name",
    "org_code",
    "level",
    "issue_date",
    "deadline",
    "contact",
    "serial",
)
NAME_PREFIX = "xltool."


@dataclass(frozen=True)
class Identity:
    generator: str
    schema_id: str
    schema_name: str
    schema_version: str
    schema_digest: str
    layout_fingerprint: str
    year: str = ""
    org_name: str = ""
    org_code: str = ""
    level: str = ""
    issue_date: str = ""
    deadline: str = ""
    contact: str = ""
    serial: str = ""

    def with_serial(self) -> Identity:
        """Serial: a stable hash of everything that identifies this issued template."""
        basis = "|".join(
            [
                self.schema_digest,
                self.layout_fingerprint,
                self.year,
                self.org_code,
                self.org_name,
                self.level,
                self.issue_date,
            ]
        )
        return replace(self, serial=hashlib.sha256(basis.encode("utf-8")).hexdigest()[:12].upper())

    def items(self) -> list[tuple[str, str]]:
        return [(k, str(getattr(self, k))) for k in KEYS]

    def as_dict(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> Identity:
        names = {f.name for f in fields(cls)}
        clean = {k: ("" if data.get(k) is None else str(data.get(k))) for k in names}
        return cls(**clean)


def defined_name(key: str) -> str:
    return f"{NAME_PREFIX}{key}"


# -- one answer per question: every command compares and checks names, codes, years and dates here ----

_SPACES = re.compile(r"\s+")
CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100-2015: no I, O, S, V, Z
CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_DATE = re.compile(r"^\s*(\d{4})\s*(?:-|/|\.|年)\s*(\d{1,2})\s*(?:-|/|\.|月)\s*(\d{1,2})\s*日?\s*$")


def norm_name(text: Any) -> str:
    """An organisation name as compared: NFKC (full-width brackets and letters = half-width), every run
    of spaces (ideographic ones too) as one space, trimmed. Used for equality, never for display."""
    return "" if text is None else _SPACES.sub(" ", unicodedata.normalize("NFKC", str(text))).strip()


def norm_code(text: Any) -> str:
    """A 统一社会信用代码 as compared: NFKC, no spaces, upper case."""
    return "" if text is None else _SPACES.sub("", unicodedata.normalize("NFKC", str(text))).upper()


def same_name(a: Any, b: Any) -> bool:
    return norm_name(a) == norm_name(b)


def same_code(a: Any, b: Any) -> bool:
    return norm_code(a) == norm_code(b)


def year_of(value: Any) -> int | None:
    """A report year from an identity string, a cell or JSON value; None when it is not a whole number."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    text = unicodedata.normalize("NFKC", str(value)).strip().removesuffix("年")
    return int(text) if re.fullmatch(r"-?\d{1,6}", text) else None


def same_year(a: Any, b: Any) -> bool:
    """Two years agree when both are known and equal; an unknown year (blank) disagrees with nothing."""
    ya, yb = year_of(a), year_of(b)
    return ya is None or yb is None or ya == yb


def year_mismatch(expected: Any, found: Any) -> tuple[str, str] | None:
    """The one message (code YEAR_MISMATCH) for a file whose year is not the one asked for."""
    if same_year(expected, found):
        return None
    return (
        f"此文件是{year_of(found)}年度的报告，应为{year_of(expected)}年度，请使用为{year_of(expected)}年度下发的模板填写",
        f"this file is the {year_of(found)} report, expected {year_of(expected)}; "
        f"fill in the template issued for {year_of(expected)}",
    )


def code_problem(code: str) -> tuple[str, str] | None:
    """What is wrong with a 统一社会信用代码 (None when it is valid): 18 characters of the GB 32100-2015
    alphabet whose last one is the check character computed from the first 17."""
    c = norm_code(code)
    if len(c) != 18 or any(ch not in CODE_ALPHABET for ch in c):
        return (
            f"统一社会信用代码“{c}”应为18位数字或大写字母（不含I、O、S、V、Z）",
            f"organisation code '{c}' must be 18 digits or capital letters (no I, O, S, V, Z)",
        )
    check = with_check_character(c[:17])[17]
    if c[17] != check:
        return (
            f"统一社会信用代码“{c}”的校验位应为“{check}”，请核对",
            f"organisation code '{c}': the check character should be '{check}'; please check the code",
        )
    return None


def with_check_character(first17: str) -> str:
    """The 18-character code whose GB 32100-2015 check character completes `first17`."""
    total = sum(CODE_ALPHABET.index(ch) * w for ch, w in zip(first17, CODE_WEIGHTS, strict=True))
    return first17 + CODE_ALPHABET[(31 - total % 31) % 31]


def check_code(code: str, what: str = "--org-code") -> str:
    """A valid code in its compared form ('' stays ''); a bad one stops the command."""
    if not code.strip():
        return ""
    problem = code_problem(code)
    if problem:
        raise XltoolError("BAD_ORG_CODE", f"{what}：{problem[0]}", f"{what}: {problem[1]}")
    return norm_code(code)


def parse_date(text: str, what: str = "date") -> dt.date:
    """A calendar date written 2026-01-31, 2026/1/31, 2026.1.31 or 2026年1月31日; anything else stops."""
    m = _DATE.match(unicodedata.normalize("NFKC", text))
    try:
        if m is None:
            raise ValueError(text)
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        raise XltoolError(
            "BAD_DATE",
            f"{what}“{text}”不是有效日期，应写为 YYYY-MM-DD，如 2026-01-31",
            f"{what} '{text}' is not a valid date; write YYYY-MM-DD, e.g. 2026-01-31",
        ) from None


def deadline_warning(deadline: dt.date | None, issued: dt.date) -> tuple[str, str] | None:
    if deadline is None or deadline >= issued:
        return None
    return (
        f"报送截止日期 {deadline.isoformat()} 早于发放日期 {issued.isoformat()}",
        f"the deadline {deadline.isoformat()} is before the issue date {issued.isoformat()}",
    )


def check_level(level: str | None, levels: dict[str, str]) -> None:
    """An organisation level given by the user must be one the schema defines (key, e.g. township)."""
    if level and level not in levels:
        raise XltoolError(
            "BAD_ARGUMENT",
            f"层级“{level}”无效，应为：{'、'.join(f'{k}（{v}）' for k, v in levels.items())}",
            f"level '{level}' is not one of {', '.join(levels)}",
        )


def year_range(model: Model) -> tuple[int, int]:
    """Report years the schema accepts at all: the bounds of its identity year field."""
    f = model.by_pointer.get(model.identity_fields.get("year", ""))
    lo = f.minimum if f is not None and isinstance(f.minimum, int) else 2000
    hi = f.maximum if f is not None and isinstance(f.maximum, int) else 2100
    return lo, hi


def model_for(schema: str | None, year: int | None) -> Model:
    """The one year rule of every command: without --schema the year chooses the format (≤ 2020 → 2019);
    the year must lie in the schema's range and in the years its format is used for."""
    model = load_model(schema or (schema_for_year(year) if year is not None else None))
    if year is None:
        return model
    lo, hi = year_range(model)
    if not lo <= year <= hi:
        raise XltoolError("BAD_YEAR", f"报告年度“{year}”无效，应在{lo}–{hi}之间", f"year {year} must be in {lo}–{hi}")
    first, last = model.years
    if (first is not None and year < first) or (last is not None and year > last):
        right = schema_for_year(year)
        raise XltoolError(
            "BAD_YEAR",
            f"{year}年度报告使用 {right} 格式，模式 {model.name} 适用于{first or ''}–{last or ''}年度",
            f"the {year} report uses the {right} format; {model.name} is for {first or ''}–{last or ''}",
        )
    return model
