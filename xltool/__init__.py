"""xltool: JSON Schema -> locked Excel templates -> validated JSON archive.

Built for the 政府信息公开工作年度报告 cycle, but nothing in the package is specific to
that report: everything report-specific lives in the schema files under ``schema/``.

The library API is small and deliberate (imported lazily, so ``xltool --help`` stays fast)::

    import xltool
    model = xltool.load_model("annual-report-2021")
    data, identity = xltool.write_template(model, xltool.TemplateOptions(year=2025, org_name="某某镇人民政府"))
    result = xltool.read_workbook("filled.xlsx")          # .report, .issues, .exit_code
    issues = xltool.validate_report(model, result.report)
    summary = xltool.collect_inbox("inbox", "archive", roster="roster.csv", year=2025)
"""

from __future__ import annotations

import os
from importlib import import_module
from typing import Any

# openpyxl parses with lxml whenever lxml is installed (python-docx pulls it in), and then bypasses
# defusedxml, the second line of defence behind the safety gate's XML checks. Its only switch is
# this variable, read when openpyxl is first imported: everything in xltool imports this first.
os.environ["OPENPYXL_LXML"] = "False"

from .base.version import __version__

# name -> (module, attribute); `collect_inbox` because `xltool.collect` is the stage package.
_API = {
    "load_model": "xltool.spec.model",
    "Model": "xltool.spec.model",
    "TemplateOptions": "xltool.template.writer",
    "write_template": "xltool.template.writer",
    "read_workbook": "xltool.read.reader",
    "ReadResult": "xltool.read.reader",
    "validate_report": "xltool.check.validate",
    "Issue": "xltool.check.issues",
    "XltoolError": "xltool.base.errors",
    "collect_inbox": "xltool.collect.run:collect",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        module, _, attr = _API[name].partition(":")
        return getattr(import_module(module), attr or name)
    raise AttributeError(f"module 'xltool' has no attribute {name!r}")
