"""The pieces under collect: inbox walking (temp files, zip attachments), the archive's files, lock
and index, the status workbook, and reconciliation rules that need several runs to show."""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import struct
import time
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from test_collect import ORGS, T0, _put, _resaved, _small_inbox, _zip, tree, values, workbook

from xltool.base.errors import XltoolError
from xltool.collect import run as run_module
from xltool.collect import stage
from xltool.collect.archive import Archive, ArchiveBusy, org_stem
from xltool.collect.inbox import Entry, Skipped, walk
from xltool.collect.index import Index
from xltool.collect.run import collect
from xltool.collect.status import load_status
from xltool.collect.status_workbook import status_workbook
from xltool.read import safety


def _walk(inbox: Path) -> tuple[dict[str, Entry], dict[str, str]]:
    entries, skipped = {}, {}
    for item in walk(inbox):
        if isinstance(item, Skipped):
            skipped[item.path] = item.reason
        else:
            entries[item.path] = item
    return entries, skipped


def _verdicts(entries: dict[str, Entry]) -> dict[str, str | None]:
    return {p: (e.verdict.code if e.verdict else None) for p, e in entries.items()}


# -- inbox -----------------------------------------------------------------------------------------


def test_temp_lock_and_litter_files_are_skipped_and_listed(tmp_path: Path) -> None:
    for name in (
        "~$年报.xlsx",
        ".~lock.年报.xlsx#",
        "~WRL0001.tmp",
        "年报.xlsx.tmp",
        "Thumbs.db",
        ".DS_Store",
        "._年报.xlsx",
        "desktop.ini",
        "年报.xlsx",
    ):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "__MACOSX").mkdir()
    (tmp_path / "__MACOSX" / "年报.xlsx").write_bytes(b"x")
    os.symlink("/etc/passwd", tmp_path / "link.xlsx")
    os.mkfifo(tmp_path / "pipe.xlsx")
    entries, skipped = _walk(tmp_path)
    assert list(entries) == ["年报.xlsx"]
    assert skipped == {
        "~$年报.xlsx": "temp",
        ".~lock.年报.xlsx#": "temp",
        "~WRL0001.tmp": "temp",
        "年报.xlsx.tmp": "temp",
        "Thumbs.db": "temp",
        ".DS_Store": "temp",
        "._年报.xlsx": "temp",
        "desktop.ini": "temp",
        "__MACOSX/": "temp",
        "link.xlsx": "symlink",
        "pipe.xlsx": "special",
    }


def test_zip_attachment_members_read_in_memory_never_extracted(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    book = workbook(ORGS[0], values(ORGS[0]))
    members = [
        ("年报/城关镇.xlsx", book),
        ("../逃逸.xlsx", book),
        ("/etc/绝对.xlsx", b"abs"),
        ("C:\\盘符.xlsx", b"drive"),
        ("内层.zip", _zip([("a.xlsx", book)])),
        ("压缩.rar", b"Rar!\x1a\x07\x00"),
        ("__MACOSX/._城关镇.xlsx", b"x"),
        ("说明.txt", "请查收".encode("gbk")),
    ]
    _put(inbox, "附件.zip", _zip(members, gbk=True), 0)
    before = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*"))
    entries, skipped = _walk(inbox)
    assert _verdicts(entries) == {
        "附件.zip": None,
        "附件.zip!/年报/城关镇.xlsx": None,
        "附件.zip!/../逃逸.xlsx": "UNSAFE_ARCHIVE_MEMBER",
        "附件.zip!/etc/绝对.xlsx": "UNSAFE_ARCHIVE_MEMBER",
        "附件.zip!/C:/盘符.xlsx": "UNSAFE_ARCHIVE_MEMBER",
        "附件.zip!/内层.zip": "NESTED_ARCHIVE",
        "附件.zip!/压缩.rar": "NESTED_ARCHIVE",
        "附件.zip!/说明.txt": None,
    }
    assert skipped == {"附件.zip!/__MACOSX/._城关镇.xlsx": "temp"}
    assert entries["附件.zip"].role == "attachment" and entries["附件.zip!/年报/城关镇.xlsx"].role == "member"
    member = entries["附件.zip!/年报/城关镇.xlsx"]
    assert member.data == book and member.ext == "xlsx" and member.sha256 == hashlib.sha256(book).hexdigest()
    assert member.mtime == time.mktime((2024, 1, 20, 9, 30, 0, 0, 0, -1))  # the member's own date
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == before  # nothing written anywhere


def _bomb() -> bytes:
    """A zip whose directory declares an absurd ratio (10 MB of zeros in a few KB)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.xlsx", bytes(10 * 1024 * 1024))
    return buf.getvalue()


def _encrypted_flag(data: bytes) -> bytes:
    raw = bytearray(data)
    for sig, off in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = raw.find(sig)
        flags = struct.unpack_from("<H", raw, at + off)[0] | 1
        struct.pack_into("<H", raw, at + off, flags)
    return bytes(raw)


def test_hostile_attachments_are_entries_with_a_verdict(tmp_path: Path) -> None:
    book = workbook(ORGS[0], values(ORGS[0]))
    files = {
        "bomb.zip": _bomb(),
        "locked.zip": _encrypted_flag(_zip([("a.xlsx", b"secret")])),
        "empty.zip": _zip([]),
        "cut.zip": _zip([("a.xlsx", book)])[:-30],
        "packed.7z": b"7z\xbc\xaf\x27\x1c" + bytes(30),
        "renamed.rar": b"Rar!\x1a\x07\x01\x00" + bytes(30),
        "really-a-workbook.zip": book,
        "加密.xlsx": b"\xd0\xcf\x11\xe0" + bytes(60),
    }
    for n, (name, data) in enumerate(files.items()):
        _put(tmp_path, name, data, n)
    entries, _ = _walk(tmp_path)
    assert _verdicts(entries) == {
        "bomb.zip": "ZIP_BOMB",
        "locked.zip": "ENCRYPTED_WORKBOOK",
        "empty.zip": "ARCHIVE_EMPTY",
        "cut.zip": "BROKEN_ZIP",
        "packed.7z": "UNSUPPORTED_ARCHIVE",
        "renamed.rar": "UNSUPPORTED_ARCHIVE",
        "really-a-workbook.zip": None,
        "加密.xlsx": None,
    }
    assert entries["really-a-workbook.zip"].ext == "xlsx" and entries["really-a-workbook.zip"].role == "file"
    assert "解压" in entries["packed.7z"].verdict.message_zh  # type: ignore[union-attr]


def test_files_over_the_size_limit_are_hashed_not_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(safety, "MAX_FILE_BYTES", 1000)
    (tmp_path / "big.xlsx").write_bytes(b"PK" + bytes(5000))
    entries, _ = _walk(tmp_path)
    big = entries["big.xlsx"]
    assert big.verdict is not None and big.verdict.code == "FILE_TOO_LARGE" and big.data is None
    assert big.sha256 == hashlib.sha256(b"PK" + bytes(5000)).hexdigest() and big.size == 5002


# -- archive files, lock, index --------------------------------------------------------------------


def test_write_if_changed_and_sources_are_never_rewritten(tmp_path: Path) -> None:
    store = Archive(tmp_path)
    assert store.write_if_changed("a/b.json", b"1") is True
    stamp = (tmp_path / "a/b.json").stat().st_mtime_ns
    time.sleep(0.01)
    assert store.write_if_changed("a/b.json", b"1") is False and (tmp_path / "a/b.json").stat().st_mtime_ns == stamp
    big = bytes(range(256)) * 1000  # compared a block at a time, not read whole

    def put(data: bytes) -> Any:
        return lambda path: path.write_bytes(data)

    def fail(path: Path) -> None:
        path.write_bytes(b"half")
        raise OSError("disk full")

    assert store.write_with("s.xlsx", put(big)) is True
    stamp = (tmp_path / "s.xlsx").stat().st_mtime_ns
    time.sleep(0.01)
    assert store.write_with("s.xlsx", put(big)) is False and (tmp_path / "s.xlsx").stat().st_mtime_ns == stamp
    assert store.write_with("s.xlsx", put(big[:-1] + b"x")) is True and (tmp_path / "s.xlsx").read_bytes()[-1:] == b"x"
    with pytest.raises(OSError):
        store.write_with("s.xlsx", fail)
    assert (tmp_path / "s.xlsx").read_bytes() == big[:-1] + b"x"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "s.xlsx"]  # no temp file left
    digest = hashlib.sha256(b"data").hexdigest()
    assert store.store_source(digest, "xlsx", b"data") == (f"sources/{digest}.xlsx", True)
    assert Archive(tmp_path).store_source(digest, "xls", b"data") == (
        f"sources/{digest}.xlsx",
        False,
    )  # same content, other name
    with pytest.raises(ValueError):
        store.store_source("0" * 64, "xlsx", b"data")


def test_sweep_removes_only_temp_files(tmp_path: Path) -> None:
    (tmp_path / "x").mkdir()
    for name in ("x/.tmp-1.json", ".tmp-2.xlsx", "x/keep.json", "x/tmp-3.json"):
        (tmp_path / name).write_bytes(b"")
    assert Archive(tmp_path).sweep_temp() == [".tmp-2.xlsx", "x/.tmp-1.json"]
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["keep.json", "tmp-3.json"]


def test_lock_is_exclusive_and_released(tmp_path: Path) -> None:
    a, b = Archive(tmp_path), Archive(tmp_path)
    with a.lock():
        with pytest.raises(ArchiveBusy) as err:
            with b.lock(wait=0.2):
                pass
        assert err.value.code == "ARCHIVE_BUSY"
    with b.lock(wait=0):
        pass


def test_reading_the_index_writes_nothing(tmp_path: Path) -> None:
    with Index(tmp_path / "index.sqlite") as db:
        db.put_read(
            {
                "sha256": "a",
                "schema": "s",
                "strict": 0,
                "ok": 1,
                "issues_json": "[]",
                "errors": 0,
                "warnings": 0,
                "read_at": "t",
            }
        )
    before = tree(tmp_path)
    with Index(tmp_path / "index.sqlite") as db:
        assert list(db.read_facts("s", False)) == ["a"]
    with Index(tmp_path / "index.sqlite", create=False) as db:
        assert db.collections() == []
    assert tree(tmp_path) == before  # same bytes, no -wal/-shm left
    assert sqlite3.connect(tmp_path / "index.sqlite").execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_org_stems_collide_only_with_a_hash() -> None:
    taken: set[str] = set()
    assert org_stem("甲/乙局", "CODE1", taken) == "甲_乙局"
    assert org_stem("甲_乙局", "CODE2", taken) == "甲_乙局-" + hashlib.sha256(b"CODE2").hexdigest()[:8]
    assert org_stem("CON", "CODE3", taken) == "_CON"
    assert "/" not in org_stem("../../etc", "CODE4", taken) and not org_stem("../x", "CODE5", taken).startswith(".")


# -- reconciliation over several runs --------------------------------------------------------------


def _subs(archive: Path) -> dict[str, dict[str, Any]]:
    conn = sqlite3.connect(archive / "index.sqlite")
    conn.row_factory = sqlite3.Row
    try:
        return {r["path_in_inbox"]: dict(r) for r in conn.execute("SELECT * FROM submissions")}
    finally:
        conn.close()


def test_a_later_arrival_wins_whatever_its_file_time_and_a_future_time_is_flagged(tmp_path: Path) -> None:
    org = ORGS[0]
    first, fixed = (workbook(org, values(org, 0, **{"/overview": f"第{n}稿"})) for n in (1, 2))
    inbox, archive = tmp_path / "inbox", tmp_path / "archive"
    _put(inbox, "时钟错了.xlsx", first, 0)
    future = time.mktime((2030, 1, 1, 8, 0, 0, 0, 0, -1))
    os.utime(inbox / "时钟错了.xlsx", (future, future))  # a township's clock set years ahead
    collect(inbox, archive, year=2023, jobs=1)
    _put(inbox, "更正.xlsx", fixed, 10)  # sent later, with a sane (so: older) file time
    result = collect(inbox, archive, year=2023, jobs=1)
    subs = _subs(archive)
    got = {p: (r["state"], r["version"], r["is_current"], r["warnings"]) for p, r in subs.items()}
    assert got == {"时钟错了.xlsx": ("superseded", 1, 0, 1), "更正.xlsx": ("accepted", 2, 1, 0)}
    issues = json.loads(subs["时钟错了.xlsx"]["issues_json"])
    assert [(i["code"], i["severity"], i["found"]) for i in issues] == [
        ("FILE_TIME_IMPLAUSIBLE", "warning", "2030-01-01 08:00")
    ]
    current = archive / f"annual-report-2021/2023/{org[0]}.json"
    assert json.loads(current.read_text(encoding="utf-8"))["overview"] == "第2稿"
    history = f"annual-report-2021/2023/history/{org[0]}/1-{hashlib.sha256(first).hexdigest()[:8]}.json"
    assert result.written == [
        f"sources/{hashlib.sha256(fixed).hexdigest()}.xlsx",
        history,
        f"annual-report-2021/2023/{org[0]}.json",
        "status-2023.xlsx",
    ]
    assert json.loads((archive / history).read_text(encoding="utf-8"))["overview"] == "第1稿"
    assert (result.status.orgs[0].state, result.status.orgs[0].file) == ("accepted", "更正.xlsx")


def test_a_file_reverting_to_earlier_data_makes_that_version_current_again(tmp_path: Path) -> None:
    org = ORGS[4]
    a, b = (workbook(org, values(org, 4, **{"/overview": text})) for text in ("甲稿", "乙稿"))
    inbox = tmp_path / "inbox"
    _put(inbox, "1.xlsx", a, 0)
    _put(inbox, "2.xlsx", b, 5)
    _put(inbox, "3.xlsx", _resaved(a), 10)  # the first data again, re-saved: newest
    collect(inbox, tmp_path / "archive", year=2023, jobs=1)
    subs = _subs(tmp_path / "archive")
    assert {p: (r["state"], r["version"], r["is_current"]) for p, r in subs.items()} == {
        "1.xlsx": ("accepted", 1, 1),
        "2.xlsx": ("superseded", 2, 0),
        "3.xlsx": ("duplicate", None, 0),
    }
    current = json.loads((tmp_path / "archive" / f"annual-report-2021/2023/{org[0]}.json").read_text(encoding="utf-8"))
    assert current["overview"] == "甲稿"


def test_a_newer_file_with_errors_keeps_the_accepted_version(tmp_path: Path) -> None:
    org = ORGS[1]
    inbox, archive = tmp_path / "inbox", tmp_path / "archive"
    _put(inbox, "v1.xlsx", workbook(org, values(org, 1)), 0)
    _put(inbox, "v2.xlsx", workbook(org, values(org, 1, **{"/applications/received/natural_person": 99})), 5)
    result = collect(inbox, archive, year=2023, jobs=1)
    row = result.status.orgs[0]
    assert (row.state, row.file, row.current) == ("errors", "v2.xlsx", f"annual-report-2021/2023/{org[0]}.json")
    assert "较早的已接收版本" in row.note_zh and result.exit_code == 1
    assert {p: r["state"] for p, r in _subs(archive).items()} == {"v1.xlsx": "accepted", "v2.xlsx": "errors"}


def test_interleaved_organisations_are_decided_each_on_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Reconcile streams the rows one organisation at a time, a few rows a batch: files of several
    organisations arriving interleaved, with versions, a duplicate, errors and feedback, over two
    runs, each row as a whole."""
    monkeypatch.setattr(stage, "BATCH", 2)  # every batch boundary is crossed
    monkeypatch.setattr(run_module, "BATCH", 2)
    a, b, c, d = ORGS[:4]
    bad = {"/applications/received/natural_person": 99}
    data = {
        "a1.xlsx": workbook(a, values(a, 0, **{"/overview": "甲1"})),
        "b1.xlsx": workbook(b, values(b, 1)),
        "c1.xlsx": workbook(c, values(c, 2)),
        "d1.xlsx": workbook(d, values(d, 3, **bad)),
        "a2.xlsx": workbook(a, values(a, 0, **{"/overview": "甲2"})),
        "c2.xlsx": workbook(c, values(c, 2, **bad)),
        "d2.xlsx": workbook(d, values(d, 3, **{**bad, "/overview": "丁2"})),
        "坏.xlsx": b"",
    }
    data["b1-另存.xlsx"] = _resaved(data["b1.xlsx"])
    inbox, archive = tmp_path / "inbox", tmp_path / "archive"
    order = ["a1.xlsx", "b1.xlsx", "c1.xlsx", "d1.xlsx", "a2.xlsx", "b1-另存.xlsx", "c2.xlsx", "d2.xlsx", "坏.xlsx"]
    for minute, name in enumerate(order):
        _put(inbox, name, data[name], minute)
    h = {name: hashlib.sha256(raw).hexdigest() for name, raw in data.items()}
    col = "annual-report-2021/2023"

    def current(org: tuple[str, str, str]) -> str:
        return f"{col}/{org[0]}.json"

    def history(org: tuple[str, str, str], version: int, name: str) -> str:
        return f"{col}/history/{org[0]}/{version}-{h[name][:8]}.json"

    def feedback(org: tuple[str, str, str], name: str) -> str:
        return f"feedback/2023/{org[0]}-{h[name][:8]}-反馈.xlsx"

    def rows() -> dict[str, tuple[Any, ...]]:
        keys = ("state", "version", "is_current", "duplicate_of", "archive_path", "feedback_path")
        return {p: tuple(r[k] for k in keys) for p, r in _subs(archive).items()}

    first = collect(inbox, archive, year=2023, jobs=1)
    assert rows() == {
        "a1.xlsx": ("superseded", 1, 0, None, history(a, 1, "a1.xlsx"), None),
        "a2.xlsx": ("accepted", 2, 1, None, current(a), None),
        "b1.xlsx": ("accepted", 1, 1, None, current(b), None),
        "b1-另存.xlsx": ("duplicate", None, 0, h["b1.xlsx"], None, None),
        "c1.xlsx": ("accepted", 1, 1, None, current(c), None),
        "c2.xlsx": ("errors", None, 0, None, None, feedback(c, "c2.xlsx")),
        "d1.xlsx": ("errors", None, 0, None, None, None),
        "d2.xlsx": ("errors", None, 0, None, None, feedback(d, "d2.xlsx")),
        "坏.xlsx": ("rejected", None, 0, None, None, None),
    }
    assert sorted((o.name, o.state, o.file) for o in first.status.orgs) == sorted(
        [
            (a[0], "accepted", "a2.xlsx"),
            (b[0], "accepted", "b1.xlsx"),
            (c[0], "errors", "c2.xlsx"),
            (d[0], "errors", "d2.xlsx"),
        ]
    )
    data["a3.xlsx"] = workbook(a, values(a, 0, **{"/overview": "甲3"}))
    data["c3.xlsx"] = workbook(c, values(c, 2, **{"/overview": "丙3"}))
    h.update({n: hashlib.sha256(data[n]).hexdigest() for n in ("a3.xlsx", "c3.xlsx")})
    _put(inbox, "c3.xlsx", data["c3.xlsx"], 20)
    _put(inbox, "a3.xlsx", data["a3.xlsx"], 21)
    second = collect(inbox, archive, year=2023, jobs=1)
    assert rows() == {
        "a1.xlsx": ("superseded", 1, 0, None, history(a, 1, "a1.xlsx"), None),
        "a2.xlsx": ("superseded", 2, 0, None, history(a, 2, "a2.xlsx"), None),
        "a3.xlsx": ("accepted", 3, 1, None, current(a), None),
        "b1.xlsx": ("accepted", 1, 1, None, current(b), None),
        "b1-另存.xlsx": ("duplicate", None, 0, h["b1.xlsx"], None, None),
        "c1.xlsx": ("superseded", 1, 0, None, history(c, 1, "c1.xlsx"), None),
        "c2.xlsx": ("errors", None, 0, None, None, None),  # settled by c3
        "c3.xlsx": ("accepted", 2, 1, None, current(c), None),
        "d1.xlsx": ("errors", None, 0, None, None, None),
        "d2.xlsx": ("errors", None, 0, None, None, feedback(d, "d2.xlsx")),
        "坏.xlsx": ("rejected", None, 0, None, None, None),
    }
    assert sorted(p.name for p in (archive / "feedback/2023").iterdir() if p.is_file()) == [
        feedback(d, "d2.xlsx").rsplit("/", 1)[1]
    ]
    assert {f["path"]: f["state"] for f in second.files} == {p: r[0] for p, r in rows().items()}


def test_strict_turns_blanks_into_errors(tmp_path: Path) -> None:
    org = ORGS[2]
    inbox = tmp_path / "inbox"
    _put(inbox, "空白.xlsx", workbook(org, values(org, 2, **{"/applications/received/research_institution": None})), 0)
    lenient = collect(inbox, tmp_path / "a", year=2023, jobs=1)
    strict = collect(inbox, tmp_path / "b", year=2023, jobs=1, strict=True)
    assert [(f["state"], f["errors"], f["warnings"]) for f in lenient.files] == [("accepted", 0, 1)]
    assert [(f["state"], f["errors"]) for f in strict.files] == [("errors", 1)]
    assert lenient.exit_code == 0 and strict.exit_code == 1


def test_year_is_inferred_and_roster_is_remembered(tmp_path: Path) -> None:
    inbox = _small_inbox(tmp_path, {"a.xlsx": 0, "b.xlsx": 1})
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "name,code,level\n" + "\n".join(f"{n},{c},{lv}" for n, c, lv in ORGS[:3]) + "\n", encoding="utf-8"
    )
    first = collect(inbox, tmp_path / "archive", roster=roster, jobs=1)
    assert (first.year, first.status.counts, first.exit_code) == (2023, {"accepted": 2, "missing": 1}, 1)
    again = collect(inbox, tmp_path / "archive", jobs=1)  # no --roster: the stored one is used
    assert again.status.counts == {"accepted": 2, "missing": 1} and again.written == []


def test_bad_arguments_and_an_unreadable_roster_stop_the_run(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    with pytest.raises(XltoolError) as err:
        collect(tmp_path / "nope", tmp_path / "a")
    assert err.value.code == "BAD_ARGUMENT"
    with pytest.raises(XltoolError) as err:
        collect(inbox, tmp_path / "a", roster=tmp_path / "missing.csv")
    assert err.value.code == "ROSTER_UNREADABLE"
    (tmp_path / "a" / "inbox").mkdir(parents=True)
    with pytest.raises(XltoolError) as err:  # an inbox inside the archive would collect the archive itself
        collect(tmp_path / "a" / "inbox", tmp_path / "a")
    assert err.value.code == "BAD_ARGUMENT"
    with pytest.raises(XltoolError) as err:
        collect(inbox, tmp_path / "a", jobs=0)
    assert err.value.code == "BAD_ARGUMENT"
    with pytest.raises(XltoolError) as err:
        collect(inbox, tmp_path / "b")  # nothing to tell the year from
    assert err.value.code == "NO_YEAR"
    with pytest.raises(XltoolError) as err:
        load_status(tmp_path / "nowhere")
    assert err.value.code == "NO_ARCHIVE"


# -- status workbook -------------------------------------------------------------------------------


def test_status_workbook_is_reproducible_and_safe(tmp_path: Path) -> None:
    evil = ('=HYPERLINK("http://x","点我")', "11330000MB9999999F", "township")
    inbox = tmp_path / "inbox"
    _put(inbox, "=cmd|' /C calc'!A0.xlsx", workbook(evil, values(evil)), 0)
    result = collect(inbox, tmp_path / "archive", year=2023, jobs=1)
    data = (tmp_path / "archive" / "status-2023.xlsx").read_bytes()
    assert status_workbook(result.status) == data == status_workbook(load_status(tmp_path / "archive"))
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb["报送情况"]
    assert ws["B5"].value == evil[0] and ws["B5"].data_type == "s"  # text, never a formula
    assert wb["全部文件"]["A2"].value == "=cmd|' /C calc'!A0.xlsx" and wb["全部文件"]["A2"].data_type == "s"
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        core = zf.read("docProps/core.xml").decode()
    assert time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(T0)) in core  # created = newest file time


# -- progress rendering ----------------------------------------------------------------------------


def test_progress_renderer_plain_lines_and_a_bar_on_a_terminal() -> None:
    from xltool.collect.progress import Event, ProgressRenderer

    events = [
        Event("skip", path="~$a.xlsx", code="temp"),
        Event("scan", total=2),
        Event("start", total=2),
        Event("file", path="a.xlsx", done=1, total=2),
        Event("file", path="b.pdf", done=2, total=2, code="NOT_A_WORKBOOK"),
        Event("write", path="x.json"),
        Event("done", message="收集完成"),
    ]
    plain = io.StringIO()
    with ProgressRenderer(plain, tty=False) as render:
        for e in events:
            render(e)
    assert plain.getvalue().splitlines() == [
        "跳过 ~$a.xlsx（temp）",
        "收件目录中找到 2 个文件",
        "读取 2 个新文件",
        "[1/2] a.xlsx: 读取完成",
        "[2/2] b.pdf: NOT_A_WORKBOOK",
        "收集完成",
    ]
    term = io.StringIO()
    with ProgressRenderer(term, tty=True, lang="en") as render:
        for e in events:
            render(e)
    out = term.getvalue()
    assert "\x1b[" in out and "b.pdf: NOT_A_WORKBOOK" in out and "2/2" in out and out.rstrip().endswith("收集完成")
