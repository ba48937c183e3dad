"""Suite-wide: every workbook a test reads is read by both xlsx engines and must give the same verdict
(tests/read_equality.py)."""

from __future__ import annotations

import pytest
from read_equality import install


@pytest.fixture(autouse=True)
def _both_read_engines_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch)
