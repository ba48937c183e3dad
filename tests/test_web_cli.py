"""`xltool serve` and `xltool template --portal` through the real CLI: links, the key, bad input."""

from __future__ import annotations

import csv
import os
import socket
import stat
from pathlib import Path

import openpyxl
import pytest
from web_support import YEAR, cli, serve_args, towns, write_roster

ORGS = towns(3)


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    archive = tmp_path / "档案"
    archive.mkdir()
    return archive, write_roster(tmp_path / "名单.csv", ORGS)


def links_of(archive: Path, roster: Path, *extra: str) -> dict[str, str]:
    r = cli(*serve_args(archive, roster), "--base-url", "https://report.example.gov.cn", "--links", *extra)
    assert r.returncode == 0, r.stderr
    return dict(line.split("\t") for line in r.stdout.splitlines())


def one_line_error(r: object, code: str) -> None:
    assert r.returncode == 2, (r.stdout, r.stderr)  # type: ignore[attr-defined]
    lines = r.stderr.strip().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 1 and f"[{code}]" in lines[0], r.stderr  # type: ignore[attr-defined]


def test_links_are_stable_private_and_revoked_together(setup: tuple[Path, Path]) -> None:
    archive, roster = setup
    first = links_of(archive, roster)
    assert list(first) == [o[0] for o in ORGS]
    tokens = [link.rsplit("/o/", 1)[1] for link in first.values()]
    assert all(link.startswith("https://report.example.gov.cn/o/") for link in first.values())
    assert all(len(t) == 32 for t in tokens) and len(set(tokens)) == 3  # 192 bits each, all different
    assert stat.S_IMODE(os.stat(archive / "portal.key").st_mode) == 0o600
    assert links_of(archive, roster) == first  # printed again: the same links
    rotated = links_of(archive, roster, "--rotate-key")
    assert set(rotated.values()).isdisjoint(first.values())  # every old link revoked at once
    assert links_of(archive, roster) == rotated


def test_template_portal_writes_links_into_manifest_and_instructions(setup: tuple[Path, Path], tmp_path: Path) -> None:
    archive, roster = setup
    out = tmp_path / "模板"
    args = [
        "template",
        "--roster",
        str(roster),
        "--out-dir",
        str(out),
        "--year",
        str(YEAR),
        "--issue-date",
        "2026-01-05",
    ]
    r = cli(*args, "--portal", "https://report.example.gov.cn/", "--archive", str(archive))
    assert r.returncode == 0, r.stderr
    links = links_of(archive, roster)
    with open(out / "manifest.csv", encoding="utf-8-sig", newline="") as f:
        manifest = {row["单位名称"]: row for row in csv.DictReader(f)}
    assert {name: row["上传链接"] for name, row in manifest.items()} == links
    for name, row in manifest.items():
        ws = openpyxl.load_workbook(out / row["文件"])["填报说明"]
        pairs = {r[0]: r[1] for r in ws.iter_rows(min_col=1, max_col=2, values_only=True) if r[0]}
        assert pairs["在线报送链接"] == links[name]
        assert pairs["填报单位"] == name


def test_template_portal_needs_archive_and_year(setup: tuple[Path, Path], tmp_path: Path) -> None:
    archive, roster = setup
    base = ["template", "--roster", str(roster), "--out-dir", str(tmp_path / "o"), "--portal", "https://x.example"]
    one_line_error(cli(*base, "--year", str(YEAR)), "BAD_ARGUMENT")
    one_line_error(cli(*base, "--archive", str(archive)), "BAD_ARGUMENT")
    one_line_error(cli("template", "--portal", "https://x.example", "-o", str(tmp_path / "t.xlsx")), "BAD_ARGUMENT")


def test_bad_input_is_one_line_and_exit_2(setup: tuple[Path, Path], tmp_path: Path) -> None:
    archive, roster = setup
    one_line_error(cli(*serve_args(tmp_path / "没有这个目录", roster)), "NO_ARCHIVE")
    (tmp_path / "文件").write_text("x")
    one_line_error(cli(*serve_args(tmp_path / "文件", roster)), "NO_ARCHIVE")
    bad = tmp_path / "坏名单.csv"
    bad.write_text("单位名称,统一社会信用代码,层级\n某镇,,火星\n", encoding="gbk")
    one_line_error(cli(*serve_args(archive, bad)), "ROSTER_BAD_ROW")
    one_line_error(cli(*serve_args(archive, tmp_path / "无.csv")), "ROSTER_UNREADABLE")
    one_line_error(cli("serve", "--archive", str(archive), "--year", str(YEAR)), "NO_ROSTER")
    one_line_error(cli(*serve_args(archive, roster), "--year", "99999"), "BAD_YEAR")
    one_line_error(cli(*serve_args(archive, roster), "--deadline", "2024-13-45"), "BAD_DATE")
    one_line_error(cli(*serve_args(archive, roster), "--port", "70000"), "BAD_ARGUMENT")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        one_line_error(cli(*serve_args(archive, roster), "--port", str(port)), "PORT_IN_USE")
