"""Shared test helpers: the two official models, their fields files, samples; a hang guard."""

from __future__ import annotations

import copy
import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from xltool.spec.model import Model, load_model

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SAMPLES = ROOT / "samples"
FORMATS = ("2021", "2019")
HANG_GUARD = 30.0  # seconds: far beyond any real run, short enough not to stall CI


def fields_file(year: str) -> list[dict[str, Any]]:
    return json.loads((DATA / f"fields-{year}.json").read_text(encoding="utf-8"))["fields"]


def model_for(year: str) -> Model:
    return load_model(f"annual-report-{year}")


def load_sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLES / name).read_text(encoding="utf-8"), parse_float=Decimal)


def valid_report(year: str) -> dict[str, Any]:
    """A valid report of each format: the real 胡村乡 sample (2019) or the synthetic one (2021)."""
    return copy.deepcopy(load_sample("hucun-2020.json" if year == "2019" else "synthetic-2021.json"))


def credit_code(first17: str) -> str:
    """A 统一社会信用代码 with its GB 32100-2015 check character (computed here, independently of xltool)."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = [pow(3, i, 31) for i in range(17)]
    total = sum(alphabet.index(ch) * w for ch, w in zip(first17, weights, strict=True))
    return first17 + alphabet[(31 - total % 31) % 31]


class Hung(AssertionError):
    """A call ran past its hang guard."""


@contextmanager
def hang_guard(seconds: float = HANG_GUARD, what: str = "the call") -> Iterator[None]:
    """Fail (instead of hanging the suite) if the body runs longer than `seconds`.

    A generous guard against endless loops, not a speed test: speed is measured and printed by
    benchmarks/ (see benchmarks/bench_hostile.py). SIGALRM, so main thread only (pytest's)."""

    def _alarm(signum: int, frame: object) -> None:
        raise Hung(f"{what} still running after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
