"""Excel-safe plan files (OWASP CSV injection): a text cell that a spreadsheet would run as a
formula (=, +, -, @, tab, carriage return first) is written with a leading quote, numbers are
not, and every reader of plan files (the verifier, owners_from edits, plan_from_files) gets the
ids back exactly, so a company whose ids look like formulas, hold commas, double quotes or
Chinese text still solves, writes and verifies.
"""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.cli import main
from planner.data import load_scenario_data
from planner.errors import EXIT_OK
from planner.excelsafe import quote, quote_frame, unquote, unquote_frame
from planner.plan import plan_files, plan_from_files
from planner.run import solve
from planner.scenario import load_scenario
from planner.verify import read_plan, verify_plan_dir
from tests.helpers import write_scenario

HYPERLINK = '=HYPERLINK("http://evil.example","click")'
BIG = 'The "Big" One'
CRM = 'CRM, "Pro"'
ACE = 'R4 "Ace", Jr.'
ACCOUNT_IDS = [HYPERLINK, "-42", "+86 10 1234", "@SUM(A1:A9)", "Acme, Inc.", BIG,
               "华为技术有限公司", "'=already quoted"]
#: The same ids as assignments.csv holds them (the csv module's view: quoting undone).
WRITTEN_ACCOUNT_IDS = ["'" + HYPERLINK, "'-42", "'+86 10 1234", "'@SUM(A1:A9)", "Acme, Inc.",
                       BIG, "华为技术有限公司", "''=already quoted"]
REP_IDS = ["=R1", "-7", "@rep", ACE]
PRODUCTS = ["=ERP", CRM, "云财务"]


def _csv_text(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _reps_csv() -> str:
    header = ["rep_id", "name", "home_region", "level", "capacity_hours", "can_manage",
              "function:hunting", "function:farming", *(f"product:{p}" for p in PRODUCTS)]
    names = ["林勇", "Wu, Lei", '"Doc" Di', "Ace"]
    return _csv_text([header] + [[r, n, "East", "4", "40", "false", "4", "4", "4", "4", "4"]
                                 for r, n in zip(REP_IDS, names)])


def _accounts_csv() -> str:
    header = ["account_id", "account_name", "region", "segment", "channel", "product",
              "potential", "current_owner", "hours:hunting", "hours:farming"]
    rows = [[a, f"name of {a}", "East", "smb", "direct", PRODUCTS[i % 3], str(10 * (i + 1)),
             REP_IDS[i % 4], str(4 + i % 3), "7"] for i, a in enumerate(ACCOUNT_IDS)]
    return _csv_text([header] + rows)


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    """The formula-like company solved by product (team ids are product names), written with
    write_plan: (scenario path, plan, plan folder)."""
    folder = tmp_path_factory.mktemp("formulas")
    path = write_scenario(folder, _reps_csv(), _accounts_csv(), org_model="by-product",
                          rules={"utilization": {"min": 0, "max": 2}})
    plan = solve(load_scenario(path))
    return path, plan, plan.to_csv(folder / "plan")


def _column(path, column: str) -> list[str]:
    """A CSV column's cells as written (the csv module undoes only CSV quoting)."""
    with open(path, encoding="utf-8", newline="") as handle:
        return [row[column] for row in csv.DictReader(handle)]


# --- the rule ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, written", [
    ("=SUM(A1)", "'=SUM(A1)"), ("+86 10", "'+86 10"), ("-42", "'-42"), ("@cmd", "'@cmd"),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("'=x", "''=x"), ("''+x", "'''+x"),
    ("'abc", "'abc"), ("A-1", "A-1"), ("a=b", "a=b"), ("华为", "华为"), ("", ""), ("'", "'"),
])
def test_quote_and_unquote(text, written):
    assert quote(text) == written
    assert unquote(written) == text


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_quote_round_trips_any_text(text):
    assert unquote(quote(text)) == text
    assert quote(text) == text or quote(text) == "'" + text


def test_quote_frame_leaves_numbers_and_booleans_alone():
    frame = pd.DataFrame({"id": ["-1", "=x", "ok"], "hours": [-1.5, 2.0, -0.25],
                          "count": [-3, 0, 4], "flag": [True, False, True],
                          "mixed": ["-5", -2.0, None]})
    out = quote_frame(frame)
    assert out["id"].tolist() == ["'-1", "'=x", "ok"]
    assert out["hours"].tolist() == [-1.5, 2.0, -0.25]
    assert out["count"].tolist() == [-3, 0, 4]
    assert out["flag"].tolist() == [True, False, True]
    assert out["mixed"].tolist()[:2] == ["'-5", -2.0] and out["mixed"].isna().tolist()[2]
    assert frame["id"].tolist() == ["-1", "=x", "ok"]  # the input frame is not changed
    assert unquote_frame(out.astype(str))["id"].tolist() == ["-1", "=x", "ok"]


# --- plan files -------------------------------------------------------------------------------

def test_written_plan_quotes_formula_like_ids_only(solved):
    _, _, out = solved
    assert sorted(_column(out / "assignments.csv", "account_id")) == sorted(
        WRITTEN_ACCOUNT_IDS * 2)  # two functions per account
    assert sorted(_column(out / "teams.csv", "team_id")) == sorted(["'=ERP", CRM, "云财务"])
    assert sorted(_column(out / "reps.csv", "rep_id")) == sorted(["'=R1", "'-7", "'@rep", ACE])
    hours = _column(out / "assignments.csv", "hours")
    assert all(not h.startswith("'") for h in hours) and len(hours) == 16
    raw = (out / "assignments.csv").read_text(encoding="utf-8")
    assert '"\'=HYPERLINK(""http://evil.example"",""click"")"' in raw
    assert '"The ""Big"" One"' in raw and "华为技术有限公司" in raw


def test_written_plan_with_formula_like_ids_verifies(solved):
    path, plan, out = solved
    assert plan.kpis["status"] == "OPTIMAL"
    assert plan.kpis["unmet_hours"] == 0
    assert verify_plan_dir(plan.scenario, out) == []
    tables = read_plan(out)
    assert sorted(set(tables.assignments["account_id"])) == sorted(ACCOUNT_IDS)
    assert sorted(tables.reps["rep_id"]) == sorted(REP_IDS)


def test_planner_verify_accepts_the_written_plan(solved, capsys):
    path, _, out = solved
    assert main(["verify", str(path), str(out)]) == EXIT_OK
    assert "holds every rule" in capsys.readouterr().out


def test_plan_files_round_trip_both_ways(solved):
    _, plan, _ = solved
    safe, exact = plan_files(plan), plan_files(plan, excel_safe=False)
    assert safe["kpis.json"] == exact["kpis.json"]
    assert HYPERLINK.replace('"', '""').encode() in exact["assignments.csv"]
    assert b"'=HYPERLINK" not in exact["assignments.csv"]
    assert b"'-42" not in exact["assignments.csv"]
    for back in (plan_from_files(plan.scenario, exact),
                 plan_from_files(plan.scenario, safe, excel_safe=True)):
        for name in ("teams", "reps", "assignments"):
            mine, theirs = getattr(plan, name), getattr(back, name)
            for col in ("team_id", "rep_id", "account_id", "product"):
                if col in mine:
                    assert theirs[col].tolist() == mine[col].tolist(), (name, col)
        pd.testing.assert_series_equal(back.assignments["hours"], plan.assignments["hours"])


def test_owners_from_a_written_plan_reads_the_ids_back(solved):
    _, plan, out = solved
    scenario = plan.scenario.with_edits({"owners_from": str(out / "assignments.csv")})
    company = load_scenario_data(scenario)
    lines = company.lines
    rep_ids = company.reps["rep_id"].to_numpy(dtype=object)
    owners = [rep_ids[o] if o >= 0 else "" for o in lines["owner"]]
    assigned = plan.assignments[plan.assignments["rep_id"] != ""]
    key = ["account_id", "product", "function"]
    top = (assigned.sort_values("hours").drop_duplicates(key, keep="last").set_index(key))
    expected = [top.at[k, "rep_id"] if k in top.index else ""
                for k in zip(lines["account_id"], lines["product"], lines["function"])]
    assert owners == expected
    assert set(expected) <= set(REP_IDS)
    # and each rep's role in the plan is their role today
    role = plan.reps.set_index("rep_id")["role"]
    assert company.reps["current_role"].tolist() == role.reindex(company.reps["rep_id"]).tolist()
