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
  file afterwards. Its worksheets run dozens of regex substitutions on every formula
  (`_prepare_formula`); the subclassed worksheets remember the result per formula, since templates
  write the same few hundred formulas again for every organisation.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:  # multiprocessing is imported by collect, not by every reader and writer (~10 ms)
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing.process import BaseProcess

_PREPARED: dict[tuple[str, bool, bool], str] = {}
_PREPARED_LIMIT = 50_000  # formulas remembered before starting afresh (extra sheets may vary)


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


def prepared_formulas() -> int:
    """How many prepared formulas are remembered (for tests)."""
    return len(_PREPARED)


@functools.cache
def _workbook_class() -> type:
    import xlsxwriter  # here, not at module level: the CLI starts without spreadsheet libraries
    from xlsxwriter.worksheet import Worksheet

    class RememberingWorksheet(Worksheet):
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

        def _write_workbook_pr(self) -> None:
            super()._write_workbook_pr()
            if self.xltool_protection is not None:  # CT_Workbook: right after workbookPr
                self._xml_empty_tag("workbookProtection", self.xltool_protection)

    return ProtectingWorkbook
