"""Real components a test needs, and what their absence means.

`@pytest.mark.needs("soffice", "uno", ...)` names the system components (not Python packages) a test
runs against. Missing one skips the test on a developer's machine; with `CI=true` it fails instead,
because CI installs everything (.ci/run) and a skip there would hide a test that never ran. The same
rule covers any other skip: under `CI=true` every skipped test is reported as a failure.

`report_line` lets a test add a line of figures to the end of the pytest output (e.g. how many rule
instances the LibreOffice agreement test saw pass and fail), shown even without `-s`.

And every workbook a test reads is read by both xlsx engines, which must give the same verdict
(tests/read_equality.py).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Generator

import libreoffice as lo
import pytest
from read_equality import install

import xltool  # noqa: F401 - first, so openpyxl is configured by xltool (defusedxml) in every test

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

#: component -> (is it available?, how to install it on Debian)
COMPONENTS: dict[str, tuple[Callable[[], bool], str]] = {
    "soffice": (lo.soffice_available, "LibreOffice: apt-get install libreoffice-calc-nogui"),
    "uno": (lo.uno_available, "LibreOffice UNO for /usr/bin/python3: apt-get install python3-uno"),
    "setpriv": (lambda: shutil.which("setpriv") is not None, "setpriv: apt-get install util-linux"),
    "chromium": (
        lambda: shutil.which("chromium") is not None and shutil.which("chromedriver") is not None,
        "Chromium and its driver: apt-get install chromium chromium-driver",
    ),
}


REPORT_LINES = pytest.StashKey[list[str]]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs(*components): system components the test runs against")
    config.stash[REPORT_LINES] = []


@pytest.fixture
def report_line(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Call with a line of text to print it in the terminal summary."""
    return request.config.stash[REPORT_LINES].append


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    lines = config.stash[REPORT_LINES]
    if lines:
        terminalreporter.section("figures")
        for line in lines:
            terminalreporter.write_line(line)


def missing(*components: str) -> list[str]:
    """Install hints of the components that are not available here."""
    unknown = [c for c in components if c not in COMPONENTS]
    if unknown:
        raise ValueError(f"unknown component(s) {unknown}; known: {sorted(COMPONENTS)}")
    return [COMPONENTS[c][1] for c in components if not COMPONENTS[c][0]()]


def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker in item.iter_markers("needs"):
        absent = missing(*marker.args)
        if absent:
            message = "missing: " + "; ".join(absent)
            if IN_CI:
                pytest.fail(f"{message} (CI=true: a missing component is a failure)", pytrace=False)
            pytest.skip(message)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, object, object]:
    report = yield
    if IN_CI and isinstance(report, pytest.TestReport) and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, which must run every test: {reason}"
    return report


@pytest.fixture(autouse=True)
def _both_read_engines_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch)
