"""typer's help renderer (`typer.rich_utils`) without the two rich modules xltool never uses from it.

`typer.rich_utils` imports `rich.markdown` (markdown-it, ~40 ms) and `rich.traceback` (pygments,
rich.pretty, attrs, ~20 ms) when it is loaded, i.e. for every `--help` and usage error. Our help is in
rich markup mode (`Markdown` is made only in markdown mode) and pretty exceptions are off (`Traceback`
is made only for them), so neither is needed to print anything. While `typer.rich_utils` is being
imported, and only then, the two modules are stand-ins whose `Markdown` and `Traceback` import the
real class on first use; any other import of them, before or after, gets the real module.
"""

from __future__ import annotations

import importlib.machinery
import sys
import types
from typing import Any

TARGET = "typer.rich_utils"
SPARED = ("rich.markdown", "rich.traceback")


class Markdown:
    """Stands for `rich.markdown.Markdown`: calling it makes the real one."""

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        from rich.markdown import Markdown as real

        return real(*args, **kwargs)


class Traceback:
    """Stands for `rich.traceback.Traceback`: `from_exception` makes the real one."""

    @staticmethod
    def from_exception(*args: Any, **kwargs: Any) -> Any:
        from rich.traceback import Traceback as real

        return real.from_exception(*args, **kwargs)


def _stand_ins() -> dict[str, types.ModuleType]:
    markdown, traceback = types.ModuleType("rich.markdown"), types.ModuleType("rich.traceback")
    markdown.Markdown = Markdown  # type: ignore[attr-defined]
    traceback.Traceback = Traceback  # type: ignore[attr-defined]
    return {"rich.markdown": markdown, "rich.traceback": traceback}


class _Loader:  # duck-typed: importlib.abc would import importlib.resources and tempfile (~7 ms)
    def __init__(self, real: Any) -> None:
        self.real = real

    def __getattr__(self, name: str) -> Any:  # get_source, get_filename, ...: the real loader's
        return getattr(self.real, name)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        module: types.ModuleType | None = self.real.create_module(spec)
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        placed = {name: mod for name, mod in _stand_ins().items() if name not in sys.modules}
        sys.modules.update(placed)
        try:
            self.real.exec_module(module)
            return
        except ImportError:  # a typer that takes more from these modules: imported again with the real ones
            pass
        finally:
            for name, mod in placed.items():
                if sys.modules.get(name) is mod:
                    del sys.modules[name]
        self.real.exec_module(module)


class _Finder:
    def find_spec(self, fullname: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if fullname != TARGET:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.loader is None:
            return None
        spec.loader = _Loader(spec.loader)  # type: ignore[assignment]  # duck-typed Loader
        return spec


def install() -> None:
    """Put the finder first on the import path (once); a no-op once `typer.rich_utils` is loaded."""
    if TARGET not in sys.modules and not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
