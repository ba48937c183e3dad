"""The portal's secrets: one random key kept in the archive, everything else derived from it.

Upload links carry an HMAC of (schema, year, organisation) under the key, so a link can be printed
again at any time, cannot be guessed (192 bits), and all links are revoked at once by rotating the
key. The key file is created owner-only (0600) and never served.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from ..base.errors import XltoolError

KEY_FILE = "portal.key"
TOKEN_BYTES = 24  # 192 bits, 32 URL-safe characters


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _write_owner_only(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".tmp-{secrets.token_hex(8)}-{path.name}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def load_key(archive: Path, *, rotate: bool = False) -> bytes:
    """The archive's portal key, created on first use (or replaced when `rotate`)."""
    if not archive.is_dir():
        raise XltoolError(
            "NO_ARCHIVE",
            f"归档目录不存在：{archive}（请先创建该目录或运行 collect）",
            f"the archive folder does not exist: {archive} (create it or run collect first)",
            path=str(archive),
        )
    path = archive / KEY_FILE
    if rotate or not path.is_file():
        _write_owner_only(path, secrets.token_hex(32).encode("ascii") + b"\n")
    try:
        if path.stat().st_mode & 0o077:
            os.chmod(path, 0o600)
        text = path.read_text(encoding="ascii").strip()
        key = bytes.fromhex(text)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise XltoolError(
            "BAD_PORTAL_KEY",
            f"门户密钥文件无法读取：{path}（可用 --rotate-key 重新生成，旧链接将失效）",
            f"cannot read the portal key {path} (--rotate-key makes a new one; old links stop working)",
            path=str(path),
        ) from exc
    if len(key) < 32:
        raise XltoolError(
            "BAD_PORTAL_KEY", f"门户密钥过短：{path}", f"the portal key is too short: {path}", path=str(path)
        )
    return key


def _mac(key: bytes, *parts: str) -> bytes:
    return hmac.new(key, "\x1f".join(parts).encode("utf-8"), hashlib.sha256).digest()


def org_token(key: bytes, schema: str, year: int, org_key: str) -> str:
    """The private token of one organisation's upload link."""
    return _b64(_mac(key, "upload-link", schema, str(year), org_key)[:TOKEN_BYTES])


def upload_link(base_url: str, key: bytes, schema: str, year: int, name: str, code: str) -> str:
    """The link printed for an organisation (`serve --links`, `template --portal`, the manifest)."""
    from ..collect.orgs import org_key

    return f"{base_url.rstrip('/')}/o/{org_token(key, schema, year, org_key(name, code))}"


def admin_cookie(key: bytes, password: str) -> str:
    """The county session cookie: proves the password was given, without storing it."""
    return _b64(_mac(key, "admin-session", password))


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
