"""Decide what every received file is, from what reading it gave, the roster and the archive.

A pure function of its inputs (no I/O): `reconcile` recomputes every submission row of a
collection (schema, year) each run, so a rerun after an interruption, a roster change or a newly
archived previous year reaches the same rows a clean run would, and the index only changes when
the outcome does.

States (one per distinct file; identical bytes under several names are one submission):
  accepted     read without errors, for a known organisation and this year; its current version
  superseded   accepted, but an organisation's newer version (file time, then arrival) is current
  duplicate    the same data as an archived version of the organisation (e.g. a re-saved copy)
  errors       read, but the data has errors: archived as received-with-errors, never accepted
  wrong_org    filled for another organisation than the template was issued to (ORG_MISMATCH)
  wrong_year   a template or report for another year
  unknown_org  the organisation is not on the roster
  wrong_format another schema or template layout (e.g. the 2019 format, an older xltool)
  rejected     not readable as a template: not a workbook, damaged, encrypted, worker crash, …
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from ..check.issues import Issue, count, sort_issues
from .archive import Archive, org_stem, safe_stem
from .classify import Context, classify, loads, time_issues
from .orgs import OrgRef

STATES = (
    "accepted",
    "superseded",
    "duplicate",
    "errors",
    "wrong_org",
    "wrong_year",
    "unknown_org",
    "wrong_format",
    "rejected",
)
PROBLEMS = frozenset({"errors", "wrong_org", "wrong_year", "unknown_org", "wrong_format", "rejected"})
FEEDBACK_STATES = frozenset({"errors", "wrong_org", "wrong_year", "unknown_org"})


@dataclass(frozen=True)
class Received:
    """One distinct content of a collection, with every name it was received under."""

    sha256: str
    paths: tuple[str, ...]
    size: int
    mtime: float
    arrived_at: str
    source_path: str | None

    def order(self) -> tuple[Any, ...]:
        """'Newer' = later arrival in the archive; file time only breaks ties within one run (a clock
        set wrong must not win over every later resubmission); then path, for a total order."""
        return (self.arrived_at, self.mtime, self.paths[0], self.sha256)


def reconcile(
    ctx: Context,
    received: list[Received],
    facts: dict[str, dict[str, Any]],
    old: dict[str, dict[str, Any]],  # sha256 -> {org_key, version} of the last run (Index.versions)
    stems: dict[str, str],
    roster: list[OrgRef] | None,
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Every submission row of the collection, and the file stems newly assigned."""
    rows: dict[str, dict[str, Any]] = {}
    orgs: dict[str, OrgRef] = {o.key: o for o in roster or []}
    candidates: dict[str, list[Received]] = defaultdict(list)
    for rec in sorted(received, key=Received.order):
        fact = facts[rec.sha256]
        row: dict[str, Any] = dict.fromkeys(
            (
                "org_key",
                "org_name",
                "org_code",
                "level",
                "template_org_name",
                "template_org_code",
                "filled_org_name",
                "filled_org_code",
                "file_year",
                "version",
                "duplicate_of",
                "archive_path",
                "feedback_path",
            )
        )
        row.update(
            schema=ctx.schema,
            year=ctx.year,
            sha256=rec.sha256,
            path_in_inbox=rec.paths[0],
            file_name=rec.paths[0].rsplit("/", 1)[-1],
            copies=len(rec.paths),
            size=rec.size,
            file_mtime=rec.mtime,
            arrived_at=rec.arrived_at,
            read_at=fact["read_at"],
            error_code=fact["error_code"],
            message_zh=fact["message_zh"],
            message_en=fact["message_en"],
            data_sha256=fact["data_sha256"],
            json_sha256=fact["json_sha256"],
            source_path=rec.source_path,
            is_current=0,
        )
        state, org, extra = classify(ctx, rec.sha256, fact, row)
        extra = extra + time_issues(ctx, rec.mtime)
        issues = [Issue(**i) for i in loads(fact["issues_json"], [])] + extra
        errors, warnings = count(issues)
        row.update(
            state=state,
            errors=errors,
            warnings=warnings,
            issues_json=json.dumps(
                [i.as_dict() for i in sort_issues(issues, ctx.layout.sheet_names)], ensure_ascii=False, default=str
            ),
        )
        if org is not None:
            orgs.setdefault(org.key, org)
            row.update(org_key=org.key, org_name=org.name, org_code=org.code or None, level=org.level or None)
            if state == "accepted":
                candidates[org.key].append(rec)
        rows[rec.sha256] = row

    # file stems: roster order first, then others by key; fixed once assigned (one that is not a
    # plain file name was edited into the index: it is assigned again, never used as a path)
    stems = {k: v for k, v in stems.items() if safe_stem(v)}
    new_stems: dict[str, str] = {}
    taken = {s.lower() for s in stems.values()}
    for key, org in sorted(orgs.items(), key=lambda kv: (kv[1].row or 1 << 30, kv[0])):
        if key not in stems:
            new_stems[key] = org_stem(org.name, key, taken)
    stem = {**stems, **new_stems}

    # versions: one per distinct data; the newest is current, the others are history
    used: dict[str, list[int]] = defaultdict(list)  # version numbers ever given, per organisation
    for r in old.values():
        if r.get("org_key") and r.get("version"):
            used[r["org_key"]].append(r["version"])
    for key, recs in candidates.items():
        reps: dict[str, Received] = {}
        newest: dict[str, Received] = {}  # data hash -> its newest submission
        for rec in recs:  # oldest first; a data hash already versioned keeps that submission
            data = rows[rec.sha256]["data_sha256"]
            newest[data] = rec
            prior = reps.get(data)
            if prior is None or (
                not old.get(prior.sha256, {}).get("version") and old.get(rec.sha256, {}).get("version")
            ):
                reps[data] = rec
        next_version = max(used[key], default=0)
        for rec in sorted(reps.values(), key=Received.order):
            version = old.get(rec.sha256, {}).get("version") if old.get(rec.sha256, {}).get("org_key") == key else None
            if not version:
                next_version += 1
                version = next_version
            rows[rec.sha256]["version"] = version
        # current: the data sent last (a file reverting to an earlier version's data brings it back)
        current = reps[max(newest, key=lambda d: newest[d].order())]
        for rec in recs:
            row = rows[rec.sha256]
            rep = reps[row["data_sha256"]]
            if rep is not rec:
                row.update(state="duplicate", duplicate_of=rep.sha256)
            elif rec is current:
                row.update(is_current=1, archive_path=Archive.current_path(ctx.schema, ctx.year, stem[key]))
            else:
                row.update(
                    state="superseded",
                    archive_path=Archive.history_path(ctx.schema, ctx.year, stem[key], row["version"], rec.sha256),
                )

    for row in rows.values():
        if row["state"] in FEEDBACK_STATES and fact_kind(facts[row["sha256"]]) in ("xlsx", "xlsm"):
            name = stem.get(row["org_key"] or "") or org_stem(
                row["org_name"] or row["file_name"].rsplit(".", 1)[0], row["sha256"], set()
            )
            row["feedback_path"] = Archive.feedback_path(ctx.year, name, row["sha256"])
    _feedback_to_send(rows.values())
    return sorted(rows.values(), key=lambda r: r["sha256"]), new_stems


def order(row: dict[str, Any]) -> tuple[Any, ...]:
    """`Received.order` of a submission row: which of an organisation's files is its latest."""
    return (row["arrived_at"], row["file_mtime"], row["path_in_inbox"], row["sha256"])


def _feedback_to_send(rows: Any) -> None:
    """Feedback only where it is to be sent now: an organisation's latest file (if it has problems),
    or a file that belongs to no organisation. Older problems are settled by newer files."""
    latest: dict[str, dict[str, Any]] = {}
    for row in rows:
        key = row["org_key"]
        if key and row["state"] != "duplicate" and (key not in latest or order(row) > order(latest[key])):
            latest[key] = row
    for row in rows:
        if row["org_key"] and latest.get(row["org_key"]) is not row:
            row["feedback_path"] = None


def fact_kind(fact: dict[str, Any]) -> str | None:
    return fact.get("kind")
