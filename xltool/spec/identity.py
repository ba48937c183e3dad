"""Template identity: which schema, layout, year and organisation a workbook was issued for.

Written by the writer in three places (hidden meta sheet, workbook defined names, custom document
properties) so that a reader can recognise its own templates even after a re-save by Excel, WPS or
LibreOffice, and refuse or flag files built from another schema, layout or organisation.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

KEYS = (
    "generator",
    "schema_id",
    "schema_name",
    "schema_version",
    "schema_digest",
    "layout_fingerprint",
    "year",
    "org_name",
    "org_code",
    "level",
    "issue_date",
    "deadline",
    "contact",
    "serial",
)
NAME_PREFIX = "xltool."


@dataclass(frozen=True)
class Identity:
    generator: str
    schema_id: str
    schema_name: str
    schema_version: str
    schema_digest: str
    layout_fingerprint: str
    year: str = ""
    org_name: str = ""
    org_code: str = ""
    level: str = ""
    issue_date: str = ""
    deadline: str = ""
    contact: str = ""
    serial: str = ""

    def with_serial(self) -> Identity:
        """Serial: a stable hash of everything that identifies this issued template."""
        basis = "|".join(
            [
                self.schema_digest,
                self.layout_fingerprint,
                self.year,
                self.org_code,
                self.org_name,
                self.level,
                self.issue_date,
            ]
        )
        return replace(self, serial=hashlib.sha256(basis.encode("utf-8")).hexdigest()[:12].upper())

    def items(self) -> list[tuple[str, str]]:
        return [(k, str(getattr(self, k))) for k in KEYS]

    def as_dict(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> Identity:
        names = {f.name for f in fields(cls)}
        clean = {k: ("" if data.get(k) is None else str(data.get(k))) for k in names}
        return cls(**clean)


def defined_name(key: str) -> str:
    return f"{NAME_PREFIX}{key}"
