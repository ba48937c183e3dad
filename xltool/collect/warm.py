"""Imported once by the collect forkserver (`workers.PRELOAD`), so that every worker forks with the
built-in models, their layouts and the read path's lazy imports already in memory.

Without it each worker's first file paid for loading a schema, building its layout and importing
lxml and the openpyxl helpers the stream uses (210-320 ms a worker, before the built-in schemas'
meta-schema check moved to the tests). A failure here must not stop collect: a worker then just
loads what it needs itself, as before.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..base.errors import XltoolError
from ..spec.model import Model


def warm() -> None:
    from ..read import feedback, reader, stream  # noqa: F401  (imports the stream's dependencies)
    from ..read.stream_rows import date_styles  # noqa: F401
    from ..spec.model import load_model
    from ..spec.schemas import builtin_names

    for name in builtin_names():
        _read_blank(load_model(name))
    from openpyxl.formula.translate import Translator  # noqa: F401
    from openpyxl.packaging.core import DocumentProperties  # noqa: F401
    from openpyxl.packaging.custom import CustomPropertyList  # noqa: F401
    from openpyxl.packaging.manifest import Manifest  # noqa: F401
    from openpyxl.styles.numbers import is_date_format  # noqa: F401
    from openpyxl.utils.datetime import from_excel  # noqa: F401


def _read_blank(model: Model) -> None:
    """One real read of a blank template builds every per-model plan the read path keeps (layout,
    cell plan, compiled schema check, compiled rules) in the forkserver, once, instead of in each
    worker on its first file (again after every worker replacement)."""
    from ..read.reader import read_workbook
    from ..template.writer import TemplateOptions, write_template

    data, _ = write_template(model, TemplateOptions(org_name="预热", issue_date="2026-01-01"))
    with tempfile.TemporaryDirectory(prefix="xltool-warm-") as tmp:
        path = Path(tmp) / "warm.xlsx"
        path.write_bytes(data)
        read_workbook(path)


try:
    warm()
except (XltoolError, OSError):  # pragma: no cover - a broken installation shows up on the first file instead
    pass
