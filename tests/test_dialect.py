"""The schema dialect: lint errors name the schema pointer; a user's own schema works everywhere."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import DATA, ROOT

from xltool.base.errors import SchemaError
from xltool.check.validate import validate_report
from xltool.spec.dialect import lint
from xltool.spec.layout import build_layout
from xltool.spec.model import load_model
from xltool.template.writer import TemplateOptions, write_template

GENERIC = DATA / "generic-schema.json"


def generic_doc() -> dict:
    return json.loads(GENERIC.read_text(encoding="utf-8"))


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "xltool", *args], capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_builtin_schemas_lint_clean() -> None:
    for name in ("annual-report-2021", "annual-report-2019"):
        doc = json.loads((ROOT / "schema" / f"{name}.schema.json").read_text(encoding="utf-8"))
        assert lint(doc) == []


def test_unknown_keyword_missing_field_and_missing_label_are_named() -> None:
    doc = generic_doc()
    doc["properties"]["drinks"]["properties"]["online"]["x-colour"] = "red"
    doc["x-rules"][0]["check"]["eq"][1]["sum"].append("/{g}/nowhere")
    del doc["properties"]["revenue"]["x-label"]
    problems = {(p.pointer, p.message) for p in lint(doc)}
    assert problems == {
        ("/properties/drinks/properties/online/x-colour", "unknown extension keyword 'x-colour'"),
        ("/x-rules/0/check", "rule S1 refers to missing field /drinks/nowhere"),
        ("/properties/revenue", "field /revenue needs x-label: a non-empty list of label texts"),
        ("/x-layout/sheets/0/blocks/4/body/0/1", "layout refers to missing field /revenue"),
    }


def test_field_without_cell_and_bad_level_are_named() -> None:
    doc = generic_doc()
    doc["x-layout"]["sheets"][0]["blocks"].pop()  # the notes table
    doc["x-rules"][1]["levels"] = ["galaxy"]
    problems = {(p.pointer, p.message) for p in lint(doc)}
    assert ("/properties/notes", "field /notes has no cell in x-layout") in problems
    assert ("/x-rules/1/levels", "level 'galaxy' is not declared in x-levels") in problems


def test_schemas_check_cli(tmp_path: Path) -> None:
    ok = cli("schemas", "--check", str(GENERIC))
    assert ok.returncode == 0 and "shop-sales 0.1.0, 9 fields, 2 rules" in ok.stdout
    doc = generic_doc()
    doc["x-rules"][0]["check"]["eq"][0] = "/{g}/gone"
    bad = tmp_path / "bad.schema.json"
    bad.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    r = cli("schemas", "--check", str(bad))
    assert r.returncode == 2
    assert f"{bad}: /x-rules/0/check: rule S1 refers to missing field /drinks/gone" in r.stderr
    listing = cli("schemas")
    assert listing.returncode == 0
    assert listing.stdout.splitlines()[1].startswith("annual-report-2021\t1.0.0\t2021–\t206 fields\t8 rules")


def test_load_model_refuses_a_bad_schema(tmp_path: Path) -> None:
    doc = generic_doc()
    doc["x-layout"]["sheets"][0]["name"] = "bad/name"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(SchemaError) as exc:
        load_model(bad)
    assert exc.value.code == "SCHEMA_DIALECT"
    assert exc.value.details["schema_pointer"] == "/x-layout/sheets/0/name"


def test_generic_schema_works_end_to_end(tmp_path: Path) -> None:
    """Nothing about the annual report is hard-coded: another report validates and templates."""
    model = load_model(GENERIC)
    assert [f.pointer for f in model.fields] == [
        "/shop",
        "/drinks/online",
        "/drinks/offline",
        "/drinks/total",
        "/snacks/online",
        "/snacks/offline",
        "/snacks/total",
        "/revenue",
        "/notes",
    ]
    layout = build_layout(model)
    assert {p: c.box.where for p, c in layout.fields.items()} == {
        "/shop": "销售!B4",
        "/drinks/online": "销售!B8",
        "/drinks/offline": "销售!C8",
        "/drinks/total": "销售!D8",
        "/snacks/online": "销售!B9",
        "/snacks/offline": "销售!C9",
        "/snacks/total": "销售!D9",
        "/revenue": "销售!B13",
        "/notes": "销售!A16",
    }
    report = {
        "shop": "一号店",
        "drinks": {"online": 3, "offline": 4, "total": 8},
        "snacks": {"online": 1, "offline": 1, "total": 2},
        "revenue": 12.5,
        "notes": "备注" * 11,
    }
    issues = validate_report(model, report)
    assert [(i.code, i.pointer, i.found, i.expected) for i in issues] == [
        ("S1", "/drinks/total", 8, 7),
        ("S2", "/notes", 22, 20),
    ]
    # comparison messages are generated from the rule tree and this schema's labels, both sides named
    assert [i.message_zh for i in issues] == [
        "S1 “饮料”行：合计为8，线上加线下之和为7，两者应相等",
        "S2 备注字数为22，应不超过20（备注不超过20字）",
    ]
    report_path = tmp_path / "shop.json"
    report_path.write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
    r = cli("validate", str(report_path), "--schema", str(GENERIC), "--format", "json")
    assert r.returncode == 1 and json.loads(r.stdout)["schema"] == "shop-sales"
    data, ident = write_template(model, TemplateOptions(issue_date="2026-01-01"))
    assert data[:2] == b"PK" and ident.schema_name == "shop-sales"
    out = tmp_path / "shop.xlsx"
    t = cli("template", "--schema", str(GENERIC), "-o", str(out), "--issue-date", "2026-01-01")
    assert t.returncode == 0, t.stderr
    assert out.read_bytes() == data


def test_unknown_schema_name_exit_2() -> None:
    r = cli("validate", str(ROOT / "samples" / "hucun-2020.json"), "--schema", "no-such-schema")
    assert r.returncode == 2 and "[SCHEMA_NOT_FOUND]" in r.stderr


def test_identity_roles_are_checked() -> None:
    doc = generic_doc()
    doc["properties"]["notes"]["x-identity"] = "org_name"
    doc["properties"]["revenue"]["x-identity"] = "colour"
    problems = {(p.pointer, p.message) for p in lint(doc)}
    assert ("/properties/notes/x-identity", "x-identity 'org_name' is already given to /shop") in problems
    assert ("/properties/revenue/x-identity", "x-identity must be one of ['org_code', 'org_name', 'year']") in problems
    assert load_model(GENERIC).identity_fields == {"org_name": "/shop"}
    assert load_model("annual-report-2021").identity_fields == {
        "year": "/year",
        "org_name": "/organization/name",
        "org_code": "/organization/code",
    }
