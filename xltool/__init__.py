"""xltool: JSON Schema -> locked Excel templates -> validated JSON archive.

Built for the 政府信息公开工作年度报告 cycle, but nothing in the package is specific to
that report: everything report-specific lives in the schema files under ``schema/``.
"""

__version__ = "0.1.0"
