"""Bad input to the loaders (reps.csv, accounts.csv, travel.csv) and to scenario files.

Every case asserts the exception type, the file, the spreadsheet row (header = row 1; for YAML
the line) and the column or key path of the Problem, and its exact message: the words a
sales-operations user reads to fix the file. Files in the encodings and layouts that Excel and
CRMs write load with the right values (and their errors name the same rows and columns), and no
input file is ever modified.

Some cases pin messages that go beyond naming the cell: a hint at the likely cause (a rep's
name in current_owner, an unquoted comma, a decimal comma, hours_hunting for hours:hunting).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import random
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner import csvread, data
from planner.data import load_company, load_uploaded_company
from planner.edits import parse_edits
from planner.errors import (MAX_LISTED_PROBLEMS, InputError, PlannerError, Problem,
                            ScenarioError)
from planner.instance import prepare
from planner.orgmodel import org_for
from planner.run import load_data, solve
from planner.scenario import load_scenario
from tests.helpers import generated_region_scenario, write_scenario, write_text

# Spreadsheet rows: header 1, R1 2, R2 3, R3 4, R4 5.
REPS = """\
rep_id,name,home_region,level,capacity_hours,can_manage,current_team,function:hunting,function:farming,product:ERP,product:CRM
R1,Ann,East,5,40,true,East,5,4,4,4
R2,Bob,West,4,40,false,West,4,4,4,4
R3,Cy,East,3,40,false,East,3,4,4,4
R4,Di,West,2,40,false,West,3,4,3,3
"""
# Spreadsheet rows: header 1, A1 2 ... A6 7. 125 h of demand, 160 h of capacity.
ACCOUNTS = """\
account_id,account_name,region,segment,channel,product,potential,current_owner,hours:hunting,hours:farming
A1,Acme,East,smb,direct,ERP,100,R1,10,10
A2,Bolt,West,smb,direct,ERP,80,R2,10,15
A3,Cog,East,smb,direct,CRM,40,R3,0,20
A4,Dyn,West,smb,direct,CRM,20,R4,5,15
A5,Eon,East,smb,direct,ERP,30,,10,10
A6,Fax,West,smb,direct,CRM,60,R2,10,10
"""
# Spreadsheet rows: header 1, then 2, 3, 4, 5.
TRAVEL = """\
rep_id,account_id,cost
R1,A1,5
R9,A2,3
R2,A99,4
R1,A1,6
"""
BAND = {"utilization": {"min": 0.5, "max": 1.2}}  # the tiny company fits this band


class _Any:
    def __repr__(self) -> str:
        return "ANY"


ANY = _Any()  # a Problem field the test does not pin


# --- helpers ------------------------------------------------------------------------------------

def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _text(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def set_cell(text: str, row: int, column: str, value: str) -> str:
    """The CSV text with one cell changed; `row` is the spreadsheet row (header = 1)."""
    rows = _rows(text)
    rows[row - 1][rows[0].index(column)] = value
    return _text(rows)


def rename_column(text: str, old: str, new: str) -> str:
    rows = _rows(text)
    rows[0][rows[0].index(old)] = new
    return _text(rows)


def add_column(text: str, name: str, values: list[str]) -> str:
    rows = _rows(text)
    rows[0].append(name)
    for row, value in zip(rows[1:], values, strict=True):
        row.append(value)
    return _text(rows)


def load(folder: Path, reps: str = REPS, accounts: str = ACCOUNTS, travel: str | None = None):
    write_text(folder, "reps.csv", reps)
    write_text(folder, "accounts.csv", accounts)
    travel_path = write_text(folder, "travel.csv", travel) if travel is not None else None
    return load_company(folder / "reps.csv", folder / "accounts.csv", travel_path)


def load_bytes(folder: Path, reps: bytes, accounts: bytes):
    (folder / "reps.csv").write_bytes(reps)
    (folder / "accounts.csv").write_bytes(accounts)
    return load_company(folder / "reps.csv", folder / "accounts.csv")


def input_error(folder: Path, **files) -> InputError:
    with pytest.raises(InputError) as caught:
        load(folder, **files)
    return caught.value


def assert_problem(err: PlannerError, file: str, row, column, message: str) -> Problem:
    """One of err's problems is at (file, row, column) with exactly this message."""
    def at(p: Problem) -> bool:
        return (p.file == file and (row is ANY or p.row == row)
                and (column is ANY or p.column == column))
    here = [p for p in err.problems if at(p)]
    assert here, f"no problem at {file}, row {row}, column {column!r}: {err.problems}"
    match = [p for p in here if p.message == message]
    assert match, f"no message {message!r} at {file}, row {row}: {[p.message for p in here]}"
    assert str(match[0]) in str(err)  # what the user reads names the place too
    return match[0]


# --- reps.csv and accounts.csv: columns ---------------------------------------------------------

@pytest.mark.parametrize("file, column, typo", [
    ("reps.csv", "capacity_hours", "capacity_hour"),
    ("reps.csv", "can_manage", "can_manag"),
    ("accounts.csv", "potential", "potentail"),
    ("accounts.csv", "region", "regoin"),
])
def test_missing_required_column_suggests_the_nearest_header(tmp_path, file, column, typo):
    files = {"reps": REPS, "accounts": ACCOUNTS}
    key = file.removesuffix(".csv")
    files[key] = rename_column(files[key], column, typo)
    err = input_error(tmp_path, **files)
    assert_problem(err, file, 1, column, f"required column is missing (did you mean {typo!r}?)")


def test_missing_required_column_without_lookalike_has_no_suggestion(tmp_path):
    rows = [r[:5] + r[6:] for r in _rows(ACCOUNTS)]  # drop the product column
    err = input_error(tmp_path, accounts=_text(rows))
    p = assert_problem(err, "accounts.csv", 1, "product", "required column is missing")
    assert "did you mean" not in p.message


def test_column_twice_in_header(tmp_path):
    err = input_error(tmp_path, reps=rename_column(REPS, "current_team", "level"))
    assert_problem(err, "reps.csv", 1, "level", "this column appears twice in the header")


# A quoted column name with a line break in it: the header runs past its first line, and the
# column named twice is after the break (found by the fuzz test).
def test_column_twice_in_a_header_over_two_lines(tmp_path):
    header, *rows = ACCOUNTS.splitlines()
    text = "\n".join([header + ',"note\r",account_id'] + [r + ",x," + r.split(",")[0]
                                                            for r in rows]) + "\n"
    err = input_error(tmp_path, accounts=text)
    assert_problem(err, "accounts.csv", 1, "account_id", "this column appears twice in the header")


NO_HOURS = ("there is no hours column: add one `hours:<function>` column per function, e.g. "
            "hours:hunting")


def test_no_hours_column(tmp_path):
    accounts = rename_column(rename_column(ACCOUNTS, "hours:hunting", "hunting"),
                             "hours:farming", "farming")
    err = input_error(tmp_path, accounts=accounts)
    assert_problem(err, "accounts.csv", 1, None, NO_HOURS)


def test_no_hours_column_suggests_the_colon_spelling(tmp_path):
    accounts = rename_column(rename_column(ACCOUNTS, "hours:hunting", "hours_hunting"),
                             "hours:farming", "hours_farming")
    err = input_error(tmp_path, accounts=accounts)
    assert_problem(err, "accounts.csv", 1, "hours_hunting",
                   NO_HOURS + " (did you mean 'hours:hunting' for 'hours_hunting'?)")


def test_hours_column_without_function_name(tmp_path):
    err = input_error(tmp_path, accounts=rename_column(ACCOUNTS, "hours:farming", "hours:"))
    assert_problem(err, "accounts.csv", 1, None,
                   "an hours column has no function name after 'hours:'")


def test_proficiency_column_without_value(tmp_path):
    err = input_error(tmp_path, reps=rename_column(REPS, "product:CRM", "product:"))
    assert_problem(err, "reps.csv", 1, "product:",
                   "a proficiency column is named <dimension>:<value>, e.g. function:hunting")


# --- reps.csv and accounts.csv: cells -------------------------------------------------------------

def test_duplicate_rep_id(tmp_path):
    err = input_error(tmp_path, reps=REPS + "R2,Bobby,West,4,40,false,West,4,4,4,4\n")
    assert_problem(err, "reps.csv", 6, "rep_id", "rep_id 'R2' is used twice (first on row 3)")


def test_duplicate_account_product_row(tmp_path):
    err = input_error(tmp_path, accounts=ACCOUNTS + "A1,Acme,East,smb,direct,ERP,5,R1,1,1\n")
    assert_problem(err, "accounts.csv", 8, "product",
                   "account 'A1' has product 'ERP' on an earlier row too; give each account x "
                   "product one row")


@pytest.mark.parametrize("file, row, column, value, message", [
    ("accounts.csv", 4, "hours:farming", "-20", "'-20' is not allowed here: it must be a number "
                                                "of at least 0"),
    ("accounts.csv", 4, "hours:farming", "twenty", "'twenty' is not a number"),
    ("accounts.csv", 4, "hours:farming", "", "this cell is empty; it needs a number"),
    ("accounts.csv", 4, "potential", "-40", "'-40' is not allowed here: it must be a number "
                                            "of at least 0"),
    ("reps.csv", 4, "capacity_hours", "0", "'0' is not allowed here: it must be a number above 0"),
    ("reps.csv", 4, "capacity_hours", "40 h", "'40 h' is not a number"),
    ("reps.csv", 4, "capacity_hours", "-40", "'-40' is not allowed here: it must be a number "
                                              "above 0"),
    ("reps.csv", 4, "capacity_hours", "", "this cell is empty; it needs a number"),
    ("reps.csv", 4, "level", "0", "'0' is not allowed here: it must be a whole number from 1 to 5"),
    ("reps.csv", 4, "level", "6", "'6' is not allowed here: it must be a whole number from 1 to 5"),
    ("reps.csv", 4, "level", "2.5", "'2.5' is not allowed here: it must be a whole number from 1 "
                                    "to 5"),
    ("reps.csv", 3, "can_manage", "maybe", "'maybe' is not true or false"),
    ("reps.csv", 2, "function:hunting", "7", "'7' is not allowed here: it must be a number from "
                                             "0 to 5"),
    ("reps.csv", 2, "name", "", "this cell is empty; it needs a value"),
    ("accounts.csv", 5, "region", "", "this cell is empty; it needs a value"),
])
def test_bad_cell_names_file_row_and_column(tmp_path, file, row, column, value, message):
    files = {"reps": REPS, "accounts": ACCOUNTS}
    key = file.removesuffix(".csv")
    files[key] = set_cell(files[key], row, column, value)
    err = input_error(tmp_path, **files)
    assert len(err.problems) == 1
    assert_problem(err, file, row, column, message)


def test_current_owner_not_on_the_roster_suggests_a_rep(tmp_path):
    err = input_error(tmp_path, accounts=set_cell(ACCOUNTS, 4, "current_owner", "R33"))
    assert_problem(err, "accounts.csv", 4, "current_owner",
                   "current_owner 'R33' is not a rep_id in reps.csv (did you mean 'R3'?)")


def test_current_owner_given_as_a_rep_name_points_to_the_rep_id(tmp_path):
    err = input_error(tmp_path, accounts=set_cell(ACCOUNTS, 4, "current_owner", "Cy"))
    assert_problem(err, "accounts.csv", 4, "current_owner",
                   "current_owner 'Cy' is not a rep_id in reps.csv (it is the name of rep R3: use "
                   "the rep_id 'R3')")


def test_a_function_owner_column_sets_that_functions_lines_owner(tmp_path):
    # A2 farming belongs to R4, A3 (no hunting hours) to nobody else: blank cells keep the row's
    accounts = add_column(ACCOUNTS, "current_owner:farming", ["", "R4", "", "", "", ""])
    lines = load(tmp_path, accounts=accounts).lines.set_index(["account_id", "function"])
    reps = ["R1", "R2", "R3", "R4"]
    owner = {k: (reps[o] if o >= 0 else "") for k, o in lines["owner"].items()}
    assert owner[("A2", "farming")] == "R4"
    assert owner[("A2", "hunting")] == "R2"
    assert owner[("A1", "farming")] == "R1"
    assert owner[("A5", "farming")] == ""


def test_a_function_owner_not_on_the_roster(tmp_path):
    accounts = add_column(ACCOUNTS, "current_owner:farming", ["", "", "R44", "", "", ""])
    err = input_error(tmp_path, accounts=accounts)
    assert_problem(err, "accounts.csv", 4, "current_owner:farming",
                   "current_owner:farming 'R44' is not a rep_id in reps.csv (did you mean 'R4'?)")


def test_a_function_owner_column_of_an_unknown_function(tmp_path):
    accounts = add_column(ACCOUNTS, "current_owner:farmin", ["", "", "", "", "", ""])
    err = input_error(tmp_path, accounts=accounts)
    assert_problem(err, "accounts.csv", 1, "current_owner:farmin",
                   "there is no function 'farmin' (the hours columns give hunting, farming) "
                   "(did you mean 'farming'?)")


def test_conflicting_attributes_of_one_account(tmp_path):
    err = input_error(tmp_path, accounts=ACCOUNTS + "A1,Acme,West,smb,direct,CRM,5,R1,1,1\n")
    assert_problem(err, "accounts.csv", 8, "region",
                   "account 'A1' has region 'West' here but 'East' on its first row; the rows "
                   "of one account must agree")


def test_preferred_function_that_is_no_function(tmp_path):
    reps = add_column(REPS, "preferred_function", ["huntin", "", "farming", ""])
    err = input_error(tmp_path, reps=reps)
    assert_problem(err, "reps.csv", 2, "preferred_function",
                   "'huntin' is not a function of accounts.csv (its hours columns give hunting, "
                   "farming) (did you mean 'hunting'?)")


def test_lat_without_lon_column(tmp_path):
    err = input_error(tmp_path, reps=add_column(REPS, "lat", ["31.2", "23.1", "31.3", "23.2"]))
    assert_problem(err, "reps.csv", 1, "lon", "lat and lon come together; this one is missing")


def test_lat_without_lon_in_one_row(tmp_path):
    accounts = add_column(add_column(ACCOUNTS, "lat", ["31.2", "23.1", "", "", "", ""]),
                          "lon", ["", "113.3", "", "", "", ""])
    err = input_error(tmp_path, accounts=accounts)
    assert_problem(err, "accounts.csv", 2, "lat", "give both lat and lon, or neither")


@pytest.mark.parametrize("row", [2, 4], ids=["first-data-row", "later-row"])
def test_unquoted_comma_in_a_value_names_the_row(tmp_path, row):
    rows = _rows(ACCOUNTS)
    lines = ACCOUNTS.splitlines(keepends=True)
    name = rows[row - 1][1]
    lines[row - 1] = lines[row - 1].replace(f",{name},", f",{name}, Inc.,")
    err = input_error(tmp_path, accounts="".join(lines))
    assert_problem(err, "accounts.csv", row, None,
                   "this row has 11 cells but the header has 10; a value that contains a comma "
                   "must be put in double quotes, e.g. \"Acme, Inc.\"")


def test_blank_rows_keep_spreadsheet_numbering(tmp_path):
    lines = set_cell(ACCOUNTS, 6, "potential", "lots").splitlines(keepends=True)
    accounts = "".join(lines[:3] + ["\n", ",,,,,,,,,\n"] + lines[3:])  # two blank rows before A3
    err = input_error(tmp_path, accounts=accounts)
    assert_problem(err, "accounts.csv", 8, "potential", "'lots' is not a number")



@pytest.mark.parametrize("cell", ["1_000", "\u0663", "0x10"])
def test_what_python_reads_as_a_number_but_a_spreadsheet_does_not_is_refused(tmp_path, cell):
    # (numbers are parsed by Arrow where every cell is a plain one, else by pandas: neither
    # takes Python's underscores, other scripts' digits or hexadecimal)
    err = input_error(tmp_path, accounts=set_cell(ACCOUNTS, 3, "potential", cell))
    assert_problem(err, "accounts.csv", 3, "potential", f"{cell!r} is not a number")


def test_numbers_read_the_same_whichever_parser_reads_them(tmp_path):
    rng = np.random.default_rng(5)
    values = (rng.random(400) * 10.0 ** rng.integers(-4, 7, 400)).tolist()
    cells = [repr(v) for v in values[:200]] + [f"{v:.3f}" for v in values[200:]]
    text = "potential\n" + "\n".join(cells) + "\n"
    plain = csvread.read_table(text.encode(), "upload")
    with_word = csvread.read_table((text + "lots\n").encode(), "upload")
    fast, slow = (data._numbers(t, "potential", "upload", []) for t in (plain, with_word))
    assert np.array_equal(fast, slow[:-1]) and np.isnan(slow[-1])
    assert np.array_equal(fast, [float(c) for c in cells])

# --- whole files ----------------------------------------------------------------------------------

@pytest.mark.parametrize("file", ["reps.csv", "accounts.csv"])
def test_empty_file(tmp_path, file):
    files = {"reps": REPS, "accounts": ACCOUNTS, file.removesuffix(".csv"): ""}
    err = input_error(tmp_path, **files)
    assert_problem(err, file, None, None, "the file is empty")


@pytest.mark.parametrize("file", ["reps.csv", "accounts.csv"])
def test_header_only(tmp_path, file):
    files = {"reps": REPS, "accounts": ACCOUNTS}
    key = file.removesuffix(".csv")
    files[key] = files[key].splitlines()[0] + "\n"
    err = input_error(tmp_path, **files)
    assert_problem(err, file, None, None, "the file has a header but no data rows")


NUL_BYTES = "the file is not a text file (it contains NUL bytes); save it as CSV (UTF-8)"
BINARY = {
    "nul-bytes": (REPS.encode()[:60] + b"\x00\x00" + REPS.encode()[60:], NUL_BYTES),
    "random": (random.Random(0).randbytes(2000), NUL_BYTES),
    "random-without-nul": (random.Random(0).randbytes(2000).replace(b"\x00", b""),
                           "the file is neither UTF-8 nor GBK text (unreadable byte on line 1); "
                           "save it as CSV (UTF-8)"),
    "xlsx-renamed": (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00" + bytes(range(256)),
                     NUL_BYTES),
    "not-utf8-nor-gbk": (b"rep_id,name\nR1,\xff\xfe\xfd\xff\n",
                         "the file is neither UTF-8 nor GBK text (unreadable byte on line 2); "
                         "save it as CSV (UTF-8)"),
    "utf16-odd-length": (codecs.BOM_UTF16_LE + REPS.encode("utf-16-le")[:-1],
                         "the file starts like UTF-16 but is not valid UTF-16 text"),
}


@pytest.mark.parametrize("content, message", list(BINARY.values()), ids=list(BINARY))
def test_binary_file_is_an_input_error(tmp_path, content, message):
    with pytest.raises(InputError) as caught:
        load_bytes(tmp_path, content, ACCOUNTS.encode())
    assert_problem(caught.value, "reps.csv", None, None, message)


def test_several_problems_are_reported_together(tmp_path):
    reps = set_cell(set_cell(REPS, 4, "capacity_hours", "abc"), 5, "level", "9")
    err = input_error(tmp_path, reps=reps)
    assert len(err.problems) == 2
    assert_problem(err, "reps.csv", 4, "capacity_hours", "'abc' is not a number")
    assert_problem(err, "reps.csv", 5, "level",
                   "'9' is not allowed here: it must be a whole number from 1 to 5")
    assert str(err).count("\n- ") == 1 and str(err).startswith("- ")


def test_many_problems_are_capped_with_a_count(tmp_path):
    rows = _rows(REPS)
    extra = [[f"X{i}", "X", "East", "9", "40", "false", "", "1", "1", "1", "1"] for i in range(30)]
    err = input_error(tmp_path, reps=_text(rows + extra))
    assert len(err.problems) == 30
    lines = str(err).splitlines()
    assert len(lines) == MAX_LISTED_PROBLEMS + 1
    assert lines[0] == ("- reps.csv, row 6, column 'level': '9' is not allowed here: it must be a "
                        "whole number from 1 to 5")
    assert lines[-1] == f"- ... and {30 - MAX_LISTED_PROBLEMS} more problems of the same kind"


# --- encodings and layouts that load --------------------------------------------------------------

REPS_CN = """\
rep_id,name,home_region,level,capacity_hours,can_manage,current_team,function:hunting,function:farming,product:云财务,product:CRM
R1,王芳,华东,5,40,是,华东一部,5,4,4,4
R2,李强,华南,4,40,否,华南一部,4,4,4,4
R3,张伟,华东,3,40,否,华东一部,3,4,4,4
R4,刘洋,华南,2,37.5,否,华南一部,3,4,3,3
"""
ACCOUNTS_CN = """\
account_id,account_name,region,segment,channel,product,potential,current_owner,hours:hunting,hours:farming
A1,阿里巴巴,华东,smb,direct,云财务,100,R1,10,10
A2,腾讯,华南,smb,direct,云财务,80,R2,10,15
A3,美的,华南,smb,direct,CRM,40,R3,0,20
"""


def test_gbk_files_load_with_chinese_names(tmp_path):
    c = load_bytes(tmp_path, REPS_CN.encode("gbk"), ACCOUNTS_CN.encode("gbk"))
    assert c.reps["name"].tolist() == ["王芳", "李强", "张伟", "刘洋"]
    assert c.reps["can_manage"].tolist() == [True, False, False, False]
    assert c.reps["capacity_hours"].tolist() == [40, 40, 40, 37.5]
    assert c.accounts["account_name"].tolist() == ["阿里巴巴", "腾讯", "美的"]
    assert c.values("region") == ["华东", "华南"]
    assert c.values("product") == ["CRM", "云财务"]
    assert c.proficiency("product", "云财务").tolist() == [4, 4, 4, 3]
    assert c.lines["hours"].sum() == 65


def _assert_tiny_company(c) -> None:
    assert c.reps["rep_id"].tolist() == ["R1", "R2", "R3", "R4"]
    assert c.reps["capacity_hours"].tolist() == [40.0] * 4
    assert c.reps["level"].tolist() == [5, 4, 3, 2]
    assert c.functions == ("hunting", "farming")
    assert c.accounts["account_id"].tolist() == ["A1", "A2", "A3", "A4", "A5", "A6"]
    assert c.lines["hours"].sum() == 125
    assert c.rows["owner"].tolist() == [0, 1, 2, 3, -1, 1]
    assert c.proficiency("function", "hunting").tolist() == [5, 4, 3, 3]


LAYOUTS = {
    "utf8-bom": lambda t: codecs.BOM_UTF8 + t.encode("utf-8"),
    "utf16-bom-tabs": lambda t: t.replace(",", "\t").encode("utf-16"),  # Excel "Unicode text"
    "utf16-bom-commas": lambda t: t.encode("utf-16"),
    "semicolons": lambda t: t.replace(",", ";").encode("utf-8"),
    "tabs": lambda t: t.replace(",", "\t").encode("utf-8"),
    "windows-line-endings": lambda t: t.replace("\n", "\r\n").encode("utf-8"),
    "bom-semicolons-crlf": lambda t: codecs.BOM_UTF8 + t.replace(",", ";").replace(
        "\n", "\r\n").encode("utf-8"),
}


@pytest.mark.parametrize("encode", list(LAYOUTS.values()), ids=list(LAYOUTS))
def test_layouts_load_with_the_same_values(tmp_path, encode):
    c = load_bytes(tmp_path, encode(REPS), encode(ACCOUNTS))
    _assert_tiny_company(c)
    assert "rep_id" in c.reps.columns and "\ufeff" not in "".join(c.reps.columns)


def test_decimal_comma_in_a_semicolon_file(tmp_path):
    reps = REPS.replace(",", ";").replace("R4;Di;West;2;40;", "R4;Di;West;2;37,5;")
    c = load_bytes(tmp_path, reps.encode(), ACCOUNTS.replace(",", ";").encode())
    assert c.reps["capacity_hours"].tolist() == [40, 40, 40, 37.5]


def test_trailing_separators_load_without_a_warning(tmp_path):
    """Excel writes a trailing comma on rows with an empty last cell: blank extra cells are
    fine, and no pandas parser warning reaches the user's screen."""
    lines = ACCOUNTS.splitlines(keepends=True)
    accounts = lines[0] + "".join(line.replace("\n", ",,\n") for line in lines[1:])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = load(tmp_path, accounts=accounts)
    _assert_tiny_company(c)


# --- the same errors in every encoding and layout -------------------------------------------------

BAD_LEVEL = set_cell(REPS, 5, "level", "9")  # R4, spreadsheet row 5
BAD_LEVEL_LAYOUTS = {**LAYOUTS, "mac-line-endings": lambda t: t.replace("\n", "\r").encode()}


@pytest.mark.parametrize("encode", list(BAD_LEVEL_LAYOUTS.values()), ids=list(BAD_LEVEL_LAYOUTS))
def test_errors_name_the_same_row_and_column_in_every_layout(tmp_path, encode):
    with pytest.raises(InputError) as caught:
        load_bytes(tmp_path, encode(BAD_LEVEL), encode(ACCOUNTS))
    assert len(caught.value.problems) == 1
    assert_problem(caught.value, "reps.csv", 5, "level",
                   "'9' is not allowed here: it must be a whole number from 1 to 5")


def test_gbk_file_errors_quote_the_chinese_text(tmp_path):
    reps = set_cell(REPS_CN, 3, "level", "四")
    accounts = set_cell(ACCOUNTS_CN, 3, "current_owner", "李强")
    with pytest.raises(InputError) as caught:
        load_bytes(tmp_path, reps.encode("gbk"), accounts.encode("gbk"))
    assert_problem(caught.value, "reps.csv", 3, "level", "'四' is not a number")
    with pytest.raises(InputError) as caught:
        load_bytes(tmp_path, REPS_CN.encode("gbk"), accounts.encode("gbk"))
    assert_problem(caught.value, "accounts.csv", 3, "current_owner",
                   "current_owner '李强' is not a rep_id in reps.csv (it is the name of rep R2: "
                   "use the rep_id 'R2')")


def test_bom_is_not_part_of_the_first_column_name(tmp_path):
    reps = codecs.BOM_UTF8 + rename_column(REPS, "rep_id", "rep_ld").encode("utf-8")
    with pytest.raises(InputError) as caught:
        load_bytes(tmp_path, reps, ACCOUNTS.encode("utf-8"))
    assert_problem(caught.value, "reps.csv", 1, "rep_id",
                   "required column is missing (did you mean 'rep_ld'?)")


def test_unquoted_semicolon_in_a_semicolon_file(tmp_path):
    accounts = ACCOUNTS.replace(",", ";").replace(";Cog;", ";Cog; Ltd.;")
    with pytest.raises(InputError) as caught:
        load_bytes(tmp_path, REPS.encode(), accounts.encode())
    assert_problem(caught.value, "accounts.csv", 4, None,
                   "this row has 11 cells but the header has 10; a value that contains a "
                   "semicolon must be put in double quotes, e.g. \"Acme; Inc.\"")


def test_first_row_empty(tmp_path):
    err = input_error(tmp_path, reps="\n" + REPS)
    assert_problem(err, "reps.csv", 1, None,
                   "the first row is empty; the header (the column names, such as rep_id or "
                   "account_id) must be on row 1")


@pytest.fixture
def small_cell_limit():
    """The csv module's cell size limit lowered to 200 characters (instead of writing a file
    past the real limit of 131,072)."""
    old = csv.field_size_limit(200)
    yield
    csv.field_size_limit(old)


def test_double_quote_that_is_never_closed(tmp_path, small_cell_limit):
    lines = ACCOUNTS.splitlines(keepends=True)
    lines[3] = lines[3].replace(",Cog,", ',"Cog,')  # row 4 opens a quote, the file never closes it
    err = input_error(tmp_path, accounts="".join(lines) + "A9,x,East,smb,direct,ERP,1,,1,1\n" * 9)
    assert_problem(err, "accounts.csv", 4, None,
                   "a cell on this row starts with a double quote that is never closed, so the "
                   "rest of the file reads as one cell; close or remove the quote")


@pytest.mark.parametrize("limit, content, message", [
    (100, REPS.encode(), f"the file is {len(REPS.encode())} bytes; the planner reads files up "
                         "to 100 bytes"),
    (10_000_000, b"x" * 12_300_000, "the file is 12 MB; the planner reads files up to 10 MB"),
    (20_000, b"x" * 35_000, "the file is 35 kB; the planner reads files up to 20 kB"),
], ids=["bytes", "MB", "kB"])
def test_enormous_file_is_refused_before_it_is_read(tmp_path, monkeypatch, limit, content,
                                                    message):
    monkeypatch.setattr(csvread, "MAX_FILE_BYTES", limit)
    with pytest.raises(InputError) as caught:
        load_uploaded_company(content, "reps.csv", ACCOUNTS.encode(), "accounts.csv")
    assert_problem(caught.value, "reps.csv", None, None, message)


def test_enormous_file_on_disk_is_refused_by_its_size(tmp_path, monkeypatch):
    monkeypatch.setattr(csvread, "MAX_FILE_BYTES", 100)
    monkeypatch.setattr(Path, "read_bytes", _never_read)
    err = input_error(tmp_path, reps=REPS)
    assert_problem(err, "reps.csv", None, None, f"the file is {len(REPS.encode())} bytes; the "
                                                "planner reads files up to 100 bytes")


def _never_read(self) -> bytes:
    raise AssertionError(f"{self} was read although it is over the size limit")


# --- data edits on bad files --------------------------------------------------------------------

def edit_error(folder: Path, edits: list[dict], reps: str = REPS,
               accounts: str = ACCOUNTS) -> InputError:
    write_text(folder, "reps.csv", reps)
    write_text(folder, "accounts.csv", accounts)
    with pytest.raises(InputError) as caught:
        load_company(folder / "reps.csv", folder / "accounts.csv", edits=parse_edits(edits))
    return caught.value


@pytest.mark.parametrize("edit", [{"remove_reps": ["R1"]}, {"set_skills": {"R1": {"x:y": 1}}},
                                  {"add_reps": [{"rep_id": "N1", "home_region": "East",
                                                 "capacity_hours": 40}]}],
                         ids=["remove_reps", "set_skills", "add_reps"])
def test_edit_on_a_file_without_rep_id_names_the_missing_column(tmp_path, edit):
    err = edit_error(tmp_path, [edit], reps=rename_column(REPS, "rep_id", "rep id"))
    assert_problem(err, "reps.csv", 1, "rep_id",
                   "required column is missing (did you mean 'rep id'?)")


def test_add_product_on_a_file_without_product_names_the_missing_column(tmp_path):
    err = edit_error(tmp_path, [{"add_product": {"product": "AI", "like": "ERP"}}],
                     accounts=rename_column(ACCOUNTS, "product", "products"))
    assert_problem(err, "accounts.csv", 1, "product",
                   "required column is missing (did you mean 'products'?)")


@pytest.mark.parametrize("edit, message", [
    ({"scale_demand": {"where": {"region": "Eats"}, "factor": 2}},
     "scale_demand: no account has region 'Eats' (did you mean 'East'?)"),
    ({"scale_demand": {"where": {"regoin": "East"}, "factor": 2}},
     "scale_demand: accounts.csv has no column 'regoin' (did you mean 'region'?)"),
    ({"scale_demand": {"where": {"function": "huntin"}, "factor": 2}},
     "scale_demand: no hours column for function 'huntin' (did you mean 'hunting'?)"),
    ({"scale_demand": {"where": {}, "factor": 1e308}},
     "scale_demand: factor 1e+308 makes hours:hunting too large to hold"),
    ({"remove_reps": ["R33"]}, "remove_reps: 'R33' is not a rep_id in reps.csv (did you mean "
                               "'R3'?)"),
    ({"add_product": {"product": "AI", "like": "ERPP"}},
     "add_product: no account buys 'ERPP' (did you mean 'ERP'?)"),
], ids=["value-no-data-has", "unknown-dimension", "unknown-function", "factor-overflow",
        "unknown-rep", "unknown-product"])
def test_bad_edit(tmp_path, edit, message):
    assert_problem(edit_error(tmp_path, [edit]), "scenario edits", None, None, message)


# --- travel.csv -----------------------------------------------------------------------------------

def test_travel_unknown_rep_unknown_account_and_duplicate_pair(tmp_path):
    err = input_error(tmp_path, travel=TRAVEL)
    assert len(err.problems) == 3
    assert_problem(err, "travel.csv", 3, "rep_id", "rep 'R9' is not in reps.csv")
    assert_problem(err, "travel.csv", 4, "account_id", "account 'A99' is not in accounts.csv")
    assert_problem(err, "travel.csv", 5, "account_id",
                   "the pair 'R1' x 'A1' is on an earlier row too (row 2); give each pair one row")


def test_travel_bad_cost(tmp_path):
    err = input_error(tmp_path, travel="rep_id,account_id,cost\nR1,A1,-5\nR2,A2,far\n")
    assert_problem(err, "travel.csv", 2, "cost",
                   "'-5' is not allowed here: it must be a number of at least 0")
    assert_problem(err, "travel.csv", 3, "cost", "'far' is not a number")


def test_travel_missing_column(tmp_path):
    err = input_error(tmp_path, travel="rep_id,account_id,costs\nR1,A1,5\n")
    assert_problem(err, "travel.csv", 1, "cost", "required column is missing (did you mean "
                                                 "'costs'?)")


# --- scenario files ---------------------------------------------------------------------------------

HEAD = "name: t\ndata: {reps: reps.csv, accounts: accounts.csv}\n"  # lines 1-2


@pytest.fixture
def folder(tmp_path) -> Path:
    """A folder with the tiny company and a valid scenario.yaml."""
    write_scenario(tmp_path, REPS, ACCOUNTS, org_model="by-region", rules=BAND)
    return tmp_path


def scenario_error(folder: Path, text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write_text(folder, "s.yaml", text))
    return caught.value


def org_error(folder: Path, text: str) -> ScenarioError:
    """The error raised when the scenario's org model meets the data (org_for)."""
    scenario = load_scenario(write_text(folder, "s.yaml", text))
    company = load_company(scenario.reps_path, scenario.accounts_path)
    with pytest.raises(ScenarioError) as caught:
        org_for(company, scenario)
    return caught.value


def test_valid_scenario_loads(folder):
    scenario = load_scenario(folder / "scenario.yaml")
    assert scenario.org_model == "by-region" and scenario.rules.utilization.min == 0.5
    assert scenario.reps_path == (folder / "reps.csv").resolve()


@pytest.mark.parametrize("text, line, message", [
    (HEAD + "org_model: by-region\nrules:\n  min_proficiency: 2\n   allow_unmet: true\n", 6,
     "this is not valid YAML: mapping values are not allowed here"),
    (HEAD + "org_model: by-region\nrules:\n\tmin_proficiency: 2\n", 5,
     "this is not valid YAML: found character '\\t' that cannot start any token"),
], ids=["indentation", "tab"])
def test_malformed_yaml_names_the_line(folder, text, line, message):
    err = scenario_error(folder, text)
    assert_problem(err, "s.yaml", line, None, message)
    assert f"s.yaml, line {line}:" in str(err)


@pytest.mark.parametrize("text", ["- by-region\n- by-function\n", "", "just words\n"],
                         ids=["list", "empty", "scalar"])
def test_scenario_that_is_not_a_mapping(folder, text):
    err = scenario_error(folder, text)
    assert_problem(err, "s.yaml", None, None, "a scenario file is a YAML mapping with keys name, "
                                              "data, org_model, rules, objective, solver")


RULE_KEYS = ("utilization, min_proficiency, key_accounts_senior, key_account_segment, "
             "senior_level, span_of_control, manager_level, manager_load, allow_unmet, "
             "max_reps_moved, coverage, pins, fit_weights")


@pytest.mark.parametrize("text, line, key, message", [
    (HEAD + "org_model: by-region\nrule:\n  allow_unmet: true\n", 4, "rule",
     "unknown key 'rule' (did you mean 'rules'?); keys here: name, description, data, "
     "org_model, edits, rules, objective, solver"),
    (HEAD + "org_model: by-region\nrules:\n  allow_unmt: true\n", 5, "rules.allow_unmt",
     f"unknown key 'allow_unmt' (did you mean 'allow_unmet'?); keys here: {RULE_KEYS}"),
    (HEAD + "org_model: by-region\nrules:\n  utilization: {minimum: 0.5}\n", 5,
     "rules.utilization.minimum", "unknown key 'minimum' (did you mean 'min'?); keys here: min, "
                                  "max"),
    (HEAD + "org_model: by-region\nsolver: {time_limt: 5}\n", 4, "solver.time_limt",
     "unknown key 'time_limt' (did you mean 'time_limit'?); keys here: time_limit, workers, seed, "
     "relative_gap_limit"),
], ids=["top-level", "rules", "utilization", "solver"])
def test_unknown_key_suggests_the_nearest(folder, text, line, key, message):
    assert_problem(scenario_error(folder, text), "s.yaml", line, key, message)


def test_missing_required_key(folder):
    err = scenario_error(folder, "name: t\ndata: {reps: reps.csv}\norg_model: by-region\n")
    assert_problem(err, "s.yaml", 2, "data.accounts", "this key is required")


TERMS = "terms: unmet, balance, fit, continuity, travel, preferences"


@pytest.mark.parametrize("text, line, key, message", [
    (HEAD + "org_model: by-region\nrules:\n  utilization: {min: 1.2, max: 0.9}\n", 5,
     "rules.utilization", "min (1.2) is above max (0.9)"),
    (HEAD + "org_model: by-region\nobjective:\n  weights: {unmet: 1000, balanse: 1}\n", 4,
     "objective", f"unknown objective term 'balanse' (did you mean 'balance'?); {TERMS}"),
    (HEAD + "org_model: by-region\nobjective:\n  priorities: [unmet, contiunity]\n", 4,
     "objective", f"unknown objective term 'contiunity' (did you mean 'continuity'?); {TERMS}"),
    (HEAD + "org_model: by-region\nobjective:\n  weights: {unmet: 1000}\n  priorities: [unmet]\n",
     4, "objective", "give either weights or priorities, not both"),
    (HEAD + "org_model: by-region\nrules:\n  coverage:\n    - {where: {regoin: East}}\n", 6,
     "rules.coverage.0", "unknown dimension 'regoin' (did you mean 'region'?)"),
    (HEAD + "org_model: by-region\nsolver: {time_limit: 0}\n", 4, "solver.time_limit",
     "time_limit = 0 is not allowed: input should be greater than 0"),
], ids=["utilization-min-above-max", "unknown-weight-term", "unknown-priority-term",
        "weights-and-priorities", "coverage-dimension", "time-limit"])
def test_bad_value(folder, text, line, key, message):
    assert_problem(scenario_error(folder, text), "s.yaml", line, key, message)


NEGATIVE_WEIGHT = HEAD + "org_model: by-region\nobjective:\n  weights: {unmet: 1000, balance: -1}\n"


def test_negative_weight_names_the_term(folder):
    err = scenario_error(folder, NEGATIVE_WEIGHT)
    assert_problem(err, "s.yaml", 5, "objective.weights.balance",
                   "the weight of balance is -1; weights must not be negative")


ORG_MODEL_ERRORS = {
    "unknown-preset": (HEAD + "org_model: by-regoin\n", 3, "org_model",
                       "unknown org-model preset 'by-regoin' (did you mean 'by-region'?); "
                       "presets: one-team, by-function, by-region, by-segment, by-product, "
                       "by-channel, region-x-function, product-x-region, segment-x-region, "
                       "key-account-hybrid, service-by-product"),
    "unknown-dimension": (HEAD + "org_model:\n  levels: [regoin]\n", 4, "org_model.levels",
                          "unknown dimension 'regoin' (did you mean 'region'?); dimensions: "
                          "function, region, segment, product, channel"),
    "branch-without-equals": (HEAD + "org_model:\n  levels: [segment]\n  branches:\n"
                                     "    smb: {levels: [region]}\n", 6, "org_model.branches.smb",
                              "branch 'smb' must be written dimension=value, e.g. "
                              "segment=key_account"),
}


@pytest.mark.parametrize("text, line, key, message", list(ORG_MODEL_ERRORS.values()),
                         ids=list(ORG_MODEL_ERRORS))
def test_bad_org_model_names_the_line(folder, text, line, key, message):
    assert_problem(scenario_error(folder, text), "s.yaml", line, key, message)


def test_branch_on_a_value_no_data_has(folder):
    err = org_error(folder, HEAD + "org_model:\n  levels: [segment]\n  branches:\n"
                                   "    segment=smbb: {levels: [region]}\n")
    assert_problem(err, "s.yaml", ANY, "org_model",
                   "branch segment=smbb: no demand line has segment 'smbb' (did you mean "
                   "'smb'?); values in the data: smb")


def test_branch_that_never_applies(folder):
    err = org_error(folder, HEAD + "org_model:\n  levels: [region]\n  branches:\n"
                                   "    segment=smb: {levels: [product]}\n")
    assert_problem(err, "s.yaml", ANY, "org_model",
                   "branch segment=smb never applies: 'segment' is not split on above it")


def test_manager_level_the_tree_never_splits_on(folder):
    err = org_error(folder, HEAD + "org_model: by-region\nrules:\n  manager_level: function\n")
    assert_problem(err, "s.yaml", ANY, "rules.manager_level",
                   "manager_level 'function': the org model never splits on it")


def test_manager_level_typo_suggests_a_dimension(folder):
    err = org_error(folder, HEAD + "org_model: by-region\nrules:\n  manager_level: regoin\n")
    assert_problem(err, "s.yaml", ANY, "rules.manager_level",
                   "manager_level 'regoin' must be 'team' or a dimension (did you mean 'region'?)")


def test_data_file_that_does_not_exist(folder):
    err = scenario_error(folder, "name: t\ndata:\n  reps: reps.csv\n  accounts: acounts.csv\n"
                                 "org_model: by-region\n")
    assert_problem(err, "s.yaml", 4, "data.accounts",
                   f"data file '{folder.resolve() / 'acounts.csv'}' does not exist")


def test_scenario_file_that_does_not_exist(tmp_path):
    with pytest.raises(ScenarioError) as caught:
        load_scenario(tmp_path / "nope.yaml")
    assert_problem(caught.value, str(tmp_path / "nope.yaml"), None, None,
                   "the scenario file does not exist")


COVERAGE_ERRORS = {
    "region-no-data-has": ({"where": {"region": "Eats"}}, "rules.coverage.0.where.region",
                           "coverage rule 1: no demand line has region 'Eats' (did you mean "
                           "'East'?)"),
    "skill-column-reps-lack": ({"where": {"region": "East"}, "skill": "language:cantonese",
                                "min_proficiency": 3}, "rules.coverage.0.skill",
                               "coverage rule 1: reps.csv has no column 'language:cantonese'"),
}


def _coverage_scenario(folder: Path, rule: dict):
    path = write_scenario(folder, REPS, ACCOUNTS, org_model="by-region",
                          rules={**BAND, "coverage": [rule]}, file="coverage.yaml")
    scenario = load_scenario(path)
    return scenario, load_company(scenario.reps_path, scenario.accounts_path)


@pytest.mark.parametrize("rule, key, message", list(COVERAGE_ERRORS.values()),
                         ids=list(COVERAGE_ERRORS))
def test_coverage_rule_on_absent_data_raised_by_prepare(tmp_path, rule, key, message):
    scenario, company = _coverage_scenario(tmp_path, rule)
    with pytest.raises(ScenarioError) as caught:
        prepare(company, scenario)
    assert_problem(caught.value, "coverage.yaml", ANY, key, message)


@pytest.mark.parametrize("rule, key, message", list(COVERAGE_ERRORS.values()),
                         ids=list(COVERAGE_ERRORS))
def test_coverage_rule_on_absent_data_stops_the_solve(tmp_path, rule, key, message):
    scenario, company = _coverage_scenario(tmp_path, rule)
    with pytest.raises(ScenarioError) as caught:
        solve(scenario, company)
    assert_problem(caught.value, "coverage.yaml", ANY, key, message)


# --- inputs are only read -----------------------------------------------------------------------

def test_input_files_are_never_modified(tmp_path):
    travel = "rep_id,account_id,cost\nR1,A1,5\nR2,A2,3\n"
    path = write_scenario(tmp_path / "in", REPS, ACCOUNTS, org_model="by-region", rules=BAND,
                          travel_csv=travel, solver={"time_limit": 5})
    inputs = sorted((tmp_path / "in").iterdir())
    old = 1_600_000_000 * 10**9
    for p in inputs:
        os.utime(p, ns=(old, old))

    def snapshot():
        return {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in inputs}

    before = snapshot()
    scenario = load_scenario(path)
    company = load_company(scenario.reps_path, scenario.accounts_path, scenario.travel_path)
    assert snapshot() == before
    solve(scenario, company).to_csv(tmp_path / "plan")
    assert snapshot() == before
    assert sorted((tmp_path / "in").iterdir()) == inputs


@pytest.mark.parametrize("with_table", [False, True])
def test_travel_cost_matrix_is_travel_cost_of_every_pair(tmp_path, with_table):
    """Great-circle km from unit vectors agree with the haversine; travel.csv rows override."""
    from planner.generate import generate_company, write_company
    reps, accounts = generate_company(6, 30, seed=2)
    accounts.loc[accounts.index[:2], ["lat", "lon"]] = None  # no coordinates: cost 0
    write_company(tmp_path, reps, accounts)
    travel = None
    if with_table:
        travel = write_text(tmp_path, "travel.csv", f"rep_id,account_id,cost\n"
                            f"{reps['rep_id'].iat[1]},"
                            f"{accounts['account_id'].drop_duplicates().iat[3]},7\n")
    company = load_company(tmp_path / "reps.csv", tmp_path / "accounts.csv", travel)
    rep, acc = np.arange(company.n_reps), np.arange(len(company.accounts))
    pairwise = company.travel_cost(np.repeat(rep, len(acc)), np.tile(acc, len(rep)))
    matrix = company.travel_cost_matrix(rep, acc)
    assert matrix.shape == (len(rep), len(acc))
    np.testing.assert_allclose(matrix.ravel(), pairwise, atol=1e-6)
    assert matrix[:, 0].max() == 0.0 and matrix.max() > 100
    assert not with_table or matrix[1, 3] == 7.0


@pytest.mark.parametrize("case", ["coordinates", "a rep without", "an account without",
                                  "shared places", "far and busy", "no hours", "table"])
def test_least_travel_per_hour_is_the_matrix_least(tmp_path, case):
    """The least travel per hour over some accounts, arcs taken only where chords say they may
    win, is the whole matrix's minimum to the last bit: reps or accounts without coordinates
    (cost 0), several accounts at one place (ties), a far account whose chord per hour beats a
    near one's that its arc does not, an account of no hours (no shortcut), a travel.csv."""
    from planner.generate import generate_company, write_company
    reps, accounts = generate_company(40, 300, seed=5)
    if case == "a rep without":
        reps.loc[reps.index[[0, 7]], ["lat", "lon"]] = None
    if case == "an account without":
        accounts.loc[accounts["account_id"] == accounts["account_id"].iat[5], ["lat", "lon"]] = None
    if case == "shared places":
        first = accounts.groupby("account_id", sort=False)[["lat", "lon"]].transform("first")
        accounts[["lat", "lon"]] = first.round(0)
        reps[["lat", "lon"]] = reps[["lat", "lon"]].round(0)
    if case == "far and busy":  # 120 degrees east (chord 1.73, arc 2.09) for 1.9 hours, or 60
        reps[["lat", "lon"]] = 0.0  # (chord and arc 1.05) for one hour
        accounts["lat"] = 0.0
        accounts["lon"] = 60.0 + 60.0 * (pd.factorize(accounts["account_id"])[0] % 2)
    write_company(tmp_path, reps, accounts)
    travel = None
    if case == "table":
        travel = write_text(tmp_path, "travel.csv", f"rep_id,account_id,cost\n"
                            f"{reps['rep_id'].iat[1]},{accounts['account_id'].iat[3]},0.5\n")
    company = load_company(tmp_path / "reps.csv", tmp_path / "accounts.csv", travel)
    rng = np.random.default_rng(3)
    rep = np.r_[0, 7, rng.permutation(np.arange(8, company.n_reps))[:23]]
    nowhere = np.flatnonzero(company.accounts["lat"].isna().to_numpy())
    account = np.r_[nowhere, rng.permutation(np.arange(6, len(company.accounts)))[:120]]
    hours = rng.integers(1, 400, len(account)).astype(float)
    if case == "far and busy":
        hours = np.where(company.accounts["lon"].to_numpy()[account] > 90, 1.9, 1.0)
    if case == "no hours":
        hours[4] = 0.0
    with np.errstate(divide="ignore"):  # (an account of no hours costs infinitely much)
        expected = (company.travel_cost_matrix(rep, account) / hours[None, :]).min(axis=1)
        least = company.least_travel_per_hour(rep, account, hours)
    assert np.array_equal(least, expected)
    if case in ("a rep without", "an account without"):
        assert (least == 0).sum() == {"a rep without": 2, "an account without": 25}[case]
    assert case != "shared places" or (least == 0).sum() >= 3  # (a rep where an account is)
    assert case != "far and busy" or np.allclose(least, np.pi / 3 * 6371.0)


def test_stage_1_travel_per_hour_from_one_matrix_is_the_class_by_class_one(tmp_path, monkeypatch):
    """Small companies take stage 1's travel per hour from one matrix of every rep's travel to
    every account, large ones class by class: the same numbers but for the arc's rounding near
    zero (arccos of dot products summed in another order), and the same coefficients."""
    from planner import instance
    sc = load_scenario(generated_region_scenario(tmp_path))
    p = prepare(load_data(sc), sc)
    seen = []
    real = instance._travel_per_hour

    def keep(*args):
        seen.append(args)
        return real(*args)
    monkeypatch.setattr(instance, "_travel_per_hour", keep)
    instance.org_design_instance(p)
    at_once = real(*seen[0])
    monkeypatch.setattr(instance, "TRAVEL_MATRIX_ENTRIES", 0)
    by_class = real(*seen[0])
    assert len(at_once) > 1000 and at_once.max() > 1.0 and (at_once == 0).sum() < len(at_once)
    np.testing.assert_allclose(at_once, by_class, rtol=1e-9, atol=0)
    assert np.array_equal(p.coef("travel", at_once), p.coef("travel", by_class))


def test_coefficients_scaled_a_slice_at_a_time_are_the_whole_arrays_rounded(tmp_path,
                                                                             monkeypatch):
    """`Problemset.coef` scales and rounds a slice of values at a time (no float copy of a
    whole per-pair array): slices of 3 give what rounding the whole array gives, for a matrix
    too."""
    from planner import instance
    sc = load_scenario(generated_region_scenario(tmp_path))
    p = prepare(load_data(sc), sc)
    factor = p.weights["unmet"] * p.obj_scale / p.norms["unmet"]
    values = np.array([0.0, 1.0, 2.5, 7.25, 1e-9, 3.0, 40.5, 11.0])
    whole = np.rint(values * factor).astype(np.int64)
    monkeypatch.setattr(instance, "COEF_SLICE", 3)
    sliced = p.coef("unmet", values)
    assert sliced.dtype == np.int64 and np.array_equal(sliced, whole)
    assert np.array_equal(p.coef("unmet", values.reshape(2, 4)), whole.reshape(2, 4))
    assert p.coef("unmet", np.zeros(0)).shape == (0,)
