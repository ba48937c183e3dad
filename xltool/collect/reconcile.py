"""Decide what every received file is, from what reading it gave, the roster and the archive.

Pure functions per file (`submission_row`) and per organisation (`decide`), no I/O: `reconcile`
streams a collection through them and the `Stage` (the index's temporary tables), so the parent
holds one organisation's rows at a time, not the collection's. Every submission row of a
collection (schema, year) is recomputed each run, so a rerun after an interruption, a roster change
or a newly archived previous year reaches the same rows a clean run would, and the index only
changes when the outcome does. Only the file stems (roster order first) look at every organisation
at once: streamed from the stage and kept there.

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
from collections.abc import Iterable
from typing import Any

from ..check.issues import Issue, count, sort_issues
from .archive import Archive, org_stem, safe_stem
from .classify import Context, classify, loads, time_issues
from .index import SUBMISSION_COLUMNS
from .orgs import OrgRef
from .stage import Stage

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


def submission_row(ctx: Context, rec: dict[str, Any], fact: dict[str, Any]) -> tuple[dict[str, Any], OrgRef | None]:
    """One content's row before versions (state, organisation, issues) and its organisation.
    `rec`: sha256, path (its first name), copies, size, mtime, arrived_at and source_path."""
    row: dict[str, Any] = dict.fromkeys(SUBMISSION_COLUMNS)  # what classify and versions do not set stays None
    row.update(
        schema=ctx.schema,
        year=ctx.year,
        sha256=rec["sha256"],
        path_in_inbox=rec["path"],
        file_name=rec["path"].rsplit("/", 1)[-1],
        copies=rec["copies"],
        size=rec["size"],
        file_mtime=rec["mtime"],
        arrived_at=rec["arrived_at"],
        read_at=fact["read_at"],
        error_code=fact["error_code"],
        message_zh=fact["message_zh"],
        message_en=fact["message_en"],
        data_sha256=fact["data_sha256"],
        json_sha256=fact["json_sha256"],
        source_path=rec["source_path"],
        is_current=0,
    )
    state, org, extra = classify(ctx, rec["sha256"], fact, row)
    extra = extra + time_issues(ctx, rec["mtime"])
    issues = [Issue(**i) for i in loads(fact["issues_json"], [])] + extra
    errors, warnings = count(issues)
    row.update(
        state=state,
        errors=errors,
        warnings=warnings,
        issues_json=json.dumps(
            [i.as_dict() for i in sort_issues(issues, ctx.layout.sheet_names)], ensure_ascii=False, default=str
        ),
        kind=fact.get("kind"),
    )
    if org is not None:
        row.update(org_key=org.key, org_name=org.name, org_code=org.code or None, level=org.level or None)
    return row, org


def reconcile(
    ctx: Context,
    received: Iterable[tuple[dict[str, Any], dict[str, Any]]],
    stage: Stage,
    stems: Iterable[tuple[str, str]],
    roster: list[OrgRef] | None,
) -> None:
    """Reconcile the collection through `stage`: `received` (each content with its read, oldest
    first) is classified into the stage, file stems are given (`stems`: those of earlier runs, as
    (org_key, stem)), then each organisation's rows are decided and staged as final."""
    stage.classified(submission_row(ctx, rec, fact)[0] for rec, fact in received)
    assign_stems(stage, roster, stems)
    stage.reconciled(row for key, rows in stage.by_org() for row in decide(ctx, key, rows))


def assign_stems(stage: Stage, roster: list[OrgRef] | None, stems: Iterable[tuple[str, str]]) -> None:
    """Every organisation's file stem, in the stage: roster order first, then others by key (an
    organisation off the roster named by its oldest file); fixed once assigned (one that is not a
    plain file name was edited into the index: it is assigned again, never used as a path)."""
    stage.keep_stems((k, v) for k, v in stems if safe_stem(v))
    listed = {o.key: o for o in roster or []}  # a key twice on the roster: its last row
    stage.assign_stems(((o.row or 1 << 30, k, o.name) for k, o in listed.items()), org_stem)


def decide(ctx: Context, key: str | None, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A pure function of one organisation's rows (oldest first; `key` None: one row of no
    organisation): versions, current, duplicates, archive paths and the feedback to send. Each row
    carries `old_key` and `old_version` (its last run), `used` (the organisation's highest version
    ever given) and `stem` (its file stem), so versions and paths stay stable across runs."""
    if key is not None:
        _versions(ctx, key, [r for r in rows if r["state"] == "accepted"], rows[0]["used"] or 0, rows[0]["stem"])
    for row in rows:
        if row["state"] in FEEDBACK_STATES and row["kind"] in ("xlsx", "xlsm"):
            name = row["stem"] or org_stem(row["org_name"] or row["file_name"].rsplit(".", 1)[0], row["sha256"], set())
            row["feedback_path"] = Archive.feedback_path(ctx.year, name, row["sha256"])
    if key is not None:
        _feedback_to_send(rows)
    return rows


def _versions(ctx: Context, key: str, recs: list[dict[str, Any]], used: int, stem: str) -> None:
    """One version per distinct data; the newest is current, the others are history."""
    if not recs:
        return
    reps: dict[str, dict[str, Any]] = {}
    newest: dict[str, dict[str, Any]] = {}  # data hash -> its newest submission
    for rec in recs:  # oldest first; a data hash already versioned keeps that submission
        data = rec["data_sha256"]
        newest[data] = rec
        prior = reps.get(data)
        if prior is None or (not prior["old_version"] and rec["old_version"]):
            reps[data] = rec
    next_version = used
    for rec in sorted(reps.values(), key=order):
        version = rec["old_version"] if rec["old_key"] == key else None
        if not version:
            next_version += 1
            version = next_version
        rec["version"] = version
    # current: the data sent last (a file reverting to an earlier version's data brings it back)
    current = reps[max(newest, key=lambda d: order(newest[d]))]
    for rec in recs:
        rep = reps[rec["data_sha256"]]
        if rep is not rec:
            rec.update(state="duplicate", duplicate_of=rep["sha256"])
        elif rec is current:
            rec.update(is_current=1, archive_path=Archive.current_path(ctx.schema, ctx.year, stem))
        else:
            rec.update(
                state="superseded",
                archive_path=Archive.history_path(ctx.schema, ctx.year, stem, rec["version"], rec["sha256"]),
            )


def order(row: dict[str, Any]) -> tuple[Any, ...]:
    """Which of an organisation's files is newer: later arrival in the archive; file time only breaks
    ties within one run (a clock set wrong must not win over every later resubmission); then the
    first name and the hash, for a total order (`Stage` sorts by the same columns)."""
    return (row["arrived_at"], row["file_mtime"], row["path_in_inbox"], row["sha256"])


def _feedback_to_send(rows: list[dict[str, Any]]) -> None:
    """Feedback only where it is to be sent now: an organisation's latest file (if it has problems),
    or a file that belongs to no organisation. Older problems are settled by newer files."""
    live = [r for r in rows if r["state"] != "duplicate"]
    latest = max(live, key=order) if live else None
    for row in rows:
        if row is not latest:
            row["feedback_path"] = None
