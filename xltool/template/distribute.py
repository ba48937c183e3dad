"""Write one template per roster organisation, plus a manifest of what was written."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass, replace
from pathlib import Path

from ..base.files import write_atomic, write_text_atomic
from ..base.text import safe_filename, safe_text
from ..spec.model import Model
from ..spec.roster import Org
from .stamp import stamped_template
from .writer import TemplateOptions


@dataclass(frozen=True)
class Written:
    org: Org
    file: str
    serial: str
    sha256: str


def template_filename(org: Org, year: int | None, taken: set[str]) -> str:
    """`<单位名称>-<年度>年报模板.xlsx`, made safe; a collision after sanitising gets the code's hash."""
    stem = safe_filename(org.name)
    suffix = f"-{year}年报模板" if year is not None else "-年报模板"
    name = f"{stem}{suffix}.xlsx"
    if name.lower() in taken:
        tag = hashlib.sha256((org.code or org.name).encode("utf-8")).hexdigest()[:6]
        name = f"{stem}-{tag}{suffix}.xlsx"
    taken.add(name.lower())
    return name


def write_roster_templates(
    model: Model, orgs: list[Org], out_dir: Path, base: TemplateOptions, links: dict[str, str] | None = None
) -> list[Written]:
    """`links`: organisation name -> its private upload link (`--portal`), on its 填报说明 sheet."""
    out_dir.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    written: list[Written] = []
    for org in orgs:
        opts = replace(
            base,
            org_name=org.name,
            org_code=org.code,
            level=org.level,
            contact=org.contact or base.contact,
            deadline=org.deadline or base.deadline,
            portal_link=(links or {}).get(org.name, ""),
        )
        data, ident = stamped_template(model, opts)
        name = template_filename(org, base.year, taken)
        write_atomic(out_dir / name, data)
        written.append(Written(org, name, ident.serial, hashlib.sha256(data).hexdigest()))
    write_manifest(out_dir, model, base, written, links)
    return written


def write_manifest(
    out_dir: Path, model: Model, base: TemplateOptions, written: list[Written], links: dict[str, str] | None = None
) -> None:
    rows = [
        {
            "单位名称": w.org.name,
            "统一社会信用代码": w.org.code,
            "层级": w.org.level,
            "文件": w.file,
            "模板编号": w.serial,
            "sha256": w.sha256,
            **({"上传链接": links.get(w.org.name, "")} if links else {}),
        }
        for w in written
    ]
    csv_rows = [{k: safe_text(v) for k, v in r.items()} for r in rows]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["单位名称"], lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(csv_rows)
    write_atomic(out_dir / "manifest.csv", ("\ufeff" + buf.getvalue()).encode("utf-8"))
    doc = {
        "schema": model.name,
        "schema_version": model.version,
        "year": base.year,
        "issue_date": base.issue_date,
        "templates": rows,
    }
    write_text_atomic(out_dir / "manifest.json", json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
