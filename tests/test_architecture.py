"""Imports point one way (DESIGN §2): cli -> commands -> writer/reader/validate -> layout/rules ->
model -> schemas. Only cli.py imports typer; nothing imports cli; writer and reader are independent."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "xltool"


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                out.add((node.module or "").split(".")[0] or "__pkg__")
            else:
                out.add((node.module or "").split(".")[0])
    return out


MODULES = {p.stem: imports(p) for p in PKG.glob("*.py")}

LOW = {"errors", "issues", "schemas", "rules", "model", "dialect", "layout", "evaluate", "excel", "identity"}


def test_only_cli_imports_typer() -> None:
    assert {m for m, deps in MODULES.items() if "typer" in deps} == {"cli"}


def test_nothing_imports_cli() -> None:
    assert {m for m, deps in MODULES.items() if "cli" in deps and m not in ("cli", "__main__")} == set()


def test_core_does_not_import_io_layers() -> None:
    io_layers = {"writer", "reader", "cells", "coerce", "feedback", "collect", "archive", "distribute", "cli"}
    for m in LOW:
        assert not (MODULES.get(m, set()) & io_layers), m


def test_writer_and_reader_are_independent() -> None:
    assert "reader" not in MODULES["writer"]
    if "reader" in MODULES:
        assert "writer" not in MODULES["reader"]


def test_no_utils_module_and_modules_stay_small() -> None:
    assert "utils" not in MODULES
    for path in PKG.glob("*.py"):
        assert len(path.read_text(encoding="utf-8").splitlines()) < 450, path.name
