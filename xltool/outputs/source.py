"""Read one collection (schema, year) of the archive: who was expected, who is accepted, their reports.

Every output starts here, so aggregate, render and export agree on which report is an organisation's
accepted one: the current archived version that `collect/status` reports (DESIGN §8). Reports are
parsed with Decimal so amounts keep exactly the decimals they were archived with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..base.errors import InputFileError, XltoolError
from ..collect.archive import INDEX
from ..collect.index import Index
from ..collect.orgs import org_key
from ..collect.status import STATE_EN, STATE_ZH, OrgRow, build_status
from ..spec.model import Model, load_model


@dataclass(frozen=True)
class OrgReport:
    """One organisation's accepted report as archived."""

    name: str
    code: str
    level: str
    state: str  # the organisation's state in the collection (accepted, or errors with an older accepted version)
    path: str  # where the JSON came from (archive-relative, or the file given)
    report: dict[str, Any] = field(repr=False, compare=False)

    @property
    def key(self) -> str:
        return org_key(self.name, self.code)

    @property
    def sha256(self) -> str:
        meta = self.report.get("_meta")
        source = meta.get("source") if isinstance(meta, dict) else None
        return str(source.get("sha256") or "") if isinstance(source, dict) else ""


@dataclass
class YearData:
    archive: Path
    model: Model
    year: int
    roster: bool
    orgs: list[OrgRow]
    reports: list[OrgReport]  # the accepted reports, in roster order

    @property
    def schema(self) -> str:
        return self.model.name

    def state_name(self, state: str, lang: str = "zh") -> str:
        return (STATE_ZH if lang == "zh" else STATE_EN).get(state, state)


def read_json(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"), parse_float=Decimal)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(
            "ARCHIVE_FILE", f"无法读取归档文件：{exc}", f"cannot read an archived report: {exc}", path=str(path)
        ) from exc
    if not isinstance(doc, dict):
        raise InputFileError(
            "NOT_AN_OBJECT", "JSON顶层必须是对象（报告）", "the JSON top level must be an object", path=str(path)
        )
    return doc


def open_index(archive: Path) -> Index:
    if not archive.is_dir():
        what = "不是目录" if archive.exists() else "不存在"
        raise XltoolError(
            "NO_ARCHIVE",
            f"归档目录{what}：{archive}",
            f"the archive folder {'is not a folder' if archive.exists() else 'does not exist'}: {archive}",
            path=str(archive),
        )
    try:
        return Index(archive / INDEX, create=False)
    except FileNotFoundError:
        raise XltoolError(
            "NO_ARCHIVE",
            f"找不到归档索引：{archive / INDEX}（请先运行 collect）",
            f"no archive index at {archive / INDEX} (run collect first)",
            path=str(archive),
        ) from None


def collections(archive: Path) -> list[tuple[str, int]]:
    """(schema, year) of every collection in the archive."""
    with open_index(archive) as db:
        return db.collections()


def pick_schema(archive: Path, year: int, schema: str | None) -> str:
    """The one schema the archive holds `year` in; refuse to guess between two formats."""
    found = sorted({s for s, y in collections(archive) if y == year})
    if schema is not None:
        name = load_model(schema).name
        if name not in found:
            raise XltoolError(
                "NO_COLLECTION",
                f"归档中没有{year}年度（{name}）的收集记录" + (f"；已有：{'、'.join(found)}" if found else ""),
                f"the archive has no collection for {year} in {name}"
                + (f"; it has: {', '.join(found)}" if found else ""),
                path=str(archive),
            )
        return name
    if not found:
        years = sorted({y for _s, y in collections(archive)})
        have = "、".join(map(str, years)) or "无"
        raise XltoolError(
            "NO_COLLECTION",
            f"归档中没有{year}年度的收集记录（已有年度：{have}）",
            f"the archive has no collection for {year} (years present: {', '.join(map(str, years)) or 'none'})",
            path=str(archive),
        )
    if len(found) > 1:
        raise XltoolError(
            "MIXED_FORMATS",
            f"{year}年度在归档中有多种格式（{'、'.join(found)}），不同格式不能合并，请用 --schema 指定一种",
            f"{year} is archived in several formats ({', '.join(found)}), which cannot be combined; pass --schema",
            path=str(archive),
        )
    return found[0]


def load_year(archive: str | Path, year: int, schema: str | None = None, *, required: bool = True) -> YearData | None:
    """The collection of `year`; None when it is absent and not `required`."""
    root = Path(archive)
    try:
        name = pick_schema(root, year, schema)
    except XltoolError as exc:
        if required or exc.code != "NO_COLLECTION":
            raise
        return None
    model = load_model(name)
    with open_index(root) as db:
        status = build_status(db, str(root), name, year, model.levels)
    reports = []
    for row in status.orgs:
        if row.current:
            report = read_json(root / row.current)
            reports.append(OrgReport(row.name, row.code, row.level, row.state, row.current, report))
    return YearData(root, model, year, status.roster, list(status.orgs), reports)
