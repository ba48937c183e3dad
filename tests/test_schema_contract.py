"""Both schemas match the archive contract (fields-*.json) exactly: pointers, labels, kinds."""

from __future__ import annotations

import json

import pytest
from support import fields_file, model_for

from xltool.spec.layout import build_layout
from xltool.spec.model import load_model
from xltool.spec.schemas import SCHEMA_DIR, SUFFIX, builtin_names, check_schema

KIND_TYPES = {
    "count": "integer",
    "signed_count": "integer",
    "amount": "number",
    "text": "string",
    "string": "string",
    "integer": "integer",
}


def test_builtin_schemas_are_both_formats() -> None:
    assert builtin_names() == ["annual-report-2019", "annual-report-2021"]
    assert load_model(None).name == "annual-report-2021"


@pytest.mark.parametrize("name", ["annual-report-2019", "annual-report-2021"])
def test_builtin_schemas_are_valid_json_schema(name: str) -> None:
    """Loading a built-in schema skips the meta-schema check (it costs a worker 115-170 ms at start):
    this test is where they are checked."""
    path = SCHEMA_DIR / f"{name}{SUFFIX}"
    check_schema(json.loads(path.read_text(encoding="utf-8")), path)


@pytest.mark.parametrize("year,count", [("2021", 206), ("2019", 204)])
def test_every_field_matches_both_ways(year: str, count: int) -> None:
    model = model_for(year)
    expected = {f["pointer"]: f for f in fields_file(year)}
    actual = model.by_pointer
    assert len(expected) == count
    assert list(actual) == list(expected)  # same pointers, same order
    for ptr, ref in expected.items():
        f = actual[ptr]
        assert f.labels == tuple(ref["labels"]), ptr
        assert f.kind == ref["type"], ptr
        assert f.unit == ref.get("unit"), ptr


@pytest.mark.parametrize("year", ["2021", "2019"])
def test_json_schema_types_follow_kinds(year: str) -> None:
    model = model_for(year)
    doc = model.json_schema
    for f in model.fields:
        node = doc
        for part in f.pointer.strip("/").split("/"):
            node = node["properties"][part]
        assert node["type"] == KIND_TYPES[f.kind], f.pointer
        if f.kind in ("count", "amount"):
            assert node["minimum"] == 0
        if f.kind == "signed_count":
            assert "minimum" not in node
    assert (
        model.by_pointer["/proactive/fees/amount" if year == "2021" else "/proactive/procurement/amount"].decimals == 6
    )
    assert not model.by_pointer["/organization/code"].required


@pytest.mark.parametrize("year", ["2021", "2019"])
def test_layout_label_path_is_the_official_label(year: str) -> None:
    """What a reader sees around each cell (heading, caption, row labels, column headers) is
    exactly the official label path."""
    model = model_for(year)
    layout = build_layout(model)
    assert set(layout.fields) == set(model.by_pointer)
    for ptr, cell in layout.fields.items():
        assert cell.label_path == model.by_pointer[ptr].labels, ptr


def test_r1_header_text_is_the_printed_rule() -> None:
    layout = build_layout(model_for("2021"))
    texts = [t.text for s in layout.sheets for t in s.texts]
    assert "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）" in texts


def test_formats_differ_where_the_reference_says() -> None:
    f21, f19 = model_for("2021").by_pointer, model_for("2019").by_pointer
    assert f21["/proactive/normative_documents/issued"].labels[2] == "行政规范性文件"
    assert f19["/proactive/normative_documents/newly_made"].labels[2] == "规范性文件"
    assert "/proactive/procurement/amount" in f19 and "/proactive/procurement/amount" not in f21
    assert "/applications/results/other_handling/fee_unpaid/total" in f21
    assert "/applications/results/other_handling/total" in f19


def test_user_schema_is_still_checked_against_the_meta_schema(tmp_path) -> None:
    from xltool.base.errors import SchemaError
    from xltool.spec.schemas import load_source

    path = tmp_path / "bad.schema.json"
    path.write_text(json.dumps({"type": "object", "properties": {"a": {"type": 5}}}), encoding="utf-8")
    with pytest.raises(SchemaError) as err:
        load_source(path)
    assert (err.value.code, err.value.details["schema_pointer"]) == ("SCHEMA_INVALID", "/properties/a/type")
