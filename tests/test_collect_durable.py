"""Archive files are made durable a batch at a time (`collect/durable.py`): never after the index
commit that names them, and with the same atomic, normal-permission files as before."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from test_collect import ORGS, _put, values, workbook  # noqa: E402

from xltool.collect import archive as archive_module  # noqa: E402
from xltool.collect import durable  # noqa: E402
from xltool.collect.index import Index  # noqa: E402
from xltool.collect.run import collect  # noqa: E402
from xltool.collect.stage import Stage  # noqa: E402


def test_archive_files_are_on_disk_before_the_index_names_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inbox, archive = tmp_path / "inbox", tmp_path / "archive"
    _put(inbox, "城关镇.xlsx", workbook(ORGS[0], values(ORGS[0], 0)), 0)
    _put(inbox, "东城/报表.xlsx", workbook(ORGS[1], values(ORGS[1], 1)), 1)
    bad = values(ORGS[2], 2, **{"/applications/received/natural_person": 99})  # a rule error: feedback
    _put(inbox, "西城.xlsx", workbook(ORGS[2], bad), 2)
    synced: set[Path] = set()
    checked: list[str] = []
    real_sync, real_receipts, real_save = archive_module.sync_files, Index.add_receipts, Stage.save

    def sync(paths: Any) -> None:
        paths = list(paths)
        real_sync(paths)
        synced.update(paths)

    def add_receipts(self: Index, rows: list[dict[str, Any]]) -> int:
        stored = sorted((archive / "sources").iterdir())
        assert len(stored) == 3 and set(stored) <= synced
        checked.append("receipts")
        return real_receipts(self, rows)

    def save(self: Stage) -> int:  # the reconciled rows (and new stems) go into the index
        named = {archive / p for r in self.rows() for p in (r["archive_path"], r["source_path"]) if p}
        assert len(named) == 5 and named <= synced  # 3 sources, 2 accepted reports
        checked.append("save")
        return real_save(self)

    monkeypatch.setattr(archive_module, "sync_files", sync)
    monkeypatch.setattr(Index, "add_receipts", add_receipts)
    monkeypatch.setattr(Stage, "save", save)
    result = collect(inbox, archive, year=2023, jobs=2)
    assert checked == ["receipts", "save"]
    assert result.file_counts == {"accepted": 2, "errors": 1}
    written = {archive / rel for rel in result.written}
    feedback = {p for p in written if p.parent == archive / "feedback" / "2023"}  # by workers, fsync'd there
    assert len(feedback) == 1 and written - feedback == synced  # the status workbook too, at the end
    assert not [p for p in archive.rglob(".tmp-*")]


def test_unsynced_writes_are_atomic_with_normal_permissions_and_sync_without_syncfs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "a" / "b" / "报告.json"
    durable.write_unsynced(target, b"{}\n")
    durable.write_unsynced(target, '{"名称": 1}\n'.encode())  # replaced whole
    umask = os.umask(0)
    os.umask(umask)
    assert target.read_bytes() == '{"名称": 1}\n'.encode()
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
    assert [p.name for p in target.parent.iterdir()] == ["报告.json"]
    monkeypatch.setattr(durable, "_syncfs", lambda folder: False)  # a system without syncfs: fsync each file
    durable.sync_files([target])
    with pytest.raises(FileNotFoundError):
        durable.sync_files([tmp_path / "a" / "gone.json"])  # each file is opened
