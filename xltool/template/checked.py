"""xlsxwriter signals most failures by a negative return code instead of an exception (a string
over 32,767 characters, a row past the sheet, a bad defined name). Writing through `Checked` turns
every such code into an `OutputError`, so no failure can be ignored by forgetting to test it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..base.errors import OutputError
from ..spec.positions import a1


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
        checking = self._checking(attr, name)
        self.__dict__[name] = checking  # later calls skip __getattr__: thousands per template
        return checking

    def _checking(self, method: Callable[..., Any], name: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            rc = method(*args, **kwargs)
            if isinstance(rc, int) and not isinstance(rc, bool) and rc < 0:
                cell = len(args) > 1 and isinstance(args[0], int) and isinstance(args[1], int)
                where = f"{self._what}!{a1(args[0], args[1])}" if cell else self._what
                raise OutputError(
                    "WRITE_REFUSED",
                    f"无法写入工作簿（{where}，{name}，返回码 {rc}）；常见原因：文字超过 32767 个字符",
                    f"cannot write the workbook ({where}, {name}, return code {rc}); "
                    "a usual cause: text over 32,767 characters",
                    details={"call": name, "return_code": rc, "where": where},
                )
            return rc

        return call
