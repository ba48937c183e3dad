"""`collect.packed.Packed`: the compact sequence collect's result and overview rows live in."""

from __future__ import annotations

import pytest

from xltool.collect.packed import CHUNK, Packed
from xltool.collect.status import OrgRow


def test_rows_come_back_exactly_across_chunks() -> None:
    rows = [
        {
            "path_in_inbox": f"乡镇/第{i}号 ✅ bad\udcff.xlsx",  # a name that is not UTF-8 (surrogate escape)
            "sha256": f"{i:064x}",
            "file_mtime": 1_706_000_000.123456789 + i,
            "errors": i % 3,
            "feedback_path": None if i % 2 else f"feedback/2023/{i}-反馈.xlsx",
        }
        for i in range(2 * CHUNK + 5)
    ]
    packed = Packed(rows)
    assert len(packed) == len(rows) and list(packed) == rows and packed == rows
    assert packed[0] == rows[0] and packed[-1] == rows[-1] and packed[CHUNK] == rows[CHUNK]
    assert packed[CHUNK - 2 : CHUNK + 2] == rows[CHUNK - 2 : CHUNK + 2]
    assert [r["sha256"] for r in packed if r["errors"] == 2] == [r["sha256"] for r in rows if r["errors"] == 2]
    with pytest.raises(IndexError):
        packed[len(rows)]
    assert Packed([]) == [] and list(Packed([])) == []


def test_organisation_rows_are_objects_again_and_fresh_each_read() -> None:
    orgs = [
        OrgRow(n, f"单位{n}", "", "township", "errors", n, 0, f"{n}.xlsx", 1.5, 2, None, f"f/{n}.xlsx", "注", "note")
        for n in range(1, 4)
    ]
    packed = Packed(orgs, lambda o: vars(o), lambda d: OrgRow(**d))
    assert list(packed) == orgs
    packed[0].n = 99  # a copy: the packed row does not change
    assert packed[0].n == 1


def test_items_appended_one_by_one_read_as_when_packed_at_once() -> None:
    rows = [[f"收件/第{i}号\udcff.xlsx", f"{i:064x}", i * 7, 1_706_000_000.5 + i, "file"] for i in range(CHUNK + 3)]
    packed: Packed[list[object]] = Packed()
    for n, row in enumerate(rows, 1):
        packed.append(row)
        assert len(packed) == n and packed[-1] == row and list(packed) == rows[:n]
    assert packed == Packed(rows) == rows and packed[CHUNK - 1 : CHUNK + 1] == rows[CHUNK - 1 : CHUNK + 1]
    packed[-1][0] = "changed"  # the unpacked tail is decoded afresh too
    assert packed[-1] == rows[-1]
