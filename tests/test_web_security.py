"""The portal refuses what it must, with the right status, and then nothing is archived.

One `xltool serve` (a real server on a free loopback port) for the module; each hostile request is
followed by a check that the archive's files and index rows are exactly what they were.
"""

from __future__ import annotations

import os
import select
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hostile_files import zip_bomb_directory, zip_bomb_lying
from web_support import (
    PASSWORD,
    Server,
    archive_files,
    csrf_of,
    index_rows,
    running,
    towns,
    upload,
    workbook,
    write_roster,
)

from xltool.web.security import MAX_BODY

ORGS = towns(3)
A, B = ORGS[0], ORGS[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("portal-security")
    with running(root / "档案", write_roster(root / "roster.csv", ORGS)) as s:
        # B has reported (with an error, so it has a feedback workbook) before the attacks start
        with httpx.Client() as c:
            r = upload(c, s.links[B[0]], "b.xlsx", workbook(B, r3=True))
            assert r.status_code == 200, r.text
        yield s


def snapshot(s: Server) -> dict[str, Any]:
    return {
        "files": archive_files(s.archive),
        **{t: index_rows(s.archive, t) for t in ("submissions", "receipts", "reads")},
    }


@pytest.fixture
def unchanged(server: Server) -> Iterator[None]:
    before = snapshot(server)
    yield
    assert snapshot(server) == before


def b_submission(server: Server) -> dict[str, Any]:
    (row,) = [r for r in index_rows(server.archive, "submissions") if r["org_name"] == B[0]]
    return row


def test_key_file_is_owner_only(server: Server) -> None:
    mode = stat.S_IMODE(os.stat(server.archive / "portal.key").st_mode)
    assert mode == 0o600


def test_unknown_token_is_404(server: Server, unchanged: None) -> None:
    with httpx.Client() as c:
        link = server.links[A[0]]
        bad = link[:-4] + ("AAAA" if not link.endswith("AAAA") else "BBBB")
        assert c.get(bad).status_code == 404
        assert c.post(bad + "/upload", files={"file": ("a.xlsx", workbook(A))}).status_code == 404
        assert c.get(server.url + "/o/").status_code == 404


def test_another_organisations_file_through_my_link_is_refused(server: Server, unchanged: None) -> None:
    with httpx.Client() as c:
        r = upload(c, server.links[A[0]], "b.xlsx", workbook(B, 7))
    assert r.status_code == 422
    assert f"此文件属于“{B[0]}”，不是本单位（{A[0]}）的报告" in r.text


def test_my_link_cannot_see_another_organisations_files(server: Server, unchanged: None) -> None:
    sha = b_submission(server)["sha256"]
    with httpx.Client() as c:
        own = c.get(f"{server.links[B[0]]}/file/{sha}/feedback")
        assert own.status_code == 200 and own.content[:2] == b"PK"
        assert c.get(f"{server.links[A[0]]}/file/{sha}/feedback").status_code == 404
        page = c.get(server.links[A[0]])
    assert page.status_code == 200
    assert B[0] not in page.text and sha[:8] not in page.text


@pytest.mark.parametrize("cookie", [None, "wrong", "x" * 43])
def test_county_pages_need_the_admin_secret(server: Server, unchanged: None, cookie: str | None) -> None:
    with httpx.Client(cookies={"xltool_admin": cookie} if cookie else None) as c:
        for path in (
            "/admin",
            "/admin/org/2",
            "/admin/status.xlsx",
            f"/admin/file/{b_submission(server)['sha256']}/report",
        ):
            r = c.get(server.url + path)
            assert r.status_code == 401, path
            assert B[0] not in r.text


def test_wrong_password_is_401_and_right_one_opens_the_county_page(server: Server, unchanged: None) -> None:
    with httpx.Client() as c:
        token = csrf_of(c, server.url + "/admin")
        assert c.post(server.url + "/admin/login", data={"csrf": token, "password": "guess"}).status_code == 401
        assert "xltool_admin" not in c.cookies
        assert c.post(server.url + "/admin/login", data={"password": PASSWORD}).status_code == 403  # no CSRF
        r = c.post(server.url + "/admin/login", data={"csrf": token, "password": PASSWORD})
        assert r.status_code == 303
        page = c.get(server.url + "/admin")
        feedback = c.get(server.url + "/admin/org/2/feedback")
        assert c.get(server.url + "/admin/download/summary.xlsx").status_code == 404  # nothing accepted yet
        assert c.get(server.url + "/admin/download/../../portal.key").status_code == 404
        assert c.get(server.url + "/admin/org/1/current").status_code == 404  # A has not reported
    assert page.status_code == 200 and B[0] in page.text
    assert feedback.status_code == 200 and feedback.content[:2] == b"PK"


def test_upload_without_or_with_a_wrong_csrf_token_is_403(server: Server, unchanged: None) -> None:
    link = server.links[A[0]]
    with httpx.Client() as c:
        assert c.post(link + "/upload", files={"file": ("a.xlsx", workbook(A))}).status_code == 403
        csrf_of(c, link)
        r = c.post(link + "/upload", data={"csrf": "forged"}, files={"file": ("a.xlsx", workbook(A))})
        assert r.status_code == 403


def _raw_upload(server: Server, link: str, token: str, size: int, chunked: bool) -> bytes:
    """POST a `size`-byte file on a raw socket, reading the answer as soon as one arrives (the
    server answers 413 and closes without reading the rest, which a normal client sees as a reset)."""
    path = link.removeprefix(server.url) + "/upload"
    head = (
        b'--xb\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n' + token.encode() + b"\r\n"
        b'--xb\r\nContent-Disposition: form-data; name="file"; filename="big.xlsx"\r\n\r\n'
    )
    tail = b"\r\n--xb--\r\n"
    framing = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: %d" % (len(head) + size + len(tail))
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(
            b"POST " + path.encode() + b" HTTP/1.1\r\nHost: " + host.encode() + b"\r\n"
            b"Content-Type: multipart/form-data; boundary=xb\r\nCookie: xltool_csrf="
            + token.encode()
            + b"\r\n"
            + framing
            + b"\r\n\r\n"
        )
        body, sent = [head] + [b"\0" * (1 << 16)] * (size >> 16) + [tail], 0
        if not chunked:  # the declared length alone must be refused: wait for that answer first
            select.select([sock], [], [], 10)
        for piece in body:
            if select.select([sock], [], [], 0)[0]:
                break
            if chunked and sent > MAX_BODY:
                # stop before the end: the server must answer without the body being complete (and
                # a server closing with our bytes unread would reset the connection under the answer)
                break
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            except OSError:
                break
            sent += len(piece)
        answer = b""
        while piece := sock.recv(65536):
            answer += piece
    if not chunked:
        assert sent < size  # refused on the declared length, before the file was sent
    return answer


@pytest.mark.parametrize("chunked", [False, True])
def test_25_mb_upload_is_413_while_streaming(server: Server, unchanged: None, chunked: bool) -> None:
    link = server.links[A[0]]
    with httpx.Client() as c:
        token = csrf_of(c, link)
    answer = _raw_upload(server, link, token, 25 * 1024 * 1024, chunked)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert "上传的文件超过 20 MB，未接收".encode() in answer


@pytest.mark.parametrize("make", [zip_bomb_directory, zip_bomb_lying])
def test_zip_bomb_is_refused(server: Server, unchanged: None, tmp_path: Path, make: Any) -> None:
    with httpx.Client() as c:
        r = upload(c, server.links[A[0]], "报告.xlsx", make(tmp_path).read_bytes())
    assert r.status_code == 422
    assert "[ZIP_BOMB]" not in r.text and "未接收" in r.text


@pytest.mark.parametrize(
    "name", ["../../etc/passwd.xlsx", "..\\..\\boot.xlsx", "/tmp/x.xlsx", "报告/../../x.xlsx", ".."]
)
def test_path_traversal_names_are_refused(server: Server, unchanged: None, name: str) -> None:
    with httpx.Client() as c:
        r = upload(c, server.links[A[0]], name, workbook(A, 3))
    assert r.status_code == 400
    assert "文件名不安全" in r.text


def test_not_a_workbook_is_refused(server: Server, unchanged: None) -> None:
    with httpx.Client() as c:
        r = upload(c, server.links[A[0]], "报告.xlsx", "不是表格".encode())
    assert r.status_code == 422


def test_security_headers(server: Server) -> None:
    with httpx.Client() as c:
        for path in ("/", server.links[A[0]].removeprefix(server.url), "/admin", "/nowhere"):
            h = c.get(server.url + path).headers
            assert h["x-content-type-options"] == "nosniff", path
            assert h["x-frame-options"] == "DENY"
            assert "frame-ancestors 'none'" in h["content-security-policy"]
            assert "script-src" not in h["content-security-policy"]  # default-src 'none': no script at all
            assert "server" not in h
