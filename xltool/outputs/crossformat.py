"""Last year's figures in this year's terms, when last year used another format.

The 2019 (试行) and 2021 formats are different schemas: their sums are never added together
(`aggregate` refuses), but a figure can be shown beside last year's when both formats mean the same
thing. The mapping (README, "Year over year"):

- a pointer present in both formats means the same figure (all of table 三 except （六）, table 四,
  行政许可/处罚/强制 处理决定数量);
- 2019 `（六）其他处理` (`/applications/results/other_handling/<column>`) is one row; the 2021 format split
  it into three (`…/other_handling/{no_correction,fee_unpaid,other}/<column>`). Only their sum is
  comparable: `group_pointers` names it, and each of the three 2021 rows alone has no 2019 figure;
- 表二 第二十条（一）（五）（六）（八）（九）changed their columns (2019: 新制作/新公开/对外公开总数量,
  上一年项目数量/本年增减, 政府集中采购; 2021: 制发/废止/现行有效, 行政事业性收费金额): no mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ..spec.model import Model

OLD_OTHER = "/applications/results/other_handling/"
NEW_SPLIT = ("no_correction", "fee_unpaid", "other")


def _split_column(pointer: str) -> tuple[str, str] | None:
    """2021 `…/other_handling/<part>/<column>` -> (part, column)."""
    if not pointer.startswith(OLD_OTHER):
        return None
    rest = pointer[len(OLD_OTHER) :].split("/")
    return (rest[0], rest[1]) if len(rest) == 2 and rest[0] in NEW_SPLIT else None


def group_pointers(model: Model, prev_model: Model) -> dict[str, tuple[str, ...]]:
    """Comparable groups: a 2019 其他处理 column -> the three 2021 rows whose sum it equals."""
    if model.name == prev_model.name:
        return {}
    old, new = prev_model.by_pointer, model.by_pointer
    out: dict[str, tuple[str, ...]] = {}
    for ptr in old:
        if ptr.startswith(OLD_OTHER) and ptr not in new:
            column = ptr[len(OLD_OTHER) :]
            parts = tuple(f"{OLD_OTHER}{p}/{column}" for p in NEW_SPLIT)
            if all(p in new for p in parts):
                out[ptr] = parts
    return out


def previous_in_this_format(model: Model, prev_model: Model, prev: Mapping[str, Any]) -> dict[str, Any]:
    """Last year's flat values keyed by this year's pointers; figures without a counterpart are left out."""
    if model.name == prev_model.name:
        return {p: prev.get(p) for p in model.by_pointer}
    return {p: prev.get(p) for p in model.by_pointer if p in prev_model.by_pointer}


def add(a: Any, b: Any) -> Any:
    """Exact sum of two archived numbers (int or Decimal); blanks and text count as nothing."""
    nums = [v for v in (a, b) if isinstance(v, (int, Decimal)) and not isinstance(v, bool)]
    if not nums:
        return None
    total: Any = 0
    for v in nums:
        total = total + v
    return total


def to_decimal(value: Any) -> Any:
    """A float (only from callers outside the archive) as the Decimal it prints as; others unchanged."""
    return Decimal(repr(value)) if isinstance(value, float) else value
