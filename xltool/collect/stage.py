"""The working tables of one reconcile: TEMP tables of the index's own connection.

A collection's submission rows (with their issues) would grow the parent by kilobytes a file if
held in lists; here they live in SQLite's temporary file (a page cache of a few MiB) and the parent
streams them: the received contents in arrival order, one organisation's rows at a time, the rows to
publish in the order they are written. Nothing here is committed to the archive's index: `save`
copies the rows that changed into `submissions` in one transaction, as before.

Tables: `received` (one row per distinct content, every name it came under counted), `classified`
(each content's row before versions, plus its read kind), `stems` (each organisation's file stem,
`new` when assigned by this run), `taken` (the stems in use, lower-cased), `todo` (the
organisations to give one) and `reconciled` (the final rows).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .index import READ_COLUMNS, SUBMISSION_COLUMNS, Index

BATCH = 500  # rows a write or a lookup handles at once
TEMP_CACHE_KIB = 512  # the temporary tables' page cache (SQLite's default: 2,000 KiB more in the parent)

_ORDER = "arrived_at, file_mtime, path_in_inbox, sha256"  # `reconcile.order`: oldest first
_COLS = ", ".join(SUBMISSION_COLUMNS)
_SAME = " AND ".join(f"r.{c} IS s.{c}" for c in SUBMISSION_COLUMNS)


class Stage:
    """The TEMP tables of one collect run on `db`'s connection (dropped by `close`)."""

    def __init__(self, db: Index, schema: str, year: int) -> None:
        self.conn, self.schema, self.year = db.conn, schema, year
        self.conn.executescript(
            f"""
            PRAGMA temp.cache_size = -{TEMP_CACHE_KIB};
            DROP TABLE IF EXISTS temp.received;
            DROP TABLE IF EXISTS temp.classified;
            DROP TABLE IF EXISTS temp.reconciled;
            DROP TABLE IF EXISTS temp.stems;
            DROP TABLE IF EXISTS temp.taken;
            DROP TABLE IF EXISTS temp.todo;
            CREATE TEMP TABLE received(sha256 PRIMARY KEY, path, copies, size, mtime, arrived_at);
            CREATE INDEX temp.received_order ON received(arrived_at, mtime, path, sha256);
            CREATE TEMP TABLE classified({_COLS}, kind, PRIMARY KEY (sha256));
            CREATE INDEX temp.classified_org ON classified(org_key, {_ORDER});
            CREATE TEMP TABLE reconciled({_COLS}, PRIMARY KEY (sha256));
            CREATE TEMP TABLE stems(org_key PRIMARY KEY, stem, new);
            CREATE TEMP TABLE taken(low);
            CREATE INDEX temp.taken_low ON taken(low);
            CREATE TEMP TABLE todo(rank, org_key, name);
            """
        )
        self.taken = _Taken(self.conn)

    def close(self) -> None:
        self.conn.executescript(
            "DROP TABLE temp.received; DROP TABLE temp.classified; DROP TABLE temp.reconciled;"
            " DROP TABLE temp.stems; DROP TABLE temp.taken; DROP TABLE temp.todo;"
        )

    def _rows(self, sql: str, args: Iterable[Any] = ()) -> Iterator[dict[str, Any]]:
        cur = self.conn.execute(sql, tuple(args))
        names = [d[0] for d in cur.description]
        while batch := cur.fetchmany(BATCH):
            for values in batch:
                yield dict(zip(names, values, strict=True))

    # -- received contents

    def receive(self) -> int:
        """Group the collection's receipts by content (first name, copies, earliest times); returns
        the number of contents."""
        self.conn.execute(  # one sort by content (a subquery per content was quadratic: 9 s at 10,000)
            """INSERT INTO temp.received
            SELECT sha256, path, copies, size, mtime, arrived_at FROM (
                SELECT sha256, path, size, COUNT(*) OVER w AS copies, MIN(mtime) OVER w AS mtime,
                    MIN(arrived_at) OVER w AS arrived_at, ROW_NUMBER() OVER (w ORDER BY path) AS k
                FROM receipts WHERE schema=? AND year=? AND role<>'attachment'
                WINDOW w AS (PARTITION BY sha256))
            WHERE k = 1""",
            (self.schema, self.year),
        )
        self.conn.commit()
        return int(self.conn.execute("SELECT COUNT(*) FROM temp.received").fetchone()[0])

    def contents(self, strict: bool, reader: str, retry: Iterable[str]) -> Iterator[tuple[str, str]]:
        """(first name, sha256) of every content with no read by `reader`, or whose read failed
        with a code in `retry`, by sha256."""
        codes = sorted(retry)
        sql = f"""SELECT r.path AS path, r.sha256 AS sha256 FROM temp.received r
            LEFT JOIN reads f ON f.sha256=r.sha256 AND f.schema=? AND f.strict=? AND f.reader IS ?
            WHERE f.sha256 IS NULL OR (NOT COALESCE(f.ok, 0) AND COALESCE(f.error_code, '') IN ({", ".join("?" * len(codes))}))
            ORDER BY r.sha256"""
        for r in self._rows(sql, (self.schema, int(strict), reader, *codes)):
            yield r["path"], r["sha256"]

    def with_facts(self, strict: bool) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
        """Every content with what reading it gave (without the report), oldest first."""
        facts = ", ".join(f"f.{c} AS f_{c}" for c in READ_COLUMNS if c != "report_json")
        sql = f"""SELECT r.sha256 AS sha256, r.path AS path, r.copies AS copies, r.size AS size, r.mtime AS mtime,
            r.arrived_at AS arrived_at, {facts}
            FROM temp.received r JOIN reads f ON f.sha256=r.sha256 AND f.schema=? AND f.strict=?
            ORDER BY r.arrived_at, r.mtime, r.path, r.sha256"""
        for row in self._rows(sql, (self.schema, int(strict))):
            yield row, {c[2:]: v for c, v in row.items() if c.startswith("f_")}

    # -- classified rows, then one organisation at a time

    def classified(self, rows: Iterable[dict[str, Any]]) -> None:
        sql = f"INSERT INTO temp.classified({_COLS}, kind) VALUES ({', '.join('?' * (len(SUBMISSION_COLUMNS) + 1))})"
        self._batches(sql, ([*(r[c] for c in SUBMISSION_COLUMNS), r["kind"]] for r in rows))

    # -- file stems

    def keep_stems(self, stems: Iterable[tuple[str, str]]) -> None:
        """The stems assigned by earlier runs (org_key, stem): kept, and taken."""
        self._batches("INSERT OR REPLACE INTO temp.stems VALUES (?, ?, 0)", ([k, v] for k, v in stems))
        taken = ([r["stem"].lower()] for r in self._rows("SELECT stem FROM temp.stems"))
        self._batches("INSERT INTO temp.taken VALUES (?)", taken)

    def assign_stems(self, listed: Iterable[tuple[int, str, str]], stem_of: Callable[[str, str, Any], str]) -> None:
        """Give each organisation without a stem `stem_of(name, key, taken)`, by rank then key: those
        `listed` (rank, org_key, name), then the others of the classified rows (rank 1 << 30), each
        named by its oldest file. New stems are written a batch at a time."""
        first = f"""SELECT org_key, org_name FROM (
            SELECT org_key, org_name, ROW_NUMBER() OVER (PARTITION BY org_key ORDER BY {_ORDER}) AS k
            FROM temp.classified WHERE org_key IS NOT NULL) WHERE k = 1"""
        with self.conn:
            self.conn.execute("DELETE FROM temp.todo")
            self.conn.executemany("INSERT INTO temp.todo VALUES (?, ?, ?)", listed)
            self.conn.execute(
                f"INSERT INTO temp.todo SELECT {1 << 30}, org_key, org_name FROM ({first})"
                " WHERE org_key NOT IN (SELECT org_key FROM temp.todo)"
            )
            self.conn.execute("DELETE FROM temp.todo WHERE org_key IN (SELECT org_key FROM temp.stems)")
        todo = (
            (r["org_key"], r["name"]) for r in self._rows("SELECT org_key, name FROM temp.todo ORDER BY rank, org_key")
        )
        new = ([key, stem_of(name, key, self.taken)] for key, name in todo)
        self._batches("INSERT INTO temp.stems VALUES (?, ?, 1)", new)
        self.taken.flush()

    def by_org(self) -> Iterator[tuple[str | None, list[dict[str, Any]]]]:
        """(org_key, its rows oldest first) for each organisation; (None, [row]) for each row of no
        organisation. Each row also has `old_key`, `old_version` (its last run), `used` (the
        organisation's highest version ever given) and `stem` (its file stem)."""
        sql = f"""SELECT c.*, o.org_key AS old_key, o.version AS old_version,
            (SELECT MAX(version) FROM submissions u WHERE u.schema=? AND u.year=? AND u.org_key=c.org_key) AS used,
            st.stem AS stem
            FROM temp.classified c
            LEFT JOIN submissions o ON o.schema=? AND o.year=? AND o.sha256=c.sha256
            LEFT JOIN temp.stems st ON st.org_key=c.org_key
            ORDER BY c.org_key, {", ".join("c." + k.strip() for k in _ORDER.split(","))}"""
        key: str | None = None
        group: list[dict[str, Any]] = []
        for row in self._rows(sql, (self.schema, self.year) * 2):
            if row["org_key"] is None:
                yield None, [row]
                continue
            if group and row["org_key"] != key:
                yield key, group
                group = []
            key = row["org_key"]
            group.append(row)
        if group:
            yield key, group

    def reconciled(self, rows: Iterable[dict[str, Any]]) -> None:
        sql = f"INSERT INTO temp.reconciled({_COLS}) VALUES ({', '.join('?' * len(SUBMISSION_COLUMNS))})"
        self._batches(sql, ([r[c] for c in SUBMISSION_COLUMNS] for r in rows))

    def _batches(self, sql: str, values: Iterable[list[Any]]) -> None:
        batch: list[list[Any]] = []
        for v in values:
            batch.append(v)
            if len(batch) >= BATCH:
                with self.conn:  # committed a batch at a time: no transaction stays open on the index
                    self.conn.executemany(sql, batch)
                batch = []
        if batch:
            with self.conn:
                self.conn.executemany(sql, batch)

    # -- the reconciled rows, for publishing and saving

    def rows(self, where: str = "", order: str = "sha256", columns: str = "*") -> Iterator[dict[str, Any]]:
        return self._rows(f"SELECT {columns} FROM temp.reconciled {where} ORDER BY {order}")

    def count(self, where: str = "") -> int:
        return int(self.conn.execute(f"SELECT COUNT(*) FROM temp.reconciled {where}").fetchone()[0])

    def row(self, sha256: str) -> dict[str, Any]:
        return next(self._rows("SELECT * FROM temp.reconciled WHERE sha256=?", (sha256,)))

    def has_json(self, digest: str) -> bool:
        return (
            self.conn.execute("SELECT 1 FROM temp.reconciled WHERE json_sha256=? LIMIT 1", (digest,)).fetchone()
            is not None
        )

    def drop_feedback(self, shas: list[str]) -> None:
        with self.conn:
            self.conn.executemany("UPDATE temp.reconciled SET feedback_path=NULL WHERE sha256=?", [(s,) for s in shas])

    def lookup(self, shas: Iterable[str], columns: str) -> Iterator[dict[str, Any]]:
        """Rows of `shas` (a batch at a time), in no particular order."""
        todo = list(dict.fromkeys(shas))
        for i in range(0, len(todo), BATCH):
            chunk = todo[i : i + BATCH]
            yield from self._rows(
                f"SELECT {columns} FROM temp.reconciled WHERE sha256 IN ({', '.join('?' * len(chunk))})", chunk
            )

    def save(self) -> int:
        """Copy the rows that differ from the index's into `submissions` (and the new stems), in one
        transaction; returns the number of rows written. Unchanged rows are not written, so a rerun
        that changes nothing leaves the index as it was."""
        changed = f"""FROM temp.reconciled r LEFT JOIN submissions s
            ON s.schema=r.schema AND s.year=r.year AND s.sha256=r.sha256
            WHERE s.sha256 IS NULL OR NOT ({_SAME})"""
        n = int(self.conn.execute(f"SELECT COUNT(*) {changed}").fetchone()[0])
        if not n and not self.conn.execute("SELECT 1 FROM temp.stems WHERE new LIMIT 1").fetchone():
            return 0
        with self.conn:
            self.conn.execute(
                "INSERT OR REPLACE INTO org_files SELECT ?, ?, org_key, stem FROM temp.stems WHERE new ORDER BY org_key",
                (self.schema, self.year),
            )
            cols = ", ".join(f"r.{c}" for c in SUBMISSION_COLUMNS)
            self.conn.execute(f"INSERT OR REPLACE INTO submissions({_COLS}) SELECT {cols} {changed} ORDER BY r.sha256")
        return n


class _Taken:
    """The stems in use, lower-cased, as `org_stem` asks of a set: in the stage, the latest few
    (fewer than `BATCH`) in memory until written."""

    def __init__(self, conn: Any) -> None:
        self.conn, self.pending = conn, set[str]()

    def __contains__(self, low: object) -> bool:
        if low in self.pending:
            return True
        return self.conn.execute("SELECT 1 FROM temp.taken WHERE low=? LIMIT 1", (low,)).fetchone() is not None

    def add(self, low: str) -> None:
        self.pending.add(low)
        if len(self.pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        with self.conn:
            self.conn.executemany("INSERT INTO temp.taken VALUES (?)", [(low,) for low in self.pending])
        self.pending = set()
