"""Tests for planner.verify: a valid hand-made plan passes; each check catches its own breach.

Each breach test changes the plan's decisions in one way, then makes every derived column, the
hiring cells and kpis.json consistent again (`rederive`), so that exactly one check fails.
"""

from __future__ import annotations

import ast
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner.data import load_company
from planner.errors import VerificationError
from planner.kpis import (assigned_hours, compute_kpis, kept_owner, moved_reps, numbers, rep_fit,
                          team_columns, unmet_by_cell, utilization)
from planner.scenario import load_scenario
from planner.contracts import REP_COLUMNS as REPS_COLUMNS
from planner.verify import (CHECK_NAMES, PlanTables, Violation, read_plan,
                            verify_plan_dir, verify_tables)

REPS_CSV = """\
rep_id,name,home_region,level,capacity_hours,can_manage,current_team,lat,lon,function:hunting,function:farming,product:ERP,product:CRM,segment:key_account,segment:smb,channel:direct,language:english
R1,Ann,East,5,40,true,East,0,0,5,3,4,4,5,3,4,5
R2,Bob,West,4,40,false,West,0,1,4,2,3,2,1,4,3,
R3,Cy,East,4,40,false,East,0,2,1,4,3,4,3,2,3,4
R4,Di,West,2,30,false,West,0,3,0,3,2,3,0,4,2,1
"""
# Demand lines: L0 A1 ERP hunting 10 (key account), L1 A1 ERP farming 10 (key account),
# L2 A1 CRM hunting 10 (key account), L3 A2 ERP hunting 20, L4 A2 ERP farming 20,
# L5 A3 CRM farming 30, L6 A4 CRM farming 15.
ACCOUNTS_CSV = """\
account_id,account_name,region,segment,channel,product,potential,current_owner,hours:hunting,hours:farming,lat,lon
A1,Acme,East,key_account,direct,ERP,100,R1,10,10,0,0
A1,Acme,East,key_account,direct,CRM,50,R1,10,0,0,0
A2,Bolt,West,smb,direct,ERP,80,R2,20,20,0,1
A3,Cog,East,smb,direct,CRM,40,R2,0,30,0,2
A4,Dyn,West,smb,direct,CRM,20,R4,0,15,0,3
"""
SCENARIO_YAML = """\
name: verify test
data: {reps: reps.csv, accounts: accounts.csv}
org_model: by-function
rules:
  utilization: {min: 0.5, max: 1.2}
  min_proficiency: 2
  span_of_control: 2
  manager_load: 0.5
  max_reps_moved: 1
  coverage:
    - {where: {function: hunting}, skill: "segment:key_account", min_proficiency: 4}
    - {where: {segment: key_account}, min_level: 4}
    - {where: {function: farming}, skill: "language:english", min_proficiency: 3}
"""
ENGLISH_TWICE = {"where": {"function": "farming"}, "min_reps": 2, "skill": "language:english",
                 "min_proficiency": 3}

# The plan: hunting = R1 (manager, sells 40 * 0.5 = 20 h) + R2; farming = R3 + R4 and one
# manager to hire (nobody there can manage). Loads: R1 20/20, R2 20/40, R3 40/40, R4 20/30, all
# inside [0.5, 1.2]. L6 is left unmet. R2 owns 70 h today, 20 of them hunting: R2 is the one
# moved rep (max_reps_moved 1).
TEAMS = {"team_id": ["hunting", "farming"], "region": ["", ""], "segment": ["", ""],
         "product": ["", ""], "channel": ["", ""], "function": ["hunting", "farming"],
         "manager_rep_id": ["R1", ""], "headcount": 0, "demand_hours": 0.0,
         "capacity_hours": 0.0, "management_unit": ["hunting", "farming"]}
REPS = {"rep_id": ["R1", "R2", "R3", "R4"], "team_id": ["hunting", "hunting", "farming", "farming"],
        "role": ["manager", "member", "member", "member"],
        "capacity_hours": [20.0, 40.0, 40.0, 30.0]}
ASSIGNMENTS = {
    "account_id": ["A1", "A1", "A1", "A2", "A2", "A3", "A4"],
    "product": ["ERP", "ERP", "CRM", "ERP", "ERP", "CRM", "CRM"],
    "function": ["hunting", "farming", "hunting", "hunting", "farming", "farming", "farming"],
    "hours": [10.0, 10.0, 10.0, 20.0, 20.0, 30.0, 15.0],
    "team_id": ["hunting", "farming", "hunting", "hunting", "farming", "farming", "farming"],
    "rep_id": ["R1", "R3", "R1", "R2", "R4", "R3", ""]}
MANAGER_HIRE = {"team_id": "farming", "function": "manager", "product": "", "unmet_hours": 0.0,
                "suggested_hires": 1}
L1, L2, L4, L6 = 1, 2, 4, 6  # rows of ASSIGNMENTS


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("company")
    (folder / "reps.csv").write_text(REPS_CSV)
    (folder / "accounts.csv").write_text(ACCOUNTS_CSV)
    (folder / "scenario.yaml").write_text(SCENARIO_YAML)
    scenario = load_scenario(folder / "scenario.yaml")
    return load_company(scenario.reps_path, scenario.accounts_path), scenario


@pytest.fixture
def company(world):
    return world[0]


@pytest.fixture
def scenario(world):
    return world[1]


@pytest.fixture(scope="module")
def valid_plan(world) -> PlanTables:
    return base_plan(*world)


@pytest.fixture
def plan(valid_plan) -> PlanTables:
    """A fresh copy of the valid plan for one test to break."""
    return PlanTables(teams=valid_plan.teams.copy(), reps=valid_plan.reps.copy(),
                      assignments=valid_plan.assignments.copy(),
                      hiring=valid_plan.hiring.copy(), kpis=dict(valid_plan.kpis))


def base_plan(company, scenario) -> PlanTables:
    tables = PlanTables(teams=pd.DataFrame(TEAMS), reps=pd.DataFrame(REPS),
                        assignments=pd.DataFrame(ASSIGNMENTS), hiring=pd.DataFrame([MANAGER_HIRE]),
                        kpis={})
    return rederive(company, scenario, tables)


def rederive(company, scenario, tables: PlanTables) -> PlanTables:
    """The plan with every derived column, the unmet hiring cells and kpis.json recomputed from
    its decisions (teams, reps' team / role / capacity, assignments' team / rep / hours)."""
    teams, reps, rows = tables.teams.copy(), tables.reps.copy(), tables.assignments.copy()
    reps["assigned_hours"] = assigned_hours(reps["rep_id"], rows)
    reps["utilization"] = utilization(reps["assigned_hours"].to_numpy(),
                                      numbers(reps["capacity_hours"]))
    reps["fit"] = rep_fit(company, scenario.rules, reps["rep_id"], rows)
    reps["moved"] = moved_reps(company, teams, pd.Series(reps["team_id"].to_numpy(),
                                                         index=reps["rep_id"]))
    rows["kept_owner"] = kept_owner(company, rows)
    derived = team_columns(teams, reps, rows)
    for column in ("headcount", "demand_hours", "capacity_hours"):
        teams[column] = derived[column].to_numpy()
    managers = tables.hiring[tables.hiring["function"] == "manager"]
    cells = unmet_by_cell(rows).assign(
        suggested_hires=lambda f: np.ceil(f["unmet_hours"] / 40).astype(int))
    hiring = pd.concat([cells, managers], ignore_index=True)
    kpis = {"scenario": scenario.name, "org_model": scenario.org_model, "status": "OPTIMAL",
            "objective": 0, "best_bound": 0, "gap": 0.0, "solve_seconds": 0.1,
            **compute_kpis(company, scenario, teams, reps, rows)}
    return PlanTables(teams=teams, reps=reps[list(REPS_COLUMNS)], assignments=rows, hiring=hiring,
                      kpis=kpis)


def checks_of(violations: list[Violation]) -> set[str]:
    return {v.check for v in violations}


def only(violations: list[Violation], check: str, *names: str) -> None:
    """Exactly `check` is reported, and some message names each of `names`."""
    assert checks_of(violations) == {check}, [str(v) for v in violations]
    for name in names:
        assert any(name in v.message for v in violations), (name, [str(v) for v in violations])


def with_cell(frame: pd.DataFrame, row: int, column: str, value) -> pd.DataFrame:
    frame = frame.copy()
    if frame[column].dtype != object and isinstance(value, str):
        frame[column] = frame[column].astype(object)
    frame.loc[row, column] = value
    return frame


def reassign(company, scenario, plan: PlanTables, row: int, **cells) -> PlanTables:
    rows = plan.assignments
    for column, value in cells.items():
        rows = with_cell(rows, row, column, value)
    return rederive(company, scenario, replace(plan, assignments=rows))


def write_plan(tables: PlanTables, folder: Path) -> Path:
    """The plan's files as a writer would put them (true/false flags, empty cells for NaN)."""
    folder.mkdir(parents=True, exist_ok=True)
    frames = {name: getattr(tables, name).copy() for name in ("teams", "reps", "assignments",
                                                               "hiring")}
    for name, column in (("reps", "moved"), ("assignments", "kept_owner")):
        frames[name][column] = np.where(frames[name][column].astype(bool), "true", "false")
    for name, frame in frames.items():
        frame.to_csv(folder / f"{name}.csv", index=False)
    (folder / "kpis.json").write_text(json.dumps(tables.kpis))
    return folder


# --- the valid plan ------------------------------------------------------------------------------

def test_valid_plan_has_no_violation(company, scenario, plan):
    assert verify_tables(company, scenario, plan) == []
    # the hand-made plan's facts the breach tests rely on
    assert plan.reps["moved"].tolist() == [False, True, False, False]
    assert plan.reps["utilization"].tolist() == pytest.approx([1.0, 0.5, 1.0, 2 / 3])
    assert plan.kpis["unmet_hours"] == 15.0 and plan.kpis["managers"] == 1


def test_valid_plan_passes_through_its_files(scenario, plan, tmp_path):
    assert verify_plan_dir(scenario, write_plan(plan, tmp_path / "plan")) == []


def test_missing_plan_file_is_a_verification_error(plan, tmp_path):
    folder = write_plan(plan, tmp_path / "plan")
    (folder / "hiring.csv").unlink()
    with pytest.raises(VerificationError, match="hiring.csv"):
        read_plan(folder)


def test_missing_column_is_reported_as_files(company, scenario, plan):
    broken = replace(plan, reps=plan.reps.drop(columns="fit"))
    assert verify_tables(company, scenario, broken) == [
        Violation("files", "reps.csv has no column 'fit'")]


def test_violations_are_capped_per_check(company, scenario, plan):
    rows = plan.assignments.assign(team_id="hunting")
    broken = rederive(company, scenario, replace(plan, assignments=rows))
    violations = [v for v in verify_tables(company, scenario, broken, limit=1)
                  if v.check == "scope"]
    assert len(violations) == 2 and violations[1].message.startswith("... and 3 more")


def test_verifier_does_not_import_the_solver():
    for module in ("verify.py", "kpis.py"):
        tree = ast.parse((Path(__file__).parents[1] / "planner" / module).read_text())
        imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not {m for m in imported if m.split(".")[0] in ("models", "ortools")}


# --- one breach per check ------------------------------------------------------------------------

def test_reps_once_unknown_rep(company, scenario, plan):
    extra = pd.DataFrame({"rep_id": ["R9"], "team_id": ["hunting"], "role": ["member"],
                          "capacity_hours": [10.0]})
    reps = pd.concat([plan.reps[["rep_id", "team_id", "role", "capacity_hours"]], extra],
                     ignore_index=True)
    broken = rederive(company, scenario, replace(plan, reps=reps))
    only(verify_tables(company, scenario, broken), "reps_once", "R9")


def test_reps_once_duplicate_rep(company, scenario, plan):
    reps = pd.concat([plan.reps, plan.reps.iloc[[1]]], ignore_index=True)
    broken = rederive(company, scenario, replace(plan, reps=reps))
    only(verify_tables(company, scenario, broken), "reps_once", "R2 appears 2 times")


def test_reps_once_missing_rep(company, scenario, plan):
    reps = plan.reps[plan.reps["rep_id"] != "R4"].reset_index(drop=True)
    rows = with_cell(plan.assignments, L4, "rep_id", "")
    broken = rederive(company, scenario, replace(plan, reps=reps, assignments=rows))
    only(verify_tables(company, scenario, broken), "reps_once", "R4")


@pytest.mark.parametrize("breach", ["missing", "duplicate", "hours", "unknown"])
def test_lines_once(company, scenario, plan, breach):
    rows = plan.assignments
    if breach == "missing":
        rows = rows.drop(index=L6).reset_index(drop=True)
    elif breach == "duplicate":
        rows = pd.concat([rows, rows.iloc[[L6]]], ignore_index=True)
    elif breach == "hours":
        rows = with_cell(rows, L6, "hours", 16.0)
    else:
        extra = rows.iloc[[L6]].assign(account_id="A9", team_id="farming")
        rows = pd.concat([rows, extra], ignore_index=True)
    broken = rederive(company, scenario, replace(plan, assignments=rows))
    culprit = "A9" if breach == "unknown" else "A4 x CRM x farming"
    only(verify_tables(company, scenario, broken), "lines_once", culprit)


@pytest.mark.parametrize("column, value", [("management_unit", "Hunters"), ("function", "")])
def test_teams_wrong_values(company, scenario, plan, column, value):
    teams = with_cell(plan.teams, 0, column, value)
    broken = rederive(company, scenario, replace(plan, teams=teams))
    only(verify_tables(company, scenario, broken), "teams", "'hunting'", column)


def test_teams_extra_team(company, scenario, plan):
    teams = pd.concat([plan.teams, plan.teams.iloc[[1]].assign(team_id="spare",
                                                                manager_rep_id="")],
                      ignore_index=True)
    broken = rederive(company, scenario, replace(plan, teams=teams))
    only(verify_tables(company, scenario, broken), "teams", "spare")


def test_scope(company, scenario, plan):
    broken = reassign(company, scenario, plan, L6, team_id="hunting")
    only(verify_tables(company, scenario, broken), "scope", "A4 x CRM x farming", "'farming'")


def test_rep_in_team(company, scenario, plan):
    broken = reassign(company, scenario, plan, L6, rep_id="R2")
    only(verify_tables(company, scenario, broken), "rep_in_team", "R2", "A4 x CRM x farming")


def test_one_face(company, scenario, plan):
    broken = reassign(company, scenario, plan, L2, rep_id="R2")
    only(verify_tables(company, scenario, broken), "one_face", "account A1", "R1, R2")


def test_band(company, scenario, plan):
    broken = reassign(company, scenario, plan, L4, rep_id="R3")
    violations = verify_tables(company, scenario, broken)
    only(violations, "band", "R3 (team 'farming') is at 150.0% of capacity", "R4")
    assert "above the 120% band" in violations[0].message


def test_band_of_a_manager_uses_reduced_capacity(company, scenario, plan):
    """40 h would fill a member's 40 h; R1 manages, so they are at 200% (and R2 is idle)."""
    broken = reassign(company, scenario, plan, 3, rep_id="R1")
    only(verify_tables(company, scenario, broken), "band",
         "manager R1 (team 'hunting') is at 200.0% of their reduced capacity (40 of 20 h)", "R2")


def test_capacity(company, scenario, plan):
    reps = with_cell(plan.reps, 2, "capacity_hours", 50.0)
    broken = rederive(company, scenario, replace(plan, reps=reps))
    only(verify_tables(company, scenario, broken), "capacity", "R3", "50")


def test_capacity_of_a_manager(company, scenario, plan):
    reps = with_cell(plan.reps, 0, "capacity_hours", 40.0)
    broken = rederive(company, scenario, replace(plan, reps=reps))
    violations = verify_tables(company, scenario, broken)
    only(violations, "capacity", "manager R1")
    assert "50% of 40 h = 20 h" in violations[0].message


def test_qualification(company, scenario, plan):
    broken = reassign(company, scenario, plan, L1, rep_id="R4")
    only(verify_tables(company, scenario, broken), "qualification", "R4", "key-account")


def test_unmet(company, scenario, plan):
    strict = scenario.with_rules(allow_unmet=False)
    only(verify_tables(company, strict, plan), "unmet", "A4 x CRM x farming", "managers")


def test_managers_role_for_someone_who_cannot_manage(company, scenario, plan):
    reps = with_cell(with_cell(plan.reps, 1, "role", "manager"), 1, "capacity_hours", 20.0)
    teams = with_cell(plan.teams, 0, "manager_rep_id", "R1;R2")
    broken = rederive(company, scenario, replace(plan, reps=reps, teams=teams))
    only(verify_tables(company, scenario, broken), "managers", "R2", "needs exactly 1")


def test_managers_without_span_of_control(company, scenario, plan):
    no_span = scenario.with_rules(span_of_control=None)
    only(verify_tables(company, no_span, plan), "managers", "R1", "team 'farming'")


def test_managers_missing_hire(company, scenario, plan):
    hiring = plan.hiring[plan.hiring["function"] != "manager"]
    only(verify_tables(company, scenario, replace(plan, hiring=hiring)), "managers",
         "unit 'farming'")


def test_managers_listed_in_teams_csv(company, scenario, plan):
    teams = with_cell(plan.teams, 0, "manager_rep_id", "")
    only(verify_tables(company, scenario, replace(plan, teams=teams)), "managers",
         "team 'hunting'", "R1")


def test_coverage(company, scenario, plan):
    rules = [*scenario.rules.model_dump()["coverage"], ENGLISH_TWICE]
    stricter = scenario.with_rules(coverage=rules)
    only(verify_tables(company, stricter, plan), "coverage", "team 'farming'",
         "language:english >= 3")


def test_max_reps_moved(company, scenario, plan):
    only(verify_tables(company, scenario.with_rules(max_reps_moved=0), plan), "max_reps_moved",
         "R2", "limit of 0")


def test_pins_that_hold(company, scenario, plan):
    # R2 is in hunting; A1's hunting lines in R1's team (hunting) go to R1
    pinned = scenario.with_rules(pins={"reps": {"R2": "hunting"}, "accounts": {"A1": "R1"}})
    assert verify_tables(company, pinned, plan) == []


def test_pins_rep_in_another_team(company, scenario, plan):
    pinned = scenario.with_rules(pins={"reps": {"R2": "farming"}})
    only(verify_tables(company, pinned, plan), "pins", "R2", "'farming'")


def test_pins_account_served_by_someone_else(company, scenario, plan):
    # R4 sits in farming, which holds A3's farming line; the plan gives it to R3
    pinned = scenario.with_rules(pins={"accounts": {"A3": "R4"}})
    only(verify_tables(company, pinned, plan), "pins", "A3", "R3")


def test_hiring(company, scenario, plan):
    hiring = with_cell(plan.hiring, 0, "unmet_hours", 10.0)
    only(verify_tables(company, scenario, replace(plan, hiring=hiring)), "hiring",
         "team 'farming'", "CRM")


@pytest.mark.parametrize("table, row, column, value, culprit", [
    ("reps", 0, "assigned_hours", 25.0, "R1"),
    ("reps", 1, "utilization", 0.9, "R2"),
    ("reps", 2, "fit", 0.1, "R3"),
    ("reps", 1, "moved", False, "R2"),
    ("assignments", 0, "kept_owner", False, "A1 x ERP x hunting"),
    ("teams", 0, "headcount", 3, "'hunting'"),
    ("teams", 1, "demand_hours", 1.0, "'farming'"),
    ("teams", 1, "capacity_hours", 1.0, "'farming'"),
])
def test_derived(company, scenario, plan, table, row, column, value, culprit):
    broken = replace(plan, **{table: with_cell(getattr(plan, table), row, column, value)})
    only(verify_tables(company, scenario, broken), "derived", culprit, column)


@pytest.mark.parametrize("change, culprit", [
    ({"coverage_pct": 99.0}, "coverage_pct"),
    ({"reps_moved": 2}, "reps_moved"),
    ({"max_span": 1.5}, "max_span"),
    ({"travel_total": None}, "travel_total"),
    ({"status": "DONE"}, "DONE"),
])
def test_kpis_wrong_value(company, scenario, plan, change, culprit):
    broken = replace(plan, kpis={**plan.kpis, **change})
    only(verify_tables(company, scenario, broken), "kpis", culprit)


def test_kpis_missing_key(company, scenario, plan):
    kpis = {k: v for k, v in plan.kpis.items() if k != "gap"}
    only(verify_tables(company, scenario, replace(plan, kpis=kpis)), "kpis", "'gap'")


def test_every_check_name_is_tested():
    tested = {"files", "reps_once", "lines_once", "teams", "scope", "rep_in_team", "one_face",
              "band", "capacity", "qualification", "unmet", "managers", "coverage",
              "max_reps_moved", "pins", "hiring", "derived", "kpis"}
    assert set(CHECK_NAMES) == tested
    assert len(CHECK_NAMES) == len(tested)
