"""What every response and request of the portal goes through: headers, body limit, CSRF.

- Security headers on every response: a strict CSP (no script at all, styles from this origin),
  no MIME sniffing, no framing, no referrer (the path holds a private token), no caching of pages.
- The request body is counted while it streams in: more than the gate's 20 MB (plus the form's
  envelope) is answered 413 before the rest is read, whether or not Content-Length was sent.
- CSRF: double-submit. A page with a form sets a random cookie (SameSite=Strict, HttpOnly) and puts
  the same value in a hidden field; a POST whose field does not match the cookie is refused.
"""

from __future__ import annotations

import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..read.safety import MAX_FILE_BYTES
from .keys import same

MAX_BODY = MAX_FILE_BYTES + 64 * 1024  # the file plus the multipart envelope and the small fields
CSRF_COOKIE = "xltool_csrf"
CSRF_FIELD = "csrf"
HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        b"frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


class TooLarge(Exception):
    pass


class Guard:
    """ASGI middleware: security headers and the streaming body limit."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY) -> None:
        self.app, self.max_body = app, max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                have = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [h for h in HEADERS if h[0] not in have]
            await send(message)

        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_body):
            await _too_large(scope, receive, send_headers)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise TooLarge()
            return message

        try:
            await self.app(scope, counted, send_headers)
        except TooLarge:
            if not started:
                await _too_large(scope, receive, send_headers)


async def _too_large(scope: Scope, receive: Receive, send: Send) -> None:
    limit = MAX_FILE_BYTES // (1024 * 1024)
    text = f"上传的文件超过 {limit} MB，未接收。 The upload exceeds {limit} MB; not accepted.\n"
    response = PlainTextResponse(text, status_code=413, headers={"connection": "close"})
    await response(scope, receive, send)


def csrf_token(request: Request) -> str:
    """The CSRF value for a form on this page (the cookie's, or a new one to be set)."""
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)


def set_csrf(response: Response, token: str, secure: bool) -> None:
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure, path="/")


def csrf_ok(request: Request, form: Any) -> bool:
    cookie, field = request.cookies.get(CSRF_COOKIE, ""), form.get(CSRF_FIELD)
    return bool(cookie) and isinstance(field, str) and same(cookie, field)
