"""The private attributes of other libraries that `xltool.base.internals` relies on still work.

If an upgrade of openpyxl or Python moves one, this fails here, by name, instead of a collect run
failing somewhere later."""

from __future__ import annotations

import io
import os
import zipfile
from concurrent.futures import ProcessPoolExecutor

import openpyxl
from support import model_for

from xltool.base.internals import existing_cells, worker_processes, worksheet_xml
from xltool.template.writer import TemplateOptions, write_template


def test_worksheet_xml_is_the_sheet_part_of_a_read_only_workbook() -> None:
    data, _ = write_template(model_for("2021"), TemplateOptions(issue_date="2026-01-05"))
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for i, name in enumerate(wb.sheetnames, start=1):
            assert worksheet_xml(wb, name) == z.read(f"xl/worksheets/sheet{i}.xml"), name
    wb.close()


def test_existing_cells_lists_only_cells_that_exist() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"], ws["C3"] = 1, "x"
    assert sorted(c.coordinate for c in existing_cells(ws)) == ["A1", "C3"]
    list(ws.iter_rows())  # creates the empty cells of the used range: they exist now
    assert len(existing_cells(ws)) == 9


def test_worker_processes_are_the_live_pool_processes() -> None:
    pool = ProcessPoolExecutor(max_workers=2)
    pids = set(pool.map(_pid, range(4)))
    procs = worker_processes(pool)
    assert pids <= {p.pid for p in procs} and all(p.is_alive() for p in procs)
    pool.shutdown(wait=True)
    assert worker_processes(pool) == []


def _pid(_: int) -> int:
    return os.getpid()
