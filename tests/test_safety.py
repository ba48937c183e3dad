"""The safety gate refuses every hostile file with its stable code, in flat memory (its speed is printed
by benchmarks/bench_hostile.py)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import hostile_files as H
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import hang_guard

from xltool.base.errors import InputFileError
from xltool.read.safety import MAX_ENTRY_UNCOMPRESSED, Sniffed, sniff

KINDS = {"valid_xlsm": "xlsm", "valid_ods": "ods", "minimal_xls": "xls"}  # others: xlsx
BOMBS = [
    "zip_bomb_directory",
    "zip_bomb_lying",
    "zip_bomb_total",
    "too_many_entries",
    "billion_laughs_sheet",
    "billion_laughs_shared_strings",
]
HAS_CJK = re.compile(r"[\u4e00-\u9fff]")
_VALID = H.xlsx_bytes()


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return H.build_corpus(tmp_path_factory.mktemp("corpus"))


def _guarded_sniff(path: Path, **kwargs: int) -> Sniffed | InputFileError:
    """sniff() under the hang guard (how fast it is: benchmarks/bench_hostile.py)."""
    with hang_guard(what=f"sniff({path.name})"):
        try:
            return sniff(path, **kwargs)
        except InputFileError as exc:
            return exc


@pytest.mark.parametrize("name", list(H.CORPUS))
def test_corpus_case(corpus: dict[str, Path], name: str) -> None:
    path, expected = corpus[name], H.CORPUS[name][1]
    result = _guarded_sniff(path)
    if expected is None:
        assert isinstance(result, Sniffed), result
        data = path.read_bytes()
        assert result.kind == KINDS.get(name, "xlsx")
        assert (result.path, result.size, result.data) == (str(path), len(data), data)
        assert result.sha256 == hashlib.sha256(data).hexdigest()
        return
    assert isinstance(result, InputFileError), f"{name} passed the gate as {result}"
    assert result.code == expected, result.as_dict()
    assert result.path == str(path)
    assert HAS_CJK.search(result.message_zh) and result.message_en.isascii()
    assert result.line().startswith(f"{path}: [{expected}] ")
    if name in H.LOOKS_LIKE:
        assert result.details["looks_like"] == H.LOOKS_LIKE[name]


def test_not_a_workbook_message_names_what_it_looks_like(corpus: dict[str, Path]) -> None:
    with pytest.raises(InputFileError) as info:
        sniff(corpus["pdf_renamed"])
    assert info.value.message_zh == "文件不是Excel工作簿（看起来是PDF文档），请提交由模板填写的 .xlsx 文件"
    assert "looks like a PDF document" in info.value.message_en


@pytest.mark.parametrize("name", BOMBS)
def test_bombs_keep_memory_flat(corpus: dict[str, Path], name: str) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(InputFileError):
            sniff(corpus[name])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50 * 1024 * 1024, f"{name}: peak {peak / 2**20:.1f} MiB"


def test_valid_file_memory_is_small(corpus: dict[str, Path]) -> None:
    tracemalloc.start()
    try:
        sniff(corpus["valid_xlsxwriter"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"


@pytest.mark.parametrize(
    ("name", "stage", "reason"),
    [
        ("zip_bomb_directory", "directory", "entry_size"),
        ("zip_bomb_total", "directory", "total_size"),
        ("too_many_entries", "directory", "too_many_entries"),
        ("zip_bomb_lying", "stream", "ratio"),
    ],
)
def test_bomb_stage(corpus: dict[str, Path], name: str, stage: str, reason: str) -> None:
    with pytest.raises(InputFileError) as info:
        sniff(corpus[name])
    assert (info.value.code, info.value.details["stage"], info.value.details["reason"]) == ("ZIP_BOMB", stage, reason)


def test_lying_directory_fools_zipfile_but_not_the_gate(corpus: dict[str, Path]) -> None:
    """zipfile stops at the declared size, so only real inflation sees the bomb."""
    with zipfile.ZipFile(corpus["zip_bomb_lying"]) as zf:
        assert max(i.file_size for i in zf.infolist()) < MAX_ENTRY_UNCOMPRESSED
        with zf.open(H.SHEET) as f, pytest.raises(zipfile.BadZipFile, match="CRC"):
            while f.read(65536):
                pass
    with pytest.raises(InputFileError) as info:
        sniff(corpus["zip_bomb_lying"])
    assert info.value.code == "ZIP_BOMB"


def test_ods_with_forged_local_header_is_a_refusal(tmp_path: Path) -> None:
    """zipfile compares each local header's name with the directory's only when it opens the entry:
    an .ods whose content.xml header was renamed is BROKEN_ZIP, not a BadZipFile traceback."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        body = '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"/>'
        z.writestr("content.xml", body, compress_type=zipfile.ZIP_DEFLATED)
    data = buf.getvalue()
    at = data.index(b"content.xml")  # the first occurrence is the local header
    path = tmp_path / "forged.ods"
    path.write_bytes(data[:at] + b"contenT.xml" + data[at + 11 :])
    with pytest.raises(InputFileError) as info:
        sniff(path)
    assert (info.value.code, info.value.details["entry"]) == ("BROKEN_ZIP", "content.xml")


def test_openpyxl_uses_defusedxml() -> None:
    """Second line of defence behind XML_DTD: openpyxl must parse with defusedxml, even with lxml
    installed (python-docx brings it). Checked in a fresh interpreter that imports only xltool's
    reader, as the CLI does, so no earlier import in this test session decides the outcome."""
    code = (
        "import xltool.read.reader, openpyxl.xml, openpyxl.xml.functions as f; "
        "print(openpyxl.xml.DEFUSEDXML, openpyxl.xml.LXML, f.iterparse.__module__, f.fromstring.__module__)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENPYXL_")}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    assert proc.returncode == 0, proc.stderr
    defused, lxml, iterparse_module, fromstring_module = proc.stdout.split()
    assert (defused, lxml) == ("True", "False")  # with lxml, openpyxl would bypass defusedxml
    assert iterparse_module.startswith("defusedxml") and fromstring_module.startswith("defusedxml")


@pytest.mark.parametrize("name", ["billion_laughs_sheet", "xxe_shared_strings", "xxe_renamed_part"])
def test_openpyxl_refuses_dtd_if_gate_bypassed(corpus: dict[str, Path], name: str) -> None:
    import openpyxl
    from defusedxml import DefusedXmlException

    with pytest.raises(Exception) as info:
        openpyxl.load_workbook(io.BytesIO(corpus[name].read_bytes()))  # a path would leak its fd
    chain, exc = [], info.value
    while exc is not None:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    assert any(isinstance(e, DefusedXmlException) for e in chain), chain


def test_malformed_sheet_passes_gate_but_not_parser(corpus: dict[str, Path]) -> None:
    """The gate does not parse XML; the reader must turn this parser error into its own."""
    import openpyxl

    assert sniff(corpus["malformed_sheet_xml"]).kind == "xlsx"
    with pytest.raises(Exception):  # noqa: B017 - whatever openpyxl raises, it must not parse
        openpyxl.load_workbook(io.BytesIO(corpus["malformed_sheet_xml"].read_bytes()))


def test_missing_and_unreadable(tmp_path: Path) -> None:
    with pytest.raises(InputFileError) as info:
        sniff(tmp_path / "nope.xlsx")
    assert info.value.code == "FILE_NOT_FOUND" and info.value.path == str(tmp_path / "nope.xlsx")
    fifo = tmp_path / "pipe.xlsx"
    os.mkfifo(fifo)  # opening it would block: refused from its stat
    for path in (tmp_path, fifo):
        with pytest.raises(InputFileError) as info:
            sniff(path)
        assert info.value.code == "FILE_UNREADABLE"


_SNIFF_CODE = """
import json, sys
from xltool.base.errors import InputFileError
from xltool.read.safety import sniff
try:
    sniff(sys.argv[1])
    print(json.dumps(None))
except InputFileError as exc:
    print(json.dumps([exc.code, exc.path]))
"""


def _sniff_without_dac_override(path: Path) -> Any:
    """sniff() in a child process that cannot read what its mode forbids. As root that takes dropping
    CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the bounding set (setpriv, util-linux): the exec'd
    interpreter then gets neither, so root obeys the file mode like any user."""
    prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
    proc = subprocess.run(
        [*prefix, sys.executable, "-c", _SNIFF_CODE, str(path)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.needs("setpriv")
def test_permission_denied(tmp_path: Path) -> None:
    path = H.valid_openpyxl(tmp_path)
    assert _sniff_without_dac_override(path) is None  # readable: the child process itself works
    path.chmod(0)
    assert _sniff_without_dac_override(path) == ["FILE_UNREADABLE", str(path)]


def test_too_large(tmp_path: Path) -> None:
    with pytest.raises(InputFileError) as info:
        sniff(H.valid_openpyxl(tmp_path), max_file_bytes=1000)
    assert info.value.code == "FILE_TOO_LARGE" and info.value.details["limit"] == 1000
    big = tmp_path / "big.xlsx"
    with big.open("wb") as f:
        f.truncate(21 * 1024 * 1024)  # sparse: refused from its size, never read
    tracemalloc.start()
    try:
        result = _guarded_sniff(big)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert isinstance(result, InputFileError) and result.code == "FILE_TOO_LARGE"
    assert "21.0 MB" in result.message_zh and peak < 1024 * 1024


def test_utf16_tab_text_is_csv(tmp_path: Path) -> None:
    """Excel's 'Unicode text' export: UTF-16 with tabs."""
    path = tmp_path / "unicode.xlsx"
    path.write_bytes("单位\t数量\r\n甲乡\t12\r\n".encode("utf-16"))
    with pytest.raises(InputFileError) as info:
        sniff(path)
    assert info.value.details["looks_like"] == "csv"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    blob=st.binary(max_size=4096),
    cut=st.integers(0, 6000),
    flips=st.lists(st.tuples(st.integers(0, 6000), st.integers(1, 255)), max_size=8),
)
def test_fuzz_only_typed_errors(blob: bytes, cut: int, flips: list[tuple[int, int]]) -> None:
    """Random bytes or a damaged workbook: sniff returns, or raises InputFileError, nothing else."""
    mutated = bytearray(_VALID[:cut] + blob if cut % 2 else _VALID)
    for pos, xor in flips:
        if pos < len(mutated):
            mutated[pos] ^= xor
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "f.xlsx"
        path.write_bytes(bytes(mutated))
        try:
            sniff(path)
        except InputFileError as exc:
            assert exc.code and exc.message_zh and exc.message_en


@pytest.mark.needs("soffice")
@pytest.mark.parametrize(("fmt", "kind"), [("xls", "xls"), ("ods", "ods"), ("xlsx", "xlsx")])
def test_libreoffice_files_pass(tmp_path: Path, fmt: str, kind: str) -> None:
    path = H.soffice_convert(tmp_path, fmt)
    assert path is not None and path.exists()
    assert sniff(path).kind == kind
