"""The portal's state and views: who each link belongs to, and what each page shows.

Everything shown comes from the archive's index (read-only, the same rows `xltool status` shows);
the only writer is `collect`, reached through the upload queue.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..base.errors import XltoolError
from ..collect.archive import INDEX, Archive
from ..collect.index import Index
from ..collect.orgs import OrgRef, org_key
from ..collect.status import STATE_EN, STATE_ZH, OrgRow, Status, build_status
from ..collect.uploads import submissions_of
from ..spec.model import Model
from ..spec.roster import Org
from ..template.writer import TemplateOptions, write_template
from .keys import org_token, upload_link


@dataclass(frozen=True)
class Member:
    """One roster organisation as the portal knows it."""

    n: int
    org: Org
    ref: OrgRef
    token: str


@dataclass
class Portal:
    archive: Path
    model: Model
    year: int
    key: bytes
    orgs: list[Org]
    admin_cookie: str
    base_url: str = ""
    deadline: str = ""  # when the roster gives none
    members: dict[str, Member] = field(default_factory=dict)  # by token

    def __post_init__(self) -> None:
        for n, o in enumerate(self.orgs, 1):
            ref = OrgRef(org_key(o.name, o.code), o.name, o.code, o.level, o.row)
            token = org_token(self.key, self.model.name, self.year, ref.key)
            self.members[token] = Member(n, o, ref, token)

    @property
    def refs(self) -> list[OrgRef]:
        return [m.ref for m in self.members.values()]

    def link(self, member: Member) -> str:
        return upload_link(self.base_url, self.key, self.model.name, self.year, member.org.name, member.org.code)

    def by_n(self, n: int) -> Member | None:
        return next((m for m in self.members.values() if m.n == n), None)

    # -- what the pages show

    def history(self, member: Member) -> list[dict[str, Any]]:
        """The organisation's submissions, newest first, with their issues."""
        out = []
        for s in submissions_of(self.archive, self.model.name, self.year, member.ref.key):
            issues = json.loads(s["issues_json"] or "[]")
            out.append(
                {
                    **s,
                    "issues": issues,
                    "time": _when(s["file_mtime"]),
                    "state_zh": STATE_ZH.get(s["state"], s["state"]),
                    "state_en": STATE_EN.get(s["state"], s["state"]),
                }
            )
        return out

    def status(self) -> Status:
        """The status workbook's rows; before the first collect, every roster organisation missing."""
        path = self.archive / INDEX
        stored: Status | None = None
        if path.is_file():
            with Index(path, create=False) as db:
                stored = build_status(db, str(self.archive), self.model.name, self.year, dict(self.model.levels))
        rows = {o.name: o for o in stored.orgs} if stored is not None else {}
        orgs = []
        for m in self.members.values():
            row = rows.get(m.org.name) or OrgRow(m.n, m.org.name, m.org.code, m.org.level, "missing")
            row.n = m.n
            orgs.append(row)
        files = stored.files if stored is not None else []
        return Status(str(self.archive), self.model.name, self.year, True, orgs, files, dict(self.model.levels))

    def row_of(self, member: Member) -> OrgRow:
        return next(r for r in self.status().orgs if r.n == member.n)

    def file_of(self, member: Member | None, sha256: str, what: str) -> Path | None:
        """An archive file of one submission (`feedback` or `report`), only for its own organisation."""
        subs: Sequence[dict[str, Any]]
        if member is not None:
            subs = submissions_of(self.archive, self.model.name, self.year, member.ref.key)
        else:
            subs = self.status().files
        row = next((s for s in subs if s["sha256"] == sha256), None)
        rel = None if row is None else row["feedback_path"] if what == "feedback" else row["archive_path"]
        if not rel:
            return None
        path = Archive(self.archive).abs(rel)
        return path if path.is_file() else None

    def template(self, member: Member) -> bytes:
        o = member.org
        opts = TemplateOptions(
            year=self.year,
            org_name=o.name,
            org_code=o.code,
            level=o.level,
            deadline=o.deadline or self.deadline,
            contact=o.contact,
            issue_date=dt.date.today().isoformat(),
            portal_link=self.link(member) if self.base_url else "",
        )
        data, _ident = write_template(self.model, opts)
        return data


def _when(ts: float | None) -> str:
    return "" if ts is None else dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def no_roster(archive: Path) -> XltoolError:
    return XltoolError(
        "NO_ROSTER",
        "门户需要应报单位名单：请用 --roster 指定名单 CSV（或先用名单运行一次 collect）",
        "the portal needs a roster: pass --roster roster.csv (or run collect with a roster first)",
        path=str(archive),
    )
