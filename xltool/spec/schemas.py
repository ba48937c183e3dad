"""Find and load schema files: a built-in short name or a path to the user's own schema.

Loading only parses JSON and checks the JSON Schema itself; the x- dialect is linted by
`dialect.lint` and turned into a model by `model.build_model`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..base.errors import SchemaError

SCHEMA_DIR = (Path(__file__).parent.parent / "schema").resolve()  # the repo's schema/, shipped inside the package
DEFAULT_SCHEMA = "annual-report-2021"
SUFFIX = ".schema.json"


@dataclass(frozen=True)
class SchemaSource:
    name: str  # built-in short name, or the file stem for a user's file
    path: Path
    document: dict[str, Any]
    builtin: bool


def builtin_names() -> list[str]:
    return sorted(p.name.removesuffix(SUFFIX) for p in SCHEMA_DIR.glob(f"*{SUFFIX}"))


def resolve(name_or_path: str | Path | None) -> Path:
    """A built-in short name or an existing file path -> the schema file."""
    if name_or_path is None:
        name_or_path = DEFAULT_SCHEMA
    text = str(name_or_path)
    builtin = SCHEMA_DIR / f"{text}{SUFFIX}"
    if builtin.is_file():
        return builtin
    path = Path(text)
    if path.is_file():
        return path
    raise SchemaError(
        "SCHEMA_NOT_FOUND",
        f"找不到模式“{text}”：内置模式有 {', '.join(builtin_names())}，或请给出模式文件路径",
        f"schema '{text}' not found: built-in schemas are {', '.join(builtin_names())}, or give a file path",
        path=text,
    )


def load_source(name_or_path: str | Path | None = None) -> SchemaSource:
    path = resolve(name_or_path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SchemaError(
            "SCHEMA_UNREADABLE",
            f"模式文件无法读取或不是有效的JSON：{exc}",
            f"schema file is unreadable or not valid JSON: {exc}",
            path=str(path),
        ) from exc
    if not isinstance(doc, dict):
        raise SchemaError(
            "SCHEMA_UNREADABLE", "模式文件顶层必须是JSON对象", "schema top level must be a JSON object", path=str(path)
        )
    builtin = path.resolve().parent == SCHEMA_DIR
    if not builtin:  # built-in schemas are checked by the tests (test_schema_contract), not at every start
        check_schema(doc, path)
    name = str(doc.get("x-name") or path.name.removesuffix(SUFFIX).removesuffix(".json"))
    return SchemaSource(name=name, path=path, document=doc, builtin=builtin)


def schema_for_year(year: int) -> str:
    """The built-in schema whose x-years covers a report year (the newest when several do)."""
    candidates: list[tuple[int, str]] = []
    for name in builtin_names():
        doc = json.loads((SCHEMA_DIR / f"{name}{SUFFIX}").read_text(encoding="utf-8"))
        years = doc.get("x-years", {})
        lo, hi = years.get("min", -(10**9)), years.get("max", 10**9)
        if lo <= year <= hi:
            candidates.append((lo, name))
    if not candidates:
        return DEFAULT_SCHEMA
    return max(candidates)[1]


def check_schema(doc: dict[str, Any], path: Path) -> None:
    """Refuse a document that is not a valid JSON Schema (draft 2020-12), with its pointer.

    Costs 115-170 ms, so a worker process that loads a built-in schema skips it."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError as JsonSchemaError

    try:
        Draft202012Validator.check_schema(doc)
    except JsonSchemaError as exc:
        pointer = "/" + "/".join(str(p) for p in exc.absolute_path)
        raise SchemaError(
            "SCHEMA_INVALID",
            f"不是有效的 JSON Schema（{pointer}）：{exc.message}",
            f"not a valid JSON Schema at {pointer}: {exc.message}",
            path=str(path),
            details={"schema_pointer": pointer},
        ) from exc
