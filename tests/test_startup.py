"""What a CLI start costs: `xltool --help` must not import the heavy libraries (openpyxl alone was
~200 ms of every start); the commands import them when they run."""

from __future__ import annotations

import subprocess
import sys

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
