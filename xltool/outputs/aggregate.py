"""The county summary: the field-by-field sum of the accepted reports of one year.

Numbers are added exactly (archived JSON is parsed with Decimal); derived totals are summed like any
figure, so a total that disagrees with its parts in one report still disagrees in the sum, and the
rules re-checked on the sum name the organisations whose own report fails the same check. Narratives
are not summed: the county writes them, starting from a generated sentence of who is included. The
summary says loudly who is missing, who sent reports with errors and whose file was not accepted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..base.errors import XltoolError
from ..check.evaluate import flatten, unflatten
from ..check.issues import Issue, count
from ..check.report_json import detect_schema, json_number, load_report, report_level
from ..check.validate import rule_issues, validate_report
from ..collect.status import OrgRow
from ..spec.model import Model, load_model
from .crossformat import add
from .source import OrgReport, YearData, load_year

NOT_ACCEPTED = ("wrong_org", "wrong_year")


@dataclass
class Summary:
    data: YearData
    included: list[OrgReport]
    totals: dict[str, Any]  # pointer -> exact sum (numbers), generated text, identity
    subtotals: dict[str, tuple[int, dict[str, Any]]]  # level -> (organisations, sums)
    issues: list[Issue]
    culprits: dict[tuple[str, str], list[str]]  # (rule, pointer) -> organisations failing it themselves
    previous: dict[str, Any] | None = None  # last year's sum over the same organisations (flat)
    previous_orgs: list[str] = field(default_factory=list)

    @property
    def model(self) -> Model:
        return self.data.model

    def _orgs(self, states: Sequence[str]) -> list[OrgRow]:
        return [o for o in self.data.orgs if o.state in states]

    @property
    def missing(self) -> list[OrgRow]:
        return self._orgs(("missing",))

    @property
    def with_errors(self) -> list[OrgRow]:
        return self._orgs(("errors",))

    @property
    def not_accepted(self) -> list[OrgRow]:
        return self._orgs(NOT_ACCEPTED)

    @property
    def complete(self) -> bool:
        return not (self.missing or self.with_errors or self.not_accepted)

    @property
    def exit_code(self) -> int:
        return 0 if self.complete and count(self.issues)[0] == 0 else 1

    def report(self) -> dict[str, Any]:
        """The sum as a report JSON of the same format (narratives: the generated sentence only)."""
        return {k: _number(v) for k, v in _nested(self.model, self.totals).items()}

    def as_dict(self) -> dict[str, Any]:
        levels = self.model.levels
        return {
            "schema": self.model.name,
            "year": self.data.year,
            "complete": self.complete,
            "exit_code": self.exit_code,
            "included": [_org(o) for o in self.included],
            "missing": [_row(o) for o in self.missing],
            "with_errors": [_row(o) for o in self.with_errors],
            "not_accepted": [_row(o) for o in self.not_accepted],
            "report": self.report(),
            "subtotals": {
                lv: {"name_zh": levels.get(lv, lv), "organisations": n, "report": _nested(self.model, sums)}
                for lv, (n, sums) in self.subtotals.items()
            },
            "issues": [
                dict(i.as_dict(), organisations=self.culprits.get((i.code, i.pointer or ""), [])) for i in self.issues
            ],
            "previous_year": None
            if self.previous is None
            else {"organisations": self.previous_orgs, "report": _nested(self.model, self.previous)},
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False, indent=1, default=_number) + "\n"

    def to_text(self, lang: str = "zh") -> str:
        return summary_text(self, lang)


def _number(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: _number(x) for k, x in v.items()}
    return json_number(v)


def _nested(model: Model, flat: dict[str, Any]) -> dict[str, Any]:
    return _number(unflatten(model, flat))


def _org(o: OrgReport) -> dict[str, Any]:
    return {"name": o.name, "code": o.code, "level": o.level, "state": o.state, "path": o.path, "sha256": o.sha256}


def _row(o: OrgRow) -> dict[str, Any]:
    return {
        "name": o.name,
        "code": o.code,
        "level": o.level,
        "state": o.state,
        "errors": o.errors,
        "note_zh": o.note_zh,
    }


def sum_reports(model: Model, reports: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """pointer -> exact sum of every numeric field (None where no report has a number)."""
    totals: dict[str, Any] = {f.pointer: None for f in model.fields if f.numeric}
    for report in reports:
        flat = flatten(model, report)
        for ptr in totals:
            totals[ptr] = add(totals[ptr], flat.get(ptr))
    return totals


def _included_files(model: Model, files: Sequence[str | Path], taken: set[str]) -> list[OrgReport]:
    out = []
    for path in files:
        report = load_report(path)
        name = detect_schema(report)
        if load_model(name).name != model.name:
            raise XltoolError(
                "MIXED_FORMATS",
                f"报告格式为 {name}，与汇总的 {model.name} 不同；不同格式的报告不能相加",
                f"the report is in {name}, the summary in {model.name}; reports in different formats cannot be added",
                path=str(path),
            )
        flat = flatten(model, report)
        ident = model.identity_fields
        org = OrgReport(
            str(flat.get(ident.get("org_name", "")) or Path(path).stem),
            str(flat.get(ident.get("org_code", "")) or ""),
            report_level(report) or "other",
            "included",
            str(path),
            report,
        )
        if org.key in taken:
            raise XltoolError(
                "DUPLICATE_ORG",
                f"“{org.name}”已在归档中，不能再次加入汇总",
                f"'{org.name}' is already in the archive and cannot be included twice",
                path=str(path),
            )
        taken.add(org.key)
        out.append(org)
    return out


def _sentence(model: Model, year: int, included: list[OrgReport], data: YearData) -> str:
    by_level: dict[str, list[str]] = {}
    for o in included:
        by_level.setdefault(o.level, []).append(o.name)
    parts = [
        f"{model.levels.get(lv, lv or '未注明层级')}{len(names)}个（{'、'.join(names)}）"
        for lv, names in by_level.items()
    ]
    text = f"本报告汇总了{year}年度{len(included)}个单位的政府信息公开工作年度报告数据，其中" + "；".join(parts) + "。"
    missing = [o.name for o in data.orgs if o.state != "accepted" and not o.current]
    if missing:
        text += f"以下单位的报告未纳入汇总：{'、'.join(missing)}。"
    return text


def _previous(
    summary_model: Model, archive: Path, year: int, keys: set[str]
) -> tuple[dict[str, Any], list[str]] | None:
    """Last year's sum over this year's organisations (the 2021 split of 其他处理 sums as one row)."""
    try:
        prev = load_year(archive, year - 1, required=False)
    except XltoolError:
        return None
    if prev is None:
        return None
    same = [r for r in prev.reports if r.key in keys]
    if not same:
        return None
    sums = sum_reports(prev.model, [r.report for r in same])
    return {p: sums.get(p) for p in summary_model.by_pointer if summary_model.by_pointer[p].numeric}, [
        r.name for r in same
    ]


def aggregate(
    archive: str | Path,
    year: int,
    *,
    schema: str | None = None,
    include: Sequence[str | Path] = (),
    org_name: str = "",
) -> Summary:
    data = load_year(archive, year, schema)
    assert data is not None
    model = data.model
    included = list(data.reports)
    included += _included_files(model, include, {r.key for r in included})
    if not included:
        raise XltoolError(
            "NOTHING_TO_SUM",
            f"{year}年度没有已接收的报告，无法汇总",
            f"no accepted report for {year}: nothing to sum",
            path=str(archive),
        )
    totals = sum_reports(model, [o.report for o in included])
    levels: dict[str, list[OrgReport]] = {}
    for o in included:
        levels.setdefault(o.level, []).append(o)
    subtotals = {lv: (len(rs), sum_reports(model, [r.report for r in rs])) for lv, rs in levels.items()}
    ident = model.identity_fields
    for role, value in (("year", year), ("org_name", org_name or f"{year}年度汇总（{len(included)}个单位）")):
        if role in ident:
            totals[ident[role]] = value
    for f in model.fields:
        if not f.numeric and totals.get(f.pointer) is None:
            totals[f.pointer] = ""  # organisation code, narratives: the county fills them in
    text_fields = [f for f in model.fields if f.kind == "text"]
    if text_fields:
        totals[text_fields[0].pointer] = _sentence(model, year, included, data)
    prev = _previous(model, data.archive, year, {o.key for o in included})
    previous, previous_orgs = prev if prev else (None, [])
    issues = [i for i in rule_issues(model, totals, None, previous=previous) if i.code not in text_rules(model)]
    culprits: dict[tuple[str, str], list[str]] = {}
    for o in included:
        for i in validate_report(model, o.report, level=o.level or None):
            if i.severity == "error":
                culprits.setdefault((i.code, i.pointer or ""), []).append(o.name)
    return Summary(data, included, totals, subtotals, issues, culprits, previous, previous_orgs)


def text_rules(model: Model) -> set[str]:
    """Rules on narratives (length, mentions) say nothing about a sum: the county writes those texts."""
    from ..spec.rules import refs_of

    out = set()
    for rule in model.rules:
        ptrs = {p for inst in rule.instances for p in refs_of(inst.check)}
        if ptrs and all(not model.by_pointer[p].numeric for p in ptrs if p in model.by_pointer):
            out.add(rule.id)
    return out


def summary_text(s: Summary, lang: str = "zh") -> str:
    zh = lang == "zh"
    m, year = s.model, s.data.year
    names = lambda rows: "、".join(o.name for o in rows) if zh else ", ".join(o.name for o in rows)  # noqa: E731
    lines = [
        f"{year}年度汇总（{m.name}）：纳入 {len(s.included)} 个单位的报告"
        if zh
        else f"{year} summary ({m.name}): {len(s.included)} report(s) included"
    ]
    for lv, (n, _sums) in s.subtotals.items():
        lines.append(f"  {m.levels.get(lv, lv) if zh else lv}: {n}")
    if not s.complete:
        lines.append("！！汇总不完整！！" if zh else "!! THE SUMMARY IS INCOMPLETE !!")
        for label_zh, label_en, rows in (
            ("未报送", "missing", s.missing),
            ("报告有错误", "sent reports with errors", s.with_errors),
            ("未被接收", "not accepted", s.not_accepted),
        ):
            if rows:
                lines.append(
                    f"  {label_zh}（{len(rows)}）：{names(rows)}"
                    if zh
                    else f"  {label_en} ({len(rows)}): {names(rows)}"
                )
        kept = [o for o in s.with_errors + s.not_accepted if o.current]
        if kept:
            lines.append(
                f"  其中已按较早的已接收版本汇总：{names(kept)}"
                if zh
                else f"  summed from an earlier accepted version: {names(kept)}"
            )
    for i in s.issues:
        who = s.culprits.get((i.code, i.pointer or ""), [])
        tail = (f"（出错单位：{'、'.join(who)}）" if zh else f" (failing in: {', '.join(who)})") if who else ""
        level = ("错误" if zh else "error") if i.severity == "error" else ("提示" if zh else "warning")
        lines.append(f"  [{level}] {i.message(lang)}{tail}")
    if s.complete and not s.issues:
        lines.append("汇总完整，校验通过" if zh else "complete; every rule holds")
    return "\n".join(lines)
