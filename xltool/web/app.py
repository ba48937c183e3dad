"""The portal's routes (Starlette): township pages behind private links, the county page behind
its own secret. Server-rendered HTML, no JavaScript; Chinese, or English with `?lang=en`.

    /o/<token>                    township page: state, template, upload form, verdict, history
    /o/<token>/upload             POST an upload (CSRF-checked, ≤ 20 MB while streaming)
    /o/<token>/template           its template, with the link on the 填报说明 sheet
    /o/<token>/file/<sha256>/feedback   a feedback workbook of one of its own submissions
    /admin                        county page (login form until the admin password is given)
    /admin/org/<n>, /admin/file/<sha256>/<feedback|report>, /admin/status.xlsx
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from ..base.errors import XltoolError
from ..collect.status import STATE_EN, STATE_ZH
from ..collect.uploads import UPLOAD_EXTS, Upload
from ..read.safety import MAX_FILE_BYTES
from .downloads import KINDS, download
from .keys import admin_cookie, same
from .portal import Member, Portal
from .queue import Settings, UploadQueue
from .security import CSRF_FIELD, Guard, csrf_ok, csrf_token, set_csrf

HERE = Path(__file__).resolve().parent
ADMIN_COOKIE = "xltool_admin"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_UNSAFE_NAME = re.compile(r"[/\\\x00-\x1f\x7f]|^\.\.?$")


def _lang(request: Request) -> str:
    return "en" if request.query_params.get("lang") == "en" else "zh"


def create_app(portal: Portal, settings: Settings) -> Starlette:
    templates = Jinja2Templates(directory=str(HERE / "templates"))  # autoescapes
    queue: UploadQueue | None = None

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        nonlocal queue
        queue = UploadQueue(settings)
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(queue.close)

    def page(request: Request, name: str, http_status: int = 200, **ctx: Any) -> Response:
        lang = _lang(request)
        token = csrf_token(request)
        ctx.update(
            lang=lang,
            q="?lang=en" if lang == "en" else "",
            csrf=token,
            csrf_field=CSRF_FIELD,
            t=lambda zh, en: zh if lang == "zh" else en,
            states=STATE_ZH if lang == "zh" else STATE_EN,
            portal=portal,
        )
        response = templates.TemplateResponse(request, name, ctx, status_code=http_status)
        set_csrf(response, token, request.url.scheme == "https")
        return response

    def member_of(request: Request) -> Member:
        member = portal.members.get(request.path_params["token"])
        if member is None:
            raise HTTPException(404)
        return member

    def township(request: Request, member: Member, status: int = 200, **ctx: Any) -> Response:
        return page(
            request, "township.html", status, member=member, row=portal.row_of(member),
            history=portal.history(member), link=portal.link(member), **ctx,
        )  # fmt: skip

    async def home(request: Request) -> Response:
        return page(request, "home.html")

    async def org_page(request: Request) -> Response:
        member = member_of(request)
        return await anyio.to_thread.run_sync(lambda: township(request, member))

    async def upload(request: Request) -> Response:
        member = member_of(request)
        async with request.form(max_files=1, max_fields=4) as form:  # closes the spooled upload
            refused, up = await _received(request, form, member)
        if refused is not None:
            return township(request, member, refused.pop("status"), refused=refused)
        assert queue is not None and up is not None
        try:
            done = await asyncio.wrap_future(queue.submit(up))
        except XltoolError as exc:  # ARCHIVE_BUSY: a long collect held the archive
            return township(request, member, 503, refused=exc.as_dict())
        if done.refused is not None:
            return township(request, member, 422, refused=done.refused)
        return await anyio.to_thread.run_sync(lambda: township(request, member, 200, verdict=done.sha256))

    async def template(request: Request) -> Response:
        member = member_of(request)
        data = await anyio.to_thread.run_sync(portal.template, member)
        name = f"{member.org.name}-{portal.year}年报模板.xlsx"
        return Response(data, media_type=XLSX, headers=_attachment(name))

    async def org_file(request: Request) -> Response:
        member = member_of(request)
        path = portal.file_of(member, request.path_params["sha"], "feedback")
        if path is None:
            raise HTTPException(404)
        return FileResponse(path, media_type=XLSX, filename=path.name)

    def admin_ok(request: Request) -> bool:
        return same(request.cookies.get(ADMIN_COOKIE, ""), portal.admin_cookie)

    def login(request: Request, status: int = 401, wrong: bool = False) -> Response:
        return page(request, "login.html", status, wrong=wrong)

    async def admin(request: Request) -> Response:
        if not admin_ok(request):
            return login(request)
        status = await anyio.to_thread.run_sync(portal.status)
        missing = [m for m in portal.members.values() if status.orgs[m.n - 1].state == "missing"]
        sheet = portal.archive / f"status-{portal.year}.xlsx"
        return page(request, "county.html", status=status, missing=missing, has_sheet=sheet.is_file())

    async def admin_login(request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=4)
        if not csrf_ok(request, form):
            return login(request, 403)
        password = form.get("password")
        if not isinstance(password, str) or not same(admin_cookie(portal.key, password), portal.admin_cookie):
            await asyncio.sleep(1.0)  # slows password guessing down to one try a second per connection
            return login(request, 401, wrong=True)
        response = RedirectResponse(f"/admin{'?lang=en' if _lang(request) == 'en' else ''}", status_code=303)
        response.set_cookie(
            ADMIN_COOKIE, portal.admin_cookie, httponly=True, samesite="strict",
            secure=request.url.scheme == "https", path="/admin",
        )  # fmt: skip
        return response

    async def admin_logout(request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=4)
        if not csrf_ok(request, form):
            return login(request, 403)
        response = RedirectResponse("/admin", status_code=303)
        response.delete_cookie(ADMIN_COOKIE, path="/admin")
        return response

    async def admin_org(request: Request) -> Response:
        if not admin_ok(request):
            return login(request)
        member = portal.by_n(request.path_params["n"])
        if member is None:
            raise HTTPException(404)
        history = await anyio.to_thread.run_sync(portal.history, member)
        return page(request, "org.html", member=member, row=portal.row_of(member), history=history)

    async def admin_file(request: Request) -> Response:
        if not admin_ok(request):
            return login(request)
        what = request.path_params["what"]
        path = portal.file_of(None, request.path_params["sha"], what) if what in ("feedback", "report") else None
        if path is None:
            raise HTTPException(404)
        return FileResponse(path, media_type=XLSX if what == "feedback" else "application/json", filename=path.name)

    async def admin_org_file(request: Request) -> Response:
        """The organisation's current accepted report, or the feedback on its latest file."""
        if not admin_ok(request):
            return login(request)
        member = portal.by_n(request.path_params["n"])
        row = None if member is None else await anyio.to_thread.run_sync(portal.row_of, member)
        what = request.path_params["what"]
        rel = (
            None if row is None else row.current if what == "current" else row.feedback if what == "feedback" else None
        )
        path = portal.archive / rel if rel else None
        if path is None or not path.is_file():
            raise HTTPException(404)
        return FileResponse(path, media_type=XLSX if what == "feedback" else "application/json", filename=path.name)

    async def admin_sheet(request: Request) -> Response:
        if not admin_ok(request):
            return login(request)
        path = portal.archive / f"status-{portal.year}.xlsx"
        if not path.is_file():
            raise HTTPException(404)
        return FileResponse(path, media_type=XLSX, filename=path.name)

    async def admin_download(request: Request) -> Response:
        if not admin_ok(request):
            return login(request)
        kind = request.path_params["kind"]
        data = await anyio.to_thread.run_sync(download, portal, kind) if kind in KINDS else None
        if data is None:
            raise HTTPException(404)
        return Response(data, media_type=KINDS[kind], headers=_attachment(f"{portal.year}-{kind}"))

    async def not_found(request: Request, exc: Exception) -> Response:
        code = exc.status_code if isinstance(exc, HTTPException) else 500
        return page(request, "error.html", code, code=code)

    routes = [
        Route("/", home),
        Route("/o/{token}", org_page),
        Route("/o/{token}/upload", upload, methods=["POST"]),
        Route("/o/{token}/template", template),
        Route("/o/{token}/file/{sha:str}/feedback", org_file),
        Route("/admin", admin),
        Route("/admin/login", admin_login, methods=["POST"]),
        Route("/admin/logout", admin_logout, methods=["POST"]),
        Route("/admin/org/{n:int}", admin_org),
        Route("/admin/org/{n:int}/{what:str}", admin_org_file),
        Route("/admin/file/{sha:str}/{what:str}", admin_file),
        Route("/admin/status.xlsx", admin_sheet),
        Route("/admin/download/{kind:str}", admin_download),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={HTTPException: not_found})
    app.add_middleware(Guard)
    return app


def _msg(status: int, code: str, zh: str, en: str) -> dict[str, Any]:
    return {"status": status, "error_code": code, "message_zh": zh, "message_en": en}


async def _received(request: Request, form: Any, member: Member) -> tuple[dict[str, Any] | None, Upload | None]:
    """The upload of a form, or why it is refused before any reading (with its HTTP status)."""
    if not csrf_ok(request, form):
        return _msg(
            403, "CSRF", "表单已过期，请刷新页面后重新上传", "the form has expired; reload the page and upload again"
        ), None
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        return _msg(400, "NO_FILE", "请选择要上传的文件", "choose a file to upload"), None
    if _UNSAFE_NAME.search(file.filename) or ".." in file.filename:
        zh, en = (
            "文件名不安全（含路径或控制字符），未接收",
            "unsafe file name (a path or control characters); not accepted",
        )
        return _msg(400, "UNSAFE_NAME", zh, en), None
    data = await file.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        return _msg(413, "TOO_LARGE", "文件超过 20 MB，未接收", "the file exceeds 20 MB; not accepted"), None
    ext = file.filename.rsplit(".", 1)[-1].lower() if "." in file.filename else ""
    sha = hashlib.sha256(data).hexdigest()
    return None, Upload(member.ref, data, sha, ext if ext in UPLOAD_EXTS else "xlsx")


def _attachment(name: str) -> dict[str, str]:
    from urllib.parse import quote

    ascii_name = "download" + name[name.rfind(".") :]
    return {"content-disposition": f"attachment; filename=\"{ascii_name}\"; filename*=utf-8''{quote(name)}"}
