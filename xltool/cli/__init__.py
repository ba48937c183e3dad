"""The command line: the only package that knows about typer.

Exit codes for every command: 0 nothing wrong (warnings allowed), 1 the data has errors, 2 the tool
could not do its job (bad arguments, unreadable file, wrong template). Each command group lives in its
own module and registers itself on the shared app.
"""

from __future__ import annotations

import io
import sys

from .common import app

# Importing a group registers its commands; `--help` lists them in this order, the year's workflow.
# isort: off
from . import report  # noqa: E402,F401  schemas, validate, template, fill, read
from . import collecting  # noqa: E402,F401  collect, status
from . import outputs  # noqa: E402,F401  aggregate, render, export
from . import serve  # noqa: E402,F401  serve
# isort: on


def main() -> None:
    """Console entry point. A terminal or pipe whose encoding cannot show a character (GBK and an emoji
    in a file name) gets an escape instead of a UnicodeEncodeError."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    app(prog_name="xltool")
