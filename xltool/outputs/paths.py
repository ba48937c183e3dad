"""Where an output may go: never over an input, never into the archive, never onto a folder.

The archive belongs to `collect` (DESIGN §8: nothing in it is silently overwritten), so outputs are
refused inside it; an output that is one of the command's inputs would destroy that input.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ..base.errors import XltoolError


def _bad(code: str, zh: str, en: str, path: Path) -> XltoolError:
    return XltoolError(code, zh, en, path=str(path))


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


def check_output(
    path: str | Path,
    *,
    suffixes: Iterable[str],
    inputs: Iterable[str | Path] = (),
    archive: str | Path | None = None,
) -> Path:
    """`path` resolved, or a stopping error saying why it cannot be written."""
    out = Path(path)
    allowed = tuple(suffixes)
    if out.is_dir():
        raise _bad(
            "OUTPUT_IS_FOLDER", "输出路径是一个目录，请给出文件名", "the output path is a folder; give a file name", out
        )
    if out.suffix.lower() not in allowed:
        raise _bad(
            "OUTPUT_TYPE",
            f"输出文件扩展名应为 {' '.join(allowed)}",
            f"the output file must end with {' '.join(allowed)}",
            out,
        )
    resolved = out.resolve()
    for item in inputs:
        if Path(item).resolve() == resolved:
            raise _bad("OUTPUT_IS_INPUT", "输出文件与输入文件相同，会覆盖输入", "the output is one of the inputs", out)
    if archive is not None and _inside(resolved, Path(archive).resolve()):
        raise _bad(
            "OUTPUT_IN_ARCHIVE",
            "输出文件不能写在归档目录内（归档只由 collect 写入）",
            "outputs cannot be written inside the archive (only collect writes there)",
            out,
        )
    return out


def check_out_dir(path: str | Path, *, archive: str | Path | None = None) -> Path:
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise _bad("OUTPUT_NOT_DIR", "输出目录已存在且不是目录", "the output folder exists and is not a folder", out)
    if archive is not None and _inside(out.resolve(), Path(archive).resolve()):
        raise _bad(
            "OUTPUT_IN_ARCHIVE",
            "输出目录不能在归档目录内（归档只由 collect 写入）",
            "the output folder cannot be inside the archive (only collect writes there)",
            out,
        )
    return out
