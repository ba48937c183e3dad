"""xlsxwriter's hyperlinks held compactly (private `Worksheet`/`Packager` attributes, part of `internals`).

xlsxwriter keeps every hyperlink of a sheet as a `Url` object (its parsed strings in an
instance dict, ~0.7 KiB) until the workbook closes, even in `constant_memory` mode; the collect
status workbook has two links a file. `compact_links_workbook`'s worksheets keep what `write_url`
was given (a tuple) in `hyperlinks` and rebuild each `Url` only as `_write_hyperlinks` reads it;
in `constant_memory` mode a finished row's links go to a temporary file, as its cells do. The
relationship of each external link (`external_hyper_links`, made as the sheet is assembled, and the
packager's `Relationships` list made from it: ~0.4 KiB a link) goes to a temporary file too, read
back as the packager writes the sheet's `.rels` part (`_write_worksheet_rels_files`, its loop).

`tests/test_internals.py` compares the parts written with plain xlsxwriter's.
"""

from __future__ import annotations

import functools
from typing import IO, Any


def compact_links_workbook(target: str | IO[bytes], options: dict[str, Any]) -> Any:
    """An xlsxwriter Workbook whose worksheets hold each hyperlink as the arguments of `write_url`
    (same bytes written)."""
    return _links_workbook_class()(target, options)


def discard_workbook(workbook: Any) -> None:
    """Close the temporary files of an xlsxwriter workbook that will not be closed (its writing failed):
    `constant_memory`'s row files and `compact_links_workbook`'s spilled links (unlinked on close)."""
    for sheet in workbook.worksheets():
        rels = getattr(getattr(sheet, "external_hyper_links", None), "file", None)
        for fh in (getattr(sheet, "row_data_fh", None), getattr(sheet, "xltool_spill", None), rels):
            if fh is not None:
                fh.close()


@functools.cache
def _links_workbook_class() -> type:
    import itertools
    import pickle
    import tempfile
    from collections import defaultdict

    import xlsxwriter
    from xlsxwriter import worksheet as xw
    from xlsxwriter.packager import Packager
    from xlsxwriter.relationships import Relationships
    from xlsxwriter.url import Url

    class LazyUrls(dict[int, Any]):
        """A row's links (column -> `write_url`'s arguments): a `Url` is built when read."""

        def __getitem__(self, col: int) -> Any:
            link = super().__getitem__(col)
            if not isinstance(link, tuple):
                return link
            url = Url(link[0])
            if link[1] is not None:
                url._text = link[1]
            if link[2] is not None:
                url.tip = link[2]
            return url

    class SpilledLinks:
        """What `_write_hyperlinks` reads of `hyperlinks` (rows in order, then each row's links):
        the rows written to the spill file, in file order, then the rows still held."""

        def __init__(self, spill: IO[bytes], rows: list[int], held: dict[int, LazyUrls]) -> None:
            self.spill, self.rows, self.held = spill, rows, held
            self.row: tuple[int, LazyUrls] | None = None
            spill.seek(0)

        def keys(self) -> list[int]:
            return self.rows + sorted(self.held)

        def __getitem__(self, row: int) -> LazyUrls:
            if row in self.held:
                return self.held[row]
            if self.row is None or self.row[0] != row:
                number, links = pickle.load(self.spill)
                assert number == row, "rows are read in the order they were spilled"
                self.row = (number, LazyUrls(links))
            return self.row[1]

    class SpilledRelations:
        """A sheet's `external_hyper_links` in a temporary file: appended to as the sheet is
        assembled, read back once by `SpillingPackager`."""

        def __init__(self, sheet: Any) -> None:
            self.sheet, self.count = sheet, 0
            self.file: IO[bytes] | None = None

        def append(self, link: list[str]) -> None:
            if self.file is None:
                self.file = tempfile.TemporaryFile(dir=self.sheet.tmpdir)
            pickle.dump(link, self.file, pickle.HIGHEST_PROTOCOL)
            self.count += 1

        def __len__(self) -> int:
            return self.count

        def __iter__(self) -> Any:
            if self.file is not None:
                self.file.seek(0)
                for _ in range(self.count):
                    yield pickle.load(self.file)

        def __add__(self, other: list[Any]) -> list[Any]:  # what xlsxwriter's own packager asks of a list
            return [*self, *other]

        def close(self) -> None:
            if self.file is not None:
                self.file.close()
                self.file, self.count = None, 0

    class SpillingPackager(Packager):
        def _write_worksheet_rels_files(self) -> None:
            """xlsxwriter's, with each relationship made as it is written instead of all listed first."""
            index = 0
            for worksheet in self.workbook.worksheets():
                if worksheet.is_chartsheet:
                    continue
                index += 1
                links = worksheet.external_hyper_links
                others = (
                    worksheet.external_drawing_links
                    + worksheet.external_vml_links
                    + worksheet.external_background_links
                    + worksheet.external_table_links
                    + worksheet.external_comment_links
                )
                if not links and not others:
                    continue
                rels = Relationships()
                rels.relationships = (_relationship(link) for link in itertools.chain(links, others))
                rels._set_xml_writer(self._filename(f"xl/worksheets/_rels/sheet{index}.xml.rels"))
                rels._assemble_xml_file()
                if isinstance(links, SpilledRelations):
                    links.close()

    scratch = Relationships()

    def _relationship(link: list[Any]) -> Any:
        scratch._add_document_relationship(*link)  # the entry xlsxwriter would list
        return scratch.relationships.pop()

    class CompactLinksWorksheet(xw.Worksheet):
        def __init__(self) -> None:
            super().__init__()
            self.external_hyper_links: Any = SpilledRelations(self)
            self.hyperlinks: defaultdict[int, LazyUrls] = defaultdict(LazyUrls)
            self.xltool_spill: IO[bytes] | None = None  # constant_memory: finished rows' links
            self.xltool_rows: list[int] = []

        def _write_url(
            self, row: int, col: int, url: Any, cell_format: Any = None, string: Any = None, tip: Any = None
        ) -> int:
            rc: int = super()._write_url(row, col, url, cell_format, string, tip)
            if rc == 0 and isinstance(url, str):  # stored as a Url: the same, as its arguments
                self.hyperlinks[row][col] = (url, string, tip)
            if self.constant_memory:  # rows above `row` can no longer change: spilled
                for done in sorted(r for r in self.hyperlinks if r < row):
                    if self.xltool_spill is None:
                        self.xltool_spill = tempfile.TemporaryFile(dir=self.tmpdir)
                    links = list(dict.items(self.hyperlinks.pop(done)))
                    pickle.dump((done, links), self.xltool_spill, pickle.HIGHEST_PROTOCOL)
                    self.xltool_rows.append(done)
            return rc

        def _write_hyperlinks(self) -> None:
            if self.xltool_spill is None:
                return super()._write_hyperlinks()
            held = self.hyperlinks
            self.hyperlinks = SpilledLinks(self.xltool_spill, self.xltool_rows, held)  # type: ignore[assignment]
            try:
                super()._write_hyperlinks()
            finally:
                self.hyperlinks, spill, self.xltool_spill = held, self.xltool_spill, None
                spill.close()
                self.xltool_rows = []
            return None

    class CompactLinksWorkbook(xlsxwriter.Workbook):
        worksheet_class = CompactLinksWorksheet

        def _get_packager(self) -> Packager:
            return SpillingPackager()

    return CompactLinksWorkbook
