"""`xltool serve`: the upload portal on an archive (and `--links`: print every upload link)."""

from __future__ import annotations

import datetime as dt
import errno
import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from .common import Lang, LangOpt, SchemaOpt, _echo, _run, app

if TYPE_CHECKING:
    import socket

    from ..spec.roster import Org

PASSWORD_ENV = "XLTOOL_ADMIN_PASSWORD"


def _bad(zh: str, en: str, path: str | None = None) -> Exception:
    from ..base.errors import XltoolError

    return XltoolError("BAD_ARGUMENT", zh, en, path=path)


def _bind(host: str, port: int) -> socket.socket:
    """Bind before starting the server, so a port in use is one clear line, not a traceback."""
    import socket

    from ..base.errors import XltoolError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise _bad(f"无法解析地址“{host}”", f"cannot resolve host '{host}': {exc.strerror}") from None
    family, _t, _p, _c, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
    except OSError as exc:
        sock.close()
        code = "PORT_IN_USE" if exc.errno == errno.EADDRINUSE else "CANNOT_LISTEN"
        raise XltoolError(
            code, f"无法在 {host}:{port} 上监听：{exc.strerror}", f"cannot listen on {host}:{port}: {exc.strerror}"
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def portal_links(url: str, archive: Path | None, schema: str, year: int | None, orgs: list[Org]) -> dict[str, str]:
    """Each organisation's private upload link, from the key in the portal's archive."""
    from ..base.errors import XltoolError as Err
    from ..web.keys import load_key, upload_link

    if archive is None or year is None:
        raise Err("BAD_ARGUMENT", "--portal 须同时给出 --archive 和 --year", "--portal needs --archive and --year")
    if not url.startswith(("https://", "http://")):
        raise Err(
            "BAD_ARGUMENT", f"门户地址应以 https:// 开头：{url}", f"the portal URL must start with https://: {url}"
        )
    key = load_key(archive)
    return {o.name: upload_link(url, key, schema, year, o.name, o.code) for o in orgs}


@app.command()
def serve(
    archive: Path = typer.Option(
        ..., "--archive", help="档案目录（与 collect 共用）/ archive folder (shared with collect)"
    ),
    roster: Path | None = typer.Option(None, "--roster", help="应报单位名单 CSV / roster CSV"),
    year: int | None = typer.Option(None, "--year", help="报告年度，默认上一年 / report year (default: last year)"),
    schema: str | None = SchemaOpt,
    host: str = typer.Option("127.0.0.1", "--host", help="监听地址 / address to listen on"),
    port: int = typer.Option(8000, "--port", help="端口 / port"),
    base_url: str = typer.Option("", "--base-url", help="对外地址，如 https://report.example.gov.cn / public URL"),
    deadline: str = typer.Option("", "--deadline", help="报送截止日期 YYYY-MM-DD（名单未给出时）/ deadline"),
    links: bool = typer.Option(False, "--links", help="打印各单位的上传链接后退出 / print every upload link and exit"),
    rotate_key: bool = typer.Option(
        False, "--rotate-key", help="更换密钥，旧链接全部失效 / new key: old links stop working"
    ),
    lang: Lang = LangOpt,
) -> None:
    """启动在线报送门户（乡镇上传即得校验结果）。 Run the upload portal on an archive.

    The county password comes from the environment variable XLTOOL_ADMIN_PASSWORD; without it a random
    one is made and printed at start-up."""

    def body() -> int:
        import secrets

        from ..spec.identity import parse_date
        from ..web.keys import admin_cookie, load_key
        from ..web.setup import open_portal

        if not 1 <= port <= 65535:
            raise _bad(f"端口 {port} 无效", f"port {port} is not valid")
        the_year = year if year is not None else dt.date.today().year - 1
        due = parse_date(deadline, "--deadline").isoformat() if deadline.strip() else ""
        url = base_url or f"http://{host if ':' not in host else f'[{host}]'}:{port}"
        key = load_key(archive, rotate=rotate_key)
        password = os.environ.get(PASSWORD_ENV) or ""
        generated = not password
        password = password or secrets.token_urlsafe(12)
        portal, settings = open_portal(archive, roster, schema, the_year, key, admin_cookie(key, password), url, due)
        if links:
            for member in portal.members.values():
                _echo(f"{member.org.name}\t{portal.link(member)}")
            return 0
        sock = _bind(host, port)
        import uvicorn

        from ..web.app import create_app

        zh = lang is Lang.zh
        _echo(
            f"在线报送门户：{url}/ （{portal.year}年度，{len(portal.members)} 个单位；县级页面 {url}/admin）"
            if zh
            else f"upload portal: {url}/ ({portal.year}, {len(portal.members)} organisations; county page {url}/admin)"
        )
        if generated:
            _echo(
                f"县级页面密码（本次启动随机生成；可用环境变量 {PASSWORD_ENV} 指定）：{password}"
                if zh
                else f"county page password (random for this run; set {PASSWORD_ENV} to choose one): {password}"
            )
        config = uvicorn.Config(
            create_app(portal, settings), log_level="warning", proxy_headers=True, server_header=False
        )
        uvicorn.Server(config).run(sockets=[sock])
        return 0

    _run(body, lang)
