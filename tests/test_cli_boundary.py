"""The CLI boundary: every command, in every hostile environment, ends in one line and exit 2, and no
command writes over one of its own inputs. Runs the real CLI in a subprocess."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from support import ROOT, SAMPLES

REPORT = SAMPLES / "synthetic-2021.json"
ROSTER_HEAD = "name,code,level\n"


def cli(*args: str, env: dict[str, str] | None = None, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONIOENCODING": "utf-8", "COLUMNS": "300", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "xltool", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=timeout,
        env=full,
        encoding=full["PYTHONIOENCODING"],
        errors="replace",
    )


@pytest.fixture(scope="module")
def filled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A filled workbook of the synthetic report (exit 0 when read)."""
    path = tmp_path_factory.mktemp("filled") / "城关镇.xlsx"
    r = cli("fill", str(REPORT), "--level", "township", "--issue-date", "2022-01-05", "-o", str(path))
    assert r.returncode == 0, r.stderr
    return path


def digests(paths: list[Path]) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths if p.is_file()}


# Each case: (id, builder(tmp, filled) -> (argv, inputs that must not change), expected code in the one line)
Case = Callable[[Path, Path], tuple[list[str], list[Path]]]


def _copy(src: Path, dst: Path) -> Path:
    shutil.copy(src, dst)
    return dst


def _roster(tmp: Path, content: bytes) -> Path:
    path = tmp / "roster.csv"
    path.write_bytes(content)
    return path


def _collect_with(roster: Path, tmp: Path) -> list[str]:
    (tmp / "inbox").mkdir(exist_ok=True)
    return ["collect", str(tmp / "inbox"), "--archive", str(tmp / "archive"), "--roster", str(roster), "--year", "2021"]


def _template_with(roster: Path, tmp: Path) -> list[str]:
    return ["template", "--year", "2021", "--roster", str(roster), "--out-dir", str(tmp / "out")]


def _manifest_roster(tmp: Path) -> Path:
    path = tmp / "manifest.csv"
    path.write_text(ROSTER_HEAD + "甲乡,,township\n", encoding="utf-8")
    return path


def _fifo(tmp: Path) -> Path:
    path = tmp / "roster.csv"
    os.mkfifo(path)
    return path


ROSTERS: dict[str, Callable[[Path], Path]] = {
    "field-over-131072": lambda t: _roster(t, (ROSTER_HEAD + "甲乡" + "x" * 140_000 + ",,township\n").encode()),
    "unbalanced-quote": lambda t: _roster(t, (ROSTER_HEAD + '"甲乡,,township\n乙乡,,township\n').encode()),
    "utf16-no-bom": lambda t: _roster(t, (ROSTER_HEAD + "甲乡,,township\n").encode("utf-16-le")),
    "header-only": lambda t: _roster(t, ROSTER_HEAD.encode()),
    "bad-code": lambda t: _roster(t, (ROSTER_HEAD + "甲乡,11330000MB0000001A,township\n").encode()),
    "bad-deadline": lambda t: _roster(t, ("name,code,level,deadline\n甲乡,,township,2024-13-45\n").encode()),
    "dev-zero": lambda t: Path("/dev/zero"),
    "fifo": _fifo,
    "folder": lambda t: t,
}

CASES: dict[str, tuple[Case, str]] = {
    "template -o DIR": (lambda t, f: (["template", "-o", str(t)], []), "OUTPUT_IS_FOLDER"),
    "read -o DIR": (lambda t, f: (["read", str(f), "-o", str(t)], [f]), "OUTPUT_IS_FOLDER"),
    "read --feedback DIR": (lambda t, f: (["read", str(f), "--feedback", str(t)], [f]), "OUTPUT_IS_FOLDER"),
    "fill -o DIR": (lambda t, f: (["fill", str(REPORT), "-o", str(t)], [REPORT]), "OUTPUT_IS_FOLDER"),
    "read f -o f": (
        lambda t, f: (["read", str(_copy(f, t / "a.xlsx")), "-o", str(t / "a.xlsx")], [t / "a.xlsx"]),
        "OUTPUT_IS_INPUT",
    ),
    "read f --feedback f": (
        lambda t, f: (["read", str(_copy(f, t / "a.xlsx")), "--feedback", str(t / "a.xlsx")], [t / "a.xlsx"]),
        "OUTPUT_IS_INPUT",
    ),
    "read -o X --feedback X": (
        lambda t, f: (["read", str(f), "-o", str(t / "x.xlsx"), "--feedback", str(t / "x.xlsx")], [f]),
        "OUTPUT_IS_INPUT",
    ),
    "read -o symlink to f": (
        lambda t, f: (
            ["read", str(_copy(f, t / "a.xlsx")), "-o", str(_symlink(t / "a.xlsx", t / "l.json"))],
            [t / "a.xlsx"],
        ),
        "OUTPUT_IS_INPUT",
    ),
    "read -o hard link to f": (
        lambda t, f: (
            ["read", str(_copy(f, t / "a.xlsx")), "-o", str(_hardlink(t / "a.xlsx", t / "h.json"))],
            [t / "a.xlsx"],
        ),
        "OUTPUT_IS_INPUT",
    ),
    "fill a.json -o a.json": (
        lambda t, f: (["fill", str(_copy(REPORT, t / "a.json")), "-o", str(t / "a.json")], [t / "a.json"]),
        "OUTPUT_IS_INPUT",
    ),
    "fill --template T -o T": (
        lambda t, f: (
            ["fill", str(REPORT), "--template", str(_copy(f, t / "t.xlsx")), "-o", str(t / "t.xlsx")],
            [t / "t.xlsx"],
        ),
        "OUTPUT_IS_INPUT",
    ),
    "read -o /proc/x.json": (lambda t, f: (["read", str(f), "-o", "/proc/x.json"], [f]), "FILE_NOT_FOUND"),
    "read -o under a file": (lambda t, f: (["read", str(f), "-o", str(f) + "/x.json"], [f]), "NOT_A_FOLDER"),
    "template --out-dir FILE": (
        lambda t, f: (
            ["template", "--roster", str(_roster(t, (ROSTER_HEAD + "甲乡,,township\n").encode())), "--out-dir", str(f)],
            [f, t / "roster.csv"],
        ),
        "NOT_A_FOLDER",
    ),
    "template --roster OUT/manifest.csv": (
        lambda t, f: (
            ["template", "--roster", str(_manifest_roster(t)), "--out-dir", str(t)],
            [t / "manifest.csv"],
        ),
        "OUTPUT_IS_INPUT",
    ),
    "template --level bogus": (
        lambda t, f: (["template", "--level", "bogus", "-o", str(t / "x.xlsx")], []),
        "BAD_ARGUMENT",
    ),
    "fill --level bogus": (
        lambda t, f: (["fill", str(REPORT), "--level", "bogus", "-o", str(t / "x.xlsx")], [REPORT]),
        "BAD_ARGUMENT",
    ),
    "validate --level bogus": (lambda t, f: (["validate", str(REPORT), "--level", "bogus"], [REPORT]), "BAD_ARGUMENT"),
    "read --level bogus": (
        lambda t, f: (["read", str(f), "--level", "bogus", "-o", str(t / "x.json")], [f]),
        "BAD_ARGUMENT",
    ),
    "collect IN --archive FILE": (
        lambda t, f: (["collect", str(f.parent), "--archive", str(f), "--year", "2021"], [f]),
        "NOT_A_FOLDER",
    ),
    "validate a FIFO": (lambda t, f: (["validate", str(_fifo(t))], []), "NOT_A_REPORT_FILE"),
    "validate /dev/zero": (lambda t, f: (["validate", "/dev/zero"], []), "NOT_A_REPORT_FILE"),
    "fill /dev/zero": (lambda t, f: (["fill", "/dev/zero", "-o", str(t / "x.xlsx")], []), "NOT_A_REPORT_FILE"),
    "validate a folder": (lambda t, f: (["validate", str(t)], []), ""),
    "read a folder": (lambda t, f: (["read", str(t)], []), ""),
    "template --year 3000": (lambda t, f: (["template", "--year", "3000", "-o", str(t / "x.xlsx")], []), "BAD_YEAR"),
    "template --year 1999": (lambda t, f: (["template", "--year", "1999", "-o", str(t / "x.xlsx")], []), "BAD_YEAR"),
    "template --year -5": (lambda t, f: (["template", "--year", "-5", "-o", str(t / "x.xlsx")], []), "BAD_YEAR"),
    "fill --year 3000": (
        lambda t, f: (["fill", str(REPORT), "--year", "3000", "-o", str(t / "x.xlsx")], [REPORT]),
        "BAD_YEAR",
    ),
    "collect --year 3000": (
        lambda t, f: (["collect", str(f.parent), "--archive", str(t / "a"), "--year", "3000"], [f]),
        "BAD_YEAR",
    ),
    "template --deadline 2024-13-45": (
        lambda t, f: (["template", "--deadline", "2024-13-45", "-o", str(t / "x.xlsx")], []),
        "BAD_DATE",
    ),
    "template --deadline 明年一月": (
        lambda t, f: (["template", "--deadline", "明年一月", "-o", str(t / "x.xlsx")], []),
        "BAD_DATE",
    ),
    "template --org-code 123": (
        lambda t, f: (["template", "--org-code", "123", "-o", str(t / "x.xlsx")], []),
        "BAD_ORG_CODE",
    ),
    "fill --org-code bad check": (
        lambda t, f: (["fill", str(REPORT), "--org-code", "11330000MB0000000A", "-o", str(t / "x.xlsx")], [REPORT]),
        "BAD_ORG_CODE",
    ),
}
for _name, _make in ROSTERS.items():
    CASES[f"template --roster {_name}"] = (lambda t, f, m=_make: (_template_with(m(t), t), []), "")
    CASES[f"collect --roster {_name}"] = (lambda t, f, m=_make: (_collect_with(m(t), t), []), "")


def _symlink(target: Path, link: Path) -> Path:
    link.symlink_to(target)
    return link


def _hardlink(target: Path, link: Path) -> Path:
    os.link(target, link)
    return link


@pytest.mark.parametrize("name", list(CASES))
def test_every_failure_is_one_line_and_exit_2(name: str, tmp_path: Path, filled: Path) -> None:
    make, code = CASES[name]
    work = tmp_path / "work"
    work.mkdir()
    argv, inputs = make(work, filled)
    before = digests([*inputs, filled, REPORT])
    r = cli(*argv, timeout=60)
    lines = r.stderr.strip().splitlines()
    assert (r.returncode, len(lines)) == (2, 1), r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    assert lines[0].count("[") >= 1 and "]" in lines[0]
    if code:
        assert f"[{code}]" in lines[0], lines[0]
    assert "INTERNAL_ERROR" not in lines[0]
    assert digests([*inputs, filled, REPORT]) == before


def test_roster_errors_name_their_code(tmp_path: Path) -> None:
    expected = {
        "field-over-131072": "ROSTER_BAD_CSV",
        "unbalanced-quote": "ROSTER_BAD_CSV",
        "utf16-no-bom": "ROSTER_ENCODING",
        "header-only": "ROSTER_EMPTY",
        "bad-code": "ROSTER_BAD_ROW",
        "bad-deadline": "ROSTER_BAD_ROW",
        "dev-zero": "ROSTER_NOT_A_FILE",
        "fifo": "ROSTER_NOT_A_FILE",
        "folder": "ROSTER_NOT_A_FILE",
    }
    found = {}
    for name, make in ROSTERS.items():
        work = tmp_path / name
        work.mkdir()
        r = cli(*_template_with(make(work), work), "--lang", "en")
        found[name] = r.stderr.split("[", 1)[1].split("]", 1)[0] if "[" in r.stderr else r.stderr
    assert found == expected


def test_overwriting_an_earlier_output_is_allowed(tmp_path: Path, filled: Path) -> None:
    out, fb = tmp_path / "new" / "sub" / "r.json", tmp_path / "fb.xlsx"
    for _ in range(2):
        r = cli("read", str(filled), "-o", str(out), "--feedback", str(fb))
        assert r.returncode == 0, r.stderr
    assert json.loads(out.read_text(encoding="utf-8"))["year"] == json.loads(REPORT.read_text(encoding="utf-8"))["year"]


def test_validate_with_a_hand_edited_meta_is_data_not_a_crash(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text('{"_meta":{"template":"x"}}', encoding="utf-8")
    r = cli("validate", str(path), "--format", "json")
    assert (r.returncode, r.stderr) == (1, "")
    doc = json.loads(r.stdout)
    assert {i["code"] for i in doc["issues"]} == {"MISSING_FIELD"}


def test_gbk_terminal_and_an_emoji_file_name(tmp_path: Path, filled: Path) -> None:
    path = _copy(filled, tmp_path / "报表😀.xlsx")
    r = cli("read", str(path), env={"PYTHONIOENCODING": "gbk"})
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == f"{tmp_path}/报表\\U0001f600.xlsx: 校验通过"
    r = cli("read", str(tmp_path / "缺😀.xlsx"), env={"PYTHONIOENCODING": "gbk"})
    assert (r.returncode, len(r.stderr.strip().splitlines())) == (2, 1), r.stderr
    assert "Traceback" not in r.stderr


def test_an_internal_error_says_bug_saves_the_traceback_and_exits_2(tmp_path: Path) -> None:
    """Whatever escapes a command body unexpectedly is reported as a bug, never as data errors (exit 1)."""
    code = (
        "import sys, typer\nfrom xltool.cli import common\n"
        "try:\n    common._run(lambda: 1 // 0)\nexcept typer.Exit as exc:\n    sys.exit(exc.exit_code)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 2
    line = r.stderr.strip()
    assert line.startswith("[INTERNAL_ERROR] xltool 内部错误（程序缺陷，请报告）：ZeroDivisionError；详情已保存到 ")
    saved = Path(line.rsplit(" ", 1)[1])
    assert "ZeroDivisionError" in saved.read_text(encoding="utf-8")
    saved.unlink()


def test_version_and_lang_before_the_command() -> None:
    r = cli("--version")
    assert (r.returncode, r.stdout.strip()) == (0, "xltool 0.1.0")
    r = cli("--lang", "en", "validate", "/nonexistent/r.json")
    assert (r.returncode, r.stderr.strip()) == (
        2,
        "/nonexistent/r.json: [FILE_UNREADABLE] cannot read file: No such file or directory",
    )
    r = cli("--lang", "en", "--help")
    assert r.returncode == 0 and "--lang" in r.stdout
    r = cli("read", "--help")
    assert "county_department" in r.stdout and "never an input" in r.stdout


def test_debug_shows_the_traceback_of_an_internal_error() -> None:
    code = (
        "import sys, typer\nfrom xltool.cli import common\ncommon._DEBUG['on'] = True\n"
        "try:\n    common._run(lambda: 1 // 0, common.Lang.en)\nexcept typer.Exit as exc:\n    sys.exit(exc.exit_code)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 2
    assert r.stderr.startswith("Traceback") and "ZeroDivisionError" in r.stderr
    assert r.stderr.strip().splitlines()[-1] == (
        "[INTERNAL_ERROR] xltool internal error (a bug, please report it): ZeroDivisionError"
    )
    r = cli("--debug", "--version")
    assert (r.returncode, r.stdout.strip()) == (0, "xltool 0.1.0")
