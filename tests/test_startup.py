"""What a CLI start costs: `xltool --help` must not import the heavy libraries (openpyxl alone was
~200 ms of every start); the commands import them when they run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HEAVY = ("openpyxl", "jsonschema", "lxml", "xlsxwriter", "python_calamine", "starlette", "uvicorn", "docx", "sqlite3")


def test_cli_start_imports_no_spreadsheet_or_schema_library() -> None:
    code = "import sys, xltool.cli; print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    loaded = set(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    )
    assert loaded & set(HEAVY) == set()


def _modules_after(*argv: str) -> tuple[str, set[str]]:
    """Run the CLI in a fresh interpreter with `argv`; its output and the top-level modules it imported."""
    code = (
        "import sys\nfrom xltool.cli import main\nsys.argv = ['xltool', *sys.argv[1:]]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('@@', ' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, check=True).stdout
    shown, _, modules = out.rpartition("@@ ")
    return shown, set(modules.split())


def test_help_imports_no_heavy_library_nor_the_report_model() -> None:
    """Rendering `xltool --help` (and a command's help) loads typer and rich, nothing of the work itself."""
    for argv in (["--help"], ["--lang", "en", "--help"], ["read", "--help"], ["template", "--help"]):
        shown, loaded = _modules_after(*argv)
        assert "Usage: xltool" in shown
        assert loaded & set(HEAVY) == set(), argv
    code = "import sys, xltool.cli; print(' '.join(sorted(m for m in sys.modules if m.startswith('xltool'))))"
    ours = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert {m.split(".")[1] for m in ours if "." in m} == {"base", "cli"}  # no schema, model or check stage


def test_illegal_characters_pattern_is_openpyxls() -> None:
    """base/text.py restates openpyxl's pattern so that it need not import openpyxl."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE as theirs

    from xltool.base.text import ILLEGAL_CHARACTERS_RE as ours

    assert ours.pattern == theirs.pattern
    assert [c for c in map(chr, range(0x80)) if ours.search(c)] == [
        c for c in map(chr, range(0x80)) if theirs.search(c)
    ]


_SPARED = ("rich.markdown", "rich.traceback", "markdown_it", "pygments", "attr")


def _run_cli(argv: list[str], preload: str = "") -> tuple[str, set[str]]:
    """The CLI's stdout+stderr at 100 columns in a fresh interpreter (after `preload`), and every module loaded."""
    code = (
        f"import sys\n{preload}\nfrom xltool.cli import main\nsys.argv = ['xltool', *sys.argv[1:]]\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print('@@', ' '.join(sorted(sys.modules)))"
    )
    env = {**os.environ, "COLUMNS": "100"}
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, env=env, check=True)
    shown, _, modules = done.stdout.rpartition("@@ ")
    return done.stderr + shown, set(modules.split())


def test_help_skips_the_rich_modules_it_never_uses_and_prints_the_same() -> None:
    """`cli/light_rich.py`: help and usage errors render without rich.markdown and rich.traceback (and what
    they pull in), and print exactly what they print with the real modules loaded."""
    real = "import rich.markdown, rich.traceback"
    for argv in (["--help"], ["--lang", "en", "--help"], ["template", "--help"], ["collect", "--help"], ["bogus"]):
        shown, loaded = _run_cli(argv)
        expected, with_real = _run_cli(argv, preload=real)
        assert shown == expected, argv
        assert "Usage: xltool" in shown
        assert {m.split(".")[0] if m.startswith(("markdown_it", "pygments", "attr")) else m for m in loaded} & set(
            _SPARED
        ) == set(), argv
        assert {"rich.markdown", "rich.traceback"} <= with_real


def test_rich_modules_imported_after_help_are_the_real_ones() -> None:
    """The stand-ins live only while typer.rich_utils is imported."""
    code = (
        "import xltool.cli, typer.rich_utils, rich.markdown, rich.traceback\n"
        "print(rich.markdown.MarkdownContext.__name__, rich.traceback.Frame.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["MarkdownContext", "Frame"]


def test_stand_ins_make_the_real_rich_objects() -> None:
    """Were typer to render markdown or a pretty traceback, it would get rich's own objects."""
    from rich.markdown import Markdown
    from rich.traceback import Traceback

    from xltool.cli import light_rich

    assert type(light_rich.Markdown("*a*")) is Markdown
    try:
        raise ValueError("x")
    except ValueError as exc:
        tb = light_rich.Traceback.from_exception(type(exc), exc, exc.__traceback__)
    assert type(tb) is Traceback
    assert tb.trace.stacks[0].exc_type == "ValueError"


def test_read_refused_at_the_gate_imports_neither_jsonschema_nor_multiprocessing(tmp_path: Path) -> None:
    """An empty file is refused before any report exists: checking one (jsonschema) and collect's worker
    pool (multiprocessing) are imported when used, not with the reader."""
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    shown, loaded = _run_cli(["read", str(empty)])
    assert "EMPTY_FILE" in shown
    tops = {m.split(".")[0] for m in loaded}
    assert tops & {"jsonschema", "multiprocessing", "concurrent", "openpyxl", "lxml"} == set()
    assert "xltool.read.reader" in loaded


def test_a_typer_needing_more_of_the_spared_modules_gets_the_real_ones() -> None:
    """Should a later typer import a name the stand-ins lack, help still renders, with the real modules."""
    preload = (
        "import xltool.cli.light_rich as lr\n"
        "_make = lr._stand_ins\n"
        "def _lacking():\n"
        "    mods = _make()\n"
        "    del mods['rich.markdown'].Markdown\n"
        "    return mods\n"
        "lr._stand_ins = _lacking\n"
    )
    shown, loaded = _run_cli(["--help"], preload=preload)
    expected, _ = _run_cli(["--help"], preload="import rich.markdown, rich.traceback")
    assert shown == expected and "Usage: xltool" in shown
    assert "rich.markdown" in loaded
