"""xlsxwriter signals most failures by a negative return code instead of an exception (a string
over 32,767 characters, a row past the sheet, a bad defined name). Writing through `Checked` turns
every such code into an `OutputError`, so no failure can be ignored by forgetting to test it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..base.errors import OutputError


class Checked:
    """A workbook or worksheet whose every method call raises on a negative integer return code."""

    def __init__(self, target: Any, what: str) -> None:
        self._target = target
        self._what = what

    @property
    def target(self) -> Any:
        return self._target

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._target, name)
        if not callable(attr):
            return attr
        return self._checking(attr, name)

    def _checking(self, method: Callable[..., Any], name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            rc = method(*args, **kwargs)
            if isinstance(rc, int) and not isinstance(rc, bool) and rc < 0:
                where = ", ".join(map(repr, args[:4]))
                raise OutputError(
                    "WRITE_REFUSED",
                    f"表格库拒绝写入（{self._what}.{name}({where})，返回码 {rc}）",
                    f"the spreadsheet library refused {self._what}.{name}({where}) (return code {rc})",
                    details={"call": name, "return_code": rc},
                )
            return rc

        return call
