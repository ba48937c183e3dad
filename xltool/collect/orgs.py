"""Organisations of a collection: the key that identifies one, and finding one by code, then name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..spec.identity import norm_name


def norm(text: Any) -> str:
    return norm_name(text)  # one answer: `spec.identity` decides when two names are the same


@dataclass(frozen=True)
class OrgRef:
    key: str  # the code, or "name:<name>" for an organisation without one
    name: str
    code: str
    level: str = ""
    row: int = 0  # roster row (0: not on a roster)


def org_key(name: str, code: str) -> str:
    return norm(code).upper() or f"name:{norm(name)}"


class Orgs:
    """Find an organisation by code, then by name; with no roster every named one is known."""

    def __init__(self, roster: list[OrgRef] | None) -> None:
        self.roster = roster
        self.by_code = {norm(o.code).upper(): o for o in roster or [] if o.code}
        self.by_name = {norm(o.name): o for o in roster or []}

    def find(self, name: Any, code: Any) -> OrgRef | None:
        name, code = norm(name), norm(code).upper()
        if code and code in self.by_code:
            return self.by_code[code]
        if name and name in self.by_name:
            return self.by_name[name]
        if self.roster is None and (name or code):
            return OrgRef(org_key(name, code), name, code)
        return None
