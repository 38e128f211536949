"""Read a CSV file the way spreadsheets and CRMs write them, into a frame of stripped strings.

Accepted: UTF-8 (with or without BOM), UTF-16 with BOM (Excel's "Unicode text"), GBK/GB18030
(Excel on Chinese Windows); comma, semicolon or tab separators; Windows line endings. Blank rows
below the header (merged cells flattened into nothing) are dropped; the header must be row 1.
Row numbers are kept as spreadsheet rows so every later error can name the row the user sees.
Whatever the bytes, the only exception that comes out is an InputError (tests/test_fuzz.py).
"""

from __future__ import annotations

import codecs
import csv
import io
import warnings
from pathlib import Path
from typing import Iterator

import pandas as pd

from planner.errors import InputError, Problem

#: Above this a file is refused before it is parsed, so memory stays bounded.
MAX_FILE_BYTES = 1_000_000_000
ROW_COLUMN = "__row__"
#: frame.attrs key holding the file's separator (";" files use a decimal comma: 37,5)
SEPARATOR_ATTR = "separator"
_SEPARATORS = (",", ";", "\t")


def read_table(source: Path | bytes, label: str | None = None) -> pd.DataFrame:
    """The file's rows as strings, stripped, with the spreadsheet row number in ROW_COLUMN.
    `source` is a path, or the file's bytes (an upload, parsed in memory)."""
    label = label or (source.name if isinstance(source, Path) else "upload")
    text = decode_file(source, label)
    header = text.split("\n", 1)[0]
    if not header.strip():
        raise InputError(Problem("the first row is empty; the header (the column names, such as "
                                 "rep_id or account_id) must be on row 1", file=label, row=1))
    sep = max(_SEPARATORS, key=header.count) if any(s in header for s in _SEPARATORS) else ","
    names = next(csv.reader([header], delimiter=sep))
    _check_header(names, label)
    frame = _fast_table(text, sep, names)
    if frame is None:  # a row the fast reader would not take: read it row by row, with reasons
        frame = _checked_table(text, sep, label)
    frame[ROW_COLUMN] = frame.index + 2
    frame = frame[(frame.drop(columns=ROW_COLUMN) != "").any(axis=1)].reset_index(drop=True)
    if frame.empty:
        raise InputError(Problem("the file has a header but no data rows", file=label))
    frame.attrs[SEPARATOR_ATTR] = sep
    return frame


def _fast_table(text: str, sep: str, names: list[str]) -> pd.DataFrame | None:
    """The table by pandas' C reader, cells stripped; None when a row has more cells than the
    header, a quote is never closed or the header reads differently (the row-by-row reader
    then names the row), so that only well-formed files take this path."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            frame = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False,
                                na_filter=False, skip_blank_lines=False, engine="c",
                                quoting=csv.QUOTE_MINIMAL)
    except (pd.errors.ParserError, csv.Error, ValueError, OverflowError):
        return None
    if list(frame.columns) != names or not isinstance(frame.index, pd.RangeIndex):
        return None  # (one cell more on every row reads as an index column)
    frame.columns = [n.strip() for n in names]
    return frame.apply(lambda col: col.fillna("").str.strip())


def _checked_table(text: str, sep: str, label: str) -> pd.DataFrame:
    """The table read row by row: a row with cells beyond the header's is refused with its
    row number (unless they are blank: a trailing separator); short rows are padded."""
    records = list(_records(text, sep, label))
    names = records[0]
    _check_header(names, label)  # (the first line alone may not be the whole header: a quoted
    # name with a line break in it)
    width = len(names)
    _check_row_lengths(records, sep, width, label)
    body = [[c.strip() for c in (r if len(r) == width else (r + [""] * width)[:width])]
            for r in records[1:]]
    return pd.DataFrame(body, columns=[n.strip() for n in names], dtype=str)


def _check_row_lengths(records: list[list[str]], sep: str, width: int, label: str) -> None:
    """A row with more cells than the header usually holds an unquoted separator inside a
    value (Acme, Inc.): name the row and say how to fix it."""
    problems = []
    for row, cells in enumerate(records[1:], start=2):
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            shown = "a comma" if sep == "," else ("a semicolon" if sep == ";" else "a tab")
            problems.append(Problem(
                f"this row has {len(cells)} cells but the header has {width}; a value that "
                f"contains {shown} must be put in double quotes, e.g. \"Acme{sep} Inc.\"",
                file=label, row=row))
    if problems:
        raise InputError(problems)


def _records(text: str, sep: str, label: str) -> Iterator[list[str]]:
    """The file's rows as lists of cells. A double quote that is never closed makes the rest of
    the file one cell; past the csv module's cell size limit that is an InputError naming the
    row where the open cell starts, not a crash."""
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    while True:
        start = reader.line_num + 1
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            raise InputError(Problem(
                "a cell on this row starts with a double quote that is never closed, so the "
                "rest of the file reads as one cell; close or remove the quote",
                file=label, row=start)) from None


def decode_file(source: Path | bytes, label: str) -> str:
    """The file's text, whichever of the accepted encodings it is in."""
    if isinstance(source, (bytes, bytearray)):
        size = len(source)
    else:
        try:
            size = source.stat().st_size
        except OSError as err:
            raise InputError(Problem(f"cannot open the file ({err.strerror})",
                                     file=str(source))) from None
    if size > MAX_FILE_BYTES:
        raise InputError(Problem(
            f"the file is {_size_text(size)}; the planner reads files up to "
            f"{_size_text(MAX_FILE_BYTES)}", file=label))
    raw = bytes(source) if isinstance(source, (bytes, bytearray)) else source.read_bytes()
    text = _decode(raw, label).replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise InputError(Problem("the file is empty", file=label))
    return text


def _decode(raw: bytes, label: str) -> str:
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError(Problem("the file starts like UTF-16 but is not valid UTF-16 text",
                                     file=label)) from None
    if b"\x00" in raw:
        raise InputError(Problem("the file is not a text file (it contains NUL bytes); "
                                 "save it as CSV (UTF-8)", file=label))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as utf8_error:
        try:
            return raw.decode("gb18030")
        except UnicodeDecodeError:
            line = raw[: utf8_error.start].count(b"\n") + 1
            raise InputError(Problem(
                f"the file is neither UTF-8 nor GBK text (unreadable byte on line {line}); "
                "save it as CSV (UTF-8)", file=label)) from None


def _check_header(raw_names: list[str], label: str) -> None:
    names = [n.strip() for n in raw_names]
    blanks = [i + 1 for i, n in enumerate(names) if not n]
    if blanks:
        raise InputError(Problem(f"column {blanks[0]} of the header has no name", file=label,
                                 row=1))
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise InputError(Problem("this column appears twice in the header", file=label,
                                     row=1, column=name))
        seen.add(name)


def _size_text(size: int) -> str:
    """A file size for a message: '1,200 MB', '35 kB', '812 bytes'."""
    for unit, factor in (("MB", 1e6), ("kB", 1e3)):
        if size >= 10 * factor:
            return f"{size / factor:,.0f} {unit}"
    return f"{size:,} bytes"
