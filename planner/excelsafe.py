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
    """A copy of the frame with every text cell quoted; numeric and boolean columns, and
    non-text cells of mixed columns, are left as they are."""
    out = frame.copy()
    for col in out.columns:
        if not pd.api.types.is_numeric_dtype(out[col].dtype):
            out[col] = out[col].map(lambda v: quote(v) if isinstance(v, str) else v)
    return out


def unquote_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of a frame read as strings from an Excel-safe file, every cell unquoted."""
    out = frame.copy()
    for col in out.columns:
        out[col] = out[col].map(lambda v: unquote(v) if isinstance(v, str) else v)
    return out
