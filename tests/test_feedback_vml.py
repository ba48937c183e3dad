"""The comments' VML drawing written directly (`feedback_vml`) is byte for byte what openpyxl's
`ShapeWriter` writes, in the mode xltool runs openpyxl in (ElementTree, not lxml)."""

from __future__ import annotations

import random
from typing import NamedTuple

import openpyxl.xml
from openpyxl.comments.shape_writer import ShapeWriter
from openpyxl.utils.cell import get_column_letter

import xltool  # noqa: F401 - sets OPENPYXL_LXML=False before openpyxl is imported
from xltool.read.feedback_vml import comments_vml


class _Note(NamedTuple):  # what ShapeWriter needs of a comment
    height: int
    width: int


def test_the_vml_is_what_openpyxl_writes() -> None:
    assert openpyxl.xml.LXML is False
    rnd = random.Random(13)
    cases = [[(1, 1, 20)], [(7, 2, 79), (12, 27, 100)], [(1_048_576, 16_384, 9999), (5, 703, 1)]]
    cases.append([(rnd.randrange(1, 2000), rnd.randrange(1, 800), rnd.randrange(20, 900)) for _ in range(60)])
    for notes in cases:
        expected = ShapeWriter([(f"{get_column_letter(c)}{r}", _Note(h, 260)) for r, c, h in notes]).write(None)
        assert comments_vml(notes, 260) == expected
