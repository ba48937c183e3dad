"""The VML drawing of a feedback sheet's comments, written directly: the bytes openpyxl's
`ShapeWriter` writes through ElementTree (xltool turns openpyxl's lxml off: see `xltool/__init__`),
a tree per comment, which Excel needs to show a comment.
Every comment's shape is the same but for its size, cell and id; a test compares the two
byte for byte."""

from __future__ import annotations

_HEAD = (
    b'<xml xmlns:ns0="urn:schemas-microsoft-com:office:office" xmlns:ns1="urn:schemas-microsoft-com:vml" '
    b'xmlns:ns2="urn:schemas-microsoft-com:office:excel"><ns0:shapelayout ns1:ext="edit">'
    b'<ns0:idmap ns1:ext="edit" data="1" /></ns0:shapelayout><ns1:shapetype id="_x0000_t202" '
    b'coordsize="21600,21600" ns0:spt="202" path="m,l,21600r21600,l21600,xe"><ns1:stroke joinstyle="miter" />'
    b'<ns1:path gradientshapeok="t" ns0:connecttype="rect" /></ns1:shapetype>'
)
_SHAPE = (
    '<ns1:shape type="#_x0000_t202" style="position:absolute; margin-left:59.25pt;margin-top:1.5pt;'
    'width:{width}px;height:{height}px;z-index:1;visibility:hidden" fillcolor="#ffffe1" ns0:insetmode="auto" '
    'id="_x0000_s{id:04d}"><ns1:fill color2="#ffffe1" /><ns1:shadow color="black" obscured="t" />'
    '<ns1:path ns0:connecttype="none" /><ns1:textbox style="mso-direction-alt:auto">'
    '<div style="text-align:left" /></ns1:textbox><ns2:ClientData ObjectType="Note"><ns2:MoveWithCells />'
    "<ns2:SizeWithCells /><ns2:AutoFill>False</ns2:AutoFill><ns2:Row>{row}</ns2:Row><ns2:Column>{column}</ns2:Column>"
    "</ns2:ClientData></ns1:shape>"
)


def comments_vml(notes: list[tuple[int, int, int]], width: int) -> bytes:
    """The drawing for comments at (row, column, height in px), 1-based, in this order."""
    shapes = (
        _SHAPE.format(width=width, height=height, id=n, row=row - 1, column=col - 1)
        for n, (row, col, height) in enumerate(notes, 1026)
    )
    return _HEAD + "".join(shapes).encode("ascii") + b"</xml>"
