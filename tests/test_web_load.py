"""A bounded load on loopback: 50 simultaneous uploads of distinct valid files plus a few hostile
ones, while `xltool collect` runs on the same archive. Correctness only (every valid file archived
exactly once, the index consistent, `collect`/`status` agree); latency figures are in
`benchmarks/bench_portal.py`.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from hostile_files import zip_bomb_lying
from web_support import YEAR, cli, csrf_of, index_rows, running, towns, upload, workbook, write_roster

from xltool.collect.archive import Archive

N = 50
ORGS = towns(N + 5)  # the last five report through `xltool collect`, during the uploads


def test_fifty_simultaneous_uploads_with_a_collect_running(tmp_path: Path) -> None:
    files = {org[0]: workbook(org, i) for i, org in enumerate(ORGS)}
    inbox = tmp_path / "收件箱"
    inbox.mkdir()
    for org in ORGS[N:]:
        (inbox / f"{org[0]}.xlsx").write_bytes(files[org[0]])
    roster = write_roster(tmp_path / "roster.csv", ORGS)
    hostile = [
        ("bomb", ORGS[0], "炸弹.xlsx", zip_bomb_lying(tmp_path).read_bytes(), 422),
        ("junk", ORGS[1], "报告.xlsx", b"PK\x03\x04 not really", 422),
        ("foreign", ORGS[2], "别人的.xlsx", files[ORGS[3][0]], 422),
        ("traversal", ORGS[4], "../../x.xlsx", files[ORGS[4][0]], 400),
    ]
    with running(tmp_path / "档案", roster) as server:

        def send(org: tuple[str, str, str], name: str, data: bytes) -> tuple[int, str]:
            with httpx.Client() as c:
                r = upload(c, server.links[org[0]], name, data)
                return r.status_code, r.text

        collected: dict[str, int] = {}

        def run_collect() -> None:
            args = (
                "collect",
                str(inbox),
                "--archive",
                str(server.archive),
                "--roster",
                str(roster),
                "--year",
                str(YEAR),
            )
            for _attempt in range(20):  # collect waits 5 s for the lock, then says ARCHIVE_BUSY: run it again
                r = cli(*args, "--quiet")
                if "ARCHIVE_BUSY" not in r.stderr:
                    break
            collected["rc"], collected["err"] = r.returncode, r.stderr

        start = threading.Barrier(N + len(hostile) + 1)
        with ThreadPoolExecutor(N + len(hostile) + 1) as pool:

            def when_ready(fn, *args):  # noqa: ANN001, ANN202
                start.wait(timeout=120)
                return fn(*args)

            valid = {o[0]: pool.submit(when_ready, send, o, f"{o[0]}.xlsx", files[o[0]]) for o in ORGS[:N]}
            bad = {k: pool.submit(when_ready, send, o, name, data) for k, o, name, data, _ in hostile}
            side = pool.submit(when_ready, run_collect)
            results = {k: f.result(timeout=600) for k, f in valid.items()}
            refused = {k: f.result(timeout=600) for k, f in bad.items()}
            side.result(timeout=600)

        for name, (status, text) in results.items():
            assert status == 200, (name, text[:500])
            assert "校验通过，已接收" in text, name
        assert {k: s for k, (s, _t) in refused.items()} == {k: want for k, _o, _n, _d, want in hostile}
        assert collected["rc"] in (0, 1), collected  # 1: some uploads were still on their way when it ended
        again = cli(
            "collect",
            str(inbox),
            "--archive",
            str(server.archive),
            "--roster",
            str(roster),
            "--year",
            str(YEAR),
            "--json",
        )
        assert again.returncode == 0, again.stdout[-2000:] + again.stderr  # collect sees every organisation accepted
        assert json.loads(again.stdout)["read"] == 0

        subs = index_rows(server.archive, "submissions")
        want = {hashlib_sha(files[o[0]]): o[0] for o in ORGS}
        assert sorted((s["sha256"], s["org_name"], s["state"], s["is_current"], s["version"]) for s in subs) == sorted(
            (sha, name, "accepted", 1, 1) for sha, name in want.items()
        )
        receipts = index_rows(server.archive, "receipts")
        assert sorted(r["sha256"] for r in receipts) == sorted(want)  # each valid file received exactly once
        sources = sorted(p.name.split(".")[0] for p in (server.archive / "sources").iterdir())
        assert sources == sorted(want)  # hostile uploads never reached the archive
        currents = sorted(p.stem for p in (server.archive / "annual-report-2021" / str(YEAR)).glob("*.json"))
        assert currents == sorted(o[0] for o in ORGS)

        st = cli("status", "--archive", str(server.archive), "--format", "json")
        assert st.returncode == 0, st.stdout + st.stderr
        assert {o["name"]: o["state"] for o in json.loads(st.stdout)["organisations"]} == {
            o[0]: "accepted" for o in ORGS
        }


def hashlib_sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def test_an_upload_waits_while_another_collect_holds_the_archive(tmp_path: Path) -> None:
    orgs = towns(2)
    with running(tmp_path / "档案", write_roster(tmp_path / "roster.csv", orgs)) as server:
        link = server.links[orgs[0][0]]
        with httpx.Client() as c:
            token = csrf_of(c, link)
            released = threading.Event()
            answer: dict[str, float] = {}

            def send() -> None:
                r = upload(c, link, "a.xlsx", workbook(orgs[0]), csrf=token)
                answer["status"], answer["after_release"] = r.status_code, float(released.is_set())

            with Archive(server.archive).lock(wait=5):  # what a running `xltool collect` holds
                t = threading.Thread(target=send)
                t.start()
                time.sleep(3)
                assert "status" not in answer  # queued behind the lock, not answered, nothing written
                assert index_rows(server.archive, "submissions") == []
                released.set()
            t.join(timeout=120)
        assert answer == {"status": 200, "after_release": 1.0}
        (row,) = index_rows(server.archive, "submissions")
        assert (row["org_name"], row["state"]) == (orgs[0][0], "accepted")
