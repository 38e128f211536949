"""Excel-safe CSV cells: text that a spreadsheet would run as a formula gets a leading quote.

A plan's CSV files are opened in Excel and imported into CRMs. A text cell that starts with
=, +, -, @, tab or carriage return is read by a spreadsheet as a formula (an account named
=HYPERLINK(...) becomes a link, -42 a number, @SUM(...) a call): the OWASP "CSV injection"
rule is to put a single quote in front of such a cell, which spreadsheets show as plain text.

The rule is applied to text cells only (numbers such as -1.5 hours stay numbers), and it is
reversible: `unquote` gives back the exact text. A text that already starts with quotes
followed by one of those characters ('=x) gets one more quote, so ids that begin with a quote
round-trip too. Readers of plan files (the verifier, `owners_from` edits) unquote every cell.
"""

from __future__ import annotations

from typing import Callable

import pandas as pd

#: A cell starting with one of these is read by spreadsheets as a formula (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: What is put in front of such a cell: spreadsheets show the rest as text.
QUOTE = "'"


def _looks_like_formula(text: str) -> bool:
    """True when `text`, without any leading quotes, starts like a formula."""
    return text.lstrip(QUOTE).startswith(FORMULA_STARTS)


def quote(text: str) -> str:
    """The text as an Excel-safe cell: one quote in front where it starts like a formula."""
    return QUOTE + text if _looks_like_formula(text) else text


def unquote(text: str) -> str:
    """The text of a cell written by `quote`: its first quote removed where one was added."""
    return text[1:] if text.startswith(QUOTE) and _looks_like_formula(text) else text


def quote_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every text cell quoted (a copy; the frame itself when no cell needs a
    quote); numeric and boolean columns, and non-text cells of mixed columns, are left as
    they are."""
    text_columns = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c].dtype)]
    return _map_cells(frame, text_columns, _looks_like_formula, quote,
                      prefixes=(QUOTE, *FORMULA_STARTS))


def unquote_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame read as strings from an Excel-safe file with every cell unquoted (a copy; the
    frame itself when no cell starts with a quote)."""
    return _map_cells(frame, list(frame.columns), lambda text: text.startswith(QUOTE), unquote,
                      prefixes=(QUOTE,))


def _map_cells(frame: pd.DataFrame, columns: list, needs: Callable[[str], bool],
               change: Callable[[str], str], prefixes: tuple[str, ...] | None = None
               ) -> pd.DataFrame:
    """`change` applied to the text cells of `columns`, touching only the columns where some
    cell `needs` it (plans are written and read often; most columns need nothing). A cell
    needs it only if it starts with one of `prefixes`, when given."""
    out = None
    for col in columns:
        if prefixes is not None and not _any_starts_with(frame[col], prefixes):
            continue  # no text cell can need it: decided in C, not per cell in Python
        cells = frame[col].to_numpy(dtype=object)
        if any(isinstance(v, str) and needs(v) for v in cells):
            out = frame.copy() if out is None else out
            out[col] = [change(v) if isinstance(v, str) else v for v in cells]
    return frame if out is None else out


def _any_starts_with(column: pd.Series, prefixes: tuple[str, ...]) -> bool:
    """Whether some text cell starts with one of `prefixes` (True where the column holds no
    text pandas can test: the cell-by-cell check decides then)."""
    try:
        starts = column.str.startswith(prefixes)
    except AttributeError:
        return True
    return bool(starts.fillna(False).astype(bool).any())
