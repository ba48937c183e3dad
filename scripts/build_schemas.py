"""Build the two built-in schema files from the official reference material.

Run once per released format version; the output under ``schema/`` is then the single source and is
never edited (a change is a new schema version). Every label is copied from
``../shared/reference/fields-*.json`` or the format files, never typed here: this script only says
*where* each label sits (table structure), and asserts that every literal it needs occurs verbatim
in the reference.

    python scripts/build_schemas.py [REFERENCE_DIR]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REF = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "reference"

KIND_SCHEMA = {
    "count": {"type": "integer", "minimum": 0},
    "signed_count": {"type": "integer"},
    "amount": {"type": "number", "minimum": 0},
    "text": {"type": "string", "maxLength": 32767},
    "string": {"type": "string", "maxLength": 200},
    "integer": {"type": "integer", "minimum": 2000, "maximum": 2100},
}

COLUMNS = [
    "natural_person",
    "commercial_enterprise",
    "research_institution",
    "public_welfare_organization",
    "legal_service_organization",
    "other_organization",
    "total",
]
BLOCK_COLUMNS = ["upheld", "corrected", "other", "pending", "total"]
BLOCKS = ["review", "litigation_direct", "litigation_after_review"]


class Ref:
    """Label lookups that fail loudly when a literal is not in the reference."""

    def __init__(self, year: str) -> None:
        data = json.loads((REF / f"fields-{year}.json").read_text(encoding="utf-8"))
        self.fields = data["fields"]
        self.by_ptr = {f["pointer"]: f for f in self.fields}
        self.format_text = (REF / f"format-{year}.md").read_text(encoding="utf-8")

    def label(self, ptr: str, i: int) -> str:
        return self.by_ptr[ptr]["labels"][i]

    def literal(self, text: str) -> str:
        assert text in self.format_text, f"not in the format file: {text}"
        return text


def field(ptr: str, **extra: object) -> dict:
    return {"field": ptr, **extra}


def text(t: str, **extra: object) -> dict:
    return {"text": t, **extra}


def leaf_schema(f: dict) -> dict:
    s = dict(KIND_SCHEMA[f["type"]])
    s["x-label"] = f["labels"]
    s["x-kind"] = f["type"]
    if "unit" in f:
        s["x-unit"] = f["unit"]
    if f["type"] == "amount":
        s["x-decimals"] = 6
    if f["pointer"] == "/organization/code":
        s["pattern"] = "^([0-9A-Z]{18})?$"
        s["x-identity"] = "org_code"
    if f["pointer"] == "/organization/name":
        s["minLength"] = 1
        s["x-identity"] = "org_name"
    if f["pointer"] == "/year":
        s["x-identity"] = "year"
    return s


def build_properties(fields: list[dict], optional: set[str]) -> dict:
    root: dict = {"type": "object", "properties": {}, "required": [], "additionalProperties": False}
    for f in fields:
        parts = f["pointer"].strip("/").split("/")
        node = root
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            if part not in node["properties"]:
                if f["pointer"] not in optional or not last:
                    node["required"].append(part)
                node["properties"][part] = (
                    leaf_schema(f)
                    if last
                    else {"type": "object", "properties": {}, "required": [], "additionalProperties": False}
                )
            node = node["properties"][part]
    return root


def app_rows(ref: Ref) -> list[str]:
    rows: list[str] = []
    for f in ref.fields:
        p = f["pointer"]
        if p.startswith("/applications/"):
            r = p.rsplit("/", 1)[0]
            if r not in rows:
                rows.append(r)
    return rows


def table_applications(ref: Ref) -> dict:
    """Table 三: 3 label columns + 7 data columns, row labels with the official row spans."""
    sec = "/applications/received/"
    col_labels = [ref.by_ptr[sec + c]["labels"] for c in COLUMNS]
    header = [
        [
            text(
                ref.literal("（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"),
                colspan=3,
                rowspan=3,
            ),
            text(col_labels[0][2], colspan=7),
        ],
        [
            text(col_labels[0][-1], rowspan=2),
            text(col_labels[1][-2], colspan=5),
            text(col_labels[6][-1], rowspan=2),
        ],
        [text(col_labels[i][-1]) for i in range(1, 6)],
    ]
    rows = app_rows(ref)
    body: list[list[dict]] = []
    # group result leaves by their level-2 label to compute row spans
    results = [r for r in rows if r.startswith("/applications/results/")]
    result_rowspan = len(results)
    seen_groups: set[str] = set()
    for r in rows:
        labels = ref.by_ptr[r + "/natural_person"]["labels"]
        row_labels = labels[1 : labels.index("申请人情况")]
        cells: list[dict] = []
        if not r.startswith("/applications/results/"):
            cells.append(text(row_labels[0], colspan=3))
        else:
            if r == results[0]:
                cells.append(text(row_labels[0], rowspan=result_rowspan))
            if len(row_labels) == 2:
                cells.append(text(row_labels[1], colspan=2))
            else:
                group = row_labels[1]
                if group not in seen_groups:
                    seen_groups.add(group)
                    span = sum(1 for rr in results if ref.by_ptr[rr + "/natural_person"]["labels"][2] == group)
                    cells.append(text(group, rowspan=span))
                cells.append(text(row_labels[2]))
        cells += [field(f"{r}/{c}") for c in COLUMNS]
        body.append(cells)
    return {
        "type": "table",
        "header": header,
        "body": body,
        "checks": [
            {"rule": "R1", "place": "below"},
            {"rule": "R3", "place": "below"},
            {"rule": "R2", "place": "right"},
        ],
    }


def table_review(ref: Ref) -> dict:
    """Table 四: one row of 15 numbers under a three-level header."""
    lab = lambda b, c: ref.by_ptr[f"/review_litigation/{b}/{c}"]["labels"]  # noqa: E731
    header = [
        [text(lab("review", "upheld")[1], colspan=5), text(lab("litigation_direct", "upheld")[1], colspan=10)],
        [text(lab("review", c)[2], rowspan=2) for c in BLOCK_COLUMNS]
        + [
            text(lab("litigation_direct", "upheld")[2], colspan=5),
            text(lab("litigation_after_review", "upheld")[2], colspan=5),
        ],
        [text(lab(b, c)[3]) for b in BLOCKS[1:] for c in BLOCK_COLUMNS],
    ]
    body = [[field(f"/review_litigation/{b}/{c}") for b in BLOCKS for c in BLOCK_COLUMNS]]
    return {"type": "table", "header": header, "body": body, "checks": [{"rule": "R4", "place": "below"}]}


def table_proactive(ref: Ref) -> list[dict]:
    """Table 二: one sub-table per 第二十条 item, 4 columns, value cells spanning as published."""
    blocks: list[dict] = []
    info = ref.literal("信息内容")
    groups: dict[str, list[dict]] = {}
    for f in ref.fields:
        if f["pointer"].startswith("/proactive/"):
            groups.setdefault(f["labels"][1], []).append(f)
    for caption, fs in groups.items():
        rows: dict[str, list[dict]] = {}
        for f in fs:
            rows.setdefault(f["labels"][2], []).append(f)
        ncols = max(len(v) for v in rows.values())
        first = next(iter(rows.values()))
        spans = [1] * ncols
        if ncols < 3:
            spans[-1] = 3 - (ncols - 1)
        header_row = [text(info)]
        for f, span in zip(first, spans, strict=False):
            cell = text(f["labels"][3], colspan=span) if span > 1 else text(f["labels"][3])
            if "unit" in f and "单位" not in f["labels"][3]:
                cell["suffix"] = f"（单位：{f['unit']}）"
            header_row.append(cell)
        body = []
        for row_label, rfs in rows.items():
            cells = [text(row_label)]
            for f, span in zip(rfs, spans, strict=False):
                cells.append(field(f["pointer"], colspan=span) if span > 1 else field(f["pointer"]))
            body.append(cells)
        blocks.append({"type": "table", "caption": caption, "header": [header_row], "body": body})
    return blocks


def narrative(ref: Ref, ptr: str, ncols: int, height: int) -> list[dict]:
    return [
        {"type": "heading", "text": ref.label(ptr, 0)},
        {"type": "table", "body": [[field(ptr, colspan=ncols, height=height)]]},
    ]


def layout(ref: Ref, year: str) -> dict:
    ident = {
        "type": "table",
        "body": [
            [text(ref.label("/organization/name", 0)), field("/organization/name", colspan=3)],
            [text(ref.label("/organization/code", 0)), field("/organization/code", colspan=3)],
            [text(ref.label("/year", 0)), field("/year", colspan=3)],
        ],
    }
    sec = {f["pointer"].split("/")[1]: f["labels"][0] for f in ref.fields}
    return {
        "instructions_sheet": "填报说明",
        "checks_sheet": "校验",
        "meta_sheet": "_xltool",
        "sheets": [
            {
                "name": "一、总体情况",
                "orientation": "portrait",
                "columns": [16, 24, 24, 24],
                "blocks": [ident] + narrative(ref, "/overview", 4, 400),
            },
            {
                "name": "二、主动公开",
                "orientation": "portrait",
                "columns": [24, 18, 18, 18],
                "blocks": [{"type": "heading", "text": sec["proactive"]}] + table_proactive(ref),
            },
            {
                "name": "三、依申请公开",
                "orientation": "landscape",
                "columns": [8, 12, 34] + [9] * 7,
                "blocks": [{"type": "heading", "text": sec["applications"]}, table_applications(ref)],
            },
            {
                "name": "四、复议诉讼",
                "orientation": "landscape",
                "columns": [8] * 15,
                "blocks": [{"type": "heading", "text": sec["review_litigation"]}, table_review(ref)],
            },
            {
                "name": "五、六",
                "orientation": "portrait",
                "columns": [24, 24, 24, 24],
                "blocks": narrative(ref, "/problems", 4, 300) + narrative(ref, "/other_matters", 4, 200),
            },
        ],
    }


def rules(ref: Ref, year: str) -> list[dict]:
    rows = app_rows(ref)
    leaves = [r for r in rows if r.startswith("/applications/results/") and not r.endswith("/total")]
    col_items = [{"key": c, "label": ref.by_ptr[f"/applications/received/{c}"]["labels"][-1]} for c in COLUMNS]
    row_items = []
    for r in rows:
        labels = ref.by_ptr[r + "/natural_person"]["labels"]
        row_items.append({"key": r.removeprefix("/applications/"), "label": labels[labels.index("申请人情况") - 1]})
    block_items = [{"key": b, "label": ref.by_ptr[f"/review_litigation/{b}/upheld"]["labels"][-2]} for b in BLOCKS]
    six = [c for c in COLUMNS if c != "total"]
    reg = [f["pointer"] for f in ref.fields if f["pointer"].startswith("/proactive/regulations/")]
    out = [
        {
            "id": "R1",
            "title": {
                "zh": "勾稽关系：第一项加第二项之和，等于第三项加第四项之和",
                "en": "Printed rule: 一 + 二 = （七）总计 + 四, per column",
            },
            "source": "printed",
            "severity": "error",
            "for_each": {"var": "c", "items": col_items},
            "check": {
                "eq": [
                    {"sum": ["/applications/received/{c}", "/applications/carried_over/{c}"]},
                    {"sum": ["/applications/results/total/{c}", "/applications/carried_forward/{c}"]},
                ]
            },
            "message": {
                "zh": "“{item}”列：第一项加第二项之和为{left}，第三项（七）总计加第四项之和为{right}，两者应相等",
                "en": "Column “{item}”: 一 + 二 = {left} but （七）总计 + 四 = {right}; they must be equal",
            },
        },
        {
            "id": "R2",
            "title": {
                "zh": "表内合计关系：总计等于各类申请人之和",
                "en": "Row total = sum of the six applicant columns",
            },
            "source": "table",
            "severity": "error",
            "derives": True,
            "for_each": {"var": "r", "items": row_items},
            "check": {"eq": ["/applications/{r}/total", {"sum": [f"/applications/{{r}}/{c}" for c in six]}]},
            "message": {
                "zh": "“{item}”行：总计为{left}，各类申请人之和为{right}，两者应相等",
                "en": "Row “{item}”: 总计 is {left} but the applicant columns add up to {right}",
            },
        },
        {
            "id": "R3",
            "title": {
                "zh": "表内合计关系：（七）总计等于各项办理结果之和",
                "en": "（七）总计 = sum of the leaf result rows, per column",
            },
            "source": "table",
            "severity": "error",
            "derives": True,
            "for_each": {"var": "c", "items": col_items},
            "check": {"eq": ["/applications/results/total/{c}", {"sum": [f"{r}/{{c}}" for r in leaves]}]},
            "message": {
                "zh": "“{item}”列：（七）总计为{left}，各项办理结果之和为{right}，两者应相等",
                "en": "Column “{item}”: （七）总计 is {left} but the result rows add up to {right}",
            },
        },
        {
            "id": "R4",
            "title": {
                "zh": "表内合计关系：总计等于结果维持、结果纠正、其他结果、尚未审结之和",
                "en": "Block 总计 = 结果维持 + 结果纠正 + 其他结果 + 尚未审结",
            },
            "source": "table",
            "severity": "error",
            "derives": True,
            "for_each": {"var": "b", "items": block_items},
            "check": {
                "eq": [
                    "/review_litigation/{b}/total",
                    {"sum": [f"/review_litigation/{{b}}/{c}" for c in BLOCK_COLUMNS[:-1]]},
                ]
            },
            "message": {
                "zh": "“{item}”：总计为{left}，四项结果之和为{right}，两者应相等",
                "en": "“{item}”: 总计 is {left} but its four results add up to {right}",
            },
        },
        {
            "id": "W1",
            "title": {
                "zh": "一、总体情况篇幅原则上不超过一千字",
                "en": "一、总体情况 should not exceed 1,000 characters",
            },
            "source": "plausibility",
            "severity": "warning",
            "check": {"le": [{"len": "/overview"}, 1000]},
            "message": {
                "zh": "一、总体情况共{left}字，篇幅原则上不超过{right}字",
                "en": "一、总体情况 has {left} characters; the format asks for at most {right}",
            },
        },
    ]
    if year == "2021":
        out.append(
            {
                "id": "W2",
                "title": {"zh": "六、其他需要报告的事项应报告收取信息处理费情况", "en": "六 must report 信息处理费"},
                "source": "plausibility",
                "severity": "warning",
                "check": {"contains": ["/other_matters", ref.literal("信息处理费")]},
                "message": {
                    "zh": "六、其他需要报告的事项未提及信息处理费，收取信息处理费情况应在此处报告",
                    "en": "六 does not mention 信息处理费; the fee situation must be reported there",
                },
            }
        )
    out.append(
        {
            "id": "W3",
            "title": {"zh": "乡镇（街道）和县级部门不制定规章", "en": "Townships and county departments make no 规章"},
            "source": "plausibility",
            "severity": "warning",
            "levels": ["township", "county_department"],
            "check": {"le": [{"sum": reg}, 0]},
            "message": {
                "zh": "规章合计为{left}：乡镇（街道）和县级部门无权制定规章，请核实",
                "en": "规章 add up to {left}: townships and county departments cannot make 规章; please check",
            },
        }
    )
    out.append(
        {
            "id": "W4",
            "title": {
                "zh": "跨年度：本年度上年结转应等于上年度结转下年度继续办理",
                "en": "Cross-year: 上年结转 equals last year's 结转下年度继续办理",
            },
            "source": "cross_year",
            "severity": "warning",
            "for_each": {"var": "c", "items": col_items},
            "check": {"eq": ["/applications/carried_over/{c}", {"previous": "/applications/carried_forward/{c}"}]},
            "message": {
                "zh": "“{item}”列：本年度上年结转为{left}，上年度报告的结转下年度继续办理为{right}，两者应相等",
                "en": "Column “{item}”: 上年结转 is {left} but last year's report carried {right} forward",
            },
        }
    )
    return out


def build(year: str) -> dict:
    ref = Ref(year)
    name = f"annual-report-{year}"
    props = build_properties(ref.fields, optional={"/organization/code"})
    props["properties"]["_meta"] = {"type": "object", "x-kind": "meta"}
    years = {"2021": {"min": 2021}, "2019": {"min": 2019, "max": 2020}}[year]
    doc = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:xltool:schema:{name}",
        "title": f"政府信息公开工作年度报告（{year}年格式）",
        "x-name": name,
        "x-version": "1.0.0",
        "x-years": years,
        "x-levels": {
            "township": "乡镇（街道）",
            "county_department": "县级部门",
            "county": "县级人民政府",
            "other": "其他",
        },
        "x-template": {
            "title": "{org}{year}年政府信息公开工作年度报告",
            "instructions": [
                f"本模板依据《中华人民共和国政府信息公开工作年度报告格式》（{'国办公开办函〔2021〕30号' if year == '2021' else '国办公开办函〔2019〕60号，试行'}）制作。",
                "只需填写浅黄色单元格，其余单元格已锁定；合计、总计由公式自动计算。",
                "无数据请填0，不要留空；数字单元格只填阿拉伯数字，不要填写单位或文字。",
                "金额单位为万元，最多保留6位小数。",
                "每张表右侧或下方的✓/✗为自动校验结果，出现✗时请核对标红单元格；“校验”表列出全部校验规则。",
                "请勿增删工作表、行或列，请勿修改表头文字；填写完成后保存为 .xlsx 格式提交。",
            ],
        },
        "x-layout": layout(ref, year),
        "x-rules": rules(ref, year),
    }
    doc.update({k: v for k, v in props.items()})
    return doc


def main() -> None:
    out_dir = ROOT / "schema"
    for year in ("2021", "2019"):
        doc = build(year)
        path = out_dir / f"annual-report-{year}.schema.json"
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
