"""Errors that stop the tool (as opposed to problems in user data, which are `Issue` values).

The CLI turns every `XltoolError` into one clear line and exit code 2. Each error carries a stable
`code`, the file it concerns, and a message in Chinese and English, so batch commands can record it
per file instead of crashing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class XltoolError(Exception):
    """A condition that prevents a command from doing its job on one input."""

    code: str
    message_zh: str
    message_en: str
    path: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message_en)

    def message(self, lang: str = "zh") -> str:
        return self.message_zh if lang == "zh" else self.message_en

    def line(self, lang: str = "zh") -> str:
        """One line for a terminal or a log: file, code and message."""
        prefix = f"{self.path}: " if self.path else ""
        return f"{prefix}[{self.code}] {self.message(lang)}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "path": self.path,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
            "details": self.details,
        }


class SchemaError(XltoolError):
    """A schema file that cannot be used (unreadable, invalid JSON Schema, bad x- keywords)."""


class InputFileError(XltoolError):
    """An input file that cannot be read: not a workbook, hostile, encrypted, wrong template."""


class OutputError(XltoolError):
    """A workbook or file that cannot be written (e.g. the spreadsheet library refused a value)."""
