"""`Issue`: one problem found in user data, as a value.

Issues are produced by the validator, the reader and the collector and rendered by the CLI (text
table, JSON) or into feedback workbooks. Codes are stable once released.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from functools import lru_cache
from typing import Any, Literal

from ..spec.positions import parse_a1

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Issue:
    code: str
    severity: Severity
    message_zh: str
    message_en: str
    pointer: str | None = None
    sheet: str | None = None
    cell: str | None = None
    rule: str | None = None
    expected: Any = None
    found: Any = None

    def message(self, lang: str = "zh") -> str:
        return self.message_zh if lang == "zh" else self.message_en

    @property
    def location(self) -> str:
        """`sheet!cell` when known, else the JSON pointer."""
        if self.sheet and self.cell:
            return f"{self.sheet}!{self.cell}"
        return self.pointer or ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@lru_cache(maxsize=8192)
def _cell_key(cell: str | None) -> tuple[int, int]:
    """(row, column), 1-based, for sorting; (0, 0) first for issues without a cell. Memoised: the
    same few hundred cells are named in every file of a model."""
    at = parse_a1(cell or "")
    return (at[0] + 1, at[1] + 1) if at else (0, 0)


def sort_issues(issues: Iterable[Issue], sheet_order: list[str] | None = None) -> list[Issue]:
    """Sort by sheet (in workbook order when given), row, column, then pointer and code."""
    order = {name: i for i, name in enumerate(sheet_order or [])}

    def key(i: Issue) -> tuple[Any, ...]:
        sheet_rank = order.get(i.sheet or "", len(order)) if i.sheet else -1
        return (sheet_rank, i.sheet or "", _cell_key(i.cell), i.pointer or "", i.code, i.rule or "")

    return sorted(issues, key=key)


def count(issues: Iterable[Issue]) -> tuple[int, int]:
    """(errors, warnings)."""
    errors = warnings = 0
    for i in issues:
        if i.severity == "error":
            errors += 1
        else:
            warnings += 1
    return errors, warnings


def exit_code(issues: Iterable[Issue]) -> int:
    """0 when no error (warnings allowed), 1 when the data has errors."""
    return 1 if any(i.severity == "error" for i in issues) else 0


def _width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def format_table(issues: list[Issue], lang: str = "zh") -> str:
    """A readable fixed-width table (CJK characters count double)."""
    if lang == "zh":
        head = ["级别", "代码", "位置", "说明"]
        sev = {"error": "错误", "warning": "警告"}
    else:
        head = ["level", "code", "where", "message"]
        sev = {"error": "error", "warning": "warning"}
    rows = [[sev[i.severity], i.code, i.location, i.message(lang)] for i in issues]
    widths = [max([_width(head[c])] + [_width(r[c]) for r in rows]) for c in range(3)]
    lines = ["  ".join(_pad(h, w) for h, w in zip(head[:3], widths, strict=False)) + "  " + head[3]]
    lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 8)
    for r in rows:
        lines.append("  ".join(_pad(v, w) for v, w in zip(r[:3], widths, strict=False)) + "  " + r[3])
    return "\n".join(lines)


def summary_line(issues: list[Issue], lang: str = "zh") -> str:
    errors, warnings = count(issues)
    if lang == "zh":
        return (
            "校验通过" + (f"（{warnings} 个警告）" if warnings else "")
            if not errors
            else f"发现 {errors} 个错误、{warnings} 个警告"
        )
    return (
        ("OK" + (f" ({warnings} warning(s))" if warnings else ""))
        if not errors
        else f"{errors} error(s), {warnings} warning(s)"
    )
