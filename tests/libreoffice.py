"""LibreOffice as a second, independent client of the workbooks we produce.

Used by the test-suite to check that our files survive a real spreadsheet
application: LibreOffice opens them, *recalculates every formula* (our
templates carry formulas whose cached values are stale on purpose), converts
them to other formats, or has a "user" type values into input cells and save.

API
---
``soffice_available()``            -- is a usable ``soffice`` on PATH?
``uno_available()``                -- can ``/usr/bin/python3`` ``import uno``?
``convert(src, out_dir, fmt)``     -- ``soffice --convert-to``; fmt in FORMATS.
``recalc_resave(src, dst)``        -- open, recalculate, save as xlsx at dst.
``edit_like_user(src, dst, edits)``-- type values into cells via UNO, save xlsx.

All LibreOffice runs in this process share ONE private user profile (created
lazily, removed at exit) so the expensive first start happens once, a desktop
LibreOffice of the developer is never touched, and the profile can be
preseeded with the settings we need (always recalculate on load; zh-CN locale
so number/date recognition matches our users and does not depend on $LANG).
Runs are serialised with a lock because a profile cannot be shared by two
concurrently running instances (pytest-xdist workers are separate processes,
hence separate profiles).
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

__all__ = [
    "convert_many",
    "FORMATS",
    "LOCALE",
    "LibreOfficeError",
    "LockedCellError",
    "convert",
    "edit_like_user",
    "recalc_resave",
    "soffice_available",
    "uno_available",
]

SYSTEM_PYTHON = "/usr/bin/python3"
UNO_HELPER = Path(__file__).with_name("lo_uno_edit.py")

#: fmt -> argument for ``--convert-to``.  (PNG is not offered: the Calc PNG
#: export of LibreOffice 7.4 fails in headless mode with "Please verify input
#: parameters", so there is nothing reliable to wrap.)
FORMATS: dict[str, str] = {
    "xlsx": "xlsx:Calc MS Excel 2007 XML",
    "xls": "xls:MS Excel 97",
    "ods": "ods",
    "pdf": "pdf:calc_pdf_Export",
}

#: Locale of the private profile: what LibreOffice uses to recognise typed
#: numbers/dates ("2024-01-05", "1,234", "50%") and for default formats.
LOCALE = "zh-CN"

DEFAULT_TIMEOUT = 120.0

# Calc/Formula/Load/*RecalcMode: 0 = always recalculate, 1 = never, 2 = prompt
# (the default is "never" for files not written by LibreOffice, and a prompt is
# "no" when headless -- so stale cached values would survive without this).
_REGISTRY = f"""<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" \
xmlns:xs="http://www.w3.org/2001/XMLSchema" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">\
<prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load">\
<prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Setup/L10N">\
<prop oor:name="ooSetupSystemLocale" oor:op="fuse"><value>{LOCALE}</value></prop></item>
</oor:items>
"""


class LibreOfficeError(RuntimeError):
    """A LibreOffice run failed; the message carries the command and output."""


class LockedCellError(LibreOfficeError):
    """edit_like_user() was asked to type into a locked cell of a protected
    sheet -- something a real user cannot do either."""


_lock = threading.RLock()
_profile_dir: Path | None = None


@functools.cache
def _soffice() -> str | None:
    return shutil.which("soffice")


def soffice_available() -> bool:
    """True if ``soffice`` is on PATH (LibreOffice installed)."""
    return _soffice() is not None


@functools.cache
def uno_available() -> bool:
    """True if the system python can ``import uno`` (python3-uno installed)
    and soffice is available -- i.e. edit_like_user() can work."""
    if not soffice_available() or not os.access(SYSTEM_PYTHON, os.X_OK):
        return False
    try:
        proc = subprocess.run(
            [SYSTEM_PYTHON, "-c", "import uno"],
            env=_helper_env(),
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def _helper_env() -> dict[str, str]:
    env = dict(os.environ)
    for var in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV"):
        env.pop(var, None)
    return env


def _profile() -> Path:
    """The per-process private LibreOffice profile (created on first use)."""
    global _profile_dir
    with _lock:
        if _profile_dir is None:
            root = Path(tempfile.mkdtemp(prefix="xltool-lo-profile-"))
            (root / "user").mkdir()
            (root / "user" / "registrymodifications.xcu").write_text(_REGISTRY, encoding="utf-8")
            atexit.register(shutil.rmtree, root, ignore_errors=True)
            _profile_dir = root
        return _profile_dir


def _profile_url() -> str:
    return _profile().as_uri()  # file:///tmp/xltool-lo-profile-xxxx


def _require_soffice() -> str:
    exe = _soffice()
    if exe is None:
        raise LibreOfficeError("soffice not found on PATH (install libreoffice-calc-nogui)")
    return exe


def _clean_output(text: str) -> str:
    # Noise printed on every start on machines without Java.
    lines = [ln for ln in text.splitlines() if "failed to launch javaldx" not in ln]
    return "\n".join(lines).strip()


def _kill_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _run(cmd: list[str], timeout: float, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run cmd in its own process group; on timeout kill the whole group
    (soffice is a wrapper that spawns soffice.bin)."""
    with _lock:
        (_profile() / "user" / ".lock").unlink(missing_ok=True)  # stale after a kill
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
            env=env,
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc, signal.SIGTERM)  # lets lo_uno_edit.py clean up
            try:
                out, err = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                _kill_group(proc, signal.SIGKILL)
                out, err = proc.communicate()
            raise LibreOfficeError(
                f"timed out after {timeout:g}s: {' '.join(cmd)}\n"
                f"stdout: {_clean_output(out)}\nstderr: {_clean_output(err)}"
            ) from None
        return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def convert(src: Path, out_dir: Path, fmt: str, *, timeout: float = DEFAULT_TIMEOUT) -> Path:
    """Convert src with ``soffice --headless --convert-to``; returns
    ``out_dir / f"{src.stem}.{fmt}"``.  Formulas are recalculated on load.

    Raises ValueError for an unknown fmt or if the output would overwrite src,
    LibreOfficeError (with soffice's output) if no output file was produced.
    """
    if not Path(src).is_file():
        raise FileNotFoundError(src)
    return convert_many([src], out_dir, fmt, timeout=timeout)[0]


def convert_many(srcs: list[Path], out_dir: Path, fmt: str, *, timeout: float = DEFAULT_TIMEOUT) -> list[Path]:
    """Convert several files in ONE soffice run (one start-up for a whole batch)."""
    if fmt not in FORMATS:
        raise ValueError(f"unsupported format {fmt!r}; expected one of {sorted(FORMATS)}")
    srcs = [Path(s).resolve() for s in srcs]
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    targets = [out_dir / f"{s.stem}.{fmt}" for s in srcs]
    if any(t in srcs for t in targets):
        raise ValueError(f"converting into {out_dir} would overwrite the source")
    for t in targets:
        t.unlink(missing_ok=True)  # soffice exits 0 even on failure: judge by the files
    cmd = [
        _require_soffice(),
        f"-env:UserInstallation={_profile_url()}",
        "--headless",
        "--norestore",
        "--nologo",
        "--nolockcheck",
        "--convert-to",
        FORMATS[fmt],
        "--outdir",
        str(out_dir),
        *map(str, srcs),
    ]
    proc = _run(cmd, timeout + 5 * (len(srcs) - 1))
    stderr = _clean_output(proc.stderr)
    missing = [t.name for t in targets if not t.is_file() or t.stat().st_size == 0]
    if proc.returncode != 0 or missing or "Error:" in stderr:
        raise LibreOfficeError(
            f"soffice failed to convert {', '.join(missing or [s.name for s in srcs])} to {fmt} (exit {proc.returncode})\n"
            f"command: {' '.join(cmd)}\nstdout: {_clean_output(proc.stdout)}\nstderr: {stderr}"
        )
    return targets


def recalc_resave(src: Path, dst: Path, *, timeout: float = DEFAULT_TIMEOUT) -> Path:
    """Open src in LibreOffice, recalculate all formulas, save as xlsx to dst."""
    dst = Path(dst)
    with tempfile.TemporaryDirectory(prefix="xltool-lo-out-") as tmp:
        out = convert(src, Path(tmp), "xlsx", timeout=timeout)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(out), dst)
    return dst


def edit_like_user(
    src: Path,
    dst: Path,
    edits: dict[tuple[str, str], str | None],
    *,
    timeout: float = DEFAULT_TIMEOUT,
    via: str = "api",
) -> None:
    """Open src in LibreOffice (via UNO), type each value into (sheet, cell)
    the way a user would, recalculate, and save as xlsx to dst.

    Typing semantics are Calc's input line in the profile's zh-CN locale:
    "12" -> number 12, "12件" -> text, "'12" -> text "12", "=A1+1" -> formula,
    "2024/1/5" -> date serial with a date format (if the cell had a standard
    format), anything into a Text (@) cell -> text.  None clears the cell's
    content (like the Delete key: values, text, formulas; formats kept).
    XCell.setFormula alone differs from typing (en-US parsing, ignores @), so
    lo_uno_edit.py emulates the UI with the document's number formatter;
    via="ui" instead drives the real input path (.uno:EnterString) -- any
    dialog that raises (e.g. a validation error) aborts headless LibreOffice,
    so it exists only for the parity test.  Data validation is not enforced
    on the default path (like pasting).

    Sheet protection is left as it is.  Unlocked cells of a protected sheet are
    edited normally; a locked cell of a protected sheet raises LockedCellError
    (a user could not type there; UNO itself would silently write for set but
    silently ignore a clear, so we refuse up front).  Edits are applied in
    dict order.  src may equal dst.
    """
    if via not in ("api", "ui"):
        raise ValueError(f"via must be 'api' or 'ui', got {via!r}")
    payload = []
    for key, value in edits.items():
        if not (isinstance(key, tuple) and len(key) == 2 and all(isinstance(k, str) for k in key)):
            raise TypeError(f"edit key must be (sheet, cell), got {key!r}")
        if value is not None and not isinstance(value, str):
            raise TypeError(f"edit value for {key!r} must be str or None, got {value!r}")
        payload.append({"sheet": key[0], "cell": key[1], "value": value})
    if not uno_available():
        raise LibreOfficeError(f"{SYSTEM_PYTHON} cannot import uno (install python3-uno)")
    src = Path(src).resolve()
    if not src.is_file():
        raise FileNotFoundError(src)
    dst = Path(dst).resolve()
    with tempfile.TemporaryDirectory(prefix="xltool-lo-edit-") as tmp:
        edits_file = Path(tmp) / "edits.json"
        edits_file.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
        out = Path(tmp) / "out.xlsx"
        cmd = [
            SYSTEM_PYTHON,
            str(UNO_HELPER),
            "--soffice",
            _require_soffice(),
            "--profile-url",
            _profile_url(),
            "--src",
            str(src),
            "--dst",
            str(out),
            "--edits",
            str(edits_file),
            "--timeout",
            str(max(timeout - 10, 10)),
            "--via",
            via,
        ]
        start = time.monotonic()
        proc = _run(cmd, timeout, env=_helper_env())
        msg = (
            f"edit_like_user({src.name}) failed (exit {proc.returncode}, "
            f"{time.monotonic() - start:.1f}s)\nstdout: {_clean_output(proc.stdout)}\n"
            f"stderr: {_clean_output(proc.stderr)}"
        )
        if proc.returncode == 3:
            raise LockedCellError(msg)
        if proc.returncode != 0 or not out.is_file():
            raise LibreOfficeError(msg)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(out), dst)
