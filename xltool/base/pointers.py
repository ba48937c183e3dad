"""JSON pointers of report fields ('/applications/received/total'): the one place that walks them.

Report keys are plain identifiers (the schema lints them), so the RFC 6901 escapes `~0`/`~1` never
occur and a pointer is its parts joined by '/'.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def parts(pointer: str) -> list[str]:
    return pointer.strip("/").split("/")


def resolve(doc: Any, pointer: str) -> Any:
    """The value at `pointer`, or None where the path is missing or passes through a non-object."""
    node = doc
    for part in parts(pointer):
        if not isinstance(node, Mapping):
            return None
        node = node.get(part)
    return node


def put(root: dict[str, Any], pointer: str, value: Any) -> None:
    """Set the value at `pointer`, creating the objects on the way."""
    *path, last = parts(pointer)
    node = root
    for part in path:
        node = node.setdefault(part, {})
    node[last] = value
