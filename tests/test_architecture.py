"""The package tree shows the flow (DESIGN §2): each stage imports only stages below it.

    base < spec < check < {template, read} < collect < outputs < web < cli

template and read are independent of each other; only the cli package imports typer; nothing imports cli;
modules stay near DESIGN's ~300 lines. Every import form is seen: `import x`, `from x import y`,
`from . import y`, `from ..stage import y`, and imports inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "xltool"
RANK = {"base": 0, "spec": 1, "check": 2, "template": 3, "read": 3, "collect": 4, "outputs": 5, "web": 6}
TOP = {"cli": 9, "__main__": 10, "__init__": 8}
MAX_LINES = 330


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__" and len(parts) > 2:
        parts = parts[:-1]
    return ".".join(parts)


def imported(path: Path) -> set[str]:
    """Every xltool module (or package) this file imports, as absolute dotted names."""
    me = module_name(path).split(".")
    package = me if path.name == "__init__.py" and len(me) > 1 else me[:-1]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.split(".")[0] in ("xltool", "typer")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.split(".")[0] not in ("xltool", "typer"):
                continue
            out.add(mod)
            out |= {
                f"{mod}.{a.name}"
                for a in node.names
                if (PKG.parent / (f"{mod}.{a.name}".replace(".", "/") + ".py")).exists()
            }
    return out


def stage(dotted: str) -> str:
    parts = dotted.split(".")
    if len(parts) == 1:
        return "__init__"
    return parts[1]


def rank(dotted: str) -> int:
    s = stage(dotted)
    return RANK.get(s, TOP.get(s, 99))


FILES = sorted(p for p in PKG.rglob("*.py") if "schema" not in p.relative_to(PKG).parts[:1])
IMPORTS = {module_name(p): imported(p) for p in FILES}


def violations(imports: dict[str, set[str]]) -> list[str]:
    bad = []
    for mod, deps in imports.items():
        for dep in deps:
            if dep == "typer" or dep.startswith("typer."):
                if stage(mod) != "cli":
                    bad.append(f"{mod} imports typer")
                continue
            if dep == "xltool" and mod != "xltool.__main__":
                bad.append(f"{mod} imports the top-level package (import from the stage instead)")
                continue
            if stage(dep) == "cli" and stage(mod) not in ("cli", "__main__"):
                bad.append(f"{mod} imports cli")
            elif stage(mod) in RANK and stage(dep) != stage(mod) and rank(dep) >= rank(mod):
                bad.append(f"{mod} ({stage(mod)}) imports {dep} ({stage(dep)}): upward or sideways")
    return sorted(bad)


def test_every_module_is_in_a_stage() -> None:
    loose = {m for m in IMPORTS if stage(m) not in RANK and stage(m) not in TOP}
    assert loose == set()


def test_imports_point_down() -> None:
    assert violations(IMPORTS) == []


@pytest.mark.parametrize(
    "planted",
    [
        ("spec/layout.py", "from ..template import writer\n"),
        ("spec/layout.py", "from . import dialect\nfrom .. import cli\n"),
        ("check/evaluate.py", "def f():\n    from ..read.reader import read_workbook\n"),
        ("read/reader.py", "import xltool.template.writer\n"),
        ("template/writer.py", "from ..read import coerce\n"),
        ("base/errors.py", "import typer\n"),
    ],
)
def test_a_planted_upward_import_is_caught(planted: tuple[str, str], tmp_path: Path) -> None:
    rel, line = planted
    path = PKG / rel
    copy = dict(IMPORTS)
    fake = path.with_name(path.stem + "_planted_tmp.py")
    try:
        fake.write_text(path.read_text(encoding="utf-8") + "\n" + line, encoding="utf-8")
        copy[module_name(path)] = imported(fake)
    finally:
        fake.unlink()
    assert violations(copy) != []


def test_no_utils_module_and_modules_stay_small() -> None:
    assert not [p for p in FILES if p.stem in ("utils", "helpers", "misc")]
    long = {
        str(p.relative_to(PKG)): n for p in FILES if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
