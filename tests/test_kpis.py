"""Tests for planner.kpis: a four-rep company whose plan's KPIs are computed by hand below."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner.data import load_company
from planner.contracts import KPI_KEYS
from planner.kpis import (Rows, compute_kpis, kept_owner, lookup, max_span, moved_reps,
                          rep_columns, team_columns, unmet_by_cell)
from planner.scenario import load_scenario

# Four reps on the equator (lat 0), so great-circle distances are 6371 km * radians(d lon).
# Proficiency: function hunting/farming, product ERP/CRM, segment key_account/smb,
# channel direct/online; only R4 has a region column (East 3), the others get 5 in their home
# region and 0 elsewhere.
REPS = [
    dict(rep_id="R1", name="Ann", home_region="East", level=5, capacity_hours=40, can_manage="true",
         current_team="Team East", lat=0, lon=0, **{
             "function:hunting": 5, "function:farming": 3, "product:ERP": 5, "product:CRM": 2,
             "segment:key_account": 5, "segment:smb": 0, "channel:direct": 5, "channel:online": 0,
             "region:East": ""}),
    dict(rep_id="R2", name="Bob", home_region="West", level=3, capacity_hours=40,
         can_manage="false", current_team="Team West", lat=0, lon=2, **{
             "function:hunting": 1, "function:farming": 4, "product:ERP": 2, "product:CRM": 4,
             "segment:key_account": 0, "segment:smb": 5, "channel:direct": 0, "channel:online": 5,
             "region:East": ""}),
    dict(rep_id="R3", name="Cy", home_region="East", level=2, capacity_hours=50, can_manage="false",
         current_team="Team East", lat=0, lon=1, **{
             "function:hunting": 4, "function:farming": 0, "product:ERP": 2, "product:CRM": 3,
             "segment:key_account": 0, "segment:smb": 3, "channel:direct": 0, "channel:online": 4,
             "region:East": ""}),
    dict(rep_id="R4", name="Di", home_region="West", level=4, capacity_hours=30, can_manage="true",
         current_team="Team West", lat=0, lon=3, **{
             "function:hunting": 2, "function:farming": 5, "product:ERP": 3, "product:CRM": 5,
             "segment:key_account": 2, "segment:smb": 4, "channel:direct": 2, "channel:online": 2,
             "region:East": 3}),
]
# Demand lines (potential spread by hours):
#   L0 A1 ERP hunting 20 h, potential 50,   owner R1   (key account, East, direct)
#   L1 A1 ERP farming 20 h, potential 50,   owner R1
#   L2 A2 CRM farming 30 h, potential 60,   owner R2   (smb, West, online)
#   L3 A3 ERP hunting 10 h, potential 40,   owner R4   (smb, East, online)
#   L4 A4 CRM hunting 30 h, potential 22.5, owner R2   (smb, West, online)
#   L5 A4 CRM farming 10 h, potential 7.5,  owner R2
# demand_hours = 120
ACCOUNTS = [
    dict(account_id="A1", account_name="Acme", region="East", segment="key_account",
         channel="direct", product="ERP", potential=100, current_owner="R1",
         **{"hours:hunting": 20, "hours:farming": 20}, lat=0, lon=0),
    dict(account_id="A2", account_name="Bolt", region="West", segment="smb", channel="online",
         product="CRM", potential=60, current_owner="R2",
         **{"hours:hunting": 0, "hours:farming": 30}, lat=0, lon=2),
    dict(account_id="A3", account_name="Cog", region="East", segment="smb", channel="online",
         product="ERP", potential=40, current_owner="R4",
         **{"hours:hunting": 10, "hours:farming": 0}, lat=0, lon=1),
    dict(account_id="A4", account_name="Dyn", region="West", segment="smb", channel="online",
         product="CRM", potential=30, current_owner="R2",
         **{"hours:hunting": 30, "hours:farming": 10}, lat=0, lon=3),
]
SCENARIO = """\
name: kpi test
data: {{reps: reps.csv, accounts: accounts.csv{travel}}}
org_model: by-function
rules:
  min_proficiency: 3
  span_of_control: 2
  manager_load: 0.5
"""
KM_PER_DEGREE = 6371.0 * math.pi / 180.0

# The plan (org model by-function: teams 'hunting' and 'farming'):
#   hunting: R1 manager (selling capacity 40 * 0.5 = 20), R3 member (50)
#   farming: R4 manager (30 * 0.5 = 15),                  R2 member (40)
#   L0 -> R1, L1 -> R4, L2 -> R2, L3 -> R3, L4 -> R3, L5 unmet
TEAMS = pd.DataFrame({
    "team_id": ["hunting", "farming"], "region": "", "segment": "", "product": "", "channel": "",
    "function": ["hunting", "farming"], "manager_rep_id": ["R1", "R4"],
    "management_unit": ["hunting", "farming"]})
REP_TEAM = pd.Series(["hunting", "farming", "hunting", "farming"], index=["R1", "R2", "R3", "R4"])
ROLES = pd.Series(["manager", "manager"], index=["R1", "R4"])
ASSIGNMENTS = pd.DataFrame({
    "account_id": ["A1", "A1", "A2", "A3", "A4", "A4"],
    "product": ["ERP", "ERP", "CRM", "ERP", "CRM", "CRM"],
    "function": ["hunting", "farming", "farming", "hunting", "hunting", "farming"],
    "hours": [20.0, 20.0, 30.0, 10.0, 30.0, 10.0],
    "team_id": ["hunting", "farming", "farming", "hunting", "hunting", "farming"],
    "rep_id": ["R1", "R4", "R2", "R3", "R3", ""]})


def write_company(folder: Path, coordinates: bool = True, travel: bool = False) -> Path:
    """The company and scenario in `folder`; returns the scenario path."""
    drop = [] if coordinates else ["lat", "lon"]
    pd.DataFrame(REPS).drop(columns=drop).to_csv(folder / "reps.csv", index=False)
    pd.DataFrame(ACCOUNTS).drop(columns=drop).to_csv(folder / "accounts.csv", index=False)
    if travel:
        (folder / "travel.csv").write_text("rep_id,account_id,cost\nR4,A1,7\n")
    path = folder / "scenario.yaml"
    path.write_text(SCENARIO.format(travel=", travel: travel.csv" if travel else ""))
    return path


def setup(folder: Path, **kwargs):
    scenario = load_scenario(write_company(folder, **kwargs))
    company = load_company(scenario.reps_path, scenario.accounts_path, scenario.travel_path)
    reps = rep_columns(company, scenario, TEAMS, REP_TEAM, ROLES, ASSIGNMENTS)
    return company, scenario, reps


def test_rep_columns_by_hand(tmp_path):
    company, scenario, reps = setup(tmp_path)
    assert reps["rep_id"].tolist() == ["R1", "R2", "R3", "R4"]
    assert reps["role"].tolist() == ["manager", "member", "member", "manager"]
    # R1: L0 = 20 h; R2: L2 = 30 h; R3: L3 + L4 = 40 h; R4: L1 = 20 h
    assert reps["assigned_hours"].tolist() == [20.0, 30.0, 40.0, 20.0]
    assert reps["capacity_hours"].tolist() == [20.0, 40.0, 50.0, 15.0]
    assert reps["utilization"].tolist() == pytest.approx([1.0, 0.75, 0.8, 4 / 3])
    # fit = (.35 function + .35 product + .1 segment + .1 channel + .1 region) / 5:
    #   R1 on L0: (.35*5 + .35*5 + .1*5 + .1*5 + .1*5 home East) / 5                 = 1.0
    #   R2 on L2: (.35*4 + .35*4 + .1*5 + .1*5 + .1*5 home West) / 5 = 4.3 / 5       = 0.86
    #   R3 on L3: (.35*4 + .35*2 + .1*3 + .1*4 + .1*5 home East) / 5 = 3.3 / 5       = 0.66
    #   R3 on L4: (.35*4 + .35*3 + .1*3 + .1*4 + .1*0 West)      / 5 = 3.15 / 5      = 0.63
    #   R3 (hours-weighted): (10 * 0.66 + 30 * 0.63) / 40 = 25.5 / 40                 = 0.6375
    #   R4 on L1: (.35*5 + .35*3 + .1*2 + .1*2 + .1*3 region:East column) / 5 = 3.5/5 = 0.7
    assert reps["fit"].tolist() == pytest.approx([1.0, 0.86, 0.6375, 0.7])
    # R1 owns L0 + L1 = 40 h, 20 h of it hunting (inside): exactly half, not moved.
    # R2 owns L2 + L4 + L5 = 70 h, 40 h farming (inside): not moved.
    # R3 owns nothing: not moved.  R4 owns L3 (hunting 10 h), none inside 'farming': moved.
    assert reps["moved"].tolist() == [False, False, False, True]


def test_kpis_by_hand(tmp_path):
    company, scenario, reps = setup(tmp_path)
    kpis = compute_kpis(company, scenario, TEAMS, reps, ASSIGNMENTS)
    assert tuple(kpis) == KPI_KEYS
    json.dumps(kpis)
    # utilization: R1 20/20 = 1, R2 30/40 = 0.75, R3 40/50 = 0.8, R4 20/15 = 4/3
    # in sixtieths 60, 45, 48, 80: mean 58.25 / 60 = 233 / 240; squared deviations
    # 1.75^2 + 13.25^2 + 10.25^2 + 21.75^2 = 756.75, / 4 = 189.1875
    expected_std = math.sqrt(189.1875) / 60
    # fit_mean over the 110 assigned hours: (20*1 + 30*0.86 + 10*0.66 + 30*0.63 + 20*0.7) / 110
    #   = 85.3 / 110
    # coverage with min_proficiency 3: R3 has ERP 2, so L3 (10 h) is not qualified; L1 is a
    #   key-account line and R4 has level 4. Qualified hours 20 + 20 + 30 + 30 = 100 of 120.
    # continuity: every line has an owner (potential 230); kept by the owner: L0 (50) and
    #   L2 (60) = 110 -> 47.83 %. Accounts: A1 (L0) and A2 keep their owner, A3 (R4 -> R3) and
    #   A4 (R2 -> R3 / unmet) do not: 2 of 4.
    # max_span: each function's unit has 2 reps and 1 manager: ceil(1 / 1) = 1.
    # travel: distinct pairs (R1,A1) 0 deg, (R4,A1) 3 deg, (R2,A2) 0, (R3,A3) 0, (R3,A4) 2 deg.
    assert kpis == {
        "reps": 4, "teams": 2, "demand_hours": 120.0, "capacity_hours": 125.0,
        "utilization_min": 0.75, "utilization_max": pytest.approx(4 / 3),
        "utilization_mean": pytest.approx(233 / 240),
        "utilization_std": pytest.approx(expected_std),
        "utilization_in_band_pct": 50.0,  # R1 (1.0) and R3 (0.8) are inside [0.8, 1.1]
        "fit_mean": pytest.approx(85.3 / 110), "coverage_pct": pytest.approx(100 * 100 / 120),
        "unmet_hours": 10.0, "continuity_potential_pct": pytest.approx(100 * 110 / 230),
        "continuity_accounts_pct": 50.0, "reps_moved": 1, "managers": 2, "max_span": 1,
        "travel_total": pytest.approx(5 * KM_PER_DEGREE, rel=1e-12)}
    counts = ("reps", "teams", "reps_moved", "managers", "max_span")
    assert all(type(kpis[k]) is int for k in counts)


def test_kpis_read_back_as_strings_match(tmp_path):
    """The verifier reads the files as strings; the KPIs must not change."""
    company, scenario, reps = setup(tmp_path)
    typed = compute_kpis(company, scenario, TEAMS, reps, ASSIGNMENTS)
    for name, frame in (("teams", TEAMS), ("reps", reps), ("assignments", ASSIGNMENTS)):
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    read = {n: pd.read_csv(tmp_path / f"{n}.csv", dtype=str, keep_default_na=False)
            for n in ("teams", "reps", "assignments")}
    assert compute_kpis(company, scenario, read["teams"], read["reps"],
                        read["assignments"]) == pytest.approx(typed)


def test_travel_csv_overrides_coordinates(tmp_path):
    company, scenario, reps = setup(tmp_path, travel=True)
    kpis = compute_kpis(company, scenario, TEAMS, reps, ASSIGNMENTS)
    # (R4, A1) costs 7 from travel.csv; (R3, A4) stays 2 degrees of great circle.
    assert kpis["travel_total"] == pytest.approx(7 + 2 * KM_PER_DEGREE, rel=1e-12)


def test_no_travel_data_gives_none(tmp_path):
    company, scenario, reps = setup(tmp_path, coordinates=False)
    assert compute_kpis(company, scenario, TEAMS, reps, ASSIGNMENTS)["travel_total"] is None


def test_kept_owner_by_line(tmp_path):
    company, _, _ = setup(tmp_path)
    # L0 R1 = owner R1; L1 R4 != R1; L2 R2 = R2; L3 R3 != R4; L4 R3 != R2; L5 unassigned
    assert kept_owner(company, ASSIGNMENTS).tolist() == [True, False, True, False, False, False]


def test_baseline_org_with_pooled_teams_moves_nobody(tmp_path):
    """Today's org: teams named by current_team, every dimension empty, so all is in scope."""
    company, scenario, _ = setup(tmp_path)
    teams = pd.DataFrame({"team_id": ["Team East", "Team West"], "region": "", "segment": "",
                          "product": "", "channel": "", "function": ""})
    rep_team = pd.Series(company.reps["current_team"].to_numpy(), index=company.reps["rep_id"])
    assert not moved_reps(company, teams, rep_team).any()
    reps = rep_columns(company, scenario, teams, rep_team, None, ASSIGNMENTS.assign(team_id=""))
    assert compute_kpis(company, scenario, teams, reps, ASSIGNMENTS)["reps_moved"] == 0


def test_rep_in_unknown_team_who_owns_hours_is_moved(tmp_path):
    company, _, _ = setup(tmp_path)
    rep_team = REP_TEAM.copy()
    rep_team["R1"] = "Nowhere"
    assert moved_reps(company, TEAMS, rep_team).tolist() == [True, False, False, True]


def test_max_span_over_management_units():
    # unit U1: teams T1 (3 reps, 1 manager) and T2 (2 reps) -> ceil(4 / 1) = 4
    # unit U2: team T3 (5 reps, 2 managers) -> ceil(3 / 2) = 2; T4 has no manager: ignored
    teams = pd.DataFrame({"team_id": ["T1", "T2", "T3", "T4"],
                          "management_unit": ["U1", "U1", "U2", "T4"]})
    roles = (["manager", "member", "member"] + ["member"] * 2
             + ["manager", "manager", "member", "member", "member"] + ["member"] * 9)
    reps = pd.DataFrame({"team_id": ["T1"] * 3 + ["T2"] * 2 + ["T3"] * 5 + ["T4"] * 9,
                         "role": roles})
    assert max_span(teams, reps) == 4
    assert max_span(teams, reps.assign(role="member")) == 0
    # without the column each team is its own unit: T1 ceil(2/1) = 2, T3 2
    assert max_span(teams.drop(columns="management_unit"), reps) == 2


def test_team_columns_and_unmet_cells(tmp_path):
    company, scenario, reps = setup(tmp_path)
    derived = team_columns(TEAMS, reps, ASSIGNMENTS)
    assert derived["headcount"].tolist() == [2, 2]
    assert derived["demand_hours"].tolist() == [60.0, 60.0]
    assert derived["capacity_hours"].tolist() == [70.0, 55.0]
    cells = unmet_by_cell(ASSIGNMENTS)
    assert cells.to_dict("records") == [{"team_id": "farming", "function": "farming",
                                         "product": "CRM", "unmet_hours": 10.0}]


def test_vectorised_on_a_large_company(tmp_path):
    """Correct shapes on thousands of lines (speed itself is measured by the benchmark)."""
    from planner.generate import generate_company
    reps_df, accounts_df = generate_company(60, 2000, seed=1)
    reps_df.to_csv(tmp_path / "reps.csv", index=False)
    accounts_df.to_csv(tmp_path / "accounts.csv", index=False)
    (tmp_path / "s.yaml").write_text("data: {reps: reps.csv, accounts: accounts.csv}\n"
                                     "org_model: by-region\n")
    scenario = load_scenario(tmp_path / "s.yaml")
    company = load_company(scenario.reps_path, scenario.accounts_path)
    lines = company.lines
    owner = lines["owner"].to_numpy()
    rep_ids = company.reps["rep_id"].to_numpy(dtype=object)
    today = np.where(owner >= 0, rep_ids[np.maximum(owner, 0)], "")
    assignments = pd.DataFrame({"account_id": lines["account_id"], "product": lines["product"],
                                "function": lines["function"], "hours": lines["hours"],
                                "team_id": "", "rep_id": today})
    teams = pd.DataFrame({"team_id": ["All"], "region": "", "segment": "", "product": "",
                          "channel": "", "function": ""})
    rep_team = pd.Series("All", index=rep_ids)
    reps = rep_columns(company, scenario, teams, rep_team, None, assignments)
    kpis = compute_kpis(company, scenario, teams, reps, assignments)
    assert kpis["continuity_potential_pct"] == pytest.approx(100.0)
    assert kpis["unmet_hours"] == pytest.approx(lines["hours"][owner < 0].sum())
    assert kept_owner(company, assignments).sum() == (owner >= 0).sum()


def test_a_plan_in_line_order_resolves_its_rows_as_a_lookup_would(tmp_path):
    """A plan being built passes its rows instead of looking them up: they must be the same,
    unassigned lines ("") included."""
    from planner.generate import generate_company
    reps_df, accounts_df = generate_company(20, 200, seed=2)
    reps_df.to_csv(tmp_path / "reps.csv", index=False)
    accounts_df.to_csv(tmp_path / "accounts.csv", index=False)
    company = load_company(tmp_path / "reps.csv", tmp_path / "accounts.csv")
    lines = company.lines
    line_rep = np.arange(len(lines)) % (company.n_reps + 1) - 1  # every rep, and -1 (open)
    rep_ids = company.reps["rep_id"].to_numpy(dtype=object)
    assignments = pd.DataFrame({"account_id": lines["account_id"], "product": lines["product"],
                                "function": lines["function"], "hours": lines["hours"],
                                "rep_id": np.where(line_rep >= 0, rep_ids[line_rep], "")})
    given, looked_up = Rows.in_line_order(company, line_rep), Rows.of(company, assignments)
    assert (line_rep == -1).sum() > 0
    for field in ("line", "rep", "rep_id", "hours"):
        assert getattr(given, field).tolist() == getattr(looked_up, field).tolist(), field


# Compound text keys: the first occurrence of each key ("a", "x") at 0, ("b", "y") at 2; parts
# that match only one by one (("c", "y"): "c" is a key, "y" too, not together) are absent.
def test_lookup_of_compound_text_keys_finds_first_occurrences():
    def text(*values):
        return np.array(values, dtype=object)
    keys = [text("a", "a", "b", "c"), text("x", "x", "y", "z")]
    queries = [text("a", "b", "c", "d", "a"), text("x", "y", "y", "z", "z")]
    assert lookup(keys, queries).tolist() == [0, 2, -1, -1, -1]
    assert lookup([text(), text()], queries).tolist() == [-1] * 5
