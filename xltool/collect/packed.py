"""Many small records held compactly: JSON, zlib-compressed a chunk at a time.

A collect returns one row per file received and one per organisation (a province: 10,000 of
each). As dicts of strings they cost 1-3 KiB each in the parent for as long as the result lives;
packed, a few dozen bytes. `Packed` is a read-only sequence: an item is decoded when it is read
(a new object each time; the last chunk read stays unpacked), so iterating costs one decompression
per chunk. Items must survive a JSON round trip (str keys; str, int, float, None values).

`append` adds items one by one (the last, unfilled chunk stays a list of encoded items, read
through a JSON round trip like the others): what a run gathers file by file (the names received,
the files written) grows by a few dozen bytes a file instead of a few hundred. Items are values: an
item changed after it was appended is not.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")
CHUNK = 256  # items per compressed chunk
_JSON = json.JSONEncoder(separators=(",", ":")).encode


def _same(x: Any) -> Any:
    return x


class Packed(Sequence[T], Generic[T]):
    """`items`, packed; `encode` turns one into JSON-able values, `decode` turns those back."""

    def __init__(
        self,
        items: Iterable[T] = (),
        encode: Callable[[T], Any] = _same,
        decode: Callable[[Any], T] = _same,
    ) -> None:
        self._chunks: list[bytes] = []
        self._len = 0
        self._encode, self._decode = encode, decode
        self._open: tuple[int, list[Any]] = (-1, [])
        self._tail: list[Any] = []  # encoded items not yet packed (fewer than CHUNK)
        for item in items:
            self.append(item)

    def append(self, item: T) -> None:
        self._tail.append(self._encode(item))
        self._len += 1
        if len(self._tail) == CHUNK:
            self._chunks.append(zlib.compress(_JSON(self._tail).encode("utf-8")))
            self._tail = []

    def _chunk(self, c: int) -> list[Any]:
        if c == len(self._chunks):  # the tail: a fresh copy, as a chunk's items are
            return list(json.loads(_JSON(self._tail)))
        if self._open[0] != c:
            self._open = (c, json.loads(zlib.decompress(self._chunks[c])))
        return self._open[1]

    def __len__(self) -> int:
        return self._len

    @overload
    def __getitem__(self, i: int) -> T: ...
    @overload
    def __getitem__(self, i: slice) -> list[T]: ...
    def __getitem__(self, i: int | slice) -> T | list[T]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._len))]
        if i < 0:
            i += self._len
        if not 0 <= i < self._len:
            raise IndexError(i)
        return self._decode(self._chunk(i // CHUNK)[i % CHUNK])

    def __iter__(self) -> Iterator[T]:
        for c in range(len(self._chunks) + 1):  # the tail last
            for value in self._chunk(c):
                yield self._decode(value)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Sequence)
            and len(other) == len(self)
            and all(a == b for a, b in zip(self, other, strict=True))
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Packed({len(self)} items)"
