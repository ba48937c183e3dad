"""Recognise which template a workbook is: its identity (hidden meta sheet, document properties),
checked against the expected schema and layout before any data is read.

A workbook that is not an xltool template, or was made from another schema version or layout, is
refused with a message naming what was expected and what was found.
"""

from __future__ import annotations

import re
from typing import Any

from ..base.errors import InputFileError
from ..base.text import clip, show
from ..spec.identity import KEYS, NAME_PREFIX
from ..spec.layout import build_layout
from ..spec.model import DEFAULT_META_SHEET, Model, load_model
from ..spec.positions import META_KEY_COL, META_VALUE_COL
from ..spec.schemas import builtin_names
from .cells import CellSource

META_ROWS = len(KEYS) + 8
SEARCHED_SHEETS = 16  # a meta sheet under another name is looked for among the last sheets only
_YEAR = re.compile(r"(?<!\d)((?:19|20)\d\d)(?!\d)")


def _shown(value: Any) -> str:
    return "" if value is None else show(value)


def _meta_rows(source: CellSource, sheet: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for r in range(META_ROWS):
        key = source.get(sheet, r, META_KEY_COL).value
        if isinstance(key, str) and key in KEYS:
            value = source.get(sheet, r, META_VALUE_COL).value  # a number only if a program converted it
            out[key] = str(int(value)) if isinstance(value, float) and value.is_integer() else _shown(value)
    return out


def find_identity(source: CellSource, model: Model | None) -> dict[str, str]:
    """Identity from the hidden meta sheet (what the template says), completed by the properties."""
    props = {k[len(NAME_PREFIX) :]: v for k, v in source.custom_properties().items() if k.startswith(NAME_PREFIX)}
    names = source.sheet_names
    candidates: list[str] = []
    if model is not None:
        candidates.append(model.meta_sheet)
    elif props.get("schema_name") in builtin_names():
        candidates.append(load_model(props["schema_name"]).meta_sheet)
    candidates += [DEFAULT_META_SHEET] + names[::-1][:SEARCHED_SHEETS]
    for sheet in dict.fromkeys(c for c in candidates if c in names):
        source.prepare({sheet: META_ROWS})
        meta = _meta_rows(source, sheet)
        if meta.get("schema_name") or meta.get("schema_id"):
            return {**props, **{k: v for k, v in meta.items() if v or k not in props}}
    return props


def _edition(name: str, title: str = "") -> str:
    """'annual-report-2019' -> '2019版'; otherwise the name itself in quotes."""
    m = _YEAR.search(name) or _YEAR.search(title)
    return f"{m.group(1)}版" if m else f"「{title or name}」"


def fail(code: str, path: str, zh: str, en: str, **details: Any) -> InputFileError:
    return InputFileError(code, zh, en, path=path, details=details)


def check_identity(found: dict[str, str], model: Model | None, path: str) -> Model:
    found = {k: clip(v, 200) for k, v in found.items()}  # quoted in messages; real values are short
    name = found.get("schema_name", "")
    if not (name or found.get("schema_id")):
        raise fail(
            "NOT_XLTOOL_TEMPLATE",
            path,
            "此文件不是由xltool生成的模板（找不到模板标识），请使用下发的模板填写后提交",
            "this file is not a template made by xltool (no template identity); fill in the template you were sent",
            found=found,
        )
    if model is None:
        if name not in builtin_names():
            raise fail(
                "WRONG_SCHEMA",
                path,
                f"此文件按模式「{name}」生成，它不是内置模式；请用 --schema 指定该模式文件",
                f"the file was made from schema '{name}', which is not built in; pass it with --schema",
                file_schema=name,
            )
        model = load_model(name)
    if name != model.name or (found.get("schema_id") and found["schema_id"] != model.id):
        fe, me = _edition(name), _edition(model.name, model.title)
        raise fail(
            "WRONG_SCHEMA",
            path,
            f"此文件是{fe}模板（{name}），本次收集使用{me}（{model.name}），请使用新下发的模板重新填写",
            f"this file is a {fe.removesuffix('版')} template ({name}); this collection uses {model.name}; "
            "fill in the template you were sent",
            file_schema=name,
            expected_schema=model.name,
        )
    digest = model.digest
    if found.get("schema_digest") and found["schema_digest"] != digest:
        raise fail(
            "WRONG_SCHEMA",
            path,
            f"此文件的模式（{name} {found.get('schema_version', '')}，摘要 {found['schema_digest']}）与本次使用的"
            f"（{model.name} {model.version}，摘要 {digest}）不一致，请使用新下发的模板重新填写",
            f"the file's schema ({name} {found.get('schema_version', '')}, digest {found['schema_digest']}) differs from "
            f"the one in use ({model.name} {model.version}, digest {digest}); fill in the template you were sent",
            file_digest=found["schema_digest"],
            expected_digest=digest,
        )
    fingerprint = build_layout(model).fingerprint
    if found.get("layout_fingerprint", "") != fingerprint:
        raise fail(
            "WRONG_LAYOUT",
            path,
            f"此文件的模板版式（{found.get('layout_fingerprint') or '无'}）与当前版式（{fingerprint}）不一致，"
            "可能由其他版本的xltool生成，请使用新下发的模板重新填写",
            f"the file's template layout ({found.get('layout_fingerprint') or 'none'}) differs from the current one "
            f"({fingerprint}); it may come from another xltool version; fill in the template you were sent",
            file_fingerprint=found.get("layout_fingerprint"),
            expected_fingerprint=fingerprint,
        )
    return model
