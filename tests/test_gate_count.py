"""The gate's short element count (`read/counting.py`) refuses exactly what the full count refuses:
the same code, reason, count and entry, and passes the same files with the same parts."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import hostile_templates as T
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xltool.base.errors import InputFileError
from xltool.read import safety
from xltool.read.counting import named

NAMES = [b"c", b"row", b"si", b"xf", b"definedName", b"sheet"]
PIECES = [b"<", b":", b" ", b"/", b">", b"\t", b"\x0b", b"\x0c", b"\n", b"a", b"_", b"9", b"-", b"\xe4", b"ab:", b"<x:"]
PIECES += [b"<" + b"w" * 32 + b":", b"<" + b"w" * 33 + b":", b"<work"]


@settings(max_examples=3000, deadline=None)
@given(st.sampled_from(NAMES), st.lists(st.sampled_from(PIECES + NAMES), max_size=40))
def test_named_is_the_regex_count(name: bytes, pieces: list[bytes]) -> None:
    window = b"".join(pieces)
    assert named(window, name) == len(re.findall(rb"<(?:\w{1,32}:)?" + name + rb"(?=[\s/>])", window))


def _outcome(path: Path) -> Any:
    try:
        s = safety.sniff(path)
    except InputFileError as exc:
        return exc.as_dict()
    return s.kind, s.sha256, s.parts


def _defined_names(n: int) -> bytes:
    names = "".join(f'<definedName name="x{i}">Sheet1!$A$1</definedName>' for i in range(n))
    return T.patch(T.filled(), "xl/workbook.xml", lambda x: x.replace("</definedNames>", names + "</definedNames>"))


def _rows(n: int) -> bytes:
    rows = "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>' for r in range(200, 200 + n))
    return T.patch(T.filled(), T.sheet_part("五、六"), lambda x: x.replace("</sheetData>", rows + "</sheetData>"))


EXTRA = {
    "filled": T.filled,
    "names_over_cap": lambda: _defined_names(safety.MAX_ELEMENTS["definedName"] + 1),  # only the full count sees it
    "names_at_cap": lambda: _defined_names(safety.MAX_ELEMENTS["definedName"] - 250),
    "many_tags_under_caps": lambda: _rows(4000),  # past FEW_TAGS: the full count passes it
}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("count")
    out = T.build(d / "hostile")
    for name, make in EXTRA.items():
        out[name] = d / f"{name}.xlsx"
        out[name].write_bytes(make())
    return out


def test_short_count_decides_as_the_full_count(files: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    short = {name: _outcome(path) for name, path in files.items()}
    monkeypatch.setattr(safety, "FEW_TAGS", -1)  # every file recounted from the start: the full count only
    full = {name: _outcome(path) for name, path in files.items()}
    assert short == full
    assert short["names_over_cap"]["details"]["reason"] == "definedName"
    assert short["names_over_cap"]["details"]["found"] > safety.MAX_ELEMENTS["definedName"]
    assert short["names_at_cap"][0] == "xlsx"
    assert short["many_sheets"]["details"]["reason"] == "sheet"  # refused by the short count itself
    assert short["many_tags_under_caps"][0] == "xlsx"


def test_short_count_is_taken_on_a_filled_template(files: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    """A filled template has fewer tags than FEW_TAGS, so the short count stands; 4,000 rows more are
    counted again in full."""
    calls: list[bool] = []
    real = safety._stream_check

    def spy(*args: Any, exact: bool = False) -> Any:
        calls.append(exact)
        return real(*args, exact=exact)

    monkeypatch.setattr(safety, "_stream_check", spy)
    safety.sniff(files["filled"])
    assert calls == [False]
    calls.clear()
    safety.sniff(files["many_tags_under_caps"])
    assert calls == [False, True]
