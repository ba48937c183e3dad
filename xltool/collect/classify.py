"""What one readable file is, before versions: its organisation, state and the collection's own
issues (not on the roster, another year, cross-year rules against last year's archived report,
an implausible file time)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..base.pointers import resolve as get
from ..check.issues import Issue
from ..check.validate import rule_issues
from ..spec.identity import year_mismatch, year_of
from ..spec.layout import Layout
from ..spec.model import Model
from .orgs import OrgRef, Orgs, norm

FORMAT_CODES = frozenset({"WRONG_SCHEMA", "WRONG_LAYOUT"})


def _issue(
    code: str, severity: str, zh: str, en: str, layout: Layout | None, pointer: str | None = None, **kw: Any
) -> Issue:
    fc = layout.fields.get(pointer or "") if layout is not None else None
    where = {"sheet": fc.box.sheet, "cell": fc.box.a1} if fc is not None else {}
    return Issue(code, severity, zh, en, pointer=pointer, **where, **kw)  # type: ignore[arg-type]


def cross_year(model: Model, layout: Layout, this: dict[str, Any], prev_year: int, prev: dict[str, Any]) -> list[Issue]:
    """The schema's cross-year rules (e.g. 上年结转 = last year's 结转下年度继续办理), evaluated
    against the organisation's archived report of `prev_year`; issues are placed at their cells."""
    values = {f.pointer: get(this, f.pointer) for f in model.fields}
    out = []
    for issue in rule_issues(model, values, None, previous=prev):
        rule = model.rule(issue.code)
        if not rule.cross_year:
            continue
        fc = layout.fields.get(issue.pointer or "")
        where: dict[str, Any] = {"sheet": fc.box.sheet, "cell": fc.box.a1} if fc is not None else {}
        zh = f"{issue.message_zh}（上年度指{prev_year}年度已归档的报告）"
        en = f"{issue.message_en} (last year = the archived {prev_year} report)"
        out.append(dataclasses.replace(issue, message_zh=zh, message_en=en, **where))
    return out


def loads(text: str | None, default: Any) -> Any:
    return default if not text else json.loads(text)


def _file_year(identity: dict[str, str], filled: dict[str, Any]) -> int | None:
    for value in (identity.get("year"), filled.get("year")):
        if year_of(value) is not None:
            return year_of(value)
    return None


@dataclass
class Context:
    schema: str
    year: int
    model: Model
    layout: Layout
    orgs: Orgs
    previous: list[tuple[str, str, dict[str, Any]]]  # (name, code, {pointer: value}) of year-1 currents
    report_of: Callable[[str], dict[str, Any]]
    now: float = 0.0  # when the run started (seconds since the epoch): file times after it are implausible


def _previous(ctx: Context, org: OrgRef) -> dict[str, Any] | None:
    code = norm(org.code).upper()
    for _name, pcode, report in ctx.previous:
        if code and norm(pcode).upper() == code:
            return report
    for name, _pcode, report in ctx.previous:
        if norm(name) == norm(org.name):
            return report
    return None


def classify(
    ctx: Context, sha256: str, fact: dict[str, Any], row: dict[str, Any]
) -> tuple[str, OrgRef | None, list[Issue]]:
    """State (before versions), organisation and the collection's own issues of one submission."""
    if not fact["ok"]:
        return ("wrong_format" if fact["error_code"] in FORMAT_CODES else "rejected"), None, []
    ident, filled = loads(fact["identity_json"], {}), loads(fact["filled_json"], {})
    row.update(
        template_org_name=ident.get("org_name") or None,
        template_org_code=ident.get("org_code") or None,
        filled_org_name=norm(filled.get("org_name")) or None,
        filled_org_code=norm(filled.get("org_code")) or None,
    )
    codes = {i["code"] for i in loads(fact["issues_json"], [])}
    tmpl = ctx.orgs.find(ident.get("org_name"), ident.get("org_code"))
    mine = ctx.orgs.find(filled.get("org_name"), filled.get("org_code"))
    year = _file_year(ident, filled)
    row["file_year"] = year
    if "ORG_MISMATCH" in codes:
        return "wrong_org", mine or tmpl, []
    has_identity = bool(ident.get("org_name") or ident.get("org_code"))
    org = tmpl if has_identity else mine
    if org is None:
        who = (
            ident.get("org_name")
            or filled.get("org_name")
            or ident.get("org_code")
            or filled.get("org_code")
            or "（未填写）"
        )
        row.update(org_name=norm(who), org_code=norm(ident.get("org_code") or filled.get("org_code")) or None)
        return (
            "unknown_org",
            None,
            [
                _issue(
                    "UNKNOWN_ORG",
                    "error",
                    f"填报单位「{who}」不在本次报送名单中，请核对单位名称或使用下发给本单位的模板",
                    f"the organisation '{who}' is not on the roster; check the name or use the template issued to you",
                    None,
                )
            ],
        )
    mismatch = year_mismatch(ctx.year, year)
    if mismatch is not None:
        return (
            "wrong_year",
            org,
            []
            if "YEAR_MISMATCH" in codes  # the reader already said it, with the template's year
            else [
                _issue(
                    "YEAR_MISMATCH",
                    "error",
                    *mismatch,
                    ctx.layout,
                    ctx.model.identity_fields.get("year"),
                    expected=ctx.year,
                    found=year,
                )
            ],
        )
    extra: list[Issue] = []
    prev = _previous(ctx, org)
    if prev is not None:
        extra = cross_year(ctx.model, ctx.layout, ctx.report_of(sha256), ctx.year - 1, prev)
    return ("errors" if fact["errors"] else "accepted"), org, extra


EARLIEST = 946684800.0  # 2000-01-01: no file of this tool's reports is older
SLACK = 86400.0  # a day of clock skew between a township's computer and the county's


def time_issues(ctx: Context, mtime: float | None) -> list[Issue]:
    """A warning for a file time in the future or long past: a clock set wrong (it does not decide
    which version is newer: arrival does)."""
    if mtime is None or not ctx.now or EARLIEST <= mtime <= ctx.now + SLACK:
        return []
    when = dt.datetime.fromtimestamp(mtime).strftime("%Y-%m-%d %H:%M") if -1e11 < mtime < 1e11 else str(mtime)
    return [
        _issue(
            "FILE_TIME_IMPLAUSIBLE",
            "warning",
            f"文件时间（{when}）不可信（晚于收集时间或早于2000年），可能是电脑时钟设置有误；以收到的先后为准",
            f"the file time ({when}) is implausible (after the collection or before 2000): a wrong clock? "
            "the order of arrival counts",
            None,
            found=when,
        )
    ]
