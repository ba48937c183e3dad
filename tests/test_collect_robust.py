"""collect on real, messy inboxes and archives: names that are not UTF-8, links, the year, the
roster, stale feedback, an edited or damaged index, a full disk, a killed parent, the read cache."""

from __future__ import annotations

import io
import os
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path
from urllib.parse import unquote

import openpyxl
import pytest
from test_collect import ORGS, SCHEMA, _put, values, workbook, write_roster

from xltool.base.errors import XltoolError
from xltool.collect.run import collect
from xltool.collect.status import OrgRow, Status
from xltool.collect.status_workbook import MAX_LINKS, status_workbook

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
    odd = ("第#3社区 50%20居委会", "11330000MB7777777X", "township")
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


def test_status_workbook_past_the_link_limit() -> None:
    n = MAX_LINKS // 2 + 10  # two links a file: past Excel's limit on the files sheet
    data = status_workbook(_big_status(n))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        sheet = zf.read("xl/worksheets/sheet2.xml").decode("utf-8")
        rels = zf.read("xl/worksheets/_rels/sheet2.xml.rels").decode("utf-8")
    assert sheet.count("<hyperlink ") == MAX_LINKS == rels.count("<Relationship ")
    assert f'<row r="{n + 1}"' in sheet and f'<row r="{n + 2}"' not in sheet
    last = sheet[sheet.index(f'<row r="{n + 1}"') :]
    assert f"sources/{n - 1:064x}.xlsx" in last and f"feedback/{YEAR}/x-{n - 1:08x}-反馈.xlsx" in last  # as text


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
