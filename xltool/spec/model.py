"""The schema parsed once into frozen dataclasses; nothing downstream reads raw schema dicts.

`build_model` lints the x- dialect first (`dialect.lint`) and refuses a schema with problems, so the
rest of the code can trust the model.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..base.errors import SchemaError
from . import dialect
from .kinds import NUMERIC_KINDS
from .rules import Expr, Rule, derivation_order, derivations, parse_rule
from .schemas import SchemaSource, load_source

DEFAULT_META_SHEET = "_xltool"  # the hidden identity sheet, unless a schema names it


@dataclass(frozen=True)
class Field:
    pointer: str
    kind: str  # count | signed_count | amount | integer | text | string
    labels: tuple[str, ...]
    required: bool
    unit: str | None = None
    decimals: int | None = None
    max_length: int | None = None
    minimum: float | None = None
    maximum: float | None = None
    identity: str | None = None  # org_name | org_code | year: compared with the template identity

    @property
    def numeric(self) -> bool:
        return self.kind in NUMERIC_KINDS

    @property
    def label(self) -> str:
        return " / ".join(self.labels)


@dataclass(frozen=True)
class CellSpec:
    """One cell of a layout table: a label text or a field, with its spans."""

    text: str | None = None
    field: str | None = None
    suffix: str = ""
    colspan: int = 1
    rowspan: int = 1
    height: float | None = None


@dataclass(frozen=True)
class BlockSpec:
    type: str  # heading | table
    text: str | None = None
    caption: str | None = None
    header: tuple[tuple[CellSpec, ...], ...] = ()
    body: tuple[tuple[CellSpec, ...], ...] = ()
    checks: tuple[tuple[str, str], ...] = ()  # (rule id, place: below | right)


@dataclass(frozen=True)
class SheetSpec:
    name: str
    orientation: str
    columns: tuple[float, ...]
    blocks: tuple[BlockSpec, ...]


@dataclass(frozen=True, eq=False)
class Model:
    """Identity-hashed: one loaded schema is one model (layouts are cached per model)."""

    id: str
    name: str
    version: str
    title: str
    years: tuple[int | None, int | None]
    levels: dict[str, str]
    template_title: str
    instructions: tuple[str, ...]
    fields: tuple[Field, ...]
    rules: tuple[Rule, ...]
    sheets: tuple[SheetSpec, ...]
    instructions_sheet: str
    checks_sheet: str
    meta_sheet: str
    json_schema: dict[str, Any] = field(repr=False, compare=False, hash=False)
    source_path: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "_memo", {})  # per-instance cache of derived views

    def _cached(self, key: str, make: Any) -> Any:
        memo: dict[str, Any] = self.__dict__["_memo"]
        if key not in memo:
            memo[key] = make()
        return memo[key]

    @property
    def by_pointer(self) -> dict[str, Field]:
        return self._cached("by_pointer", lambda: {f.pointer: f for f in self.fields})

    @property
    def derived(self) -> dict[str, Expr]:
        return self._cached("derived", lambda: derivations(self.rules))

    @property
    def derived_order(self) -> list[str]:
        return self._cached("derived_order", lambda: derivation_order(self.derived))

    @property
    def identity_fields(self) -> dict[str, str]:
        """Identity role (org_name, org_code, year) -> the field that holds it in a report."""
        return self._cached("identity", lambda: {f.identity: f.pointer for f in self.fields if f.identity})

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    @property
    def digest(self) -> str:
        """Short hash of the schema document (identity of the exact schema file), computed once."""

        def make() -> str:
            text = json.dumps(self.json_schema, ensure_ascii=False, sort_keys=True)
            return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

        return self._cached("digest", make)


def iter_leaves(node: dict[str, Any], prefix: str = "", required: bool = True):
    """Yield (pointer, leaf schema, required) for every x-kind leaf, in document order."""
    props = node.get("properties", {})
    req = set(node.get("required", []))
    for key, sub in props.items():
        if key.startswith("_") or not isinstance(sub, dict):
            continue
        ptr = f"{prefix}/{key}"
        if sub.get("type") == "object" and "properties" in sub:
            yield from iter_leaves(sub, ptr, required and key in req)
        elif "x-kind" in sub:
            yield ptr, sub, required and key in req


def _cell(doc: dict[str, Any]) -> CellSpec:
    return CellSpec(
        text=doc.get("text"),
        field=doc.get("field"),
        suffix=doc.get("suffix", ""),
        colspan=int(doc.get("colspan", 1)),
        rowspan=int(doc.get("rowspan", 1)),
        height=doc.get("height"),
    )


def _block(doc: dict[str, Any]) -> BlockSpec:
    return BlockSpec(
        type=doc["type"],
        text=doc.get("text"),
        caption=doc.get("caption"),
        header=tuple(tuple(_cell(c) for c in row) for row in doc.get("header", [])),
        body=tuple(tuple(_cell(c) for c in row) for row in doc.get("body", [])),
        checks=tuple((c["rule"], c.get("place", "below")) for c in doc.get("checks", [])),
    )


def build_model(source: SchemaSource) -> Model:
    problems = dialect.lint(source.document)
    if problems:
        first = problems[0]
        listing = "; ".join(f"{p.pointer}: {p.message}" for p in problems[:10])
        raise SchemaError(
            "SCHEMA_DIALECT",
            f"模式文件有{len(problems)}处问题：{listing}",
            f"schema has {len(problems)} problem(s): {listing}",
            path=str(source.path),
            details={"problems": [p.__dict__ for p in problems], "schema_pointer": first.pointer},
        )
    doc = source.document
    fields = []
    for ptr, leaf, required in iter_leaves(doc):
        fields.append(
            Field(
                pointer=ptr,
                kind=leaf["x-kind"],
                labels=tuple(leaf["x-label"]),
                required=required,
                unit=leaf.get("x-unit"),
                decimals=leaf.get("x-decimals"),
                max_length=leaf.get("maxLength"),
                minimum=leaf.get("minimum"),
                maximum=leaf.get("maximum"),
                identity=leaf.get("x-identity"),
            )
        )
    lay = doc.get("x-layout", {})
    tpl = doc.get("x-template", {})
    years = doc.get("x-years", {})
    return Model(
        id=doc.get("$id", source.name),
        name=source.name,
        version=str(doc.get("x-version", "0")),
        title=doc.get("title", source.name),
        years=(years.get("min"), years.get("max")),
        levels=dict(doc.get("x-levels", {})),
        template_title=tpl.get("title", doc.get("title", source.name)),
        instructions=tuple(tpl.get("instructions", [])),
        fields=tuple(fields),
        rules=tuple(parse_rule(r) for r in doc.get("x-rules", [])),
        sheets=tuple(
            SheetSpec(
                name=s["name"],
                orientation=s.get("orientation", "portrait"),
                columns=tuple(s.get("columns", [])),
                blocks=tuple(_block(b) for b in s.get("blocks", [])),
            )
            for s in lay.get("sheets", [])
        ),
        instructions_sheet=lay.get("instructions_sheet", "填报说明"),
        checks_sheet=lay.get("checks_sheet", "校验"),
        meta_sheet=lay.get("meta_sheet", DEFAULT_META_SHEET),
        json_schema=doc,
        source_path=str(source.path),
    )


@lru_cache(maxsize=16)
def _load_cached(key: str) -> Model:
    return build_model(load_source(key))


def load_model(name_or_path: str | Path | None = None) -> Model:
    """Load a built-in schema by short name, or a schema file by path (cached per resolved path)."""
    from .schemas import resolve

    path = resolve(name_or_path)
    return _load_cached(str(path.resolve()))
