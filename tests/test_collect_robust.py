"""collect on real, messy inboxes and archives: names that are not UTF-8, links, the year, the
roster, stale feedback, an edited or damaged index, a full disk, a killed parent, the read cache."""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import openpyxl
import pytest
import xlsxwriter
from test_collect import ORGS, SCHEMA, _put, code, values, workbook, write_roster

from xltool.base.errors import XltoolError
from xltool.collect import intake
from xltool.collect import status_workbook as status_workbook_module
from xltool.collect.run import collect
from xltool.collect.status import OrgRow, Status, load_status
from xltool.collect.status_workbook import MAX_LINKS, status_workbook, write_status_workbook

YEAR = 2023
CURRENT = f"{SCHEMA}/{YEAR}"


def _subs(archive: Path) -> dict[str, dict[str, object]]:
    conn = sqlite3.connect(archive / "index.sqlite")
    conn.row_factory = sqlite3.Row
    try:
        return {r["path_in_inbox"]: dict(r) for r in conn.execute("SELECT * FROM submissions")}
    finally:
        conn.close()


# -- names and links -------------------------------------------------------------------------------


def test_names_that_are_not_utf8_are_recorded_and_the_files_read(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    folder = os.fsencode(inbox) + b"/" + "城关镇来件".encode("gbk")
    os.makedirs(folder)
    book = workbook(ORGS[0], values(ORGS[0]))
    with open(folder + b"/" + "城关镇年报.xlsx".encode("gbk"), "wb") as f:  # what unzip makes of a GBK zip
        f.write(book)
    with open(os.fsencode(inbox) + b"/bad\xff\xfe.xlsx", "wb") as f:  # not GBK either: escaped
        f.write(workbook(ORGS[1], values(ORGS[1], 1)))
    result = collect(inbox, tmp_path / "archive", year=YEAR, jobs=1)
    assert {f["path"]: f["state"] for f in result.files} == {
        "bad\\xff\\xfe.xlsx": "accepted",
        "城关镇来件/城关镇年报.xlsx": "accepted",
    }
    assert set(_subs(tmp_path / "archive")) == {"bad\\xff\\xfe.xlsx", "城关镇来件/城关镇年报.xlsx"}
    assert result.exit_code == 0


def test_link_targets_are_escaped(tmp_path: Path) -> None:
    odd = ("第#3社区 50%20居委会", code("11330000MB7777777"), "township")
    inbox = tmp_path / "inbox"
    _put(inbox, "a.xlsx", workbook(odd, values(odd, 0, **{"/applications/received/natural_person": 99})), 0)
    archive = tmp_path / "archive"
    result = collect(inbox, archive, year=YEAR, jobs=1)
    feedback = result.status.orgs[0].feedback
    assert feedback == f"feedback/{YEAR}/第#3社区 50%20居委会-{result.files[0]['sha256'][:8]}-反馈.xlsx"
    ws = openpyxl.load_workbook(archive / f"status-{YEAR}.xlsx")["报送情况"]
    target = ws.cell(5, 11).hyperlink.target.replace("\\", "/")  # xlsxwriter writes Windows separators
    assert target == "feedback/2023/第%233社区%2050%2520居委会-" + feedback.rsplit("-", 2)[1] + "-反馈.xlsx"
    assert unquote(target) == feedback and (archive / unquote(target)).is_file()


def _big_status(n: int) -> Status:
    files = [
        {
            "path_in_inbox": f"来件/{i:06d}.xlsx",
            "sha256": f"{i:064x}",
            "state": "errors",
            "org_key": "name:某单位",
            "org_name": "某单位",
            "errors": 1,
            "warnings": 0,
            "error_code": None,
            "message_zh": "",
            "file_mtime": 1_706_000_000.0,
            "version": None,
            "copies": 1,
            "source_path": f"sources/{i:064x}.xlsx",
            "feedback_path": f"feedback/{YEAR}/x-{i:08x}-反馈.xlsx",
        }
        for i in range(n)
    ]
    orgs = [OrgRow(1, "某单位", "", "township", "errors", 1, 0, files[-1]["path_in_inbox"], 0.0, n)]
    return Status("archive", SCHEMA, YEAR, False, orgs, files)


def _plain_xlsxwriter_bytes(status: Status, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """The status workbook as xlsxwriter's own Workbook writes it (a `Url` object kept per link)."""
    with monkeypatch.context() as m:
        m.setattr(status_workbook_module, "compact_links_workbook", xlsxwriter.Workbook)
        return status_workbook(status)


def test_status_workbook_past_the_link_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    n = MAX_LINKS // 2 + 10  # two links a file: past Excel's limit on the files sheet
    data = status_workbook(_big_status(n))
    assert data == _plain_xlsxwriter_bytes(_big_status(n), monkeypatch)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        sheet = zf.read("xl/worksheets/sheet2.xml").decode("utf-8")
        rels = zf.read("xl/worksheets/_rels/sheet2.xml.rels").decode("utf-8")
    assert sheet.count("<hyperlink ") == MAX_LINKS == rels.count("<Relationship ")
    assert f'<row r="{n + 1}"' in sheet and f'<row r="{n + 2}"' not in sheet
    last = sheet[sheet.index(f'<row r="{n + 1}"') :]
    assert f"sources/{n - 1:064x}.xlsx" in last and f"feedback/{YEAR}/x-{n - 1:08x}-反馈.xlsx" in last  # as text


def test_status_workbook_links_are_the_bytes_xlsxwriter_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    status = _big_status(600)
    odd = ("第#3社区 50%20居委会", "a&b<c>\"d'", "x#y#z", "[1]^`{2}`", "tab\tand space", "ünï/códe", "%41#%")
    for i, f in enumerate(status.files):
        name = odd[i % len(odd)]
        f["path_in_inbox"] = f"来件/{name}-{i}.xlsx"
        f["source_path"] = f"sources/{name}/{i:064x}.xlsx" if i % 5 else None  # some without a link
        f["feedback_path"] = f"feedback/{YEAR}/{name}-{i:08x}-反馈.xlsx"
    data = status_workbook(status)
    assert data == _plain_xlsxwriter_bytes(status, monkeypatch)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.read("xl/worksheets/sheet2.xml").count(b"<hyperlink ") == 600 + 480


def test_status_workbook_written_to_its_file_has_the_cells_it_had_in_memory(tmp_path: Path) -> None:
    inbox, archive = tmp_path / "inbox", tmp_path / "archive"
    for i in range(3):
        _put(inbox, f"{i}.xlsx", workbook(ORGS[i], values(ORGS[i], i)), i)
    _put(inbox, "1-错.xlsx", workbook(ORGS[1], values(ORGS[1], 1, **{"/applications/received/natural_person": 99})), 5)
    result = collect(inbox, archive, year=YEAR, jobs=1)
    assert result.file_counts == {"accepted": 3, "errors": 1}
    on_disk = archive / f"status-{YEAR}.xlsx"
    in_memory = status_workbook(result.status)  # the bytes collect used to build and then write

    def cells(wb: Any) -> dict[str, list[Any]]:
        return {
            ws.title: [
                (c.coordinate, c.value, c.data_type, c.hyperlink.target if c.hyperlink else None, c.fill.fgColor.rgb)
                for row in ws.iter_rows()
                for c in row
            ]
            for ws in wb
        }

    assert cells(openpyxl.load_workbook(on_disk)) == cells(openpyxl.load_workbook(io.BytesIO(in_memory)))
    assert on_disk.read_bytes() == in_memory
    big = _big_status(40)
    write_status_workbook(big, tmp_path / "big.xlsx")
    assert (tmp_path / "big.xlsx").read_bytes() == status_workbook(big)
    assert not [p for p in archive.rglob(".tmp-*")]


# -- order, year, roster ---------------------------------------------------------------------------


def test_without_year_files_of_several_years_stop_the_run(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    for i in range(2):
        _put(inbox, f"{i}.xlsx", workbook(ORGS[i], values(ORGS[i], i)), i)
    for i in range(2, 5):  # three re-sent reports of last year
        _put(inbox, f"{i}-旧.xlsx", workbook(ORGS[i], values(ORGS[i], i), year=2022), i)
    with pytest.raises(XltoolError) as err:
        collect(inbox, tmp_path / "archive", jobs=1)
    assert err.value.code == "YEAR_AMBIGUOUS" and err.value.details == {"years": {"2023": 2, "2022": 3}}
    assert "2023年度 2 个，2022年度 3 个" in err.value.message_zh and "--year" in err.value.message_en
    result = collect(inbox, tmp_path / "archive", year=2023, jobs=1)
    assert result.year == 2023 and result.read == 0  # the reads were kept
    assert sorted(f["state"] for f in result.files) == ["accepted"] * 2 + ["wrong_year"] * 3


def test_a_roster_with_a_header_and_no_rows_is_an_error(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    _put(inbox, "a.xlsx", workbook(ORGS[0], values(ORGS[0])), 0)
    roster = write_roster(tmp_path / "名单.csv", [])
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "xltool",
            "collect",
            str(inbox),
            "--archive",
            str(tmp_path / "a"),
            "--roster",
            str(roster),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2 and r.stdout == "" and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "[ROSTER_EMPTY]" in r.stderr
    assert not (tmp_path / "a").exists()


# -- feedback --------------------------------------------------------------------------------------


def test_outdated_feedback_is_moved_aside_and_not_linked(tmp_path: Path) -> None:
    inbox, archive = tmp_path / "inbox", tmp_path / "archive"
    roster = write_roster(tmp_path / "名单.csv", ORGS[:2])
    bad = workbook(ORGS[0], values(ORGS[0], 0, **{"/applications/received/natural_person": 99}))
    _put(inbox, "城关镇.xlsx", bad, 0)
    wrong = write_roster(tmp_path / "错名单.csv", ORGS[5:6])
    _put(inbox, "东城.xlsx", workbook(ORGS[1], values(ORGS[1], 1)), 1)
    first = collect(inbox, archive, roster=wrong, year=YEAR, jobs=1)  # the wrong roster: both unknown
    assert sorted(f["state"] for f in first.files) == ["unknown_org", "unknown_org"]
    sent = sorted(os.listdir(archive / f"feedback/{YEAR}"))
    assert len(sent) == 2
    _put(inbox, "城关镇-改.xlsx", workbook(ORGS[0], values(ORGS[0])), 5)
    second = collect(inbox, archive, roster=roster, year=YEAR, jobs=1)
    assert second.exit_code == 0 and second.problems == []
    assert sorted(os.listdir(archive / f"feedback/{YEAR}")) == ["outdated"]
    assert sorted(os.listdir(archive / f"feedback/{YEAR}/outdated")) == sent
    assert [o.feedback for o in second.status.orgs] == [None, None]
    wb = openpyxl.load_workbook(archive / f"status-{YEAR}.xlsx")
    assert [c.hyperlink for c in wb["全部文件"]["M"][1:]] == [None, None, None]


def test_a_feedback_file_that_cannot_be_written_is_reported(tmp_path: Path) -> None:
    inbox, archive = tmp_path / "inbox", tmp_path / "archive"
    _put(inbox, "a.xlsx", workbook(ORGS[0], values(ORGS[0], 0, **{"/applications/received/natural_person": 99})), 0)
    (archive / "feedback").mkdir(parents=True)
    (archive / "feedback" / str(YEAR)).write_bytes(b"")  # a file where the folder should be
    result = collect(inbox, archive, year=YEAR, jobs=1)
    assert [p["code"] for p in result.problems] == ["FEEDBACK_FAILED"] and result.exit_code == 1
    assert result.status.orgs[0].feedback is None
    assert "反馈文件未能生成" in result.summary() and "feedback file not written" in result.summary("en")


# -- an edited or damaged index, a full disk, an archive that cannot be written ---------------------


def _collected(tmp_path: Path, n: int = 2) -> tuple[Path, Path]:
    inbox, archive = tmp_path / "inbox", tmp_path / "archive"
    for i in range(n):
        _put(inbox, f"{i}.xlsx", workbook(ORGS[i], values(ORGS[i], i)), i)
    assert collect(inbox, archive, year=YEAR, jobs=1).exit_code == 0
    return inbox, archive


def test_paths_from_an_edited_index_never_leave_the_archive(tmp_path: Path) -> None:
    inbox, archive = _collected(tmp_path)
    conn = sqlite3.connect(archive / "index.sqlite")
    with conn:
        conn.execute("UPDATE org_files SET stem='../../../逃逸' WHERE org_key=?", (ORGS[0][1],))
        conn.execute("UPDATE submissions SET archive_path='../../逃逸.json', version=NULL")
    conn.close()
    before = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if "archive" not in p.parts)
    _put(inbox, "0-改.xlsx", workbook(ORGS[0], values(ORGS[0], 0, **{"/overview": "改"})), 9)
    result = collect(inbox, archive, year=YEAR, jobs=1)
    after = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if "archive" not in p.parts)
    assert after == sorted([*before, "inbox/0-改.xlsx"])  # nothing written outside the archive
    stem = result.status.orgs[0].current
    assert stem is not None and stem.startswith(f"{CURRENT}/") and ".." not in stem and (archive / stem).is_file()


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:3000])


def _scribble(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[4096:8192] = b"\xa5" * 4096  # the second page and on: table b-trees
    path.write_bytes(bytes(data))


def _drop_column(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE submissions DROP COLUMN file_mtime")
    conn.close()


def _bad_json(path: Path) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE submissions SET state='errors', is_current=0, issues_json='[{\"code\": '")
        conn.execute("UPDATE reads SET identity_json='{oops'")
    conn.close()


@pytest.mark.parametrize("damage", [_truncate, _scribble, _drop_column, _bad_json])
def test_a_damaged_index_is_refused_with_how_to_rebuild_it(tmp_path: Path, damage: object) -> None:
    inbox, archive = _collected(tmp_path)
    index = archive / "index.sqlite"
    assert callable(damage)
    damage(index)
    for run in (
        lambda: collect(inbox, archive, year=YEAR, jobs=1),
        lambda: load_status(archive).as_dict(),
    ):
        with pytest.raises(XltoolError) as err:
            run()
        assert err.value.code == "INDEX_CORRUPT" and "index.sqlite.bad" in err.value.message_en
    for cmd in (
        ["collect", str(inbox), "--archive", str(archive), "--year", "2023"],
        ["status", "--archive", str(archive)],
    ):
        r = subprocess.run([sys.executable, "-m", "xltool", *cmd], capture_output=True, text=True, timeout=120)
        assert r.returncode == 2 and "Traceback" not in r.stderr and "[INDEX_CORRUPT]" in r.stderr, r.stderr
    index.rename(archive / "index.sqlite.bad")  # what the message says: the rerun rebuilds it
    again = collect(inbox, archive, year=YEAR, jobs=1)
    assert again.exit_code == 0 and [o.state for o in again.status.orgs] == ["accepted", "accepted"]


@contextmanager
def _mounted(where: Path, size: str) -> Iterator[Path]:
    """A small tmpfs (needs root; elsewhere the test cannot run and says so)."""
    if os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("mounting a tmpfs needs root")
        pytest.skip("mounting a tmpfs needs root")
    where.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_a_full_disk_stops_the_run_with_a_typed_error(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    for i in range(12):  # ~12 x 60 KB sources, their JSON and feedback: more than 512 KB
        _put(inbox, f"{i}.xlsx", workbook(ORGS[i], values(ORGS[i], i)), i)
    with _mounted(tmp_path / "small", "512k") as disk:
        with pytest.raises(XltoolError) as err:
            collect(inbox, disk / "archive", year=YEAR, jobs=1)
        assert err.value.code == "DISK_FULL" and "磁盘空间已满" in err.value.message_zh
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "xltool",
                "collect",
                str(inbox),
                "--archive",
                str(disk / "archive"),
                "--year",
                "2023",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert r.returncode == 2 and "Traceback" not in r.stderr and "[DISK_FULL]" in r.stderr, r.stderr
        assert [p.name for p in (disk / "archive").rglob(".tmp-*")] == []  # no half-written file left


def test_an_archive_that_cannot_be_written_stops_the_run(tmp_path: Path) -> None:
    inbox, _ = _collected(tmp_path, 1)
    with _mounted(tmp_path / "ro", "1m") as disk:
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        with pytest.raises(XltoolError) as err:
            collect(inbox, disk / "archive", year=YEAR, jobs=1)
        assert err.value.code == "ARCHIVE_UNWRITABLE" and err.value.path == str(disk / "archive")


# -- a killed parent, the read cache, the summary in English ----------------------------------------


def _live_descendants(pid: int) -> set[int]:
    """Processes below `pid` that are still running (zombies do not count), from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if fields[0] != "Z":
                parents[int(entry)] = int(fields[1])
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        kids = {c for c, pp in parents.items() if pp == p}
        found |= kids
        todo += kids
    return found


def test_workers_and_their_temp_folder_go_when_the_parent_is_killed(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    for i in range(6):
        _put(inbox, f"{i}.xlsx", workbook(ORGS[i], values(ORGS[i], i)), i)
    temp = tmp_path / "temp"
    temp.mkdir()
    script = Path(__file__).with_name("test_collect.py")
    proc = subprocess.Popen(
        [sys.executable, str(script), str(inbox), str(tmp_path / "archive"), "--year", "2023", "--jobs", "2"]
        + ["--sleep", "file=30"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(temp)},
        encoding="utf-8",
    )
    assert proc.stdout is not None
    while json.loads(proc.stdout.readline())["kind"] != "file":
        pass
    below = _live_descendants(proc.pid)
    assert len(below) >= 3  # the forkserver and two workers (and the resource tracker)
    assert [p.name for p in temp.iterdir() if p.name.startswith("pymp-")] != []
    os.kill(proc.pid, signal.SIGKILL)  # the main process only
    proc.wait()
    proc.stdout.close()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (below & _live_descendants(1) - {proc.pid}):
        time.sleep(0.2)
    alive = {p for p in below if Path(f"/proc/{p}").exists() and " Z " not in Path(f"/proc/{p}/stat").read_text()}
    assert alive == set()
    assert [p.name for p in temp.iterdir() if p.name.startswith("pymp-")] == []


def test_cached_reads_are_not_reused_by_another_xltool_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inbox, archive = _collected(tmp_path)
    assert collect(inbox, archive, year=YEAR, jobs=1).read == 0  # same reader: nothing read again
    monkeypatch.setattr(intake, "__version__", "99.0.0")
    again = collect(inbox, archive, year=YEAR, jobs=1)
    assert again.read == 2 and again.exit_code == 0
    conn = sqlite3.connect(archive / "index.sqlite")
    readers = {r for (r,) in conn.execute("SELECT reader FROM reads")}
    conn.close()
    assert len(readers) == 1 and next(iter(readers)).startswith("99.0.0/")


def test_summary_in_english_and_counts_labelled(tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    book = workbook(ORGS[0], values(ORGS[0]))
    _put(inbox, "a.xlsx", book, 0)
    _put(inbox, "a-副本.xlsx", book, 0)  # identical bytes under a second name
    _put(inbox, "b.xlsx", workbook(ORGS[1], values(ORGS[1], 1)), 1)
    _put(inbox, "说明.txt", b"hello", 2)
    with zipfile.ZipFile(inbox / "附件.zip", "w") as zf:
        zf.writestr("c.xlsx", workbook(ORGS[2], values(ORGS[2], 2)))
    r = subprocess.run(
        [sys.executable, "-m", "xltool", "collect", str(inbox), "--archive", str(tmp_path / "a"), "--year", "2023"]
        + ["--lang", "en"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 1, r.stderr
    last = r.stdout.strip().splitlines()[-1]
    assert last == (
        "collected (2023): organisations: accepted 3, missing 0; 5 file(s): accepted 3, duplicate 1, unreadable 1;"
        " 1 file(s) not attributed"
    )
    assert r.stderr.strip().splitlines()[-1] == last  # the progress' last line, in English too
    assert "5 file(s) received (4 distinct" in r.stdout and "5 file(s) found in the inbox" in r.stderr
