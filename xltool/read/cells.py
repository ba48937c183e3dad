"""The one small interface through which the reader sees a workbook's cells.

Validation never touches a spreadsheet library directly: it asks a `CellSource` for raw cells
(what was typed, the formula text, the cached result), defined names, custom properties and
protection. A faster engine can be added later by implementing the same protocol.

`OpenpyxlSource` (xlsx/xlsm) loads the workbook once with openpyxl in read-only mode for values and
formula text, and takes the cached results of formula cells and the sheet protection flags from
the sheet XML directly (one linear tag scan per sheet, `scan.py`, ~1 ms). Measured on a filled 2021 template
(median of 20 on this 2-core machine): one load + XML scan 40-60 ms, two read-only loads
(``data_only`` False and True) 75-100 ms. The row parser stops after the last row the layout
needs, which also skips the conditional formats and data validations openpyxl would otherwise
parse behind the cell data. `CalamineSource` (xls/ods) reads values only (~10 ms a workbook).
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from ..base.internals import worksheet_xml
from .scan import (
    CellError,
    ForgedValue,
    forged_cells,
    parse_name_ref,
    parse_ref,
    protected_sheets,
    scan_sheet_xml,
    unescape_ooxml,
)

__all__ = [
    "CellError",
    "ForgedValue",
    "CellSource",
    "RawCell",
    "SourceError",
    "open_source",
    "parse_name_ref",
    "parse_ref",
    "scan_sheet_xml",
    "unescape_ooxml",
]


@dataclass(frozen=True)
class RawCell:
    """value: what is stored (None for a formula cell); formula: text without '='; cached: result."""

    value: Any = None
    formula: str | None = None
    cached: Any = None

    @property
    def content(self) -> Any:
        """What a person sees in the input line: the value, or '=' and the formula."""
        return self.value if self.formula is None else "=" + self.formula


EMPTY = RawCell()


class SourceError(Exception):
    """The engine failed on the file's content (damaged or hostile parts): the caller says which file."""

    def __init__(self, message: str, sheet: str | None = None) -> None:
        super().__init__(message)
        self.sheet = sheet


class CellSource(Protocol):
    """Read access to a workbook; rows and columns are 0-based."""

    #: False when the engine cannot see formulas (values are then computed results).
    formulas_known: bool
    #: False when the engine cannot see sheet protection.
    protection_known: bool

    @property
    def sheet_names(self) -> list[str]: ...

    def prepare(self, rows: Mapping[str, int]) -> None:
        """Hint: how many rows of each sheet will be asked for (engines may stop parsing there)."""

    def get(self, sheet: str, row: int, col: int) -> RawCell: ...

    def defined_names(self) -> dict[str, str]: ...

    def custom_properties(self) -> dict[str, str]: ...

    def protected_sheets(self) -> set[str]: ...

    def close(self) -> None: ...


@contextmanager
def _engine(sheet: str | None = None) -> Iterator[None]:
    """Any failure inside a parsing library becomes a SourceError (hostile input must not crash us)."""
    try:
        yield
    except SourceError:
        raise
    except Exception as exc:  # MemoryError and RecursionError included; the text may quote the file
        raise SourceError(repr(exc)[:300], sheet) from exc


def _raise_limits(limits: dict[str, int], loaded: dict[str, Any], rows: Mapping[str, int]) -> None:
    """Record row limits; a sheet read with a lower limit is dropped so it is read again."""
    for sheet, n in rows.items():
        if sheet in limits and n <= limits[sheet]:
            continue
        limits[sheet] = n
        loaded.pop(sheet, None)


# -- openpyxl -----------------------------------------------------------------------------------


def _formula_text(value: Any) -> str:
    text = value.text if hasattr(value, "text") else value if isinstance(value, str) else None
    text = "" if text is None else str(text)  # ArrayFormula carries .text, a DataTableFormula none
    return text.removeprefix("=")


class OpenpyxlSource:
    """xlsx / xlsm through openpyxl (read-only); cached formula values and forged stored values from
    the sheet XML. The reference the fast `stream.StreamSource` is proven equal to."""

    formulas_known = True
    protection_known = True

    def __init__(self, data: bytes) -> None:
        from openpyxl import load_workbook

        with _engine(), warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
            self._wb = load_workbook(io.BytesIO(data), read_only=True, data_only=False, keep_links=False)
        self._rows: dict[str, int] = {}
        self._cells: dict[str, dict[tuple[int, int], RawCell]] = {}
        self._cached: dict[str, dict[tuple[int, int], Any]] = {}
        self._forged: dict[str, dict[tuple[int, int], ForgedValue]] = {}
        self._protected: dict[str, bool] = {}

    @property
    def sheet_names(self) -> list[str]:
        return list(self._wb.sheetnames)

    def prepare(self, rows: Mapping[str, int]) -> None:
        _raise_limits(self._rows, self._cells, rows)

    def _part(self, sheet: str) -> bytes:
        with _engine(sheet):
            return worksheet_xml(self._wb, sheet)

    def _xml(self, sheet: str) -> None:
        if sheet not in self._cached:
            part = self._part(sheet)
            with _engine(sheet):
                self._cached[sheet], self._protected[sheet] = scan_sheet_xml(part)
                self._forged[sheet] = forged_cells(part)

    def _load(self, sheet: str) -> dict[tuple[int, int], RawCell]:
        if sheet in self._cells:
            return self._cells[sheet]
        self._xml(sheet)
        cached, forged = self._cached[sheet], self._forged[sheet]
        limit = self._rows.get(sheet)
        cells: dict[tuple[int, int], RawCell] = {}
        with _engine(sheet):
            ws = self._wb[sheet]
            ws.reset_dimensions()  # a forged <dimension ref="A1:XFD1048576"> would pad every row
            rows = ws.iter_rows(min_row=1, max_row=limit)
        try:
            with _engine(sheet), warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
                for row in rows:
                    last = 0
                    for cell in row:
                        r, c = getattr(cell, "row", None), getattr(cell, "column", None)
                        if r is None or c is None:
                            continue
                        last = r
                        value = cell.value
                        if cell.data_type == "f":
                            cells[(r - 1, c - 1)] = RawCell(None, _formula_text(value), cached.get((r - 1, c - 1)))
                        elif cell.data_type == "e" and isinstance(value, str):
                            cells[(r - 1, c - 1)] = RawCell(CellError(value))
                        elif (r - 1, c - 1) in forged:
                            cells[(r - 1, c - 1)] = RawCell(forged[(r - 1, c - 1)])
                        elif value is not None:
                            cells[(r - 1, c - 1)] = RawCell(unescape_ooxml(value) if isinstance(value, str) else value)
                    if limit is not None and last >= limit:
                        break  # rows past the layout (and CF/validation XML after them) are skipped
        finally:
            rows.close()
        self._cells[sheet] = cells
        return cells

    def get(self, sheet: str, row: int, col: int) -> RawCell:
        return self._load(sheet).get((row, col), EMPTY)

    def defined_names(self) -> dict[str, str]:
        return {name: str(dn.attr_text) for name, dn in self._wb.defined_names.items()}

    def custom_properties(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for prop in getattr(self._wb, "custom_doc_props", None) or []:
            value = getattr(prop, "value", None)
            out[str(prop.name)] = "" if value is None else str(value)
        return out

    def protected_sheets(self) -> set[str]:
        return protected_sheets(self.sheet_names, self._protected, self._part)

    def close(self) -> None:
        self._wb.close()


# -- python-calamine ----------------------------------------------------------------------------


class CalamineSource:
    """.xls / .ods through python-calamine: computed values only (no formulas, names, properties)."""

    formulas_known = False
    protection_known = False

    def __init__(self, data: bytes, kind: str) -> None:
        from python_calamine import CalamineWorkbook

        self.kind = kind
        with _engine():
            self._wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
        self._rows: dict[str, int] = {}
        self._cells: dict[str, list[list[Any]]] = {}

    @property
    def sheet_names(self) -> list[str]:
        return list(self._wb.sheet_names)

    def prepare(self, rows: Mapping[str, int]) -> None:
        _raise_limits(self._rows, self._cells, rows)

    def _load(self, sheet: str) -> list[list[Any]]:
        if sheet not in self._cells:
            with _engine(sheet):
                self._cells[sheet] = self._wb.get_sheet_by_name(sheet).to_python(
                    skip_empty_area=False, nrows=self._rows.get(sheet)
                )
        return self._cells[sheet]

    def get(self, sheet: str, row: int, col: int) -> RawCell:
        rows = self._load(sheet)
        if row >= len(rows) or col >= len(rows[row]):
            return EMPTY
        value = rows[row][col]
        return EMPTY if value == "" else RawCell(value)

    def defined_names(self) -> dict[str, str]:
        return {}

    def custom_properties(self) -> dict[str, str]:
        return {}

    def protected_sheets(self) -> set[str]:
        return set()

    def close(self) -> None:
        self._wb.close()


def open_source(
    data: bytes,
    kind: str,
    *,
    reference: bool = False,
    parts: Mapping[str, bytes | None] | None = None,
    wanted: Collection[str] = (),
) -> CellSource:
    """The engine for a sniffed kind: lxml streaming for xlsx/xlsm (openpyxl with `reference`);
    `parts` are zip entries the safety gate already inflated (`Sniffed.parts`); `wanted`: the sheets
    the reader will read (a hint: the stream parses them whole when it opens the workbook)."""
    if kind in ("xlsx", "xlsm"):
        if reference:
            return OpenpyxlSource(data)
        from .stream import StreamSource

        return StreamSource(data, parts, wanted)
    return CalamineSource(data, kind)
