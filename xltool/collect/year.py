"""Which year a collection run is for, when `--year` is not given: never decided silently.

The year comes from the templates issued (the year written into each template's identity; the
year filled in for a workbook without one). When every readable file agrees, that is the year;
when they disagree (e.g. a few re-sent reports of last year), the run stops and asks for `--year`
rather than letting a majority pick the collection.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from ..base.errors import XltoolError
from ..spec.identity import year_of
from .index import Index


def _year_of(identity: dict[str, object], filled: dict[str, object]) -> int | None:
    for value in (identity.get("year"), filled.get("year")):
        if year_of(value) is not None:
            return year_of(value)
    return None


def decide_year(db: Index, schema: str, strict: bool, shas: Iterable[str], inbox: Path) -> int:
    years: Counter[int] = Counter()
    for fact in db.read_facts(schema, strict, shas).values():
        if fact["ok"]:
            year = _year_of(json.loads(fact["identity_json"] or "{}"), json.loads(fact["filled_json"] or "{}"))
            if year is not None:
                years[year] += 1
    if not years:
        raise XltoolError(
            "NO_YEAR",
            "收件目录中没有可读取的报告，无法确定年度；请用 --year 指定",
            "no readable report in the inbox to tell the year from; pass --year",
            path=str(inbox),
        )
    if len(years) > 1:
        zh = "，".join(f"{y}年度 {n} 个" for y, n in sorted(years.items(), reverse=True))
        en = ", ".join(f"{n} for {y}" for y, n in sorted(years.items(), reverse=True))
        raise XltoolError(
            "YEAR_AMBIGUOUS",
            f"收件目录中的报告属于不同年度（{zh}），无法确定本次收集的年度；请用 --year 指定",
            f"the reports in the inbox are for different years ({en}); pass --year to say which year this collection is",
            path=str(inbox),
            details={"years": {str(y): n for y, n in years.items()}},
        )
    return next(iter(years))
