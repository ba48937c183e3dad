"""What a failed comparison says, generated from the rule tree and the official labels.

"“自然人”列：第一项加第二项之和为30，（七）总计加第四项之和为26，两者应相等" names both sides, so
the message never reads as the target value of one cell. Each field is named by the part of its label
path that tells it apart from the other fields of the check (the shared heading and the item's own
column or row are left out); a numbered row "一、本年新收…" is called 第一项 as the official format does.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ..base.numbers import plain_number
from ..spec.layout import Layout
from ..spec.rules import Compare, Const, Expr, Len, Previous, Ref, Rule, RuleInstance, Sum, refs_of

_NUMBERED = re.compile(r"^([一二三四五六七八九十]+)、")
_BOTH_ZH = {
    "eq": "两者应相等",
    "le": "前者应不大于后者",
    "ge": "前者应不小于后者",
    "lt": "前者应小于后者",
    "gt": "前者应大于后者",
}
_BOTH_EN = {
    "eq": "they must be equal",
    "le": "the first must not exceed the second",
    "ge": "the first must be at least the second",
}
_BOTH_EN |= {"lt": "the first must be less than the second", "gt": "the first must be more than the second"}
_LIMIT_ZH = {"eq": "应等于", "le": "应不超过", "ge": "应不少于", "lt": "应少于", "gt": "应多于"}
_LIMIT_EN = {
    "eq": "must equal",
    "le": "must be at most",
    "ge": "must be at least",
    "lt": "must be less than",
    "gt": "must be more than",
}
LONG_SUM = 4  # longer sums are named by their first and last items


def _shown(value: Any) -> str:
    return plain_number(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)


class _Namer:
    """Names the fields of one check by what sets them apart from each other."""

    def __init__(self, layout: Layout, pointers: Sequence[str]) -> None:
        self.paths = {p: layout.fields[p].label_path for p in pointers if p in layout.fields}
        paths = list(self.paths.values()) or [()]
        self.head = len(_common(paths))
        self.tail = len(_common([tuple(reversed(p)) for p in paths])) if len(set(paths)) > 1 else 0

    def field(self, pointer: str) -> str:
        path = self.paths.get(pointer, (pointer,))
        own = path[self.head : len(path) - self.tail] or path[-1:]
        label = own[-1]
        m = _NUMBERED.match(label)
        return f"第{m.group(1)}项" if m and len(own) == 1 and len(self.paths) > 1 else label

    def expr(self, e: Expr) -> str:
        if isinstance(e, Ref):
            return self.field(e.pointer)
        if isinstance(e, Previous):
            return "上年度报告的" + self.field(e.pointer)
        if isinstance(e, Len):
            return self.expr(e.arg) + "字数"
        if isinstance(e, Sum):
            names = [self.expr(i) for i in e.items]
            if len(names) > LONG_SUM:
                return f"{names[0]}至{names[-1]}各项之和"
            return "加".join(names) + ("之和" if len(names) > 1 else "")
        return _shown(e.value)


def _common(paths: Sequence[tuple[str, ...]]) -> tuple[str, ...]:
    first = paths[0]
    n = 0
    while n < len(first) and all(len(p) > n and p[n] == first[n] for p in paths):
        n += 1
    return first[:n]


def _item(layout: Layout, inst: RuleInstance, pointers: Sequence[str]) -> tuple[str, str]:
    """“自然人”列： when every field of the check sits in the item's column, 行 for a row."""
    if not inst.item_label:
        return "", ""
    boxes = [layout.fields[p].box for p in pointers if p in layout.fields]
    if len(boxes) > 1 and len({b.col for b in boxes}) == 1:
        return f"“{inst.item_label}”列：", f"Column “{inst.item_label}”: "
    if len(boxes) > 1 and len({b.row for b in boxes}) == 1:
        return f"“{inst.item_label}”行：", f"Row “{inst.item_label}”: "
    return f"“{inst.item_label}”：", f"“{inst.item_label}”: "


def compare_text(layout: Layout, rule: Rule, inst: RuleInstance, left: Any, right: Any) -> tuple[str, str] | None:
    """(zh, en) for a failed comparison with both sides named and valued; None for other checks."""
    check = inst.check
    if not isinstance(check, Compare):
        return None
    pointers = list(dict.fromkeys(refs_of(check) + refs_of(check, previous=True)))
    namer = _Namer(layout, pointers)
    item_zh, item_en = _item(layout, inst, pointers)
    lname, l_value = namer.expr(check.left), _shown(left)
    if isinstance(check.right, Const):
        limit = _shown(check.right.value)
        zh = f"{item_zh}{lname}为{l_value}，{_LIMIT_ZH[check.op]}{limit}（{rule.title_zh}）"
        en = f"{item_en}{lname} = {l_value}, {_LIMIT_EN[check.op]} {limit} ({rule.title_en})"
        return zh, en
    rname, r_value = namer.expr(check.right), _shown(right)
    zh = f"{item_zh}{lname}为{l_value}，{rname}为{r_value}，{_BOTH_ZH[check.op]}"
    en = f"{item_en}{lname} = {l_value}, {rname} = {r_value}; {_BOTH_EN[check.op]}"
    return zh, en
