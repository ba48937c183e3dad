"""Hostile and broken input, end to end: never crash, never hang, never lose data.

Every case of tests/hostile_files.py (not a workbook, zip bombs, XML attacks, encryption) and of
tests/hostile_templates.py (edited templates, impossible values, bloated parts) is read by
`xltool read` in its own process, which measures itself: the read must end with the expected exit
code and message (file name and [CODE] on stderr for a refused file), no traceback, within
200 MiB peak RSS and the 60 s hang guard of its process. How long each read takes is measured and
printed by benchmarks/bench_hostile.py (the clock starts after what all files share: interpreter
start-up, imports, loading the built-in schemas and a warm-up call of the CLI), never asserted
here. Then `collect` runs over an inbox mixing every refused file with good templates under
hostile names.

Run as a script (`python tests/test_hostile.py RESULT.json read FILE ...` or
`... RESULT.json collect INBOX ARCHIVE ROSTER`) it runs the command in-process and writes exit code,
elapsed time and peak memory to RESULT.json.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import resource
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [p for p in (str(ROOT), str(HERE)) if p not in sys.path]

HANG_GUARD = 60.0  # seconds for one command's process: a hang, not a speed limit
MEMORY_BUDGET = 200 * 2**20  # peak RSS of that process, bytes
FIGURES_ENV = "XLTOOL_TEST_FIGURES"  # collect workers append one JSON line per file read there


def peak_rss() -> int:
    """This process's peak RSS in bytes. VmHWM, not ru_maxrss: after fork+exec, ru_maxrss still
    counts the forked copy of the parent (the whole pytest process)."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # pragma: no cover - not Linux


def measured_read(task: dict[str, Any]) -> dict[str, Any]:
    """collect's read task, timed in the worker (a picklable `read_fn`)."""
    from xltool.collect.tasks import read_task
    from xltool.spec.model import load_model

    load_model(task["schema"])  # once per worker, the same for every file
    start = time.perf_counter()
    result = read_task(task)
    figures = {
        "name": task["name"],
        "elapsed": time.perf_counter() - start,
        "maxrss": peak_rss(),
        "code": result.get("error_code"),
    }
    with open(os.environ[FIGURES_ENV], "a", encoding="utf-8") as f:
        f.write(json.dumps(figures, ensure_ascii=False) + "\n")
    return result


def _cli(cli: Any, argv: list[str]) -> int:
    sys.argv = ["xltool", *argv]
    try:
        cli.main()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0


def _measured(result: str, argv: list[str]) -> int:
    """Run one command in this process; write its exit code, time and peak memory to `result`."""
    import jsonschema  # noqa: F401 - the libraries' import time is start-up, not reading
    import olefile  # noqa: F401
    import openpyxl  # noqa: F401
    import python_calamine  # noqa: F401

    from xltool import cli  # noqa: F401
    from xltool.read import feedback, reader  # noqa: F401
    from xltool.spec.model import load_model
    from xltool.spec.schemas import builtin_names

    for name in builtin_names():  # the same for every file: loaded once per process (or worker)
        load_model(name)
    with contextlib.redirect_stderr(io.StringIO()):  # warm-up: typer imports its adapters on first use
        _cli(cli, ["read", str(Path(result).with_suffix(".absent.xlsx"))])
    out: dict[str, Any] = {}
    start = time.perf_counter()
    try:
        if argv[0] == "collect":
            import test_hostile

            from xltool.collect.run import collect

            res = collect(argv[1], argv[2], roster=argv[3], year=2023, jobs=2, read_fn=test_hostile.measured_read)
            out.update(code=res.exit_code, result=res.as_dict())
        else:
            out["code"] = _cli(cli, argv)
    finally:
        out["elapsed"] = time.perf_counter() - start
        out["maxrss"] = peak_rss()
        Path(result).write_text(json.dumps(out, ensure_ascii=False), encoding="utf-8")
    return int(out["code"])


if __name__ == "__main__":
    sys.exit(_measured(sys.argv[1], sys.argv[2:]))


# -- tests ---------------------------------------------------------------------------------------

import hostile_templates as T  # noqa: E402
import pytest  # noqa: E402
from openpyxl import load_workbook  # noqa: E402
from support import credit_code  # noqa: E402

from xltool.base.text import printable  # noqa: E402
from xltool.read.feedback import write_feedback  # noqa: E402
from xltool.read.reader import MAX_MESSAGE, read_workbook  # noqa: E402
from xltool.spec.model import load_model  # noqa: E402
from xltool.spec.roster import Org  # noqa: E402
from xltool.template.distribute import write_roster_templates  # noqa: E402
from xltool.template.writer import TemplateOptions  # noqa: E402

CASES = T.all_cases()
FIGURES: dict[str, tuple[float, int]] = {}  # case -> (seconds, peak RSS bytes), for the summary


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    measured: dict[str, Any]


def run_measured(tmp: Path, *argv: str, timeout: float = HANG_GUARD, env: dict[str, str] | None = None) -> Run:
    result = tmp / f"measure-{os.getpid()}-{time.monotonic_ns()}.json"
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), str(result), *argv],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=ROOT,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    measured = json.loads(result.read_text(encoding="utf-8")) if result.exists() else {}
    return Run(proc.returncode, proc.stdout, proc.stderr, measured)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return T.build(tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module", autouse=True)
def summary() -> Any:
    yield
    if FIGURES:
        slowest = max(FIGURES.items(), key=lambda kv: kv[1][0])
        biggest = max(FIGURES.items(), key=lambda kv: kv[1][1])
        print(
            f"\nhostile corpus: {len(FIGURES)} reads; slowest {slowest[0]} {slowest[1][0]:.3f} s; "
            f"largest {biggest[0]} {biggest[1][1] / 2**20:.0f} MiB peak RSS"
        )


@pytest.mark.parametrize("name", list(CASES))
def test_read_ends_cleanly(corpus: dict[str, Path], tmp_path: Path, name: str) -> None:
    path, expect = corpus[name], CASES[name][1]
    run = run_measured(tmp_path, "read", str(path), "--format", "json", *expect.args)
    assert "Traceback" not in run.stderr, run.stderr
    assert run.measured, f"no measurement: exit {run.code}\n{run.stderr}"
    elapsed, peak = run.measured["elapsed"], run.measured["maxrss"]
    FIGURES[name] = (elapsed, peak)
    assert peak < MEMORY_BUDGET, f"{name}: peak RSS {peak / 2**20:.0f} MiB"
    assert (run.code, run.measured["code"]) == (expect.exit, expect.exit), run.stderr
    if expect.exit == 2:
        lines = run.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"{path}: [{expect.code}] "), run.stderr
        assert run.stdout == ""
        return
    assert run.stderr == ""
    assert len(run.stdout) < 100_000  # a megabyte in a cell is not copied into every message
    doc = json.loads(run.stdout)
    assert doc["file"] == str(path)
    codes = {i["code"] for i in doc["issues"]}
    assert codes == expect.issues if expect.exact else expect.issues <= codes, codes
    for issue in doc["issues"]:
        assert len(issue["message_zh"]) <= MAX_MESSAGE and len(issue["message_en"]) <= MAX_MESSAGE


def test_text_output_has_no_control_characters(corpus: dict[str, Path], tmp_path: Path) -> None:
    """Cell text quoted in a message is printed on a terminal: escape sequences are shown, not sent."""
    run = run_measured(tmp_path, "read", str(corpus["terminal_escape_in_number"]))
    assert run.code == 1 and "TEXT_IN_NUMBER" in run.stdout and "\\u001b[2J" in run.stdout
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", run.stdout + run.stderr)
    assert printable("a\x1b]0;pwned\x07\u202eb.xlsx") == "a\\u001b]0;pwned\\u0007\\u202eb.xlsx"  # for names too


def test_refused_message_in_english(corpus: dict[str, Path], tmp_path: Path) -> None:
    path = corpus["encrypted_ooxml"]
    run = run_measured(tmp_path, "read", str(path), "--lang", "en")
    assert run.code == 2 and run.stderr.startswith(f"{path}: [ENCRYPTED_WORKBOOK] ") and "password" in run.stderr


# -- values that must stay what they are --------------------------------------------------------


def test_values_are_kept_as_typed(corpus: dict[str, Path]) -> None:
    """Long text, control characters and formula-like text are data: read exactly, never run."""
    text = read_workbook(corpus["formula_text"])
    assert text.values["/overview"] == T.INJECTION and text.values["/organization/name"] == T.HYPERLINK
    assert read_workbook(corpus["long_text_1mb"]).values["/overview"] == T._cjk(1_000_000, 1)
    assert read_workbook(corpus["control_characters"]).values["/overview"] == "总体情况\x07正常\x1b[31m"
    big = read_workbook(corpus["beyond_2_53"])
    assert big.values["/proactive/licensing/decisions"] == 2**53 + 1  # not rounded to a float


def _formula_parts(data: bytes) -> list[bytes]:
    """Every <f> element (a formula) in the workbook's XML parts."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [
            f
            for n in zf.namelist()
            if n.endswith(".xml")
            for f in re.findall(rb"<(?:\w+:)?f[ >].*?</(?:\w+:)?f>", zf.read(n))
        ]


def test_feedback_keeps_user_formulas_as_text(corpus: dict[str, Path], tmp_path: Path) -> None:
    """Formula-like text from the user's cells reaches the feedback workbook as text only."""
    source = corpus["formula_text"]
    result = read_workbook(source)
    out = write_feedback(source, result.issues, tmp_path / "feedback.xlsx")
    data = out.read_bytes()
    assert not [f for f in _formula_parts(data) if b"cmd|" in f or b"HYPERLINK" in f]
    wb = load_workbook(out)
    listed = [
        c
        for row in wb["问题清单"].iter_rows()
        for c in row
        if isinstance(c.value, str) and ("cmd|" in c.value or "HYPERLINK" in c.value)
    ]
    assert listed and all(c.data_type == "s" for c in listed)
    for sheet, ref in (T.where("/overview"), T.where("/proactive/licensing/decisions"), T.where("/organization/name")):
        cell = wb[sheet][ref]
        assert cell.data_type == "s" and cell.value in (T.INJECTION, T.HYPERLINK)
    marked = wb[T.where("/proactive/licensing/decisions")[0]][T.where("/proactive/licensing/decisions")[1]]
    assert marked.comment is not None and T.INJECTION in marked.comment.text


def test_feedback_of_a_megabyte_cell(corpus: dict[str, Path], tmp_path: Path) -> None:
    source = corpus["long_text_1mb"]
    result = read_workbook(source)
    wb = load_workbook(write_feedback(source, result.issues, tmp_path / "fb.xlsx"))
    assert all(len(str(c.value or "")) <= 32767 for row in wb["问题清单"].iter_rows() for c in row)


# -- names from rosters and inboxes -------------------------------------------------------------

HOSTILE_ORGS = [
    "../../逃逸镇人民政府",
    "县城市管理/综合执法局",
    "县城市管理_综合执法局",
    "..",
    "CON",
    "a\\b\\..\\c",
    "=cmd|' /C calc'!A0",
    "-rf 乡 ; rm",
    "\u202eslx.exe",
    "长" * 200,
    "示例县正常乡人民政府",
]


def _orgs() -> list[tuple[str, str]]:
    return [(name, credit_code(f"11330000MB{n + 1:07d}")) for n, name in enumerate(HOSTILE_ORGS)]


def _tree(root: Path, skip: Path | None = None) -> dict[str, tuple[str, int]]:
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file() and not (skip and skip in p.parents):
            out[p.relative_to(root).as_posix()] = (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
    return out


def test_roster_templates_stay_in_their_folder(tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "out"
    orgs = [Org(name, code, "township", row=n + 2) for n, (name, code) in enumerate(_orgs())]
    written = write_roster_templates(load_model(T.M21), orgs, out, TemplateOptions(year=2023, issue_date="2024-01-05"))
    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert len(files) == len(orgs) + 2 and all(f.startswith("a/b/out/") and f.count("/") == 3 for f in files)
    assert len({w.file.lower() for w in written}) == len(orgs)
    assert all(len(w.file.encode()) <= 120 for w in written)
    manifest = (out / "manifest.csv").read_text(encoding="utf-8-sig")
    assert "'=cmd|" in manifest and "\n=cmd" not in manifest and ",=cmd" not in manifest


# -- collect over the whole corpus --------------------------------------------------------------

GOOD_NAMES = [
    "..\\..\\逃逸.xlsx",
    "-rf ; rm 报表.xlsx",
    "报表\n第二行.xlsx",
    "\u202eslx.exe.xlsx",
    "长" * 80 + ".xlsx",
    "=cmd|' calc'!A0.xlsx",
    "CON.xlsx",
    "a:b?c*.xlsx",
    "  前后空格  .xlsx",
    ".隐藏.xlsx",
    "正常.xlsx",
]


def _collect_world(root: Path) -> tuple[Path, Path, Path, dict[str, tuple[str, str]], dict[str, str]]:
    inbox, archive = root / "inbox", root / "deep" / "er" / "archive"
    inbox.mkdir(parents=True)
    good: dict[str, tuple[str, str]] = {}  # inbox path -> organisation
    for org, name in zip(_orgs(), GOOD_NAMES, strict=False):
        (inbox / "good").mkdir(exist_ok=True)
        (inbox / "good" / name).write_bytes(T.filled(org=org))
        good[f"good/{name}"] = org
    bad: dict[str, str] = {}  # inbox path -> expected code
    built = T.build(root / "corpus", {n: c for n, c in CASES.items() if c[1].exit == 2})
    for case, path in built.items():
        rel = f"bad/{case}/{path.name}"
        (inbox / rel).parent.mkdir(parents=True, exist_ok=True)
        (inbox / rel).write_bytes(path.read_bytes())
        bad[rel] = CASES[case][1].code or ""
    roster = root / "roster.csv"
    rows = ["单位名称,统一社会信用代码,层级"] + [f'"{n}",{c},township' for n, c in _orgs()]
    roster.write_bytes(("\ufeff" + "\r\n".join(rows) + "\r\n").encode("utf-8"))
    return inbox, archive, roster, good, bad


def test_collect_archives_every_good_file_and_records_every_bad_one(tmp_path: Path) -> None:
    inbox, archive, roster, good, bad = _collect_world(tmp_path)
    before, inbox_before = _tree(tmp_path), _tree(inbox)
    figures = tmp_path / "measure-figures.jsonl"
    run = run_measured(
        tmp_path, "collect", str(inbox), str(archive), str(roster), timeout=600, env={FIGURES_ENV: str(figures)}
    )
    assert "Traceback" not in run.stderr, run.stderr
    assert run.measured.get("code") == 1, run.stderr  # the bad files need the county's attention
    result = run.measured["result"]
    files = {f["path"]: f for f in result["files"]}
    assert not result["skipped"], result["skipped"]
    assert set(files) == set(good) | set(bad)
    for path, org in good.items():
        f = files[path]
        assert (f["state"], f["org_name"], f["errors"], f["error_code"]) == ("accepted", org[0], 0, None), f
    for path, code in bad.items():
        f = files[path]
        assert f["state"] in ("rejected", "wrong_format") and f["error_code"] == code, (path, f)
        assert f["feedback"] is None
    # the archive holds the received bytes, one report per good organisation, the index and status
    got = _tree(archive)
    reports = {k for k in got if k.startswith(f"{T.M21}/2023/")}
    assert len(reports) == len(good) and all(k.count("/") == 2 and k.endswith(".json") for k in reports)
    received = {hashlib.sha256((inbox / p).read_bytes()).hexdigest() for p in [*good, *bad]}
    sources = {k for k in got if k.startswith("sources/")}
    assert {k.split("/")[1].split(".")[0] for k in sources} == received
    assert all(got[k][0] == k.split("/")[1].split(".")[0] for k in sources)  # stored unchanged
    assert set(got) - sources - reports == {".lock", "index.sqlite", "status-2023.xlsx"}
    shas = {json.loads((archive / k).read_text(encoding="utf-8"))["_meta"]["source"]["sha256"] for k in reports}
    assert shas == {hashlib.sha256((inbox / p).read_bytes()).hexdigest() for p in good}
    # nothing written anywhere else, nothing in the inbox changed
    assert {k: v for k, v in _tree(tmp_path, skip=archive).items() if not k.startswith("measure-")} == before
    assert _tree(inbox) == inbox_before
    # every file was read within the memory budget, in its worker
    read = [json.loads(line) for line in figures.read_text(encoding="utf-8").splitlines()]
    assert {r["name"] for r in read} == {p.rsplit("/", 1)[1] for p in [*good, *bad]}
    for r in read:
        assert r["maxrss"] < MEMORY_BUDGET, r
    print(
        f"\ncollect: {len(read)} files read; slowest {max(r['elapsed'] for r in read):.3f} s, "
        f"largest worker {max(r['maxrss'] for r in read) / 2**20:.0f} MiB; whole run {run.measured['elapsed']:.1f} s, "
        f"main process {run.measured['maxrss'] / 2**20:.0f} MiB"
    )


def test_collect_command_line(tmp_path: Path) -> None:
    """`xltool collect --json` on a small hostile inbox: a state and a code per file, no traceback."""
    inbox, archive = tmp_path / "inbox", tmp_path / "archive"
    bad = {
        "empty": "EMPTY_FILE",
        "zip_bomb_lying": "ZIP_BOMB",
        "xxe_sheet": "XML_DTD",
        "encrypted_ooxml": "ENCRYPTED_WORKBOOK",
        "nan_in_number": "UNREADABLE_WORKBOOK",
        "xls_far_corner": "WORKBOOK_TOO_LARGE",
    }
    built = T.build(tmp_path / "corpus", {n: CASES[n] for n in bad})
    (inbox / "坏").mkdir(parents=True)
    for case, path in built.items():
        (inbox / "坏" / f"{case}{path.suffix}").write_bytes(path.read_bytes())
    orgs = _orgs()[:2]
    for org, name in zip(orgs, GOOD_NAMES, strict=False):
        (inbox / name).write_bytes(T.filled(org=org))
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "单位名称,统一社会信用代码,层级\n" + "".join(f'"{n}",{c},township\n' for n, c in orgs), encoding="utf-8"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "xltool",
            "collect",
            str(inbox),
            "--archive",
            str(archive),
            "--roster",
            str(roster),
            "--year",
            "2023",
            "--json",
            "-j",
            "2",
        ],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=ROOT,
        timeout=300,
    )
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    files = {f["path"]: (f["state"], f["error_code"]) for f in json.loads(proc.stdout)["files"]}
    expected = {f"坏/{case}{built[case].suffix}": ("rejected", code) for case, code in bad.items()}
    expected.update({name: ("accepted", None) for name in GOOD_NAMES[:2]})
    assert files == expected
