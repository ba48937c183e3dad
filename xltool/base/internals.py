"""The few private attributes of other libraries xltool relies on, in one place.

Each has no public equivalent in the versions we support; `tests/test_internals.py` exercises every
one against the installed libraries, so an upgrade that moves them fails loudly there rather than
somewhere deep in a collect run.

- openpyxl read-only workbooks keep the zip (`_archive`) and each sheet's part name
  (`_worksheet_path`): reading the raw sheet XML lets the reader stream it with its own limits.
- openpyxl worksheets keep the cells that exist in `_cells`; `iter_rows` would create every empty
  cell of the used range.
- `ProcessPoolExecutor` has no public way to kill its workers before Python 3.14 (`_processes`).
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from multiprocessing.process import BaseProcess
from typing import Any


def worksheet_xml(workbook: Any, sheet: str) -> bytes:
    """The raw XML part of `sheet` in an openpyxl workbook opened with read_only=True."""
    data: bytes = workbook._archive.read(workbook[sheet]._worksheet_path)
    return data


def existing_cells(worksheet: Any) -> list[Any]:
    """The cells of an openpyxl worksheet that exist in the file or were set, without creating any."""
    return list(worksheet._cells.values())


def worker_processes(executor: ProcessPoolExecutor) -> list[BaseProcess]:
    """The live worker processes of a process pool (empty once it has shut down)."""
    return list((executor._processes or {}).values())
