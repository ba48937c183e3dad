"""collect end to end: a realistic inbox of generated workbooks -> archive, index, status workbook.

The inbox (34 roster organisations): correct files (odd and Chinese names), rule errors, blanks,
text in a number cell, one organisation resubmitting twice, one filling another's template, one
missing, last year's template, a non-workbook, an empty file, a corrupted zip, a zip attachment with
GBK member names and a nested zip, a .rar, the same file under two names, a re-saved copy, the 2019
format, an organisation not on the roster, temp and lock files. The archive already holds 2022 for
two organisations (cross-year check).

Run as a script (`python tests/test_collect.py INBOX ARCHIVE ...`) it collects with events printed
as JSON lines and optional sleeps, so a test can kill it midway.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [p for p in (str(ROOT), str(HERE)) if p not in sys.path]

from support import credit_code  # noqa: E402

from xltool.base.errors import XltoolError  # noqa: E402
from xltool.check.evaluate import flatten  # noqa: E402
from xltool.check.issues import count  # noqa: E402
from xltool.collect.archive import Archive  # noqa: E402
from xltool.collect.run import collect  # noqa: E402
from xltool.collect.tasks import read_task  # noqa: E402
from xltool.read.reader import read_workbook  # noqa: E402
from xltool.spec.model import load_model  # noqa: E402
from xltool.template.writer import TemplateOptions, write_template  # noqa: E402

MODEL = load_model("annual-report-2021")
BASE = flatten(MODEL, json.loads((ROOT / "samples" / "synthetic-2021.json").read_text(encoding="utf-8")))
T0 = 1_706_000_000  # 2024-01-23, file times are T0 + minutes
TOWNS = [
    "城关镇",
    "东城街道",
    "西城街道",
    "南山镇",
    "北湖镇",
    "青石镇",
    "白沙镇",
    "黄岭乡",
    "红星乡",
    "大坪乡",
    "小河乡",
    "石门镇",
    "清水镇",
    "桃源镇",
    "梅岭乡",
    "竹溪乡",
    "龙泉镇",
    "凤凰镇",
    "金鸡乡",
    "银杏乡",
    "柳林镇",
    "杨家坪乡",
]
DEPTS = [
    "县发展和改革局",
    "县教育局",
    "县公安局",
    "县民政局",
    "县财政局",
    "县人力资源和社会保障局",
    "县自然资源局",
    "县生态环境局",
    "县交通运输局",
    "县农业农村局",
    "县城市管理/综合执法局",
    "县城市管理_综合执法局",
]


code = credit_code  # a valid 统一社会信用代码 from its first 17 characters


ORGS = [
    (f"示例县{t}{'办事处' if t.endswith('街道') else '人民政府'}", credit_code(f"11330000MB{n:07d}"), "township")
    for n, t in enumerate(TOWNS)
]
ORGS += [(f"示例{d}", credit_code(f"11330000MC{n:07d}"), "county_department") for n, d in enumerate(DEPTS)]
SCHEMA = "annual-report-2021"
COLLECTION = f"{SCHEMA}/2023"


def values(org: tuple[str, str, str], n: int = 0, **changes: Any) -> dict[str, Any]:
    v = dict(BASE)
    v.update({"/organization/name": org[0], "/organization/code": org[1], "/proactive/licensing/decisions": 30 + n})
    v.update(changes)
    return v


def workbook(org: tuple[str, str, str], vals: dict[str, Any], year: int = 2023, model: Any = MODEL) -> bytes:
    data, _ = write_template(
        model,
        TemplateOptions(
            year=year, org_name=org[0], org_code=org[1], level=org[2], issue_date=f"{year + 1}-01-05", values=vals
        ),
    )
    return data


def carried_into(vals: dict[str, Any], prev: dict[str, Any]) -> dict[str, Any]:
    """This year's 上年结转 = last year's 结转下年度, keeping rule R1 (一+二 = 七+四) per column."""
    out = dict(vals)
    for p in [p for p in vals if "/carried_over/" in p and not p.endswith("/total")]:
        col = p.rsplit("/", 1)[1]
        delta = prev[f"/applications/carried_forward/{col}"] - out[p]
        out[p] += delta
        out[f"/applications/received/{col}"] -= delta
    return out


@dataclasses.dataclass
class Expect:
    state: str
    org: str | None  # organisation it is attributed to
    errors: int | None = None  # None: as the reader counts
    warnings: int | None = None


@dataclasses.dataclass
class Scenario:
    root: Path
    inbox: Path
    roster: Path
    files: dict[str, bytes]  # path in inbox -> bytes (zip members included, as "a.zip!/m")
    expect: dict[str, Expect]  # by first path of each distinct content
    skipped: list[str]


def write_roster(path: Path, orgs: list[tuple[str, str, str]]) -> Path:
    rows = ["单位名称,统一社会信用代码,层级,联系人"] + [
        f"{n},{c},{lv},张三 0571-0000000{i % 10}" for i, (n, c, lv) in enumerate(orgs)
    ]
    path.write_bytes(("\ufeff" + "\r\n".join(rows) + "\r\n").encode("utf-8"))
    return path


def _put(inbox: Path, rel: str, data: bytes, minute: int) -> None:
    path = inbox / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (T0 + 60 * minute, T0 + 60 * minute))


def _zip(members: list[tuple[str, bytes]], *, gbk: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 20, 9, 30, 0)), data, zipfile.ZIP_DEFLATED)
    return _rename_members(buf.getvalue()) if gbk else buf.getvalue()


def _rename_members(raw: bytes) -> bytes:
    """Rebuild a zip with GBK-encoded names and flag bit 11 cleared (zipfile cannot write that)."""
    src = zipfile.ZipFile(io.BytesIO(raw))
    out = io.BytesIO()
    central = []
    for info in src.infolist():
        name = info.filename.encode("gbk")
        body = raw[info.header_offset :]
        fname_len, extra_len = int.from_bytes(body[26:28], "little"), int.from_bytes(body[28:30], "little")
        data = body[30 + fname_len + extra_len : 30 + fname_len + extra_len + info.compress_size]
        flags = info.flag_bits & ~0x800
        offset = out.tell()
        head = bytearray(body[:30])
        head[6:8] = flags.to_bytes(2, "little")
        head[26:28] = len(name).to_bytes(2, "little")
        head[28:30] = (0).to_bytes(2, "little")
        out.write(bytes(head) + name + data)
        central.append((info, name, flags, offset))
    start = out.tell()
    for info, name, flags, offset in central:
        dt = info.date_time
        dostime = (dt[3] << 11) | (dt[4] << 5) | (dt[5] // 2)
        dosdate = ((dt[0] - 1980) << 9) | (dt[1] << 5) | dt[2]
        out.write(
            b"PK\x01\x02"
            + (20).to_bytes(2, "little")
            + (20).to_bytes(2, "little")
            + flags.to_bytes(2, "little")
            + info.compress_type.to_bytes(2, "little")
            + dostime.to_bytes(2, "little")
            + dosdate.to_bytes(2, "little")
            + info.CRC.to_bytes(4, "little")
            + info.compress_size.to_bytes(4, "little")
            + info.file_size.to_bytes(4, "little")
            + len(name).to_bytes(2, "little")
            + bytes(6)
            + bytes(2)
            + (0).to_bytes(4, "little")
            + offset.to_bytes(4, "little")
            + name
        )
    end = out.tell()
    out.write(
        b"PK\x05\x06"
        + bytes(4)
        + len(central).to_bytes(2, "little") * 2
        + (end - start).to_bytes(4, "little")
        + start.to_bytes(4, "little")
        + bytes(2)
    )
    return out.getvalue()


def _resaved(data: bytes) -> bytes:
    """The same workbook re-saved by another writer (openpyxl): other bytes, same data."""
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


PREV = {  # organisations archived for 2022 (cross-year check): P equal, Q different
    "P": 17,
    "Q": 18,
}


def build_2022(root: Path) -> tuple[Path, Path]:
    inbox = root / "inbox-2022"
    for _key, i in PREV.items():
        _put(inbox, f"{ORGS[i][0]}-2022.xlsx", workbook(ORGS[i], values(ORGS[i], i, **{"/year": 2022}), year=2022), i)
    return inbox, write_roster(root / "roster-2022.csv", [ORGS[i] for i in PREV.values()])


def build_inbox(root: Path) -> Scenario:
    inbox = root / "inbox"
    files: dict[str, bytes] = {}
    expect: dict[str, Expect] = {}

    def add(rel: str, data: bytes, minute: int, exp: Expect | None) -> None:
        _put(inbox, rel, data, minute)
        files[rel] = data
        if exp is not None:
            expect[rel] = exp

    special = {3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}
    odd_names = {1: "新建 Microsoft Excel 工作表 (2).xlsx", 2: "报表　最终版【请查收】.XLSX", 19: "✅ 已填好 #1.xlsx"}
    for i, org in enumerate(ORGS):
        if i in special:
            continue
        folder = "乡镇" if org[2] == "township" else "部门/第一批"
        add(
            f"{folder}/{odd_names.get(i, org[0] + '-2023年报.xlsx')}",
            workbook(org, values(org, i)),
            i,
            Expect("accepted", org[0], 0, 0),
        )
    # 3: resubmitted twice; the newest file sorts first by name, and file time decides
    r = ORGS[3]
    for minute, name, note in (
        (100, "c-初稿.xlsx", "初稿"),
        (200, "b-修改稿.xlsx", "修改稿"),
        (300, "a-最终版.xlsx", "最终版"),
    ):
        state = "accepted" if note == "最终版" else "superseded"
        add(
            f"乡镇/南山镇/{name}",
            workbook(r, values(r, 3, **{"/overview": BASE["/overview"] + note})),
            minute,
            Expect(state, r[0], 0, 0),
        )
    # 4 filled 5's template (identity 5, name and code 4); 5 also sent its own
    add("乡镇/北湖镇.xlsx", workbook(ORGS[5], values(ORGS[4], 4)), 40, Expect("wrong_org", ORGS[4][0], 2, 0))
    add("乡镇/青石镇.xlsx", workbook(ORGS[5], values(ORGS[5], 5)), 50, Expect("accepted", ORGS[5][0], 0, 0))
    # 6 missing; 7 sent last year's template, filled for last year
    add(
        "乡镇/黄岭乡-去年模板.xlsx",
        workbook(ORGS[7], values(ORGS[7], 7, **{"/year": 2022}), year=2022),
        70,
        Expect("wrong_year", ORGS[7][0], 1, 0),
    )
    # rule errors (R1 in three columns), blanks (warnings), text in a number cell
    add(
        "乡镇/红星乡.xlsx",
        workbook(ORGS[8], values(ORGS[8], 8, **{"/applications/received/natural_person": 29})),
        80,
        Expect("errors", ORGS[8][0]),
    )
    add(
        "乡镇/大坪乡.xlsx",
        workbook(ORGS[9], values(ORGS[9], 9, **{"/applications/carried_forward/commercial_enterprise": 2})),
        90,
        Expect("errors", ORGS[9][0]),
    )
    add(
        "乡镇/小河乡.xlsx",
        workbook(ORGS[10], values(ORGS[10], 10, **{"/applications/results/disclosed/natural_person": 12})),
        95,
        Expect("errors", ORGS[10][0]),
    )
    add(
        "乡镇/石门镇.xlsx",
        workbook(
            ORGS[11],
            values(
                ORGS[11],
                11,
                **{"/applications/received/research_institution": None, "/review_litigation/review/upheld": None},
            ),
        ),
        110,
        Expect("accepted", ORGS[11][0], 0, 2),
    )
    add(
        "乡镇/清水镇.xlsx",
        workbook(ORGS[12], values(ORGS[12], 12, **{"/proactive/licensing/decisions": "12件"})),
        120,
        Expect("errors", ORGS[12][0], 1, 0),
    )
    # 13: the same file twice under two names; 14: a re-saved copy (other bytes, same data)
    same = workbook(ORGS[13], values(ORGS[13], 13))
    add("乡镇/桃源镇.xlsx", same, 130, Expect("accepted", ORGS[13][0], 0, 0))
    add("重复/桃源镇 - 副本.xlsx", same, 131, None)
    g = workbook(ORGS[14], values(ORGS[14], 14))
    add("乡镇/梅岭乡.xlsx", g, 140, Expect("accepted", ORGS[14][0], 0, 0))
    add("乡镇/梅岭乡-另存.xlsx", _resaved(g), 141, Expect("duplicate", ORGS[14][0], 0, 0))
    # 15, 16 in a zip attachment with GBK names, a temp member and a nested zip
    members = [
        ("竹溪乡/竹溪乡年报.xlsx", workbook(ORGS[15], values(ORGS[15], 15))),
        ("龙泉镇年报.xlsx", workbook(ORGS[16], values(ORGS[16], 16))),
        ("~$龙泉镇年报.xlsx", b"owner"),
        ("旧附件.zip", _zip([("x.xlsx", b"PK")])),
    ]
    attachment = _zip(members, gbk=True)
    add("附件/第二批.zip", attachment, 150, None)
    for name, data in members:
        if not name.startswith("~$"):
            files[f"附件/第二批.zip!/{name}"] = data
    expect["附件/第二批.zip!/竹溪乡/竹溪乡年报.xlsx"] = Expect("accepted", ORGS[15][0], 0, 0)
    expect["附件/第二批.zip!/龙泉镇年报.xlsx"] = Expect("accepted", ORGS[16][0], 0, 0)
    expect["附件/第二批.zip!/旧附件.zip"] = Expect("rejected", None)
    # 17, 18: archived for 2022 too; 17 carries over exactly, 18 does not (3 warnings)
    p, q = ORGS[17], ORGS[18]
    add(
        "部门/凤凰镇.xlsx", workbook(p, carried_into(values(p, 17), values(p, 17))), 170, Expect("accepted", p[0], 0, 0)
    )
    add("部门/金鸡乡.xlsx", workbook(q, values(q, 18)), 180, Expect("accepted", q[0], 0, 3))
    # files that belong to nobody
    add("报送说明.pdf", b"%PDF-1.4\n% not a workbook\n", 200, Expect("rejected", None))
    add("空文件.xlsx", b"", 201, Expect("rejected", None))
    add("附件/损坏的附件.zip", attachment[: len(attachment) // 2], 202, Expect("rejected", None))
    add("附件/打包.rar", b"Rar!\x1a\x07\x00" + bytes(40), 203, Expect("rejected", None))
    m19 = load_model("annual-report-2019")
    old = flatten(m19, json.loads((ROOT / "samples" / "hucun-2020.json").read_text(encoding="utf-8")))
    add(
        "旧格式/2019版.xlsx",
        workbook(ORGS[0], {**old, "/organization/name": ORGS[0][0]}, year=2020, model=m19),
        204,
        Expect("wrong_format", None),
    )
    stranger = ("邻县某镇人民政府", "11330000MD0000001Q", "township")
    add("其他/邻县.xlsx", workbook(stranger, values(stranger)), 205, Expect("unknown_org", None, 1, 0))
    # temp and lock files
    skipped = ["乡镇/~$城关镇.xlsx", "乡镇/.~lock.城关镇.xlsx#", "部门/Thumbs.db"]
    for rel in skipped:
        _put(inbox, rel, b"lock", 1)
    roster = write_roster(root / "roster.csv", ORGS)
    return Scenario(root, inbox, roster, files, expect, skipped + ["附件/第二批.zip!/~$龙泉镇年报.xlsx"])


def tree(root: Path) -> dict[str, str]:
    """Every file under root -> sha256 (the archive's bytes)."""
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def inbox_state(inbox: Path) -> dict[str, tuple[str, int]]:
    return {
        p.relative_to(inbox).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(inbox.rglob("*"))
        if p.is_file()
    }


def rows(archive: Path, table: str, where: str = "") -> list[dict[str, Any]]:
    conn = sqlite3.connect(archive / "index.sqlite")  # read-write mode: closing removes -wal/-shm
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(f"SELECT * FROM {table} {where} ORDER BY 1, 2, 3")]
    finally:
        conn.close()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- the command-line runner used by the interruption and lock tests -----------------------------


def _main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("inbox")
    ap.add_argument("archive")
    ap.add_argument("--roster")
    ap.add_argument("--year", type=int)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--sleep", action="append", default=[], help="KIND=SECONDS: sleep after each event of KIND")
    args = ap.parse_args(argv)
    delays = {k: float(v) for k, v in (s.split("=") for s in args.sleep)}

    def on_event(e: Any) -> None:
        print(json.dumps(dataclasses.asdict(e), ensure_ascii=False), flush=True)
        time.sleep(delays.get(e.kind, 0))

    try:
        result = collect(
            args.inbox, args.archive, roster=args.roster, year=args.year, jobs=args.jobs, on_event=on_event
        )
    except XltoolError as exc:
        print(json.dumps({"kind": "error", "code": exc.code}), flush=True)
        return 2
    print(json.dumps({"kind": "exit", "code": result.exit_code}), flush=True)
    return result.exit_code


def runner(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), *args],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        start_new_session=True,
        encoding="utf-8",
    )


def crashing_read(task: dict[str, Any]) -> dict[str, Any]:
    """A reader that dies (like a segfault) on files named crash*, and hangs on files named hang*."""
    if task["name"].startswith("crash"):
        os.kill(os.getpid(), signal.SIGKILL)
    if task["name"].startswith("hang-hard"):
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
        time.sleep(60)
    if task["name"].startswith("hang"):
        time.sleep(60)
    return read_task(task)


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))


# -- tests ---------------------------------------------------------------------------------------

import openpyxl  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The scenario, an archive holding 2022 (copy kept) and the clean 2023 run on it."""
    root = tmp_path_factory.mktemp("collect")
    sc = build_inbox(root)
    inbox22, roster22 = build_2022(root)
    base = root / "archive-2022"
    r22 = collect(inbox22, base, roster=roster22, year=2022, jobs=2)
    assert r22.exit_code == 0, r22.summary()
    archive = root / "archive"
    shutil.copytree(base, archive)
    before = inbox_state(sc.inbox)
    events: list[Any] = []
    result = collect(sc.inbox, archive, roster=sc.roster, year=2023, jobs=2, on_event=events.append)
    return {"sc": sc, "base": base, "archive": archive, "result": result, "events": events, "inbox_before": before}


def _expected_counts(sc: Scenario, path: str, exp: Expect) -> tuple[int, int]:
    if exp.errors is not None:
        return exp.errors, exp.warnings or 0
    tmp = sc.root / "oracle.xlsx"
    tmp.write_bytes(sc.files[path])
    return count(read_workbook(tmp, model=MODEL).issues)


def test_every_file_gets_the_expected_state(world: dict[str, Any]) -> None:
    sc, archive = world["sc"], world["archive"]
    subs = {r["path_in_inbox"]: r for r in rows(archive, "submissions", "WHERE year=2023")}
    assert set(subs) == set(sc.expect)
    for path, exp in sc.expect.items():
        r = subs[path]
        assert (r["state"], r["org_name"] if r["org_key"] else None) == (exp.state, exp.org), path
        if exp.state not in ("rejected", "wrong_format"):
            assert (r["errors"], r["warnings"]) == _expected_counts(sc, path, exp), path
        assert r["sha256"] == sha(sc.files[path])
    codes = {p: subs[p]["error_code"] for p, e in sc.expect.items() if e.state in ("rejected", "wrong_format")}
    assert codes == {
        "附件/第二批.zip!/旧附件.zip": "NESTED_ARCHIVE",
        "报送说明.pdf": "NOT_A_WORKBOOK",
        "空文件.xlsx": "EMPTY_FILE",
        "附件/损坏的附件.zip": "BROKEN_ZIP",
        "附件/打包.rar": "UNSUPPORTED_ARCHIVE",
        "旧格式/2019版.xlsx": "WRONG_SCHEMA",
    }
    assert subs["乡镇/桃源镇.xlsx"]["copies"] == 2  # the same bytes under two names: one submission
    assert subs["乡镇/梅岭乡-另存.xlsx"]["duplicate_of"] == sha(sc.files["乡镇/梅岭乡.xlsx"])
    result = world["result"]
    assert result.exit_code == 1
    assert sorted(s["path"] for s in result.skipped) == sorted(sc.skipped)
    assert {f["path"]: f["copy_of"] for f in result.files if f["copy_of"]} == {
        "重复/桃源镇 - 副本.xlsx": "乡镇/桃源镇.xlsx"
    }
    assert inbox_state(sc.inbox) == world["inbox_before"]  # nothing in the inbox was modified


def test_resubmissions_keep_history_and_newest_file_wins(world: dict[str, Any]) -> None:
    sc, archive = world["sc"], world["archive"]
    subs = {r["path_in_inbox"]: r for r in rows(archive, "submissions", "WHERE year=2023")}
    got = {
        p.rsplit("/", 1)[1]: (subs[p]["version"], subs[p]["is_current"], subs[p]["archive_path"])
        for p in subs
        if "南山镇/" in p
    }
    stem = ORGS[3][0]
    c, b, a = (sha(sc.files[f"乡镇/南山镇/{n}"])[:8] for n in ("c-初稿.xlsx", "b-修改稿.xlsx", "a-最终版.xlsx"))
    assert got == {
        "c-初稿.xlsx": (1, 0, f"{COLLECTION}/history/{stem}/1-{c}.json"),
        "b-修改稿.xlsx": (2, 0, f"{COLLECTION}/history/{stem}/2-{b}.json"),
        "a-最终版.xlsx": (3, 1, f"{COLLECTION}/{stem}.json"),
    }
    current = json.loads((archive / COLLECTION / f"{stem}.json").read_text(encoding="utf-8"))
    assert current["overview"].endswith("最终版") and current["_meta"]["source"]["file"] == "a-最终版.xlsx"
    first = json.loads((archive / f"{COLLECTION}/history/{stem}/1-{c}.json").read_text(encoding="utf-8"))
    assert first["overview"].endswith("初稿") and first["_meta"]["source"]["sha256"] == sha(
        sc.files["乡镇/南山镇/c-初稿.xlsx"]
    )


def test_archive_contents_exactly(world: dict[str, Any]) -> None:
    sc, archive = world["sc"], world["archive"]
    subs = {r["path_in_inbox"]: r for r in rows(archive, "submissions", "WHERE year=2023")}
    accepted = sorted({e.org for e in sc.expect.values() if e.state == "accepted"})
    expected = {".lock", "index.sqlite", "status-2022.xlsx", "status-2023.xlsx"}
    expected |= {f"{SCHEMA}/2022/{ORGS[i][0]}.json" for i in PREV.values()}
    stems = {o: o.replace("/", "_") for o in accepted}
    stems["示例县城市管理_综合执法局"] += "-" + sha(b"11330000MC0000011P")[:8]  # collides with 城市管理/综合执法局
    expected |= {f"{COLLECTION}/{stems[o]}.json" for o in accepted}
    r = ORGS[3][0]
    expected |= {
        f"{COLLECTION}/history/{r}/{n}-{sha(sc.files[f'乡镇/南山镇/{f}'])[:8]}.json"
        for n, f in ((1, "c-初稿.xlsx"), (2, "b-修改稿.xlsx"))
    }
    problems = {p: e for p, e in sc.expect.items() if e.state in ("errors", "wrong_org", "wrong_year", "unknown_org")}
    expected |= {
        f"feedback/2023/{e.org or '邻县某镇人民政府'}-{sha(sc.files[p])[:8]}-反馈.xlsx" for p, e in problems.items()
    }
    got = tree(archive)
    sources = {k for k in got if k.startswith("sources/")}
    assert set(got) - sources == expected
    received = {sha(d) for d in sc.files.values()} | {sha(d) for p, d in _files_2022(sc).items()}
    assert {s.split("/")[1].split(".")[0] for s in sources} == received
    for s in sources:  # stored by content, never altered
        assert got[s] == s.split("/")[1].split(".")[0]
    assert {s.rsplit(".", 1)[1] for s in sources} == {"xlsx", "pdf", "zip", "rar"}
    assert {k: v["feedback_path"] for k, v in subs.items() if v["feedback_path"]} == {
        p: f"feedback/2023/{e.org or '邻县某镇人民政府'}-{sha(sc.files[p])[:8]}-反馈.xlsx" for p, e in problems.items()
    }


def _files_2022(sc: Scenario) -> dict[str, bytes]:
    inbox = sc.root / "inbox-2022"
    return {p.name: p.read_bytes() for p in inbox.iterdir()}


def test_feedback_workbooks_list_the_problems(world: dict[str, Any]) -> None:
    sc, archive = world["sc"], world["archive"]
    path = "乡镇/黄岭乡-去年模板.xlsx"
    fb = archive / f"feedback/2023/{ORGS[7][0]}-{sha(sc.files[path])[:8]}-反馈.xlsx"
    wb = openpyxl.load_workbook(fb, read_only=True)
    listing = [[c for c in row] for row in wb["问题清单"].iter_rows(values_only=True)]
    wb.close()
    assert any(row[3] == "YEAR_MISMATCH" and "2022年度" in row[4] for row in listing if row and len(row) > 4)


def test_cross_year_warning_names_both_values(world: dict[str, Any]) -> None:
    archive = world["archive"]
    subs = {r["path_in_inbox"]: r for r in rows(archive, "submissions", "WHERE year=2023")}
    assert json.loads(subs["部门/凤凰镇.xlsx"]["issues_json"]) == []
    issues = json.loads(subs["部门/金鸡乡.xlsx"]["issues_json"])
    got = {(i["pointer"], i["found"], i["expected"]) for i in issues}
    assert {(i["code"], i["rule"].split("[")[0], i["severity"]) for i in issues} == {("W4", "W4", "warning")}
    assert got == {
        ("/applications/carried_over/natural_person", 2, 1),
        ("/applications/carried_over/commercial_enterprise", 1, 0),
        ("/applications/carried_over/total", 3, 1),
    }
    msg = next(i["message_zh"] for i in issues if i["pointer"].endswith("/total"))
    assert msg == "W4 “总计”列：第二项为3，上年度报告的第四项为1，两者应相等（上年度指2022年度已归档的报告）"


STATE_LABEL = {
    "accepted": "已接收",
    "errors": "有错误",
    "wrong_org": "用错单位模板",
    "wrong_year": "年度不符",
    "missing": "未报送",
}


def test_status_workbook_rows(world: dict[str, Any]) -> None:
    sc, archive = world["sc"], world["archive"]
    by_org: dict[str, list[tuple[str, Expect]]] = {}
    for p, e in sc.expect.items():
        if e.org:
            by_org.setdefault(e.org, []).append((p, e))
    wb = openpyxl.load_workbook(archive / "status-2023.xlsx")
    ws = wb["报送情况"]
    head = [c.value for c in ws[4]]
    assert head == [
        "序号",
        "单位名称",
        "统一社会信用代码",
        "层级",
        "状态",
        "错误数",
        "警告数",
        "收到的文件",
        "文件时间",
        "收到文件数",
        "反馈文件",
        "归档文件",
        "说明",
        "联系人",
        "截止日期",
    ]
    assert ws.auto_filter.ref == f"A4:O{4 + len(ORGS)}" and ws.freeze_panes == "A5"
    got = [[c.value for c in row] for row in ws.iter_rows(min_row=5)]
    assert len(got) == len(ORGS)
    for n, (org, row) in enumerate(zip(ORGS, got, strict=False), 1):
        subs = [(p, e) for p, e in by_org.get(org[0], []) if e.state != "duplicate"]
        if not subs:
            want = [n, org[0], org[1], "乡镇（街道）", "未报送", 0, 0, None, None, 0]
        else:
            path, exp = max(subs, key=lambda pe: (Path(sc.inbox / pe[0].split("!/")[0]).stat().st_mtime, pe[0]))
            state = "accepted" if exp.state in ("accepted", "superseded") else exp.state
            errors, warnings = _expected_counts(sc, path, exp)
            n_subs = len(by_org[org[0]])
            want = [n, org[0], org[1], "乡镇（街道）", STATE_LABEL[state], errors, warnings, path, row[8], n_subs]
        if org[2] == "county_department":
            want[3] = "县级部门"
        assert row[:10] == want, org[0]
        assert row[13:] == [f"张三 0571-0000000{(n - 1) % 10}", None], org[0]  # the roster's contact, for chasing
        state_cell = ws.cell(4 + n, 5)
        assert state_cell.fill.fgColor.rgb.endswith(
            {"已接收": "C6EFCE", "未报送": "D9D9D9", "有错误": "FFC7CE"}.get(row[4], "FFEB9C")
        )
        link = ws.cell(4 + n, 11).hyperlink
        assert (link is not None) == (row[4] in ("有错误", "用错单位模板", "年度不符"))
    assert ws.cell(5, 9).value == time.strftime("%Y-%m-%d %H:%M", time.localtime(T0))
    assert wb.sheetnames == ["报送情况", "全部文件", "状态说明"]
    assert wb["全部文件"].max_row == 1 + len(sc.expect)


def test_second_run_changes_nothing(world: dict[str, Any]) -> None:
    sc, archive = world["sc"], world["archive"]
    before = tree(archive)
    stamps = {p: (archive / p).stat().st_mtime_ns for p in before}
    again = collect(sc.inbox, archive, roster=sc.roster, year=2023, jobs=2)
    assert tree(archive) == before  # byte-identical, and nothing left besides (no -wal/-shm)
    assert {p: (archive / p).stat().st_mtime_ns for p in before} == stamps  # not even rewritten
    assert (again.read, again.written, again.exit_code) == (0, [], 1)
    assert again.status.as_dict() == world["result"].status.as_dict()


def test_status_overview_matches(world: dict[str, Any]) -> None:
    from xltool.collect.status import load_status

    archive = world["archive"]
    before = tree(archive)
    st = load_status(archive)
    assert (st.year, st.schema) == (2023, SCHEMA)
    assert (
        st.counts == {"accepted": 27, "errors": 4, "wrong_org": 1, "wrong_year": 1, "missing": 1} and st.exit_code == 1
    )
    text = st.to_text()
    assert "应报 34 个单位" in text and "未报送 1" in text and "报送说明.pdf" in text and ORGS[6][0] in text
    assert json.loads(st.to_json())["counts"]["missing"] == 1
    assert load_status(archive, year=2022).counts == {"accepted": 2, "missing": 0}
    assert tree(archive) == before  # reading the status writes nothing


def test_progress_events(world: dict[str, Any]) -> None:
    events = world["events"]
    kinds = [e.kind for e in events]
    assert kinds[-1] == "done" and kinds.count("scan") == 1
    files = [e for e in events if e.kind == "file"]
    assert [e.done for e in files] == list(range(1, len(files) + 1)) and files[-1].total == len(files)
    verdicts = {"附件/第二批.zip!/旧附件.zip", "附件/损坏的附件.zip", "附件/打包.rar"}  # decided without a parser
    assert sorted(e.path for e in files) == sorted(set(world["sc"].expect) - verdicts)


# -- interruption, concurrency, hostile workers ---------------------------------------------------

#: The only differences from a clean run: the times of this run, and the hash of the archived JSON
#: (which holds `_meta.read_at`).
VOLATILE = {"arrived_at", "read_at", "json_sha256"}


def _feedback_content(path: Path) -> Any:
    wb = openpyxl.load_workbook(path, read_only=True)
    try:
        return wb.sheetnames, [list(r) for r in wb["问题清单"].iter_rows(values_only=True)]
    finally:
        wb.close()


def snapshot(archive: Path) -> dict[str, Any]:
    """The archive's content with run times removed (JSON `_meta.read_at`, index arrived_at/read_at;
    feedback workbooks by content, since openpyxl stamps its save time into them)."""
    out: dict[str, Any] = {}
    for rel, digest in tree(archive).items():
        if rel == "index.sqlite":
            continue
        if rel.endswith(".json"):
            doc = json.loads((archive / rel).read_text(encoding="utf-8"))
            doc["_meta"].pop("read_at")
            out[rel] = doc
        elif rel.startswith("feedback/"):
            out[rel] = _feedback_content(archive / rel)
        else:
            out[rel] = digest
    for table in ("reads", "receipts", "roster", "org_files", "submissions"):
        got = []
        for r in rows(archive, table):
            r = {k: v for k, v in r.items() if k not in VOLATILE}
            if r.get("report_json"):
                r["report_json"] = {**json.loads(r["report_json"]), "_meta": None}
            got.append(json.dumps(r, sort_keys=True, ensure_ascii=False))
        out[table] = sorted(got)
    return out


def _leftovers(archive: Path) -> list[str]:
    return [
        p.name
        for p in archive.rglob("*")
        if p.name.startswith(".tmp-") or p.name.endswith(("-wal", "-shm", "-journal"))
    ]


@pytest.mark.parametrize("kind, after", [("file", 8), ("write", 4)], ids=["while-reading", "while-archiving"])
def test_killed_run_is_completed_by_a_rerun(world: dict[str, Any], tmp_path: Path, kind: str, after: int) -> None:
    sc = world["sc"]
    archive = tmp_path / "archive"
    shutil.copytree(world["base"], archive)
    proc = runner(str(sc.inbox), str(archive), "--roster", str(sc.roster), "--year", "2023", "--sleep", f"{kind}=0.25")
    seen = 0
    assert proc.stdout is not None
    try:
        for line in proc.stdout:
            if json.loads(line)["kind"] == kind:
                seen += 1
                if seen == after:
                    break
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the runner and its workers: one process group
        proc.wait()
        proc.stdout.close()
    assert seen == after and proc.returncode == -signal.SIGKILL
    assert not (archive / "status-2023.xlsx").exists()  # really stopped midway
    if kind == "file":
        assert 0 < len(rows(archive, "reads", "WHERE read_at > '2024'")) - len(PREV) < len(sc.expect)
    else:
        assert rows(archive, "submissions", "WHERE year=2023") == []
    rerun = collect(sc.inbox, archive, roster=sc.roster, year=2023, jobs=2)
    assert rerun.exit_code == 1
    assert _leftovers(archive) == []
    assert snapshot(archive) == snapshot(world["archive"])


def test_temp_files_of_a_killed_write_are_swept(world: dict[str, Any], tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    shutil.copytree(world["archive"], archive)
    for rel in (f"{COLLECTION}/.tmp-abc123.json", "sources/.tmp-x.xlsx", "feedback/2023/.tmp-y.xlsx"):
        (archive / rel).write_bytes(b"half")
    before = tree(world["archive"])
    result = collect(world["sc"].inbox, archive, roster=world["sc"].roster, year=2023, jobs=2)
    assert sorted(result.removed_temp) == sorted(
        ["sources/.tmp-x.xlsx", "feedback/2023/.tmp-y.xlsx", f"{COLLECTION}/.tmp-abc123.json"]
    )
    assert tree(archive) == before


def _small_inbox(root: Path, names: dict[str, int]) -> Path:
    inbox = root / "inbox"
    for n, (name, i) in enumerate(names.items()):
        _put(inbox, name, workbook(ORGS[i], values(ORGS[i], i)), n)
    return inbox


def test_second_collect_waits_then_refuses(tmp_path: Path) -> None:
    inbox = _small_inbox(tmp_path, {"城关镇.xlsx": 0})
    archive = tmp_path / "archive"
    with Archive(archive).lock():
        started = time.monotonic()
        with pytest.raises(XltoolError) as err:
            collect(inbox, archive, year=2023, jobs=1, lock_wait=0.5)
        assert time.monotonic() - started >= 0.5
    assert (
        err.value.code == "ARCHIVE_BUSY"
        and "另一个收集任务" in err.value.message_zh
        and "another collect" in err.value.message_en
    )
    assert sorted(p.name for p in archive.iterdir()) == [".lock"]  # refused before touching anything
    lock = Archive(archive).lock()
    lock.__enter__()
    threading.Timer(0.5, lock.__exit__, (None, None, None)).start()
    result = collect(inbox, archive, year=2023, jobs=1, lock_wait=10)  # waits for the release, then runs
    assert result.exit_code == 0 and result.read == 1


def test_two_processes_collecting_at_once(tmp_path: Path) -> None:
    inbox = _small_inbox(tmp_path, {"城关镇.xlsx": 0, "东城.xlsx": 1, "西城.xlsx": 2})
    archive = tmp_path / "archive"
    proc = runner(str(inbox), str(archive), "--year", "2023", "--jobs", "1", "--sleep", "file=0.7")
    assert proc.stdout is not None
    first = json.loads(proc.stdout.readline())
    assert first["kind"] in ("scan", "start", "file")  # it holds the lock now
    with pytest.raises(XltoolError) as err:
        collect(inbox, archive, year=2023, jobs=1, lock_wait=0.3)
    assert err.value.code == "ARCHIVE_BUSY"
    out = proc.stdout.read()
    proc.wait()
    proc.stdout.close()
    assert proc.returncode == 0 and json.loads(out.strip().splitlines()[-1]) == {"kind": "exit", "code": 0}
    again = collect(inbox, archive, year=2023, jobs=1)
    assert (again.read, again.written, again.exit_code) == (0, [], 0)


def test_worker_crash_and_hang_cost_one_file_each(tmp_path: Path) -> None:
    inbox = _small_inbox(tmp_path, {"crash-城关镇.xlsx": 0, "hang-东城.xlsx": 1, "西城.xlsx": 2, "南山.xlsx": 3})
    archive = tmp_path / "archive"
    result = collect(inbox, archive, year=2023, jobs=2, timeout=1.5, read_fn=crashing_read)
    got = {f["path"]: (f["state"], f["error_code"]) for f in result.files}
    assert got == {
        "crash-城关镇.xlsx": ("rejected", "WORKER_CRASHED"),
        "hang-东城.xlsx": ("rejected", "TIMEOUT"),
        "西城.xlsx": ("accepted", None),
        "南山.xlsx": ("accepted", None),
    }
    assert result.exit_code == 1
    rerun = collect(inbox, archive, year=2023, jobs=2)  # transient failures are read again
    assert rerun.read == 2 and rerun.exit_code == 0
    assert {f["path"]: f["state"] for f in rerun.files} == dict.fromkeys(got, "accepted")


def test_a_hang_that_ignores_the_alarm_is_killed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from xltool.collect import workers

    monkeypatch.setattr(workers, "GRACE", 1.0)
    inbox = _small_inbox(tmp_path, {"hang-hard-城关镇.xlsx": 0, "西城.xlsx": 2, "南山.xlsx": 3})
    started = time.monotonic()
    result = collect(inbox, tmp_path / "archive", year=2023, jobs=2, timeout=1.0, read_fn=crashing_read)
    assert time.monotonic() - started < 30
    assert {f["path"]: (f["state"], f["error_code"]) for f in result.files} == {
        "hang-hard-城关镇.xlsx": ("rejected", "TIMEOUT"),
        "西城.xlsx": ("accepted", None),
        "南山.xlsx": ("accepted", None),
    }


def test_a_transient_failure_is_read_once_a_run_under_every_name(tmp_path: Path) -> None:
    """Reading state comes from the index, one content at a time: a content that crashed its worker
    is not read again for its other names in the same run (in flight, or failed this run), only by
    the next run."""
    inbox = _small_inbox(tmp_path, {"crash-城关镇.xlsx": 0, "西城.xlsx": 2})
    for copy in ("副本/crash-城关镇.xlsx", "副本2/crash-城关镇.xlsx"):
        _put(inbox, copy, (inbox / "crash-城关镇.xlsx").read_bytes(), 5)
    _put(inbox, "西城-副本.xlsx", (inbox / "西城.xlsx").read_bytes(), 6)
    archive = tmp_path / "archive"
    events: list[Any] = []
    result = collect(inbox, archive, year=2023, jobs=2, read_fn=crashing_read, on_event=events.append)
    assert result.read == 2 and [e.total for e in events if e.kind == "file"] == [2, 2]
    assert {f["path"]: (f["state"], f["error_code"], f["copy_of"]) for f in result.files} == {
        "crash-城关镇.xlsx": ("rejected", "WORKER_CRASHED", None),
        "副本/crash-城关镇.xlsx": ("rejected", "WORKER_CRASHED", "crash-城关镇.xlsx"),
        "副本2/crash-城关镇.xlsx": ("rejected", "WORKER_CRASHED", "crash-城关镇.xlsx"),
        "西城.xlsx": ("accepted", None, "西城-副本.xlsx"),  # the first name, by path
        "西城-副本.xlsx": ("accepted", None, None),
    }
    again = collect(inbox, archive, year=2023, jobs=2, read_fn=crashing_read)  # crashes again: read once more
    assert again.read == 1 and {f["error_code"] for f in again.files} == {"WORKER_CRASHED", None}
    rerun = collect(inbox, archive, year=2023, jobs=2)
    assert rerun.read == 1 and {f["state"] for f in rerun.files} == {"accepted"}
    assert collect(inbox, archive, year=2023, jobs=2).read == 0


def test_file_stems_without_a_roster_collide_rename_and_stay(tmp_path: Path) -> None:
    """Stems (kept in the stage's tables): off a roster by key, each organisation named by its oldest
    file; a lower-case collision gets a hash; stems stay across runs, one edited into something
    unsafe is assigned again."""
    slash, under = ORGS[-2], ORGS[-1]  # 县城市管理/综合执法局, 县城市管理_综合执法局: the same stem
    renamed = ("示例县城市管理和执法局", slash[1], slash[2])  # the same organisation (code), a newer name
    inbox = tmp_path / "inbox"
    _put(inbox, "a.xlsx", workbook(renamed, values(renamed, 1)), 5)
    _put(inbox, "b.xlsx", workbook(slash, values(slash, 2)), 1)  # older: names the organisation
    _put(inbox, "c.xlsx", workbook(under, values(under, 3)), 2)
    _put(inbox, "d.xlsx", workbook(ORGS[0], values(ORGS[0], 4)), 3)
    archive = tmp_path / "archive"
    first = collect(inbox, archive, year=2023, jobs=2)
    stems = {r["org_key"]: r["stem"] for r in rows(archive, "org_files")}
    assert stems == {
        ORGS[0][1]: "示例县城关镇人民政府",
        slash[1]: "示例县城市管理_综合执法局",
        under[1]: "示例县城市管理_综合执法局-" + sha(under[1].encode())[:8],
    }
    assert {f["path"]: (f["state"], f["org_name"]) for f in first.files} == {
        "a.xlsx": ("accepted", renamed[0]),
        "b.xlsx": ("superseded", slash[0]),
        "c.xlsx": ("accepted", under[0]),
        "d.xlsx": ("accepted", ORGS[0][0]),
    }
    conn = sqlite3.connect(archive / "index.sqlite")
    with conn:
        conn.execute("UPDATE org_files SET stem='../示例县城关镇人民政府' WHERE org_key=?", (ORGS[0][1],))
    conn.close()
    _put(inbox, "e.xlsx", workbook(ORGS[1], values(ORGS[1], 5)), 4)
    second = collect(inbox, archive, year=2023, jobs=2)
    assert {r["org_key"]: r["stem"] for r in rows(archive, "org_files")} == {
        **stems,
        ORGS[0][1]: "示例县城关镇人民政府",  # assigned again (nobody else holds it)
        ORGS[1][1]: ORGS[1][0],
    }
    assert {r["path_in_inbox"]: r["archive_path"] for r in rows(archive, "submissions")} == {
        "a.xlsx": f"{COLLECTION}/示例县城市管理_综合执法局.json",
        "b.xlsx": f"{COLLECTION}/history/示例县城市管理_综合执法局/1-{sha((inbox / 'b.xlsx').read_bytes())[:8]}.json",
        "c.xlsx": f"{COLLECTION}/{stems[under[1]]}.json",
        "d.xlsx": f"{COLLECTION}/示例县城关镇人民政府.json",
        "e.xlsx": f"{COLLECTION}/{ORGS[1][0]}.json",
    }
    assert second.exit_code == 0 and second.read == 1
