"""What a CLI start costs: `xltool --help` must not import the heavy libraries (openpyxl alone was
~200 ms of every start); the commands import them when they run."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("openpyxl", "jsonschema", "lxml", "xlsxwriter", "python_calamine")


def test_cli_start_imports_no_spreadsheet_or_schema_library() -> None:
    code = "import sys, xltool.cli; print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    loaded = set(
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    )
    assert loaded & set(HEAVY) == set()


def test_illegal_characters_pattern_is_openpyxls() -> None:
    """base/text.py restates openpyxl's pattern so that it need not import openpyxl."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE as theirs

    from xltool.base.text import ILLEGAL_CHARACTERS_RE as ours

    assert ours.pattern == theirs.pattern
    assert [c for c in map(chr, range(0x80)) if ours.search(c)] == [
        c for c in map(chr, range(0x80)) if theirs.search(c)
    ]
