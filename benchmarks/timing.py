"""What every benchmark measures the same way: median CPU time (so other load on the machine counts
less) and the floor of issue #13 that reading is compared with."""

from __future__ import annotations

import os
import statistics
import time
import zipfile
from collections.abc import Callable

from lxml import etree

SAFE = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)


def cpu_median(fn: Callable[[], object], n: int) -> float:
    """Median CPU milliseconds (`time.process_time`) of `n` calls of `fn`, after one warm-up call."""
    fn()
    samples = []
    for _ in range(n):
        t = time.process_time()
        fn()
        samples.append(time.process_time() - t)
    return statistics.median(samples) * 1000


def floor(path: str | os.PathLike[str]) -> None:
    """Unzip and parse every sheet's XML with lxml: what any reader of the file must at least do."""
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                etree.fromstring(z.read(name), SAFE)
