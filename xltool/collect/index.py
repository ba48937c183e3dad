"""The archive's index: one SQLite file (standard library), WAL mode, short transactions.

Tables (all keyed so that a rerun finds what it already did):

- `reads(sha256, schema, strict)`: what reading one content gave (identity, issues, the report
  JSON exactly as archived, or the error code), and `reader`: the xltool version and schema digest
  that read it. Written as each file is read, so a killed run loses at most the files in flight.
  Re-read only after transient failures (worker crash, timeout) or when the reader changed (an
  edited schema, another xltool version): old verdicts are never reused.
- `receipts(schema, year, path, sha256)`: every file received into a collection, under every name.
- `roster(schema, year, name)`: the roster the collection was reconciled with.
- `org_files(schema, year, org_key)`: each organisation's file stem, fixed once assigned.
- `submissions(schema, year, sha256)`: one row per distinct file received into a collection:
  organisation, state, counts, hashes, times and the archive files that hold it.

Opening checks the file (SQLite's quick_check, every table and column): a damaged index stops the
run with INDEX_CORRUPT and how to rebuild it (failures.py), never a traceback. Nothing is written when nothing changed (rows are compared first), so a second run on the same
inbox leaves `index.sqlite` byte-identical.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .failures import index_corrupt

FORMAT = "1"

SUBMISSION_COLUMNS = (
    "schema",
    "year",
    "sha256",
    "path_in_inbox",
    "file_name",
    "copies",
    "size",
    "file_mtime",
    "arrived_at",
    "read_at",
    "org_key",
    "org_name",
    "org_code",
    "level",
    "template_org_name",
    "template_org_code",
    "filled_org_name",
    "filled_org_code",
    "file_year",
    "state",
    "error_code",
    "message_zh",
    "message_en",
    "errors",
    "warnings",
    "issues_json",
    "data_sha256",
    "json_sha256",
    "version",
    "is_current",
    "duplicate_of",
    "archive_path",
    "source_path",
    "feedback_path",
)
READ_COLUMNS = (
    "sha256",
    "schema",
    "strict",
    "ok",
    "error_code",
    "message_zh",
    "message_en",
    "details_json",
    "identity_json",
    "filled_json",
    "issues_json",
    "errors",
    "warnings",
    "report_json",
    "json_sha256",
    "data_sha256",
    "kind",
    "read_at",
    "reader",
)
RECEIPT_COLUMNS = ("schema", "year", "path", "sha256", "size", "mtime", "role", "arrived_at")
ROSTER_COLUMNS = ("schema", "year", "row", "name", "code", "level", "contact", "deadline")

_DDL = f"""
CREATE TABLE IF NOT EXISTS info(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reads({", ".join(READ_COLUMNS)}, PRIMARY KEY (sha256, schema, strict));
CREATE TABLE IF NOT EXISTS receipts({", ".join(RECEIPT_COLUMNS)}, PRIMARY KEY (schema, year, path, sha256));
CREATE TABLE IF NOT EXISTS roster({", ".join(ROSTER_COLUMNS)}, PRIMARY KEY (schema, year, name));
CREATE TABLE IF NOT EXISTS org_files(schema, year, org_key, stem, PRIMARY KEY (schema, year, org_key));
CREATE TABLE IF NOT EXISTS submissions({", ".join(SUBMISSION_COLUMNS)}, PRIMARY KEY (schema, year, sha256));
CREATE INDEX IF NOT EXISTS submissions_org ON submissions(year, org_key);
"""


def _insert(table: str, columns: tuple[str, ...], replace: bool = False) -> str:
    verb = "INSERT OR REPLACE" if replace else "INSERT"
    return f"{verb} INTO {table}({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


TABLES = {
    "info": ("key", "value"),
    "reads": READ_COLUMNS,
    "receipts": RECEIPT_COLUMNS,
    "roster": ROSTER_COLUMNS,
    "org_files": ("schema", "year", "org_key", "stem"),
    "submissions": SUBMISSION_COLUMNS,
}


class Index:
    """A connection to DIR/index.sqlite. Reading never writes; writers commit per call."""

    def __init__(self, path: str | Path, *, create: bool = True) -> None:
        self.path = Path(path)
        if not create and not self.path.is_file():
            raise FileNotFoundError(str(self.path))
        self.conn = sqlite3.connect(str(self.path), timeout=30.0)
        try:
            self._open(create)
        except BaseException:
            self.conn.close()
            raise

    def _open(self, create: bool) -> None:
        self.conn.row_factory = sqlite3.Row
        mode = self.conn.execute("PRAGMA journal_mode").fetchone()[0]
        if create and mode != "wal":
            self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        if create:
            have = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master")}
            if not {"info", "reads", "receipts", "roster", "org_files", "submissions", "submissions_org"} <= have:
                with self.conn:
                    self.conn.executescript(_DDL)
                    self.conn.execute("INSERT OR IGNORE INTO info VALUES ('format', ?)", (FORMAT,))
        self._check(create)

    def _check(self, create: bool) -> None:
        """Refuse a damaged file; add the `reader` column to an index written before it existed."""
        verdict = self.conn.execute("PRAGMA quick_check").fetchone()[0]
        if verdict != "ok":
            raise index_corrupt(self.path, verdict)
        for table, columns in TABLES.items():
            have = [r[1] for r in self.conn.execute(f"PRAGMA table_info({table})")]
            if not have and not create:
                continue  # an index being read only: a table never written is empty
            if table == "reads" and have and "reader" not in have:  # an index older than the column
                if create:
                    with self.conn:
                        self.conn.execute("ALTER TABLE reads ADD COLUMN reader")
                have.append("reader")
            lacking = [c for c in columns if c not in have]
            if lacking:
                raise index_corrupt(self.path, f"table {table} lacks {', '.join(lacking)}")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _rows(self, sql: str, args: Iterable[Any] = ()) -> list[dict[str, Any]]:
        return [dict(r) for r in self.conn.execute(sql, tuple(args))]

    # -- reads

    def read_code(self, sha256: str, schema: str, strict: bool, reader: str) -> str | None:
        """The error code ("" when read) of `sha256`'s read by `reader`, None when it has none."""
        row = self.conn.execute(
            "SELECT ok, error_code FROM reads WHERE sha256=? AND schema=? AND strict=? AND reader IS ?",
            (sha256, schema, int(strict), reader),
        ).fetchone()
        return None if row is None else ("" if row[0] else (row[1] or ""))

    def read_facts(self, schema: str, strict: bool, shas: Iterable[str] | None = None) -> dict[str, dict[str, Any]]:
        """Reads of this schema (of `shas` only, when given), without the report text."""
        cols = ", ".join(c for c in READ_COLUMNS if c != "report_json")
        sql = f"SELECT {cols} FROM reads WHERE schema=? AND strict=?"
        if shas is None:
            rows = self._rows(sql, (schema, int(strict)))
        else:
            rows, want = [], sorted(set(shas))
            for i in range(0, len(want), 500):
                chunk = want[i : i + 500]
                rows += self._rows(
                    sql + f" AND sha256 IN ({', '.join('?' * len(chunk))})", (schema, int(strict), *chunk)
                )
        return {r["sha256"]: r for r in rows}

    def report_json(self, sha256: str, schema: str | None = None) -> str | None:
        sql, args = "SELECT report_json FROM reads WHERE sha256=? AND report_json IS NOT NULL", [sha256]
        if schema is not None:
            sql, args = sql + " AND schema=?", args + [schema]
        row = self.conn.execute(sql + " ORDER BY strict LIMIT 1", args).fetchone()
        return None if row is None else row[0]

    def put_read(self, row: dict[str, Any]) -> None:
        with self.conn:
            self.conn.execute(_insert("reads", READ_COLUMNS, replace=True), [row.get(c) for c in READ_COLUMNS])

    # -- receipts

    def add_receipts(self, rows: Iterable[dict[str, Any]]) -> int:
        """Insert the receipts not yet recorded, compared a batch at a time, in one transaction
        (none when nothing is new); returns how many were new."""
        added, todo = 0, iter(rows)
        try:
            while batch := list(itertools.islice(todo, 500)):
                marks = ", ".join("?" * len(batch))
                have = {
                    (path, sha)
                    for path, sha in self.conn.execute(
                        f"SELECT path, sha256 FROM receipts WHERE schema=? AND year=? AND sha256 IN ({marks})",
                        (batch[0]["schema"], batch[0]["year"], *(r["sha256"] for r in batch)),
                    )
                }
                new = [[r[c] for c in RECEIPT_COLUMNS] for r in batch if (r["path"], r["sha256"]) not in have]
                if new:
                    self.conn.executemany(_insert("receipts", RECEIPT_COLUMNS), new)
                    added += len(new)
            if added:
                self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise
        return added

    # -- roster and file stems

    def roster(self, schema: str, year: int) -> list[dict[str, Any]] | None:
        rows = self._rows("SELECT * FROM roster WHERE schema=? AND year=? ORDER BY row, name", (schema, year))
        return rows or None

    def set_roster(self, schema: str, year: int, rows: list[dict[str, Any]]) -> bool:
        key = lambda r: tuple(r[c] for c in ROSTER_COLUMNS)  # noqa: E731
        if sorted(map(key, self.roster(schema, year) or [])) == sorted(map(key, rows)):
            return False
        with self.conn:
            self.conn.execute("DELETE FROM roster WHERE schema=? AND year=?", (schema, year))
            self.conn.executemany(_insert("roster", ROSTER_COLUMNS), [[r[c] for c in ROSTER_COLUMNS] for r in rows])
        return True

    def stems(self, schema: str, year: int) -> Iterator[tuple[str, str]]:
        """(org_key, stem) of the collection's organisations, streamed."""
        rows = self.conn.execute("SELECT org_key, stem FROM org_files WHERE schema=? AND year=?", (schema, year))
        return ((k, s) for k, s in rows)

    # -- submissions

    def submissions(self, schema: str, year: int) -> dict[str, dict[str, Any]]:
        rows = self._rows("SELECT * FROM submissions WHERE schema=? AND year=? ORDER BY sha256", (schema, year))
        return {r["sha256"]: r for r in rows}

    def iter_submissions(
        self, schema: str, year: int, columns: tuple[str, ...], org_key: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """The collection's submissions (`columns` only; of one organisation when `org_key` is
        given), by path in the inbox then hash, streamed."""
        sql = f"SELECT {', '.join(columns)} FROM submissions WHERE schema=? AND year=?"
        args: tuple[Any, ...] = (schema, year)
        if org_key is not None:
            sql, args = sql + " AND org_key=?", (*args, org_key)
        cur = self.conn.execute(sql + " ORDER BY path_in_inbox, sha256", args)
        while batch := cur.fetchmany(500):
            yield from (dict(r) for r in batch)

    def org_keys_by_name(self, schema: str, year: int) -> Iterator[str]:
        """The organisations of the collection's submissions, by the name on their first file (by
        path), then by that file: the overview's order without a roster."""
        cur = self.conn.execute(
            """SELECT org_key FROM (
                SELECT org_key, org_name, path_in_inbox, sha256,
                    ROW_NUMBER() OVER (PARTITION BY org_key ORDER BY path_in_inbox, sha256) AS k
                FROM submissions WHERE schema=? AND year=? AND org_key IS NOT NULL AND org_key <> '')
            WHERE k = 1 ORDER BY COALESCE(NULLIF(org_name, ''), org_key), path_in_inbox, sha256""",
            (schema, year),
        )
        while batch := cur.fetchmany(500):
            yield from (r[0] for r in batch)

    def currents(self, year: int) -> list[dict[str, Any]]:
        """The current accepted submission of every organisation in `year` (any schema)."""
        return self._rows(
            "SELECT schema, sha256, org_key, org_name, org_code FROM submissions "
            "WHERE year=? AND is_current=1 ORDER BY schema, org_key",
            (year,),
        )

    def feedback_paths(self, year: int, *, other_than: str) -> set[str]:
        """Feedback files of the other collections of `year` (they share `feedback/<year>/`)."""
        rows = self.conn.execute(
            "SELECT feedback_path FROM submissions WHERE year=? AND schema<>? AND feedback_path IS NOT NULL",
            (year, other_than),
        )
        return {r[0] for r in rows}

    def collections(self) -> list[tuple[str, int]]:
        rows = self.conn.execute("SELECT DISTINCT schema, year FROM submissions ORDER BY year, schema")
        return [(s, y) for s, y in rows]
