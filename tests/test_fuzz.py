"""Fuzz the loaders: whatever bytes or CSV shapes a user uploads, only a PlannerError comes out.

Random bytes, tables built from scratch (headers drawn from the real column names plus junk,
random cell text with unicode, separators, quotes and newlines, in every accepted encoding, with
BOMs, blank lines and Windows line endings) and mutations of a valid company (cells replaced,
columns dropped, renamed or doubled, rows doubled or dropped, data edits applied) are thrown at
planner.data.load_company (files in a folder) and planner.data.load_uploaded_company (bytes).
Each must load or raise an InputError whose problems name the file; any other exception is a
crash the user would see as a traceback.

Examples are random on each run (a fuzzer explores); a failure prints the shrunk input.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from planner.data import (ACCOUNT_OPTIONAL, ACCOUNT_REQUIRED, REP_OPTIONAL, REP_REQUIRED,
                          load_company, load_uploaded_company)
from planner.edits import parse_edits
from planner.errors import InputError

#: A warning from the loaders (an overflow, a pandas parser notice) reaches the user's screen.
pytestmark = pytest.mark.filterwarnings("error")

#: Examples per run of each test (660 in all, about 15 s on one core).
RANDOM_BYTES_EXAMPLES = 200
CSV_SHAPE_EXAMPLES = 250
EDITED_COMPANY_EXAMPLES = 150
TRAVEL_EXAMPLES = 60

FUZZ = settings(deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])

REPS = [
    ["rep_id", "name", "home_region", "level", "capacity_hours", "can_manage", "current_team",
     "preferred_function", "lat", "lon", "function:hunting", "function:farming", "product:ERP",
     "product:CRM", "region:East", "segment:key_account"],
    ["R1", "Ann", "East", "5", "40", "true", "East", "hunting", "31.2", "121.4", "5", "4", "4",
     "4", "5", "4"],
    ["R2", "王芳", "West", "4", "37.5", "否", "West", "", "23.1", "113.3", "4", "4", "4", "4", "",
     ""],
    ["R3", "Cy", "East", "3", "40", "false", "", "farming", "", "", "3", "4", "4", "4", "3", "2"],
]
ACCOUNTS = [
    ["account_id", "account_name", "region", "segment", "channel", "product", "potential",
     "current_owner", "hours:hunting", "hours:farming", "lat", "lon"],
    ["A1", "Acme, Inc.", "East", "key_account", "direct", "ERP", "100", "R1", "10", "10", "31.2",
     "121.4"],
    ["A1", "Acme, Inc.", "East", "key_account", "direct", "CRM", "50", "R1", "0", "5", "31.2",
     "121.4"],
    ["A2", "阿里巴巴", "West", "smb", "online", "ERP", "80", "R2", "10", "15", "", ""],
    ["A3", 'The "Big" One', "East", "smb", "direct", "CRM", "40", "", "0", "20", "30", "120"],
]
TRAVEL = [["rep_id", "account_id", "cost"], ["R1", "A1", "5"], ["R2", "A2", "3.5"],
          ["R3", "A3", "0"]]
REP_COLUMNS = list(REP_REQUIRED + REP_OPTIONAL) + REPS[0][10:]
ACCOUNT_COLUMNS = list(ACCOUNT_REQUIRED + ACCOUNT_OPTIONAL) + ["hours:hunting", "hours:farming",
                                                               "hours:", "hours_service"]
KEY_COLUMNS = ("rep_id", "account_id", "product", "current_owner", "hours:hunting")
PLAUSIBLE = ["R1", "R2", "R9", "A1", "A2", "East", "West", "smb", "key_account", "direct", "ERP",
             "CRM", "hunting", "farming", "true", "false", "yes", "是", "1", "5", "40", "0", "-3",
             "2.5", "37,5", "1,600", "1e400", "1e308", "-0", "nan", "inf", "-inf", "NaN", "None",
             "#N/A", "0x10", "１２", "½", "1_000", "+5", "91", "-181", "", " ", "=SUM(A1)", "'"]
CELL = st.one_of(st.sampled_from(PLAUSIBLE), st.text(max_size=8),
                 st.text(alphabet=',;\t"\n\r \ufeff\x00\u3000', max_size=4))
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "gbk", "gb18030"]


def _encode(draw, text: str) -> bytes:
    """The text in a random accepted encoding (UTF-8 where GBK cannot hold it)."""
    encoding = draw(st.sampled_from(ENCODINGS))
    try:
        return text.encode(encoding)
    except UnicodeEncodeError:
        return text.encode("utf-8")


@st.composite
def tables_from_scratch(draw, columns: list[str]) -> bytes:
    """A table whose header mixes real column names and junk, with rows of random widths
    and cells, joined by a random separator with or without (sometimes broken) quoting."""
    header = draw(st.lists(st.one_of(st.sampled_from(columns), st.text(max_size=6)),
                           max_size=len(columns) + 2))
    width = len(header)
    rows = [header] + [[draw(CELL) for _ in range(draw(st.sampled_from(
        [width, width, max(width - 1, 0), width + 1])))] for _ in range(draw(st.integers(0, 5)))]
    sep = draw(st.sampled_from([",", ";", "\t", "|"]))
    quoting = draw(st.sampled_from(["none", "minimal", "all"]))

    def cell(text: str) -> str:
        if quoting == "all" or (quoting == "minimal" and any(c in text for c in sep + '"\n\r')):
            return '"' + text.replace('"', '""') + '"'
        return text

    lines = [sep.join(cell(c) for c in row) for row in rows]
    for _ in range(draw(st.integers(0, 2))):
        lines.insert(draw(st.integers(0, len(lines))), draw(st.sampled_from(["", " ", sep * 3])))
    eol = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return _encode(draw, eol.join(lines) + draw(st.sampled_from(["", eol])))


@st.composite
def mutated_tables(draw, base: list[list[str]]) -> bytes:
    """A valid table changed in a few random ways, written by the csv module (so that the
    loaders' validation, not only the parser, sees it)."""
    rows = [list(r) for r in base]
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from(["cell", "cell", "cell", "cell", "drop_column", "rename",
                                     "double_column", "double_row", "drop_row", "add_column",
                                     "drop_key_column"]))
        column = draw(st.integers(0, len(rows[0]) - 1)) if rows[0] else None
        row = draw(st.integers(1, len(rows) - 1)) if len(rows) > 1 else None
        if kind == "cell" and row is not None and column is not None:
            rows[row][column] = draw(CELL)
        elif kind == "drop_key_column":  # the columns edits find rows by
            keys = [i for i, name in enumerate(rows[0]) if name in KEY_COLUMNS]
            column = draw(st.sampled_from(keys)) if keys else None
            if column is not None:
                rows = [r[:column] + r[column + 1:] for r in rows]
        elif kind == "drop_column" and column is not None:
            rows = [r[:column] + r[column + 1:] for r in rows]
        elif kind == "rename" and column is not None:
            rows[0][column] = draw(st.one_of(CELL, st.sampled_from(
                ["hours:", "hours:x", ":", "a:", ":b", "rep_id", "lat", "hours:hunting"])))
        elif kind == "double_column" and column is not None:
            rows = [r + [r[column]] for r in rows]
        elif kind == "double_row" and row is not None:
            rows.append(list(rows[row]))
        elif kind == "drop_row" and row is not None:
            del rows[row]
        elif kind == "add_column":
            name = draw(st.one_of(CELL, st.sampled_from(["function:x", "hours:service"])))
            rows = [rows[0] + [name]] + [r + [draw(CELL)] for r in rows[1:]]
    out = io.StringIO()
    csv.writer(out, delimiter=draw(st.sampled_from([",", ";", "\t"])),
               lineterminator=draw(st.sampled_from(["\n", "\r\n"]))).writerows(rows)
    return _encode(draw, out.getvalue())


def _valid(base: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(base)
    return out.getvalue().encode("utf-8")


NAMES = st.sampled_from(["R1", "R2", "R9", "A1", "ERP", "CRM", "East", "smb", "hunting", "x", ""])
EDITS = st.one_of(
    st.builds(lambda where, factor: {"scale_demand": {"where": where, "factor": factor}},
              st.dictionaries(st.sampled_from(["region", "segment", "function", "product",
                                               "channel", "rep_id", "zzz"]), NAMES, max_size=2),
              st.sampled_from([0.5, 2.0, 1e308])),
    st.builds(lambda ids: {"remove_reps": ids}, st.lists(NAMES, max_size=2)),
    st.builds(lambda reps: {"add_reps": reps}, st.lists(st.fixed_dictionaries({
        "rep_id": NAMES, "home_region": NAMES, "capacity_hours": st.sampled_from([1.0, 40.0]),
        "skills": st.dictionaries(st.sampled_from(["function:hunting", "product:ERP", "x:y"]),
                                  st.sampled_from([0.0, 3.0, 9.0]), max_size=2)}), max_size=2)),
    st.builds(lambda product, like: {"add_product": {"product": product, "like": like}},
              NAMES, NAMES),
    st.builds(lambda skills: {"set_skills": skills}, st.dictionaries(NAMES, st.dictionaries(
        st.sampled_from(["function:hunting", "nocolon", "product:ERP"]),
        st.sampled_from([0.0, 4.0, 7.0]), max_size=2), max_size=2)),
)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """One folder whose reps.csv and accounts.csv each example overwrites."""
    return tmp_path_factory.mktemp("fuzz")


def assert_loads_or_input_error(folder: Path, reps: bytes, accounts: bytes,
                                edits: tuple = ()) -> None:
    """Both loaders either load the files or raise an InputError naming the file."""
    (folder / "reps.csv").write_bytes(reps)
    (folder / "accounts.csv").write_bytes(accounts)
    loaders = [lambda: load_company(folder / "reps.csv", folder / "accounts.csv", edits=edits)]
    if not edits:
        loaders.append(lambda: load_uploaded_company(reps, "reps.csv", accounts, "accounts.csv"))
    for load in loaders:
        try:
            load()
            event("loads")
        except InputError as err:
            event("input error")
            assert err.problems and str(err)
            assert {p.file for p in err.problems} <= {"reps.csv", "accounts.csv",
                                                      "scenario edits"}, str(err)


@settings(FUZZ, max_examples=RANDOM_BYTES_EXAMPLES)
@given(data=st.data(), which=st.sampled_from(["reps", "accounts", "both"]))
def test_random_bytes_give_an_input_error(folder, data, which):
    files = {"reps": _valid(REPS), "accounts": _valid(ACCOUNTS)}
    for name in (["reps", "accounts"] if which == "both" else [which]):
        files[name] = data.draw(st.binary(max_size=600), label=name)
    assert_loads_or_input_error(folder, files["reps"], files["accounts"])


@settings(FUZZ, max_examples=CSV_SHAPE_EXAMPLES)
@given(reps=st.one_of(tables_from_scratch(REP_COLUMNS), mutated_tables(REPS)),
       accounts=st.one_of(tables_from_scratch(ACCOUNT_COLUMNS), mutated_tables(ACCOUNTS)))
def test_random_csv_shapes_load_or_give_an_input_error(folder, reps, accounts):
    assert_loads_or_input_error(folder, reps, accounts)


@settings(FUZZ, max_examples=EDITED_COMPANY_EXAMPLES)
@given(reps=mutated_tables(REPS), accounts=mutated_tables(ACCOUNTS),
       edits=st.lists(EDITS, min_size=1, max_size=3))
def test_edits_on_random_tables_load_or_give_an_input_error(folder, reps, accounts, edits):
    assert_loads_or_input_error(folder, reps, accounts, parse_edits(edits))


@settings(FUZZ, max_examples=TRAVEL_EXAMPLES)
@given(travel=st.one_of(st.binary(max_size=300), tables_from_scratch(TRAVEL[0]),
                        mutated_tables(TRAVEL)))
def test_random_travel_files_load_or_give_an_input_error(folder, travel):
    (folder / "reps.csv").write_bytes(_valid(REPS))
    (folder / "accounts.csv").write_bytes(_valid(ACCOUNTS))
    (folder / "travel.csv").write_bytes(travel)
    try:
        load_company(folder / "reps.csv", folder / "accounts.csv", folder / "travel.csv")
    except InputError as err:
        assert {p.file for p in err.problems} == {"travel.csv"}, str(err)


def test_the_unchanged_company_loads(folder):
    """The fuzz starts from a valid company (so mutations reach the validation)."""
    (folder / "reps.csv").write_bytes(_valid(REPS))
    (folder / "accounts.csv").write_bytes(_valid(ACCOUNTS))
    (folder / "travel.csv").write_bytes(_valid(TRAVEL))
    company = load_company(folder / "reps.csv", folder / "accounts.csv", folder / "travel.csv")
    assert company.reps["rep_id"].tolist() == ["R1", "R2", "R3"]
    assert len(company.lines) == 6 and company.travel["cost"].tolist() == [5, 3.5, 0]


#: Examples of the two CSV readers compared (about 2 s)
READER_EXAMPLES = 150


@settings(FUZZ, max_examples=READER_EXAMPLES)
@given(data=st.data(), separator=st.sampled_from([",", ";", "\t"]),
       width=st.integers(min_value=1, max_value=5))
def test_the_fast_reader_reads_what_the_row_by_row_reader_reads(data, separator, width):
    """Well-formed files go through pandas' C reader, the others row by row (which names the
    row at fault): where the fast reader takes a file, both must give the same table."""
    from planner.csvread import _checked_table, _fast_table
    names = [f"column {k}" for k in range(width)]
    rows = data.draw(st.lists(st.lists(CELL.filter(lambda c: "\x00" not in c),
                                       min_size=width, max_size=width), max_size=6))
    out = io.StringIO()
    csv.writer(out, delimiter=separator, lineterminator="\n").writerows([names] + rows)
    text = out.getvalue().replace("\r\n", "\n").replace("\r", "\n")  # as decode_file leaves it
    fast = _fast_table(text, separator, names)
    event("fast reader" if fast is not None else "row by row")
    if fast is not None:
        slow = _checked_table(text, separator, "t.csv")
        assert fast.astype(object).equals(slow.astype(object)), (fast, slow)
