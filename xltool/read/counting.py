"""How many elements of each kind a part of an untrusted workbook holds, as the safety gate counts
them while inflating: `<` then an optional prefix (`\\w{1,32}:`) then the name, then a blank, `/` or `>`.

Counting every kind takes a regex tried at every '<' of the file (about 0.1 µs each: most of the
gate's time on a clean file). Every counted element starts with its own '<', so no kind can pass a
cap above the file's tag count: `Tally` counts only tags and sheets (the one small cap) while the
tag count stays at or under `few_tags`, found with `bytes.count` and `bytes.find` in C, and asks for
a full recount (`Recount`) as soon as it passes it. The refusals are those of the full count.
"""

from __future__ import annotations

import re
from collections import Counter

COUNTED = re.compile(rb"<(?:\w{1,32}:)?(c|row|si|xf|definedName|sheet)(?=[\s/>])")
_PREFIX = re.compile(rb"\w{1,32}")
_NAME_ENDS = frozenset(b" \t\n\r\x0b\x0c/>")  # what `(?=[\s/>])` accepts after a name


class Recount(Exception):
    """The file has more tags than the short count may skip: count every kind from the start."""


def named(window: bytes, name: bytes) -> int:
    """`len(re.findall(rb"<(?:\\w{1,32}:)?NAME(?=[\\s/>])", window))`, visiting only the occurrences
    of '<NAME' and ':NAME' (matches hold one '<' each, so they never overlap and each is found from the
    byte before its NAME; a NAME after any other byte, as in 'worksheet', is never a match)."""
    found, size, ends = 0, len(name) + 1, _NAME_ENDS
    at = window.find(b"<" + name)
    while at >= 0:
        end = at + size
        found += end < len(window) and window[end] in ends
        at = window.find(b"<" + name, at + 1)
    at = window.find(b":" + name)
    while at >= 0:  # ':' of a prefix: '<' then 1 to 32 word characters before it
        end = at + size
        if end < len(window) and window[end] in ends:
            lt = window.rfind(b"<", max(0, at - 33), at)
            found += lt >= 0 and _PREFIX.fullmatch(window, lt + 1, at) is not None
        at = window.find(b":" + name, at + 1)
    return found


class Tally:
    """The counts of one file, chunk by chunk: `add` the window (the previous chunk's tail, then
    the chunk) and the tail already counted. `exact` counts every kind, the short count only tags
    and sheets (it raises `Recount` once the tags pass `few_tags`)."""

    def __init__(self, exact: bool, few_tags: int) -> None:
        self.exact, self.few_tags = exact, few_tags
        self.counts = Counter[bytes]()

    def add(self, window: bytes, tail: bytes) -> Counter[bytes]:
        counts = self.counts
        if self.exact:
            counts.update(COUNTED.findall(window))  # a list of bytes: counted in C
            counts.subtract(COUNTED.findall(tail))
        else:
            counts[b"sheet"] += named(window, b"sheet") - named(tail, b"sheet")
        counts[b"tags"] += window.count(b"<") - tail.count(b"<")
        if not self.exact and counts[b"tags"] > self.few_tags:
            raise Recount
        return counts
