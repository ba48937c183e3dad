#!/usr/bin/python3
"""Type values into a workbook with LibreOffice, like a user, and save as xlsx.

Run with the *system* python (it needs the ``uno`` module of python3-uno);
tests/libreoffice.py:edit_like_user() is the intended caller.

    /usr/bin/python3 tests/lo_uno_edit.py --soffice /usr/bin/soffice \
        --profile-url file:///tmp/profile --src in.xlsx --dst out.xlsx \
        --edits edits.json [--timeout 110] [--via api|ui]

edits.json: ``[{"sheet": "表1", "cell": "B3", "value": "12"}, ...]``; value
null clears the cell.  Starts its own headless soffice on a private pipe,
always terminates it.  Exit codes: 0 ok, 3 edit of a locked cell on a
protected sheet (nothing saved), 1 any other failure (message on stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import uuid

import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException

EXIT_LOCKED = 3


class Failure(Exception):
    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def _prop(name, value):
    p = PropertyValue()
    p.Name = name
    p.Value = value
    return p


def _const(name):
    return uno.getConstantByName(name)


def _on_signal(signum, frame):
    raise Failure(f"interrupted by signal {signum} (timeout?)")


def _start_soffice(soffice: str, profile_url: str, pipe: str) -> subprocess.Popen:
    return subprocess.Popen(
        [
            soffice,
            f"-env:UserInstallation={profile_url}",
            "--headless",
            "--invisible",
            "--norestore",
            "--nologo",
            "--nodefault",
            "--nolockcheck",
            f"--accept=pipe,name={pipe};urp;StarOffice.ComponentContext",
        ],
        stdin=subprocess.DEVNULL,
        stdout=sys.stderr,
        start_new_session=True,  # own process group: wrapper + soffice.bin
    )


def _connect(proc: subprocess.Popen, pipe: str, deadline: float):
    local = uno.getComponentContext()
    resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
    url = f"uno:pipe,name={pipe};urp;StarOffice.ComponentContext"
    delay = 0.05
    while True:
        try:
            return resolver.resolve(url)
        except NoConnectException:
            if proc.poll() is not None:
                raise Failure(f"soffice exited with {proc.returncode} before accepting connections") from None
            if time.monotonic() > deadline:
                raise Failure("could not connect to soffice (timeout)") from None
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)


class Typist:
    """Applies one edit the way Calc's input line would."""

    def __init__(self, ctx, doc) -> None:
        self.ctx = ctx
        self.doc = doc
        self.dispatcher = None
        self.formats = doc.NumberFormats
        self.formatter = ctx.ServiceManager.createInstanceWithContext("com.sun.star.util.NumberFormatter", ctx)
        self.formatter.attachNumberFormatsSupplier(doc)
        self.VALUE = uno.Enum("com.sun.star.table.CellContentType", "VALUE")
        self.EMPTY = uno.Enum("com.sun.star.table.CellContentType", "EMPTY")
        nf = "com.sun.star.util.NumberFormat."
        self.DEFINED = _const(nf + "DEFINED")
        self.NUMBER = _const(nf + "NUMBER")
        self.LOGICAL = _const(nf + "LOGICAL")
        self.TEXT = _const(nf + "TEXT")
        self.OVERWRITABLE = {self.NUMBER, _const(nf + "DATE"), _const(nf + "TIME"), _const(nf + "DATETIME")}
        cf = "com.sun.star.sheet.CellFlags."
        self.CLEAR = _const(cf + "VALUE") | _const(cf + "DATETIME") | _const(cf + "STRING") | _const(cf + "FORMULA")

    def sheet(self, name: str):
        sheets = self.doc.Sheets
        if not sheets.hasByName(name):
            raise Failure(f"no sheet {name!r}; sheets are {list(sheets.ElementNames)!r}")
        return sheets.getByName(name)

    def cell(self, sheet_name: str, ref: str):
        sheet = self.sheet(sheet_name)
        try:
            rng = sheet.getCellRangeByName(ref)
        except Exception as exc:  # IllegalArgument / RuntimeException
            raise Failure(f"bad cell reference {sheet_name}!{ref}: {exc}") from None
        addr = rng.RangeAddress
        if (addr.StartColumn, addr.StartRow) != (addr.EndColumn, addr.EndRow):
            raise Failure(f"{sheet_name}!{ref} is a range, not a single cell")
        return sheet, sheet.getCellByPosition(addr.StartColumn, addr.StartRow)

    def type(self, sheet_name: str, ref: str, value: str | None, via: str = "api") -> None:
        sheet, cell = self.cell(sheet_name, ref)
        if value is None:
            cell.clearContents(self.CLEAR)
            if cell.getType() != self.EMPTY:
                raise Failure(f"LibreOffice refused to clear {sheet_name}!{ref}")
        elif via == "ui":
            self.enter_ui(sheet, ref, value)
        else:
            self.enter(cell, value)

    def enter_ui(self, sheet, ref: str, text: str) -> None:
        """The real input path (what pressing Enter runs).  Faithful by
        definition, but any dialog it raises (protection, validation error)
        aborts a headless LibreOffice -- so it only serves to verify
        enter() (see test_libreoffice_harness.py)."""
        if self.dispatcher is None:
            self.dispatcher = self.ctx.ServiceManager.createInstanceWithContext(
                "com.sun.star.frame.DispatchHelper", self.ctx
            )
        controller = self.doc.CurrentController
        controller.setActiveSheet(sheet)
        frame = controller.Frame
        self.dispatcher.executeDispatch(frame, ".uno:GoToCell", "", 0, (_prop("ToPoint", ref),))
        self.dispatcher.executeDispatch(frame, ".uno:EnterString", "", 0, (_prop("StringName", text),))

    def enter(self, cell, text: str) -> None:
        """What Calc's input line does with ``text`` (checked against the
        real UI path, .uno:EnterString, in test_libreoffice_harness.py).

        XCell.setFormula alone is NOT typing: it parses numbers and dates
        with the en-US formatter instead of the document locale ("2024/1/5"
        stays text), ignores a Text (@) cell format ("12" becomes a number),
        sets the cell to @ for "'12", and never applies the number format
        the UI derives from the input (dates would be bare serials).
        """
        old = cell.NumberFormat
        old_fmt = self.formats.getByKey(old)
        old_type = old_fmt.Type & ~self.DEFINED
        if old_type == self.TEXT:
            self._set_text(cell, old, text)  # Text (@) cell: all literal
            return
        if text.startswith("=") and len(text) > 1:
            cell.setFormula(text)
            return
        if text.startswith("'"):
            # The apostrophe escapes input that would be a number/date (and
            # is dropped); otherwise ("'abc", "'=A1") it is part of the text.
            rest = text[1:]
            self._set_text(cell, old, rest if self._detect(old, rest) is not None else text)
            return
        new = self._detect(old, text)
        if new is None:
            self._set_text(cell, old, text)
            return
        cell.setValue(self.formatter.convertStringToNumber(old, text))
        # Calc's rule (#i22345, ScColumn::ParseString): apply the recognised
        # format only if the cell had the *standard* number/date/time/
        # datetime format, or if the input is a boolean.
        if new == old:
            return
        new_type = self.formats.getByKey(new).Type & ~self.DEFINED
        overwrite = new_type == self.LOGICAL
        if old_type in self.OVERWRITABLE:
            std = self.formats.getStandardFormat(old_type, old_fmt.Locale)
            overwrite = overwrite or old == std
        if overwrite:
            cell.NumberFormat = new

    def _set_text(self, cell, old_format: int, text: str) -> None:
        cell.setString(text)
        if cell.NumberFormat != old_format:  # setString("12") switches to @
            cell.NumberFormat = old_format

    def _detect(self, key: int, text: str) -> int | None:
        try:
            return self.formatter.detectNumberFormat(key, text)
        except Exception:  # NotNumericException: it is text
            return None


def run(args) -> None:
    edits = json.loads(open(args.edits, encoding="utf-8").read())
    deadline = time.monotonic() + args.timeout
    pipe = f"xltool_uno_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    proc = _start_soffice(args.soffice, args.profile_url, pipe)
    desktop = doc = None
    try:
        ctx = _connect(proc, pipe, deadline)
        desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
        doc = desktop.loadComponentFromURL(
            uno.systemPathToFileUrl(os.path.abspath(args.src)),
            "_blank",
            0,
            (_prop("Hidden", True),),
        )
        if doc is None or not doc.supportsService("com.sun.star.sheet.SpreadsheetDocument"):
            raise Failure(f"LibreOffice could not open {args.src} as a spreadsheet")
        typist = Typist(ctx, doc)

        # A user cannot type into a locked cell of a protected sheet; UNO's
        # setFormula would silently do it anyway, so refuse before editing.
        locked = []
        for e in edits:
            sheet, cell = typist.cell(e["sheet"], e["cell"])
            if sheet.isProtected() and cell.CellProtection.IsLocked:
                locked.append(f"{e['sheet']}!{e['cell']}")
        if locked:
            raise Failure(
                "cells are locked on a protected sheet (a user could not edit them): " + ", ".join(locked),
                EXIT_LOCKED,
            )

        for e in edits:
            typist.type(e["sheet"], e["cell"], e["value"], args.via)
        doc.calculateAll()
        doc.storeToURL(
            uno.systemPathToFileUrl(os.path.abspath(args.dst)),
            (_prop("FilterName", "Calc MS Excel 2007 XML"), _prop("Overwrite", True)),
        )
    finally:
        _shutdown(proc, desktop, doc)


def _shutdown(proc, desktop, doc) -> None:
    signal.alarm(0)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # finish cleaning up first
    for step in (
        lambda: doc is not None and doc.close(True),
        lambda: desktop is not None and desktop.terminate(),
    ):
        try:
            step()
        except Exception:
            pass  # the bridge may already be gone; the kill below is the backstop
    if desktop is not None:  # asked to quit: give it a moment
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # leftovers of the group, if any
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--soffice", default="soffice")
    ap.add_argument("--profile-url", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--dst", required=True)
    ap.add_argument("--edits", required=True)
    ap.add_argument("--timeout", type=float, default=110.0)
    ap.add_argument("--via", choices=("api", "ui"), default="api")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGALRM, _on_signal)
    signal.alarm(max(int(args.timeout), 1))
    try:
        run(args)
    except Failure as exc:
        print(f"lo_uno_edit: {exc}", file=sys.stderr)
        return exc.code
    except Exception as exc:  # UNO exceptions etc.
        print(f"lo_uno_edit: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
