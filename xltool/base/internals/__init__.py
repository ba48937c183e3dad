"""The few private attributes of other libraries xltool relies on, in one place.

Each has no public equivalent in the versions we support; `tests/test_internals.py` exercises every
one against the installed libraries, so an upgrade that moves them fails loudly there rather than
somewhere deep in a collect run.

- openpyxl read-only workbooks keep the zip (`_archive`) and each sheet's part name
  (`_worksheet_path`): reading the raw sheet XML lets the reader stream it with its own limits.
- openpyxl worksheets keep the cells that exist in `_cells`; `iter_rows` would create every empty
  cell of the used range.
- openpyxl's worksheet parser (`WorkSheetParser`) is private: the feedback patcher asks it whether
  openpyxl would load a worksheet's elements, to decline the same damaged files.
- `ProcessPoolExecutor` has no public way to kill its workers before Python 3.14 (`_processes`).
- xlsxwriter cannot lock the workbook structure: `xlsx_workbook` subclasses its `Workbook` to write
  `<workbookProtection>` right after `<workbookPr>` (`_write_workbook_pr`), instead of re-zipping the
  file afterwards.
- Speed (templates write the same cells, formulas and names again for every organisation): the
  subclassed worksheets remember each formula's preparation (`_prepare_formula`: dozens of regex
  substitutions) and whether it is a dynamic array formula (`_write_formula`: a search for ~30
  function names), and write the cells templates are made of (a format and a number, shared string,
  blank or formula) in one step (`_write_cell`, the innermost loop); any other cell goes to
  xlsxwriter's own code. The subclassed workbook remembers what `define_name` makes of a
  workbook-level name (five regular expressions each, ~190 names a template) and the
  `<definedNames>` XML of a list of names (`_write_defined_names`); the worksheets, the XML of their
  data validations and conditional formats (but data bars) for the same options. `tests/test_internals.py`
  compares the parts written with plain xlsxwriter's.
- Memory: the collect status workbook's links (`links.py`: `compact_links_workbook`, `discard_workbook`).
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

from .links import compact_links_workbook, discard_workbook

__all__ = [
    "compact_links_workbook",
    "discard_workbook",
    "existing_cells",
    "parse_worksheet",
    "prepared_formulas",
    "worker_processes",
    "worksheet_xml",
    "xlsx_workbook",
]

if TYPE_CHECKING:  # multiprocessing is imported by collect, not by every reader and writer (~10 ms)
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing.process import BaseProcess

_PREPARED: dict[tuple[str, bool, bool], str] = {}
_PREPARED_LIMIT = 50_000  # formulas remembered before starting afresh (extra sheets may vary)
_NAMED: dict[tuple[str, str], list[Any]] = {}  # (name, formula) -> xlsxwriter's entry for it
_XML: dict[tuple[str, str], str] = {}  # (element, repr of what xlsxwriter writes it from) -> its XML
_XML_LIMIT = 1024
_PLAIN_RULES = {"cellIs", "expression", "beginsWith"}  # conditional formats written from their options only
_ORDINARY: dict[str, bool] = {}  # formula -> neither a dynamic array formula nor an {array formula}


def worksheet_xml(workbook: Any, sheet: str) -> bytes:
    """The raw XML part of `sheet` in an openpyxl workbook opened with read_only=True."""
    data: bytes = workbook._archive.read(workbook[sheet]._worksheet_path)
    return data


def existing_cells(worksheet: Any) -> list[Any]:
    """The cells of an openpyxl worksheet that exist in the file or were set, without creating any."""
    return list(worksheet._cells.values())


def parse_worksheet(xml: bytes) -> None:
    """Run openpyxl's worksheet parser (private `openpyxl.worksheet._reader`) over a worksheet part;
    raises whatever it raises, as `load_workbook` would on that part."""
    from openpyxl.worksheet._reader import WorkSheetParser

    for _ in WorkSheetParser(io.BytesIO(xml), []).parse():
        pass


def worker_processes(executor: ProcessPoolExecutor) -> list[BaseProcess]:
    """The live worker processes of a process pool (empty once it has shut down)."""
    return list((executor._processes or {}).values())


def xlsx_workbook(
    target: str | IO[bytes], options: dict[str, Any], protection: Sequence[tuple[str, str]] | None = None
) -> Any:
    """An xlsxwriter Workbook whose worksheets reuse prepared formulas, and that writes
    `<workbookProtection>` with `protection`'s attributes (in order) when given."""
    workbook = _workbook_class()(target, options)
    workbook.xltool_protection = None if protection is None else list(protection)
    return workbook


def _remembered_xml(writer: Any, write: Any, key: tuple[str, str]) -> None:
    """Write what `write()` writes to `writer.fh`, from memory when `key` was written before."""
    xml = _XML.get(key)
    if xml is None:
        fh = writer.fh
        writer.fh = part = io.StringIO()
        try:
            write()
        finally:
            writer.fh = fh
        xml = part.getvalue()
        if len(_XML) >= _XML_LIMIT:
            _XML.clear()
        _XML[key] = xml
    writer.fh.write(xml)


def prepared_formulas() -> int:
    """How many prepared formulas are remembered (for tests)."""
    return len(_PREPARED)


@functools.cache
def _workbook_class() -> type:
    import xlsxwriter  # here, not at module level: the CLI starts without spreadsheet libraries
    from xlsxwriter import worksheet as xw
    from xlsxwriter.utility import xl_rowcol_to_cell_fast as cell_ref

    number, string, blank, formula = xw.CellNumberTuple, xw.CellStringTuple, xw.CellBlankTuple, xw.CellFormulaTuple
    errors = {"#DIV/0!", "#N/A", "#NAME?", "#NULL!", "#NUM!", "#REF!", "#VALUE!"}  # written t="e" (not here)

    class RememberingWorksheet(xw.Worksheet):
        def _write_cell(self, row: int, col: int, cell: Any) -> None:
            kind, fmt = type(cell), cell.format
            if not fmt or self.constant_memory:
                return super()._write_cell(row, col, cell)
            head = f'<c r="{cell_ref(row, col)}" s="{fmt._get_xf_index()}"'
            if kind is string:
                self.fh.write(f'{head} t="s"><v>{cell.string}</v></c>')
            elif kind is blank:
                self.fh.write(f"{head}/>")
            elif kind is number:
                self.fh.write(f"{head}><v>{cell.number:.16G}</v></c>")
            elif kind is formula and type(cell.value) in (int, float, str) and cell.value not in errors:
                t = ' t="str"' if isinstance(cell.value, str) and cell.value else ""
                value = self._escape_data(cell.value)
                self.fh.write(f"{head}{t}><f>{self._escape_data(cell.formula)}</f><v>{value}</v></c>")
            else:
                super()._write_cell(row, col, cell)
            return None

        def _write_formula(self, row: int, col: int, formula: str, cell_format: Any = None, value: Any = 0) -> int:
            ordinary = _ORDINARY.get(formula) if isinstance(formula, str) else False
            if ordinary is None:
                if len(_ORDINARY) >= _PREPARED_LIMIT:
                    _ORDINARY.clear()
                special = not formula or xw.re_dynamic_function.search(formula) or formula[0] + formula[-1] == "{}"
                ordinary = _ORDINARY[formula] = not special
            if not ordinary or self.constant_memory:
                rc: int = super()._write_formula(row, col, formula, cell_format, value)
                return rc
            if self._check_dimensions(row, col):
                return -1
            self.table[row][col] = xw.CellFormulaTuple(self._prepare_formula(formula), cell_format, value)
            return 0

        def _write_data_validations(self) -> None:  # written from `validations` alone
            key = ("dataValidations", repr(self.validations))
            _remembered_xml(self, super()._write_data_validations, key)

        def _write_conditional_formats(self) -> None:  # from `cond_formats` alone, for these types
            rules = [p for params in self.cond_formats.values() for p in params]
            if any(p.get("type") not in _PLAIN_RULES for p in rules):
                return super()._write_conditional_formats()  # e.g. a data bar: numbered, kept for extLst
            key = ("conditionalFormatting", repr(self.cond_formats))
            _remembered_xml(self, super()._write_conditional_formats, key)
            return None

        def _prepare_formula(self, formula: str, expand_future_functions: bool = False) -> str:
            key = (formula, expand_future_functions, bool(self.use_future_functions))
            prepared = _PREPARED.get(key)
            if prepared is None:
                if len(_PREPARED) >= _PREPARED_LIMIT:
                    _PREPARED.clear()
                prepared = _PREPARED[key] = super()._prepare_formula(formula, expand_future_functions)
            return prepared

    class ProtectingWorkbook(xlsxwriter.Workbook):
        worksheet_class = RememberingWorksheet
        xltool_protection: list[tuple[str, str]] | None = None

        def define_name(self, name: str, formula: str) -> int:
            if "!" in name:  # a sheet-level name: its entry holds the sheet's index in this workbook
                rc: int = super().define_name(name, formula)
                return rc
            entry = _NAMED.get((name, formula))
            if entry is None:
                rc = super().define_name(name, formula)
                if rc != 0:
                    return rc  # refused (and warned) every time, never remembered
                if len(_NAMED) >= _PREPARED_LIMIT:
                    _NAMED.clear()
                entry = _NAMED[(name, formula)] = list(self.defined_names[-1])
                return rc
            self.defined_names.append(list(entry))
            return 0

        def _write_defined_names(self) -> None:  # [name, sheet index, formula, hidden] each, sorted by now
            key = ("definedNames", repr(self.defined_names))
            _remembered_xml(self, super()._write_defined_names, key)

        def _write_workbook_pr(self) -> None:
            super()._write_workbook_pr()
            if self.xltool_protection is not None:  # CT_Workbook: right after workbookPr
                self._xml_empty_tag("workbookProtection", self.xltool_protection)

    return ProtectingWorkbook
