"""Shared test helpers: the two official models, their fields files, samples."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from xltool.spec.model import Model, load_model

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SAMPLES = ROOT / "samples"
FORMATS = ("2021", "2019")


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
