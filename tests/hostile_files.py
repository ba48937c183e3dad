"""Corpus of hostile and non-workbook files, for the safety gate and later reader tests.

Each maker writes one file into `directory` and returns its path. `CORPUS` maps a case name to
(maker, expected `InputFileError` code, or None when `sniff` must let the file through). Everything
is built in memory from scratch in milliseconds; nothing is read from the network or a fixture dir.
"""

from __future__ import annotations

import io
import random
import shutil
import struct
import subprocess
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import openpyxl

MiB = 1024 * 1024
SHEET = "xl/worksheets/sheet1.xml"
STRINGS = "xl/sharedStrings.xml"
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


# --- building blocks ---------------------------------------------------------------------------


def xlsx_bytes() -> bytes:
    """A small valid workbook made by openpyxl (which writes strings inline)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"], ws["B1"], ws["A2"], ws["B2"] = "单位", "数量", "甲乡", 12
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def xlsxwriter_bytes() -> bytes:
    """A small valid workbook made by xlsxwriter (which writes xl/sharedStrings.xml)."""
    import xlsxwriter

    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    ws = wb.add_worksheet("表1")
    ws.write_row(0, 0, ["单位", "数量"])
    ws.write_row(1, 0, ["甲乡", 12])
    wb.close()
    return buf.getvalue()


def rezip(
    data: bytes,
    replace: dict[str, bytes] | None = None,
    drop: tuple[str, ...] = (),
    add: dict[str, bytes] | None = None,
) -> bytes:
    """Copy a zip, replacing, dropping or adding entries (all deflated)."""
    replace, add = replace or {}, add or {}
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            if name not in drop:
                dst.writestr(name, replace.get(name, src.read(name)))
        for name, content in add.items():
            dst.writestr(name, content)
    return out.getvalue()


def _deflate(content: bytes) -> tuple[bytes, int, int]:
    co = zlib.compressobj(6, zlib.DEFLATED, -15)
    return co.compress(content) + co.flush(), zlib.crc32(content), len(content)


def _zeros_deflated(mib: int) -> bytes:
    """A raw deflate stream of `mib` MiB of zeros, in ~1 KB per MiB without compressing them all.

    After a full flush the compressor's state is reset, so the compressed form of one MiB of zeros
    is the same every time and can be repeated; an empty final block closes the stream.
    """
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    one = co.compress(bytes(MiB)) + co.flush(zlib.Z_FULL_FLUSH)
    return one * mib + zlib.compressobj(9, zlib.DEFLATED, -15).flush()


def raw_zip(entries: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip written by hand, so the directory can say anything.

    Entries are (name, raw deflate payload, crc32, declared uncompressed size); the declared size
    goes into both the local header and the central directory.
    """
    body, central = io.BytesIO(), io.BytesIO()
    for name, payload, crc, size in entries:
        n, offset = name.encode(), body.tell()
        body.write(
            struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(payload), size, len(n), 0) + n + payload
        )
        central.write(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                0x02014B50,
                20,
                20,
                0,
                8,
                0,
                0x21,
                crc,
                len(payload),
                size,
                len(n),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + n
        )
    cd = central.getvalue()
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(cd), body.tell(), 0)
    return body.getvalue() + cd + end


def _workbook_entries(skip: str = "") -> list[tuple[str, bytes, int, int]]:
    with zipfile.ZipFile(io.BytesIO(xlsx_bytes())) as zf:
        return [(n, *_deflate(zf.read(n))) for n in zf.namelist() if n != skip]


def cfb(streams: dict[str, bytes]) -> bytes:
    """A minimal OLE2 compound file (v3, 512-byte sectors), since olefile can only read them.

    Streams are padded to 4096 bytes so they all live in the FAT (no mini stream to write); the
    directory is a chain of right siblings, which readers accept.
    """
    free, end_chain, fat_sect, no_stream = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF
    names = sorted(streams, key=lambda s: (len(s), s.upper()))
    data, fat, starts, sizes = io.BytesIO(), [], {}, {}
    for name in names:
        payload = streams[name].ljust(4096, b"\0")
        payload += b"\0" * (-len(payload) % 512)
        starts[name], sizes[name], count = len(fat), len(payload), len(payload) // 512
        fat += [len(fat) + i + 1 for i in range(count - 1)] + [end_chain]
        data.write(payload)

    def entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
        raw = (name + "\0").encode("utf-16-le") if name else b""
        return struct.pack(
            "<64sHBBIII16sIQQIQ", raw, len(raw), kind, 1, no_stream, right, child, bytes(16), 0, 0, 0, start, size
        )

    dirents = [entry("Root Entry", 5, 1 if names else no_stream, no_stream, end_chain, 0)]
    for i, name in enumerate(names, 1):
        right = i + 1 if i < len(names) else no_stream
        dirents.append(entry(name, 2, no_stream, right, starts[name], sizes[name]))
    while len(dirents) % 4:
        dirents.append(entry("", 0, no_stream, no_stream, 0, 0))
    dir_start, dir_count = len(fat), len(dirents) // 4
    fat += [dir_start + i + 1 for i in range(dir_count - 1)] + [end_chain]
    fat_count = 1
    while len(fat) + fat_count > 128 * fat_count:
        fat_count += 1
    fat_ids = list(range(len(fat), len(fat) + fat_count))
    fat += [fat_sect] * fat_count
    fat += [free] * (128 * fat_count - len(fat))
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        bytes(16),
        0x3E,
        3,
        0xFFFE,
        9,
        6,
        bytes(6),
        0,
        fat_count,
        dir_start,
        0,
        4096,
        end_chain,
        0,
        end_chain,
        0,
    )
    header += struct.pack("<109I", *(fat_ids + [free] * (109 - fat_count)))
    return header + data.getvalue() + b"".join(dirents) + struct.pack(f"<{len(fat)}I", *fat)


def _write(directory: Path, name: str, data: bytes) -> Path:
    path = Path(directory) / name
    path.write_bytes(data)
    return path


def _dtd_xml(root: str, inner: str, dtd: str) -> bytes:
    decl = '<?xml version="1.0" encoding="UTF-8"?>'
    return f'{decl}\n{dtd}\n<{root} xmlns="{NS}">{inner}</{root}>'.encode()


LAUGHS = (
    '<!DOCTYPE lolz [<!ENTITY lol0 "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    + "]>"
)
XXE = '<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
_SHEET_WITH = '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&{};</t></is></c></row></sheetData>'
_SST_WITH = "<si><t>&{};</t></si>"


def _with_part(directory: Path, name: str, part: str, content: bytes) -> Path:
    """A valid workbook with one part replaced (xlsxwriter's when it is the shared strings)."""
    base = xlsxwriter_bytes() if part == STRINGS else xlsx_bytes()
    with zipfile.ZipFile(io.BytesIO(base)) as zf:
        assert part in zf.namelist(), part
    return _write(directory, name, rezip(base, {part: content}))


# --- files that must pass --------------------------------------------------------------------


def valid_openpyxl(directory: Path) -> Path:
    return _write(directory, "valid_openpyxl.xlsx", xlsx_bytes())


def valid_xlsxwriter(directory: Path) -> Path:
    return _write(directory, "valid_xlsxwriter.xlsx", xlsxwriter_bytes())


def valid_xlsm(directory: Path) -> Path:
    """xlsm by content type (and a vbaProject.bin part), saved with an .xlsx extension."""
    data = xlsx_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        types = zf.read("[Content_Types].xml").replace(
            b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
            b"application/vnd.ms-excel.sheet.macroEnabled.main+xml",
        )
    return _write(
        directory,
        "macro.xlsx",
        rezip(data, {"[Content_Types].xml": types}, add={"xl/vbaProject.bin": cfb({"dir": b"x"})}),
    )


def valid_ods(directory: Path) -> Path:
    """A minimal OpenDocument spreadsheet (the mimetype entry is what identifies it)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr(
            "content.xml",
            '<?xml version="1.0"?><office:document-content '
            'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"/>',
            zipfile.ZIP_DEFLATED,
        )
        zf.writestr("META-INF/manifest.xml", "<manifest/>", zipfile.ZIP_DEFLATED)
    return _write(directory, "sheet.ods", out.getvalue())


def minimal_xls(directory: Path) -> Path:
    """An OLE2 file with a Workbook stream starting with a BIFF8 BOF record."""
    bof = struct.pack("<HHHH", 0x0809, 16, 0x0600, 0x0005) + bytes(12)
    eof = struct.pack("<HH", 0x000A, 0)
    return _write(directory, "minimal.xls", cfb({"Workbook": bof + eof}))


def malformed_sheet_xml(directory: Path) -> Path:
    """Valid zip, sheet1.xml cut mid-element: the gate lets it through, the reader must fail."""
    bad = f'<?xml version="1.0"?><worksheet xmlns="{NS}"><sheetData><row r="1"><c r="A1"'.encode()
    return _with_part(directory, "malformed_sheet.xlsx", SHEET, bad)


def soffice_convert(directory: Path, fmt: str) -> Path | None:
    """The openpyxl workbook re-saved by LibreOffice as `fmt` (None if soffice is absent)."""
    soffice = shutil.which("soffice")
    if soffice is None:
        return None
    src, out = valid_openpyxl(directory), Path(directory) / "libreoffice"
    with tempfile.TemporaryDirectory(prefix="lo-profile-") as profile:
        subprocess.run(
            [
                soffice,
                f"-env:UserInstallation=file://{profile}",
                "--headless",
                "--convert-to",
                fmt,
                "--outdir",
                str(out),
                str(src),
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )
    return out / f"{src.stem}.{fmt}"


# --- files that must be refused --------------------------------------------------------------


def empty(directory: Path) -> Path:
    return _write(directory, "empty.xlsx", b"")


def random_bytes(directory: Path) -> Path:
    return _write(directory, "random.xlsx", random.Random(20240501).randbytes(8192))


def csv_renamed(directory: Path) -> Path:
    return _write(directory, "csv.xlsx", "单位,数量,备注\r\n甲乡,12,\r\n乙镇,3,补报\r\n".encode("gbk"))


def text_renamed(directory: Path) -> Path:
    return _write(directory, "note.xlsx", "各位领导：\n附件为我单位年度报告，请查收。\n".encode())


def html_renamed(directory: Path) -> Path:
    page = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>报表</title></head>'
        "<body><table><tr><td>单位</td><td>数量</td></tr></table></body></html>"
    )
    return _write(directory, "html.xls", page.encode())


def pdf_renamed(directory: Path) -> Path:
    pdf = (
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n"
        b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )
    return _write(directory, "report.xlsx", pdf)


def png_renamed(directory: Path) -> Path:
    def chunk(tag: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(b"\x00\x00"))
        + chunk(b"IEND", b"")
    )
    return _write(directory, "photo.xlsx", png)


def docx_renamed(directory: Path) -> Path:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
    return _write(directory, "word.xlsx", out.getvalue())


def truncated_xlsx(directory: Path) -> Path:
    data = xlsx_bytes()
    return _write(directory, "truncated.xlsx", data[: len(data) // 2])


def crc_mismatch(directory: Path) -> Path:
    """A workbook whose sheet's CRC in both headers is wrong (corruption in transit)."""
    entries = [(n, payload, crc ^ 1 if n == SHEET else crc, size) for n, payload, crc, size in _workbook_entries()]
    return _write(directory, "bad_crc.xlsx", raw_zip(entries))


def zip_without_workbook(directory: Path) -> Path:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("readme.txt", "附件")
        zf.writestr("data/表1.csv", "a,b\n1,2\n")
    return _write(directory, "archive.xlsx", out.getvalue())


def encrypted_ooxml(directory: Path) -> Path:
    """A password-to-open xlsx: real (msoffcrypto-tool) when installed, else a minimal CFB."""
    try:
        from msoffcrypto.format.ooxml import OOXMLFile
    except ImportError:
        return encrypted_ole2_minimal(directory)
    out = io.BytesIO()
    OOXMLFile(io.BytesIO(xlsx_bytes())).encrypt("secret", out)
    return _write(directory, "encrypted.xlsx", out.getvalue())


def encrypted_ole2_minimal(directory: Path) -> Path:
    streams = {"EncryptionInfo": b"\x04\x00\x04\x00\x40\x00\x00\x00", "EncryptedPackage": bytes(64)}
    return _write(directory, "encrypted_minimal.xlsx", cfb(streams))


def encrypted_xls_filepass(directory: Path) -> Path:
    """An .xls whose globals start with BOF then FILEPASS: RC4-encrypted BIFF8."""
    bof = struct.pack("<HHHH", 0x0809, 16, 0x0600, 0x0005) + bytes(12)
    filepass = struct.pack("<HHH", 0x002F, 54, 1) + bytes(52)
    return _write(directory, "encrypted.xls", cfb({"Workbook": bof + filepass}))


def ole2_word(directory: Path) -> Path:
    streams = {"WordDocument": b"\xec\xa5" + bytes(30), "1Table": b"x"}
    return _write(directory, "doc.xls", cfb(streams))


def broken_ole2(directory: Path) -> Path:
    return _write(directory, "broken_ole.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))


def billion_laughs_sheet(directory: Path) -> Path:
    return _with_part(directory, "laughs_sheet.xlsx", SHEET, _dtd_xml("worksheet", _SHEET_WITH.format("lol9"), LAUGHS))


def billion_laughs_shared_strings(directory: Path) -> Path:
    return _with_part(directory, "laughs_sst.xlsx", STRINGS, _dtd_xml("sst", _SST_WITH.format("lol9"), LAUGHS))


def xxe_sheet(directory: Path) -> Path:
    return _with_part(directory, "xxe_sheet.xlsx", SHEET, _dtd_xml("worksheet", _SHEET_WITH.format("xxe"), XXE))


def xxe_shared_strings(directory: Path) -> Path:
    return _with_part(directory, "xxe_sst.xlsx", STRINGS, _dtd_xml("sst", _SST_WITH.format("xxe"), XXE))


def xxe_renamed_part(directory: Path) -> Path:
    """The sheet moved to sheet1.dat (rels and content types follow): openpyxl still parses it."""
    data = xlsx_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        rels = zf.read("xl/_rels/workbook.xml.rels").replace(b"sheet1.xml", b"sheet1.dat")
        types = zf.read("[Content_Types].xml").replace(b"sheet1.xml", b"sheet1.dat")
    sheet = _dtd_xml("worksheet", _SHEET_WITH.format("xxe"), XXE)
    return _write(
        directory,
        "xxe_renamed.xlsx",
        rezip(
            data,
            {"xl/_rels/workbook.xml.rels": rels, "[Content_Types].xml": types},
            drop=(SHEET,),
            add={"xl/worksheets/sheet1.dat": sheet},
        ),
    )


def dtd_after_padding(directory: Path) -> Path:
    """The DTD pushed past the first 4 KiB by a comment in the prolog."""
    pad = "<!--" + "x" * 8000 + "-->"
    return _with_part(directory, "padded_dtd.xlsx", STRINGS, _dtd_xml("sst", _SST_WITH.format("xxe"), pad + XXE))


def dtd_across_chunks(directory: Path) -> Path:
    """'<!DOCTYPE' split across the gate's 64 KiB inflate chunks (it starts at offset 65532)."""
    decl_len = len('<?xml version="1.0" encoding="UTF-8"?>\n')
    pad = "<!--" + "x" * (65532 - decl_len - 7) + "-->"
    return _with_part(directory, "split_dtd.xlsx", STRINGS, _dtd_xml("sst", _SST_WITH.format("xxe"), pad + XXE))


def dtd_utf16(directory: Path) -> Path:
    """Billion laughs in a UTF-16 part: the ASCII bytes '<!DOCTYPE' never appear."""
    xml = _dtd_xml("sst", _SST_WITH.format("lol9"), LAUGHS).decode().replace("UTF-8", "UTF-16")
    return _with_part(directory, "utf16_dtd.xlsx", STRINGS, xml.encode("utf-16"))


def zip_bomb_directory(directory: Path) -> Path:
    """An honest 2 GiB sheet (about 2 MB on disk): the central directory alone condemns it."""
    crc_2gib_zeros = 0x4DBDF21C  # zlib.crc32(bytes(2 GiB)); ~1 s to recompute, so kept here
    bomb = (SHEET, _zeros_deflated(2048), crc_2gib_zeros, 2048 * MiB)
    entries = _workbook_entries(skip=SHEET) + [bomb]
    return _write(directory, "bomb_directory.xlsx", raw_zip(entries))


def zip_bomb_lying(directory: Path) -> Path:
    """200 MiB of zeros whose headers claim 5,000 bytes: only inflating reveals it."""
    entries = _workbook_entries(skip=SHEET) + [(SHEET, _zeros_deflated(200), 0, 5000)]
    return _write(directory, "bomb_lying.xlsx", raw_zip(entries))


def zip_bomb_total(directory: Path) -> Path:
    """Three entries of 40 MiB declared, each with a plausible ratio: too much in total."""
    blob = random.Random(7).randbytes(210 * 1024)
    entries = _workbook_entries() + [(f"xl/media/image{i}.png", blob, 0, 40 * MiB) for i in range(3)]
    return _write(directory, "bomb_total.xlsx", raw_zip(entries))


def too_many_entries(directory: Path) -> Path:
    extra = {f"xl/media/m{i}.txt": b"" for i in range(2001)}
    return _write(directory, "many_entries.xlsx", rezip(xlsx_bytes(), add=extra))


Maker = Callable[[Path], Path]

CORPUS: dict[str, tuple[Maker, str | None]] = {
    "valid_openpyxl": (valid_openpyxl, None),
    "valid_xlsxwriter": (valid_xlsxwriter, None),
    "valid_xlsm": (valid_xlsm, None),
    "valid_ods": (valid_ods, None),
    "minimal_xls": (minimal_xls, None),
    "malformed_sheet_xml": (malformed_sheet_xml, None),
    "empty": (empty, "EMPTY_FILE"),
    "random_bytes": (random_bytes, "NOT_A_WORKBOOK"),
    "csv_renamed": (csv_renamed, "NOT_A_WORKBOOK"),
    "text_renamed": (text_renamed, "NOT_A_WORKBOOK"),
    "html_renamed": (html_renamed, "NOT_A_WORKBOOK"),
    "pdf_renamed": (pdf_renamed, "NOT_A_WORKBOOK"),
    "png_renamed": (png_renamed, "NOT_A_WORKBOOK"),
    "docx_renamed": (docx_renamed, "NOT_A_WORKBOOK"),
    "truncated_xlsx": (truncated_xlsx, "BROKEN_ZIP"),
    "crc_mismatch": (crc_mismatch, "BROKEN_ZIP"),
    "zip_without_workbook": (zip_without_workbook, "ZIP_NO_WORKBOOK"),
    "encrypted_ooxml": (encrypted_ooxml, "ENCRYPTED_WORKBOOK"),
    "encrypted_ole2_minimal": (encrypted_ole2_minimal, "ENCRYPTED_WORKBOOK"),
    "encrypted_xls_filepass": (encrypted_xls_filepass, "ENCRYPTED_WORKBOOK"),
    "ole2_word": (ole2_word, "OLE2_NOT_WORKBOOK"),
    "broken_ole2": (broken_ole2, "BROKEN_OLE2"),
    "billion_laughs_sheet": (billion_laughs_sheet, "XML_DTD"),
    "billion_laughs_shared_strings": (billion_laughs_shared_strings, "XML_DTD"),
    "xxe_sheet": (xxe_sheet, "XML_DTD"),
    "xxe_shared_strings": (xxe_shared_strings, "XML_DTD"),
    "xxe_renamed_part": (xxe_renamed_part, "XML_DTD"),
    "dtd_after_padding": (dtd_after_padding, "XML_DTD"),
    "dtd_across_chunks": (dtd_across_chunks, "XML_DTD"),
    "dtd_utf16": (dtd_utf16, "XML_DTD"),
    "zip_bomb_directory": (zip_bomb_directory, "ZIP_BOMB"),
    "zip_bomb_lying": (zip_bomb_lying, "ZIP_BOMB"),
    "zip_bomb_total": (zip_bomb_total, "ZIP_BOMB"),
    "too_many_entries": (too_many_entries, "ZIP_BOMB"),
}

LOOKS_LIKE = {  # details["looks_like"] expected for NOT_A_WORKBOOK / OLE2_NOT_WORKBOOK cases
    "random_bytes": "unknown",
    "csv_renamed": "csv",
    "text_renamed": "text",
    "html_renamed": "html",
    "pdf_renamed": "pdf",
    "png_renamed": "image",
    "docx_renamed": "word",
    "ole2_word": "word",
}


def build_corpus(directory: Path) -> dict[str, Path]:
    """Write every case into `directory`; returns name -> path."""
    return {name: maker(Path(directory)) for name, (maker, _) in CORPUS.items()}
