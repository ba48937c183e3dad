"""Stamped roster templates (`template.stamp`) are byte for byte the templates `write_template` makes.

A realistic roster of both formats: several organisations of each level, names that collide with the
template's labels or with another text of the same file, long names, XML-special characters, full-width
forms, empty optional fields, and templates with values (as `fill` writes them)."""

from __future__ import annotations

import json
import warnings
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import ROOT

from xltool.base.errors import XltoolError
from xltool.check.evaluate import flatten
from xltool.spec.model import load_model
from xltool.spec.roster import Org
from xltool.template import stamp
from xltool.template.distribute import write_roster_templates
from xltool.template.writer import TemplateOptions, write_template

CODES = ("11330000MB0000001L", "11330000MB0000002P", "123")  # two valid, one not (a failing rule)
NAMES = [
    "城关镇人民政府",
    "新城街道办事处",
    "县教育局",
    "县人民政府",
    "A&B<c>\"'镇",
    "&&&镇",
    "（全角）ＡＢＣ镇人民政府",
    "填报单位",  # a label of the 填报说明 sheet: one shared string with it, so written directly
    "联系人及电话",
    "x" * 60,
    "长" * 61,  # past the stamp's length limit: written directly
    " 前后空格镇 ",
    "下划线_x0041_镇",
    "emoji😀镇",
    "回车\n镇",
    "某某镇人民政府",
]


def _options(model_name: str) -> list[TemplateOptions]:
    model = load_model(model_name)
    base = TemplateOptions(year=2025, issue_date="2026-01-05", deadline="2026-01-31")
    found = []
    for i, name in enumerate(NAMES):
        for j, level in enumerate(model.levels):
            code = CODES[(i + j) % len(CODES)] if (i + j) % 4 else ""
            contact = ["李四 0571-88886666", "", name, "<联系人> & 电话"][(i + j) % 4]  # the same as the name, once
            link = "" if j % 2 else f"http://portal.example/u/{i}?a=1&b=<{j}>"
            deadline = ["2026-01-31", "", "2026年2月1日"][(i + j) % 3]
            found.append(
                replace(base, org_name=name, org_code=code, level=level, contact=contact, portal_link=link)
                if j % 3
                else replace(base, org_name=name, org_code=code, level=level, contact=contact, deadline=deadline)
            )
    return found


def _same(model_name: str, opts: TemplateOptions) -> bytes:
    model = load_model(model_name)
    try:
        direct = write_template(model, opts)
    except XltoolError as exc:
        with pytest.raises(XltoolError) as again:
            stamp.stamped_template(model, opts)
        assert again.value.line("en") == exc.line("en")
        return b""
    assert stamp.stamped_template(model, opts) == direct, opts
    return direct[0]


@pytest.mark.parametrize("model_name", ["annual-report-2021", "annual-report-2019"])
def test_stamped_roster_is_byte_identical_to_direct(model_name: str) -> None:
    before = dict(stamp.counts)
    options = _options(model_name)
    for _ in range(3):  # a shape is made for its second file: the third round is stamped
        for opts in options:
            _same(model_name, opts)
    stamped = stamp.counts["stamped"] - before["stamped"]
    direct = stamp.counts["direct"] - before["direct"]
    assert stamped + direct == 3 * len(options)
    assert stamped >= 40  # 44 of 128: many options here make a shape of their own


def test_colliding_and_unusual_texts_are_written_directly() -> None:
    model = load_model("annual-report-2021")
    base = TemplateOptions(year=2025, issue_date="2026-01-05", level="township")
    for name in ("甲镇人民政府", "乙镇人民政府"):  # the shape, made and verified
        _same("annual-report-2021", replace(base, org_name=name))
    for opts in (
        replace(base, org_name="填报单位"),  # = a label
        replace(base, org_name="乙镇人民政府", org_code="乙镇人民政府"),  # = another text of the file
        replace(base, org_name="长" * 61),
        replace(base, org_name=" 丙镇"),
        replace(base, org_name="丁_镇"),
    ):
        before = stamp.counts["direct"]
        assert stamp.stamped_template(model, opts) == write_template(model, opts)
        assert stamp.counts["direct"] == before + 1, opts.org_name


def test_a_name_xlsxwriter_reads_as_a_footer_picture_is_written_directly() -> None:
    """'&G' in a name (doubled to '&&G' in the footer) makes xlsxwriter drop the footer with a warning."""
    model = load_model("annual-report-2021")
    base = TemplateOptions(year=2025, issue_date="2026-01-05", level="township")
    for name in ("甲镇人民政府", "乙镇人民政府"):  # the shape, made and verified
        _same("annual-report-2021", replace(base, org_name=name))
    for name in ("乙&G镇", "丙&[Picture]镇"):
        with pytest.warns(UserWarning, match="footer images"):
            direct = write_template(model, replace(base, org_name=name))
        with pytest.warns(UserWarning, match="footer images"):
            assert stamp.stamped_template(model, replace(base, org_name=name)) == direct


@pytest.mark.parametrize("model_name", ["annual-report-2021", "annual-report-2019"])
def test_templates_with_values_as_fill_writes_them(model_name: str) -> None:
    model = load_model(model_name)
    sample = json.loads((ROOT / "samples" / "synthetic-2021.json").read_text(encoding="utf-8"))
    values = flatten(model, sample) if model_name.endswith("2021") else {}
    own = {p: v for p, v in values.items() if p not in model.identity_fields.values()}
    base = TemplateOptions(year=2025, issue_date="2026-01-05")
    before = stamp.counts["stamped"]
    for vals in (values, own, {**own, model.identity_fields["org_name"]: "另一个名称"}):
        for name in ("城关镇人民政府", "A&B<c>\"'镇", "新城街道办事处"):
            for level in list(model.levels)[:2]:
                _same(model_name, replace(base, org_name=name, level=level, values=vals))
    assert stamp.counts["stamped"] > before  # the pre-filled organisation's own name is stamped too


def test_roster_files_equal_direct_templates(tmp_path: Path) -> None:
    model = load_model("annual-report-2021")
    orgs = [Org(name=n, code="", level=lvl) for n in NAMES[:6] for lvl in list(model.levels)[:1]]
    orgs += [Org(name=f"{n}（二）", code="11330000MB0000001L", level="county_department") for n in NAMES[:4]]
    base = TemplateOptions(year=2025, issue_date="2026-01-05", deadline="2026-01-31")
    written = write_roster_templates(model, orgs, tmp_path, base)
    for w in written:
        opts = replace(base, org_name=w.org.name, org_code=w.org.code, level=w.org.level)
        data, ident = write_template(model, opts)
        assert (tmp_path / w.file).read_bytes() == data
        assert w.serial == ident.serial


_SAFE = [*"甲乙镇&<>\"'xG[]（）ＡＢ09-😀", "甲镇人民政府", "填报单位"]
_PLAIN_TEXT = st.lists(st.sampled_from(_SAFE), min_size=2, max_size=8).map("".join)
_ANY_TEXT = st.one_of(  # mostly texts a stamp can take, some it must refuse
    _PLAIN_TEXT, st.lists(st.sampled_from([*_SAFE, *" 　_\n\t", "&G", "_x0041_"]), max_size=8).map("".join)
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=_ANY_TEXT, code=_PLAIN_TEXT, contact=_ANY_TEXT, link=_PLAIN_TEXT, level=st.sampled_from(["township", "county"])
)
def test_any_texts_stamp_exactly_as_written_directly(name: str, code: str, contact: str, link: str, level: str) -> None:
    """Whatever the organisation's texts, the stamped file is the direct one (or both refuse alike)."""
    model = load_model("annual-report-2021")
    base = TemplateOptions(year=2025, issue_date="2026-01-05", level=level, deadline="2026-01-31")
    stamp.stamped_template(model, replace(base, org_name="甲镇人民政府"))  # the shape exists and is verified
    stamp.stamped_template(model, replace(base, org_name="乙镇人民政府"))
    opts = replace(base, org_name=name, org_code=code, contact=contact, portal_link=link)
    found = []
    for make in (write_template, stamp.stamped_template):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result: object = make(model, opts)
            except XltoolError as exc:
                result = exc.line("en")
        found.append((result, [str(w.message) for w in caught]))
    assert found[0] == found[1]
