"""read(fill(x)) == x for random valid reports of both formats, after LibreOffice re-saved the
filled file as .xlsx and converted it to .xls and .ods (one soffice run per format and batch)."""

from __future__ import annotations

from typing import Any

import libreoffice as lo
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from test_reader import body, reports, save, template

from xltool.read.reader import read_workbook
from xltool.spec.model import load_model

pytestmark = pytest.mark.needs("soffice")


@pytest.mark.parametrize("name", ["annual-report-2021", "annual-report-2019"])
def test_random_reports_survive_libreoffice(name: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    model = load_model(name)

    @settings(
        max_examples=2,
        print_blob=False,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )
    @given(st.lists(reports(model), min_size=4, max_size=4))
    def check(batch: list[dict[str, Any]]) -> None:
        folder = tmp_path_factory.mktemp("lo-rt")
        srcs = [save(folder / f"r{i}.xlsx", template(model, report)) for i, report in enumerate(batch)]
        for fmt in ("xlsx", "xls", "ods"):
            outs = lo.convert_many(srcs, folder / fmt, fmt)
            for report, out in zip(batch, outs, strict=False):
                result = read_workbook(out, model=model)
                assert result.report["_meta"]["source"]["kind"] == fmt
                assert body(result) == report, (fmt, out.name)
                # random numbers break R1 and friends; nothing else may be reported
                rule_ids = {r.id for r in model.rules}
                assert [(i.code, i.cell) for i in result.issues if i.code not in rule_ids | {"BLANK_CELL"}] == [], fmt

    check()
