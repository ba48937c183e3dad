"""render: the 胡村乡 2020 report reproduces the published tables (HTML, and the DOCX through LibreOffice's
PDF), narratives are escaped, and bad input stops with one line."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import unicodedata
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
SAMPLES = HERE.parent / "samples"
XLTOOL = [sys.executable, "-m", "xltool"]
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
needs_soffice = pytest.mark.skipif(
    (shutil.which("soffice") is None or shutil.which("pdftotext") is None) and os.environ.get("CI") != "true",
    reason="LibreOffice or poppler-utils not installed",
)

# Where the publication differs from the official format (samples/README.md), and nothing else:
PUBLISHED_LABEL = {"采购总金额(单位:万元,保留4位小数)": "采购总金额(单位:万元)"}  # the publisher's own note
PRINTED_CELLS = {  # body rows printed with a different number of cells (all 0): (table, row) -> (published, format)
    (3, 0): (3, 2),  # （八）行政事业性收费: 本年增/减 spans two columns in the format
    (5, 20): (5, 7),  # 表三（六）其他处理
    (5, 21): (5, 7),  # 表三（七）总计
    (5, 22): (5, 7),  # 表三 四、结转下年度继续办理
} | {(5, r): (8, 7) for r in range(4, 20)}  # 表三（三）（四）（五）'s 16 rows: one stray extra cell each


def norm(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def published_tables() -> list[dict[str, list]]:
    tables: list[dict[str, list]] = []
    for line in (SAMPLES / "hucun-2020-tables.txt").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.split("\t") if c.strip()]
        if not cells:
            continue
        if cells[0].startswith("、"):  # a section heading (its number was lost in publication)
            tables.append({"labels": [], "rows": []})
            continue
        if cells[0].startswith("第二十条") or not tables:
            tables.append({"labels": [], "rows": []})
        labels = [norm(c) for c in cells if not NUMBER.match(c)]
        tables[-1]["labels"] += [PUBLISHED_LABEL.get(x, x) for x in labels]
        numbers = [c for c in cells if NUMBER.match(c)]
        if numbers:
            tables[-1]["rows"].append(numbers)
    return tables


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict[str, list]] = []
        self.text: list[str] | None = None
        self.row: list[tuple[str, bool]] = []
        self.numeric = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append({"labels": [], "rows": []})
        elif tag in ("td", "th", "caption"):
            self.text, self.numeric = [], ("class", "num") in attrs
        elif tag == "tr":
            self.row = []

    def handle_data(self, data: str) -> None:
        if self.text is not None:
            self.text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th", "caption") and self.text is not None:
            text = "".join(self.text)
            if self.numeric:
                self.row.append((text, True))
            else:
                self.tables[-1]["labels"].append(norm(text))
            self.text = None
        elif tag == "tr" and any(n for _t, n in self.row):
            self.tables[-1]["rows"].append([t for t, n in self.row if n])


def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*XLTOOL, *map(str, args)], capture_output=True, text=True, timeout=300)


def test_rendered_html_reproduces_the_published_tables(tmp_path: Path) -> None:
    out = tmp_path / "胡村乡.html"
    proc = run("render", SAMPLES / "hucun-2020.json", "-o", out)
    assert proc.returncode == 0, proc.stderr
    parser = _Tables()
    parser.feed(out.read_text(encoding="utf-8"))
    ours, published = parser.tables, published_tables()
    assert len(ours) == len(published) == 7
    for t, (mine, theirs) in enumerate(zip(ours, published, strict=True)):
        assert Counter(mine["labels"]) == Counter(theirs["labels"]), t
        assert len(mine["rows"]) == len(theirs["rows"]), t
        for r, (a, b) in enumerate(zip(mine["rows"], theirs["rows"], strict=True)):
            if (t, r) in PRINTED_CELLS:
                assert (len(b), len(a)) == PRINTED_CELLS[(t, r)] and set(a) == set(b) == {"0"}, (t, r)
            else:
                assert a == b, (t, r)
    html = out.read_text(encoding="utf-8")
    assert "<script" not in html and "<link" not in html and "@page { size: A4" in html
    headings = re.findall(r"<h2>(.*?)</h2>", html)
    assert headings == [
        "一、总体情况",
        "二、主动公开政府信息情况",
        "三、收到和处理政府信息公开申请情况",
        "四、政府信息公开行政复议、行政诉讼情况",
        "五、存在的主要问题及改进情况",
        "六、其他需要报告的事项",
    ]
    assert "<h1>濮阳经济技术开发区胡村乡人民政府2020年政府信息公开工作年度报告</h1>" in html
    assert '<td colspan="2" class="num">1.98</td>' in html


def _pdf_text(pdf: Path) -> str:
    proc = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, timeout=60, check=True)
    return proc.stdout


@needs_soffice
def test_docx_converted_to_pdf_by_libreoffice_holds_the_same_table_text(tmp_path: Path) -> None:
    docx, pdf = tmp_path / "r.docx", tmp_path / "r.pdf"
    assert run("render", SAMPLES / "hucun-2020.json", "-o", docx).returncode == 0
    proc = run("render", SAMPLES / "hucun-2020.json", "-o", pdf)
    assert proc.returncode == 0, proc.stderr
    assert docx.read_bytes()[:2] == b"PK" and pdf.read_bytes()[:5] == b"%PDF-"
    text = _pdf_text(pdf)
    flat = norm(text)
    # a cell's text wraps inside its cell, and pdftotext interleaves neighbouring cells' lines: every
    # label is checked as its characters in order; one-line labels must appear as they are
    for table in published_tables():
        for label in table["labels"]:
            label = PUBLISHED_LABEL.get(label, label)
            it = iter(flat)
            assert all(ch in it for ch in label), label
    for label in ("第二十条第(一)项", "政府集中采购", "行政复议", "复议后起诉", "1.属于国家秘密", "(七)总计"):
        assert label in flat, label
    numbers = Counter(line.strip() for line in text.splitlines() if NUMBER.match(line.strip()))
    parser = _Tables()
    parser.feed(run_html(tmp_path))
    expected = Counter(n for t in parser.tables for row in t["rows"] for n in row)
    assert numbers == expected and expected["1.98"] == expected["6"] == 1  # every figure cell, as text


def run_html(tmp_path: Path) -> str:
    out = tmp_path / "r.html"
    assert run("render", SAMPLES / "hucun-2020.json", "-o", out).returncode == 0
    return out.read_text(encoding="utf-8")


def test_narratives_are_escaped_and_bad_input_is_one_line(tmp_path: Path) -> None:
    report = json.loads((SAMPLES / "synthetic-2021.json").read_text(encoding="utf-8"))
    report["other_matters"] = '</p><script>alert("x")</script><img src=x onerror=1>'
    report["problems"] = "控制字符\x01\x0b与代理\ud800：XML 不能保存"
    evil = tmp_path / "evil.json"
    evil.write_text(json.dumps(report), "utf-8")
    assert run("render", evil, "-o", tmp_path / "evil.docx").returncode == 0  # python-docx refuses such text
    out = tmp_path / "evil.html"
    assert run("render", evil, "-o", out).returncode == 0
    html = out.read_text(encoding="utf-8")
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "<p>控制字符\ufffd\ufffd与代理\ufffd：XML 不能保存</p>" in html
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"schema": "annual-report-2021", "year": 2023, "report": {}}), "utf-8")
    for args, code in (
        ((summary, "-o", tmp_path / "a.html"), "NOT_A_REPORT"),
        ((tmp_path / "nope.json", "-o", tmp_path / "a.html"), "FILE_UNREADABLE"),
        ((SAMPLES / "hucun-2020.json", "-o", tmp_path), "OUTPUT_IS_FOLDER"),
        ((evil, "-o", evil), "OUTPUT_IS_INPUT"),
        ((evil, "-o", tmp_path / "a.txt"), "OUTPUT_TYPE"),
        ((SAMPLES / "roster.csv", "-o", tmp_path / "a.html"), "NOT_JSON"),
        (("--archive", tmp_path / "nope", "--year", "2023", "--out-dir", tmp_path / "o"), "NO_ARCHIVE"),
        (("--archive", tmp_path, "--year", "2023"), "BAD_ARGUMENTS"),
    ):
        proc = run("render", *args)
        assert proc.returncode == 2 and f"[{code}]" in proc.stderr and proc.stderr.count("\n") == 1, (args, proc.stderr)
