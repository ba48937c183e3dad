"""Shared by the portal tests: a roster, filled workbooks, and `xltool serve` in a subprocess."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import openpyxl

from xltool.check.evaluate import flatten
from xltool.spec.identity import CODE_ALPHABET, CODE_WEIGHTS
from xltool.spec.layout import build_layout
from xltool.spec.model import load_model
from xltool.template.writer import TemplateOptions, write_template

ROOT = Path(__file__).resolve().parent.parent
MODEL = load_model("annual-report-2021")
BASE = flatten(MODEL, json.loads((ROOT / "samples" / "synthetic-2021.json").read_text(encoding="utf-8")))
YEAR = 2025
PASSWORD = "县里的管理密码-2025"
R3_CELL = "/applications/results/total/natural_person"
R3_BOX = build_layout(MODEL).fields[R3_CELL].box


def towns(n: int) -> list[tuple[str, str, str]]:
    """`n` roster organisations: (name, code, contact)."""
    out = []
    for i in range(n):
        body = f"11330000MB{i:07d}"
        total = sum(CODE_ALPHABET.index(ch) * w for ch, w in zip(body, CODE_WEIGHTS, strict=True))
        code = body + CODE_ALPHABET[(31 - total % 31) % 31]  # GB 32100-2015 check character
        out.append((f"示例县第{i + 1}镇人民政府", code, f"联系人{i + 1} 0000-{i:07d}"))
    return out


def write_roster(path: Path, orgs: list[tuple[str, str, str]]) -> Path:
    lines = ["单位名称,统一社会信用代码,层级,联系人"] + [f"{n},{c},乡镇（街道）,{t}" for n, c, t in orgs]
    path.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def workbook(org: tuple[str, str, str], n: int = 0, *, r3: bool = False) -> bytes:
    """A filled template of `org` (distinct content per `n`); `r3` plants an R3 error (and R1 with it)."""
    vals = dict(BASE)
    vals.update(
        {
            "/year": YEAR,
            "/organization/name": org[0],
            "/organization/code": org[1],
            "/proactive/licensing/decisions": 30 + n,
        }
    )
    data, _ = write_template(
        MODEL,
        TemplateOptions(
            year=YEAR, org_name=org[0], org_code=org[1], level="township", issue_date="2026-01-05", values=vals
        ),
    )
    if not r3:
        return data
    # the township unprotects the sheet and types over the （七）总计 formula: its rows no longer add up
    box = R3_BOX
    wb = openpyxl.load_workbook(io.BytesIO(data))
    wb[box.sheet].protection.sheet = False
    wb[box.sheet][box.a1] = int(vals[R3_CELL]) + 1
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xltool", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


@dataclass
class Server:
    url: str
    archive: Path
    roster: Path
    links: dict[str, str]  # organisation name -> its upload link
    proc: subprocess.Popen[str]


def serve_args(archive: Path, roster: Path) -> list[str]:
    return ["serve", "--archive", str(archive), "--roster", str(roster), "--year", str(YEAR)]


@contextmanager
def running(archive: Path, roster: Path) -> Iterator[Server]:
    """`xltool serve` on a free loopback port, until the block ends."""
    archive.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = serve_args(archive, roster) + ["--port", str(port)]
    listed = cli(*args, "--links")
    assert listed.returncode == 0, listed.stderr
    links = dict(line.split("\t") for line in listed.stdout.splitlines())
    env = {**os.environ, "XLTOOL_ADMIN_PASSWORD": PASSWORD}
    proc = subprocess.Popen(
        [sys.executable, "-m", "xltool", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start: {proc.communicate()[1]}")
            time.sleep(0.2)
        yield Server(url, archive, roster, links, proc)
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def csrf_of(client: httpx.Client, link: str) -> str:
    page = client.get(link)
    assert page.status_code in (200, 401), page.text  # 401: the county login form
    return client.cookies["xltool_csrf"]


def upload(client: httpx.Client, link: str, name: str, data: bytes, csrf: str | None = None) -> httpx.Response:
    token = csrf if csrf is not None else csrf_of(client, link)
    return client.post(link + "/upload", data={"csrf": token}, files={"file": (name, data)}, timeout=300)


def archive_files(archive: Path) -> dict[str, int]:
    """Every file of the archive except the lock and the key (what an upload may add)."""
    skip = {".lock", "portal.key"}
    return {
        p.relative_to(archive).as_posix(): p.stat().st_size
        for p in archive.rglob("*")
        if p.is_file() and p.name not in skip
    }


def index_rows(archive: Path, table: str) -> list[dict[str, Any]]:
    import sqlite3

    if not (archive / "index.sqlite").is_file():
        return []
    con = sqlite3.connect(archive / "index.sqlite")
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(f"SELECT * FROM {table}")]
    finally:
        con.close()
