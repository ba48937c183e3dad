"""Rule expressions compiled once into closures: `eval_expr` without walking the tree each time.

`evaluate.eval_expr` is the readable definition; a read evaluates the same few hundred expressions
for every file, and dispatching on the node type at every step is most of their cost. Each closure
here does exactly what `eval_expr` does for its node, in the same order and with the same
arithmetic (a sum starts at int 0 and adds 0 for text and blanks, as `eval_expr` does, so even
-0.0 and float rounding come out the same); `tests/test_compiled_rules.py` compares both.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..spec.rules import Const, Expr, Len, Previous, Ref, Sum

Values = Mapping[str, Any]
_INTS_OR_BLANK = frozenset((int, type(None)))  # exactly these types: a bool is an int but counts as 0
Compiled = Callable[[Values, Values | None], Any]


def compile_expr(expr: Expr) -> Compiled:
    if isinstance(expr, Ref):
        pointer = expr.pointer
        return lambda values, _previous: values.get(pointer)
    if isinstance(expr, Previous):
        pointer = expr.pointer
        return lambda _values, previous: (previous or {}).get(pointer)
    if isinstance(expr, Const):
        constant = expr.value
        return lambda _values, _previous: constant
    if isinstance(expr, Sum):
        return _sum(expr)
    if isinstance(expr, Len):
        arg = compile_expr(expr.arg)

        def length(values: Values, previous: Values | None) -> Any:
            v = arg(values, previous)
            return len(v) if isinstance(v, str) else len(str(0 if v is None else v)) if v is not None else 0

        return length
    raise TypeError(expr)


def _sum(expr: Sum) -> Compiled:
    if all(isinstance(item, Ref) for item in expr.items):
        pointers = tuple(item.pointer for item in expr.items if isinstance(item, Ref))

        def sum_refs(values: Values, _previous: Values | None) -> Any:
            found = list(map(values.get, pointers))
            if _INTS_OR_BLANK.issuperset(map(type, found)):
                return sum(filter(None, found))  # ints add up exactly in any order: the loop's total, in C
            total: Any = 0
            for v in found:
                if isinstance(v, bool) or not isinstance(v, (int, float)):
                    v = 0  # text and blanks count as 0, as Excel's SUM does
                total += v
            return total

        return sum_refs
    items = tuple(compile_expr(item) for item in expr.items)

    def sum_items(values: Values, previous: Values | None) -> Any:
        total: Any = 0
        for item in items:
            v = item(values, previous)
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                v = 0
            total += v
        return total

    return sum_items
