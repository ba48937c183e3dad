"""Open the portal on an archive: check the arguments, find the model and the roster."""

from __future__ import annotations

from pathlib import Path

from ..collect.archive import INDEX
from ..collect.index import Index
from ..spec.identity import model_for
from ..spec.roster import Org, load_roster
from .portal import Portal, no_roster
from .queue import Settings


def _stored_roster(archive: Path, schema: str, year: int) -> list[Org] | None:
    """The roster the last collect of this year was reconciled with."""
    if not (archive / INDEX).is_file():
        return None
    with Index(archive / INDEX, create=False) as db:
        rows = db.roster(schema, year)
    if rows is None:
        return None
    return [
        Org(r["name"], r["code"] or "", r["level"] or "", r["contact"] or "", r["deadline"] or "", r["row"])
        for r in rows
    ]


def open_portal(
    archive: Path,
    roster: Path | None,
    schema: str | None,
    year: int,
    key: bytes,
    admin_cookie: str,
    base_url: str,
    deadline: str = "",
) -> tuple[Portal, Settings]:
    model = model_for(schema, year)  # the one year rule of every command (range and format)
    orgs = load_roster(roster, model.levels) if roster is not None else _stored_roster(archive, model.name, year)
    if not orgs:
        raise no_roster(archive)
    portal = Portal(archive, model, year, key, orgs, admin_cookie, base_url, deadline)
    settings = Settings(archive, model, year, roster, portal.refs)
    return portal, settings
