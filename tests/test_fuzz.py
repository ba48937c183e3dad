"""Fuzz: damaged copies of valid filled workbooks must end in a result or a clear refusal.

Hypothesis mutates real filled templates (the 2021 sample as xlsxwriter writes it, the same file
re-saved by openpyxl, the 2019 sample): bytes flipped or cut in the zip, parts deleted, duplicated,
swapped or copied over each other, one part's XML corrupted (bytes, tags, text, cut), a cell value
replaced by hostile text, the sheets reordered. `read_workbook` must return a `ReadResult` or raise
`InputFileError`; any other exception fails, and so does a read still running after the hang guard
(30 s; how fast damaged files are read is printed by benchmarks/bench_hostile.py). Runs are
derandomised (a fixed seed per test, no example database) so CI sees the same few hundred cases
every time.
"""

from __future__ import annotations

import io
import re
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import hostile_templates as T
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import hang_guard

from xltool.base.errors import InputFileError
from xltool.read.feedback import write_feedback
from xltool.read.reader import ReadResult, read_workbook
from xltool.spec.model import load_model


def _resaved(data: bytes) -> bytes:
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


BASES = {"xlsxwriter-2021": T.filled(), "openpyxl-2021": _resaved(T.filled()), "xlsxwriter-2019": T.filled(T.M19)}
MODELS = {"xlsxwriter-2021": T.M21, "openpyxl-2021": T.M21, "xlsxwriter-2019": T.M19}


def _parts(data: bytes) -> list[tuple[str, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(i.filename, zf.read(i.filename)) for i in zf.infolist()]


PARTS = {name: _parts(data) for name, data in BASES.items()}
NAMES = sorted({n for parts in PARTS.values() for n, _ in parts})
Parts = list[tuple[str, bytes]]


def _zip(parts: Parts) -> bytes:
    out = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names we write on purpose
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, content in parts:
                zf.writestr(name, content)
    return out.getvalue()


def _find(parts: Parts, name: str) -> int | None:
    return next((i for i, (n, _) in enumerate(parts) if n == name), None)


# -- part-level mutations: each takes the parts and returns new ones ------------------------------

Mutation = Callable[[Parts], Parts]


def drop(name: str) -> Mutation:
    return lambda parts: [p for p in parts if p[0] != name]


def duplicate(name: str) -> Mutation:
    return lambda parts: parts + [p for p in parts if p[0] == name]


def copy_over(src: str, dst: str) -> Mutation:
    def apply(parts: Parts) -> Parts:
        i, j = _find(parts, src), _find(parts, dst)
        if i is None or j is None:
            return parts
        out = list(parts)
        out[j] = (dst, parts[i][1])
        return out

    return apply


def swap(a: str, b: str) -> Mutation:
    def apply(parts: Parts) -> Parts:
        i, j = _find(parts, a), _find(parts, b)
        if i is None or j is None:
            return parts
        out = list(parts)
        out[i], out[j] = (a, parts[j][1]), (b, parts[i][1])
        return out

    return apply


def edit_part(name: str, change: Callable[[bytes], bytes]) -> Mutation:
    def apply(parts: Parts) -> Parts:
        return [(n, change(c) if n == name else c) for n, c in parts]

    return apply


def corrupt(edits: list[tuple[float, int, bytes]]) -> Callable[[bytes], bytes]:
    """At each relative position: 0 overwrite, 1 insert, 2 delete len(bytes), 3 cut the part there."""

    def change(xml: bytes) -> bytes:
        out = bytearray(xml)
        for where, op, blob in edits:
            at = int(where * len(out))
            if op == 0:
                out[at : at + len(blob)] = blob
            elif op == 1:
                out[at:at] = blob
            elif op == 2:
                del out[at : at + len(blob)]
            else:
                del out[at:]
        return bytes(out)

    return change


def replace_value(index: int, text: str, escape: bool) -> Callable[[bytes], bytes]:
    """The index-th <v> or <t> text of a part replaced (XML-escaped or raw)."""
    from xml.sax.saxutils import escape as esc

    def change(xml: bytes) -> bytes:
        hits = list(re.finditer(rb"<(v|t)(\s[^>]*)?>([^<]*)</\1>", xml))
        if not hits:
            return xml
        m = hits[index % len(hits)]
        new = (esc(text) if escape else text).encode("utf-8", "surrogatepass")
        return xml[: m.start(3)] + new + xml[m.end(3) :]

    return change


def reorder_sheets(order: list[int]) -> Callable[[bytes], bytes]:
    def change(xml: bytes) -> bytes:
        sheets = re.findall(rb"<sheet [^>]*/>", xml)
        if len(sheets) < 2:
            return xml
        shuffled = [sheets[i % len(sheets)] for i in order][: len(sheets)]
        body = re.sub(rb"<sheet [^>]*/>", b"", xml)
        return body.replace(b"</sheets>", b"".join(shuffled) + b"</sheets>", 1)

    return change


XML_NAMES = [n for n in NAMES if n.endswith((".xml", ".rels"))]
HOSTILE_TEXT = st.one_of(
    st.sampled_from(
        [
            "NaN",
            "-inf",
            "1E+309",
            "9" * 5000,
            "-0",
            "0x1F",
            "１２",
            "1,2,3",
            "=1+1",
            "=cmd|' /C calc'!A0",
            "#VALUE!",
            "_x0000_",
            "&lol;",
            "]]>",
            "<x/>",
            "\ud800",
            "\x00\x01",
            "A" * 40000,
            "",
        ]
    ),
    st.text(max_size=40),
)
mutations = st.one_of(
    st.builds(drop, st.sampled_from(NAMES)),
    st.builds(duplicate, st.sampled_from(NAMES)),
    st.builds(copy_over, st.sampled_from(NAMES), st.sampled_from(NAMES)),
    st.builds(swap, st.sampled_from(NAMES), st.sampled_from(NAMES)),
    st.builds(
        edit_part,
        st.sampled_from(XML_NAMES),
        st.builds(
            corrupt,
            st.lists(
                st.tuples(
                    st.floats(0, 1),
                    st.integers(0, 3),
                    st.binary(min_size=1, max_size=12)
                    | st.sampled_from(
                        [b"<", b">", b"</c>", b'<c r="A1">', b"<f>", b"<v>", b"&", b'"', b"<!--", b"\xff"]
                    ),
                ),
                min_size=1,
                max_size=4,
            ),
        ),
    ),
    st.builds(
        edit_part,
        st.sampled_from([n for n in XML_NAMES if "worksheets/" in n or "sharedStrings" in n]),
        st.builds(replace_value, st.integers(0, 2000), HOSTILE_TEXT, st.booleans()),
    ),
    st.builds(edit_part, st.just("xl/workbook.xml"), st.builds(reorder_sheets, st.permutations(list(range(8))))),
)


def _read(
    data: bytes, schema: str | None = None
) -> tuple[ReadResult | InputFileError, Path, tempfile.TemporaryDirectory[str]]:
    tmp = tempfile.TemporaryDirectory()
    path = Path(tmp.name) / "fuzz.xlsx"
    path.write_bytes(data)
    model = load_model(schema) if schema else None
    with hang_guard(what="read_workbook of a damaged file"):
        try:
            outcome: ReadResult | InputFileError = read_workbook(path, model=model)
        except InputFileError as exc:
            outcome = exc
    return outcome, path, tmp


def _check(outcome: ReadResult | InputFileError) -> None:
    if isinstance(outcome, InputFileError):
        assert outcome.code and outcome.message_zh and outcome.message_en and outcome.path
    else:
        assert outcome.exit_code in (0, 1)
        outcome.to_json()


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@fuzz(200)
@given(
    base=st.sampled_from(sorted(BASES)),
    steps=st.lists(mutations, min_size=1, max_size=3),
    schema=st.sampled_from([None, T.M21]),
)
def test_part_mutations(base: str, steps: list[Mutation], schema: str | None) -> None:
    parts = PARTS[base]
    for step in steps:
        parts = step(parts)
    outcome, _path, tmp = _read(_zip(parts), schema)
    with tmp:
        _check(outcome)


@fuzz(100)
@given(
    base=st.sampled_from(sorted(BASES)),
    flips=st.lists(st.tuples(st.floats(0, 1), st.integers(1, 255)), max_size=6),
    cut=st.one_of(st.none(), st.floats(0, 1)),
)
def test_byte_mutations(base: str, flips: list[tuple[float, int]], cut: float | None) -> None:
    data = bytearray(BASES[base])
    for where, xor in flips:
        data[min(int(where * len(data)), len(data) - 1)] ^= xor
    if cut is not None:
        del data[int(cut * len(data)) :]
    outcome, _path, tmp = _read(bytes(data))
    with tmp:
        _check(outcome)


@fuzz(40)
@given(steps=st.lists(mutations, min_size=1, max_size=2))
def test_feedback_of_damaged_files(steps: list[Mutation]) -> None:
    """Whatever was read can be sent back marked, or is refused with a code (never a traceback)."""
    parts = PARTS["xlsxwriter-2021"]
    for step in steps:
        parts = step(parts)
    outcome, path, tmp = _read(_zip(parts))
    with tmp:
        if isinstance(outcome, ReadResult):
            try:
                write_feedback(path, outcome.issues, path.with_name("feedback.xlsx"))
            except InputFileError as exc:
                assert exc.code in ("UNREADABLE_WORKBOOK", "FEEDBACK_FAILED") and exc.path == str(path)


def test_bases_are_valid() -> None:
    """The unmutated bases read without a single issue (else the fuzz would mutate garbage)."""
    for name, data in BASES.items():
        outcome, _path, tmp = _read(data)
        with tmp:
            assert isinstance(outcome, ReadResult) and outcome.issues == [], (name, outcome)


@pytest.mark.parametrize(
    "mutation",
    [
        drop("xl/workbook.xml"),
        duplicate("xl/styles.xml"),
        swap("xl/styles.xml", "xl/sharedStrings.xml"),
        edit_part("xl/workbook.xml", reorder_sheets([7, 6, 5, 4, 3, 2, 1, 0])),
    ],
)
def test_known_mutations(mutation: Mutation) -> None:
    outcome, _path, tmp = _read(_zip(mutation(PARTS["xlsxwriter-2021"])))
    with tmp:
        _check(outcome)
