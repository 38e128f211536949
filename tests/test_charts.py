"""Tests for planner.charts: the data each figure draws, computed by hand on a four-rep company
and hand-written plan tables; every builder also draws empty inputs as an empty figure.

The company (TINY_REPS, TINY_ACCOUNTS; region proficiency is 5 in the home region, except R4's
region:East column of 3):

    rep  home  level cap  hunting farming ERP CRM key_account smb direct online  region:East
    R1   East  5     40   5       2       4   1   4           0   3      0       (5, home)
    R2   East  3     30   1       4       2   3   0           3   0      2       (5, home)
    R3   West  4     60   3       3       0   5   0           4   0      5       (0)
    R4   West  2     50   0       5       3   2   0           0   0      0       3

    line  account  region segment     channel product function hours owner
    L0    A1       East   key_account direct  ERP     hunting  30    R1
    L1    A1       East   key_account direct  ERP     farming  10    R1
    L2    A2       East   smb         online  CRM     farming  40    R2
    L3    A3       West   smb         online  CRM     hunting  20    R3
    L4    A3       West   smb         online  CRM     farming  20    R3
    L5    A4       West   smb         direct  ERP     hunting  10    (none)

Two hand-written plans of it (scenario by-region, band 0.8-1.1, min_proficiency 2, key
accounts to level >= 4):

- BEFORE, today's organisation: R1, R2 in "Team East"; R3, R4 in "Team West"; every line with
  its owner, L5 unmet and without a team.
- AFTER, by region: East = R1 (manager, selling capacity 20) + R4; West = R2 + R3;
  L0 -> R1, L1 -> R4, L2 unmet, L3 -> R3, L4 -> R2, L5 -> R3; hiring: East farming CRM 40 h
  (1 hire) and one manager for West.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from planner import charts
from planner.contracts import (ASSIGNMENTS_COLUMNS, HIRING_COLUMNS, HIRING_EXTRA_COLUMNS,
                               MANAGEMENT_UNIT, REP_COLUMNS, TEAMS_COLUMNS)
from planner.data import load_company, load_scenario_data
from planner.kpis import compute_kpis
from planner.plan import Plan
from planner.scenario import load_scenario
from planner.skills import SkillTable
from tests.helpers import write_scenario

TINY_REPS = """\
rep_id,name,home_region,level,capacity_hours,can_manage,current_team,function:hunting,function:farming,product:ERP,product:CRM,segment:key_account,segment:smb,channel:direct,channel:online,region:East
R1,Ann,East,5,40,true,Team East,5,2,4,1,4,0,3,0,
R2,Bob,East,3,30,false,Team East,1,4,2,3,0,3,0,2,
R3,Cy,West,4,60,false,Team West,3,3,0,5,0,4,0,5,
R4,Di,West,2,50,false,Team West,0,5,3,2,0,0,0,0,3
"""
TINY_ACCOUNTS = """\
account_id,account_name,region,segment,channel,product,potential,current_owner,hours:hunting,hours:farming
A1,Acme,East,key_account,direct,ERP,100,R1,30,10
A2,Bolt,East,smb,online,CRM,50,R2,0,40
A3,Cog,West,smb,online,CRM,60,R3,20,20
A4,Dyn,West,smb,direct,ERP,40,,10,0
"""
NO_DEMAND_ACCOUNTS = """\
account_id,account_name,region,segment,channel,product,potential,current_owner,hours:hunting,hours:farming
A1,Acme,East,smb,direct,ERP,100,R1,0,0
"""
RULES = {"utilization": {"min": 0.8, "max": 1.1}, "min_proficiency": 2}
DIMS = ("region", "segment", "product", "channel", "function")

LINES = [  # account_id, product, function, hours
    ("A1", "ERP", "hunting", 30.0), ("A1", "ERP", "farming", 10.0),
    ("A2", "CRM", "farming", 40.0), ("A3", "CRM", "hunting", 20.0),
    ("A3", "CRM", "farming", 20.0), ("A4", "ERP", "hunting", 10.0)]


# --- fixtures -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    path = write_scenario(tmp_path_factory.mktemp("charts"), TINY_REPS, TINY_ACCOUNTS,
                          org_model="by-region", rules=RULES, name="By region test")
    return load_scenario(path)


@pytest.fixture(scope="module")
def company(scenario):
    return load_scenario_data(scenario)


@pytest.fixture(scope="module")
def empty_company(tmp_path_factory):
    folder = tmp_path_factory.mktemp("empty")
    write_scenario(folder, TINY_REPS, NO_DEMAND_ACCOUNTS)
    return load_company(folder / "reps.csv", folder / "accounts.csv")


def _teams(rows: list[tuple]) -> pd.DataFrame:
    """teams.csv rows: team_id, region, manager, headcount, demand, capacity (pooled otherwise)."""
    return pd.DataFrame([{"team_id": t, "region": r, "segment": "", "product": "", "channel": "",
                          "function": "", "manager_rep_id": m, "headcount": n,
                          "demand_hours": d, "capacity_hours": c, MANAGEMENT_UNIT: t}
                         for t, r, m, n, d, c in rows],
                        columns=[*TEAMS_COLUMNS, MANAGEMENT_UNIT])


def _reps(rows: list[tuple]) -> pd.DataFrame:
    """reps.csv rows: rep_id, team_id, role, assigned, capacity (fit 0.5, not moved)."""
    return pd.DataFrame([{"rep_id": r, "team_id": t, "role": role, "assigned_hours": a,
                          "capacity_hours": c, "utilization": a / c if c else np.inf,
                          "fit": 0.5, "moved": False} for r, t, role, a, c in rows],
                        columns=list(REP_COLUMNS))


def _assignments(rep_team: list[tuple[str, str]]) -> pd.DataFrame:
    """assignments.csv rows of LINES, with (rep_id, team_id) per line in order."""
    return pd.DataFrame([{"account_id": a, "product": p, "function": f, "hours": h,
                          "team_id": team, "rep_id": rep, "kept_owner": False}
                         for (a, p, f, h), (rep, team) in zip(LINES, rep_team)],
                        columns=list(ASSIGNMENTS_COLUMNS))


def _hiring(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=[*HIRING_COLUMNS, *HIRING_EXTRA_COLUMNS])


@pytest.fixture(scope="module")
def before(scenario):
    teams = _teams([("Team East", "", "", 2, 80.0, 70.0), ("Team West", "", "", 2, 40.0, 110.0)])
    reps = _reps([("R1", "Team East", "member", 40.0, 40.0),
                  ("R2", "Team East", "member", 40.0, 30.0),
                  ("R3", "Team West", "member", 40.0, 60.0),
                  ("R4", "Team West", "member", 0.0, 50.0)])
    assignments = _assignments([("R1", "Team East"), ("R1", "Team East"), ("R2", "Team East"),
                                ("R3", "Team West"), ("R3", "Team West"), ("", "")])
    return Plan(scenario, teams, reps, assignments, _hiring([]),
                {"method": "current organisation"})


@pytest.fixture(scope="module")
def after(scenario):
    teams = _teams([("East", "East", "R1", 2, 80.0, 70.0), ("West", "West", "", 2, 50.0, 90.0)])
    reps = _reps([("R1", "East", "manager", 30.0, 20.0), ("R2", "West", "member", 20.0, 30.0),
                  ("R3", "West", "member", 30.0, 60.0), ("R4", "East", "member", 10.0, 50.0)])
    assignments = _assignments([("R1", "East"), ("R4", "East"), ("", "East"), ("R3", "West"),
                                ("R2", "West"), ("R3", "West")])
    hiring = _hiring([("East", "farming", "CRM", 40.0, 1, 0.89),
                      ("West", "manager", "", 0.0, 1, 1.0)])
    return Plan(scenario, teams, reps, assignments, hiring, {"method": "two-stage"})


@pytest.fixture(scope="module")
def empty_plan(scenario):
    return Plan(scenario, _teams([]), _reps([]), _assignments([]), _hiring([]), {})


def values(array) -> list:
    """A trace's data as a plain list (plotly keeps numpy arrays or tuples)."""
    return list(np.asarray(array).tolist())


# --- 1. demand and capacity by dimension --------------------------------------------------------

# region: East demand L0+L1+L2 = 80 on home-region capacity R1 40 + R2 30 = 70 (short 10);
# West 50 on R3 60 + R4 50 = 110. R4's region:East column does not count: home region only.
def test_demand_capacity_table_region_uses_home_region(company):
    t = charts.demand_capacity_table(company, "region")
    assert t["value"].tolist() == ["East", "West"]
    assert t["demand_hours"].tolist() == [80.0, 50.0]
    assert t["capacity_hours"].tolist() == [70.0, 110.0]
    assert t["ratio"].tolist() == pytest.approx([80 / 70, 50 / 110])
    assert t["reps"].tolist() == [2, 2]
    assert t["shortage_hours"].tolist() == [10.0, 0.0]


# function, in the order of the hours columns: hunting 60 h, reps with hunting >= 2 are R1 (5)
# and R3 (3): 100 h; farming 70 h, all four reps >= 2: 180 h. With min_proficiency 3 R1
# (farming 2) drops out of farming: 140 h.
def test_demand_capacity_table_other_dimensions_use_proficiency(company):
    t = charts.demand_capacity_table(company, "function")
    assert t["value"].tolist() == ["hunting", "farming"]
    assert t["demand_hours"].tolist() == [60.0, 70.0]
    assert t["capacity_hours"].tolist() == [100.0, 180.0]
    t3 = charts.demand_capacity_table(company, "function", min_proficiency=3)
    assert t3["capacity_hours"].tolist() == [100.0, 140.0]
    assert t3["reps"].tolist() == [2, 3]
    product = charts.demand_capacity_table(company, "product")  # CRM: R2, R3, R4; ERP: R1, R2, R4
    assert product["value"].tolist() == ["CRM", "ERP"]
    assert product[["demand_hours", "capacity_hours"]].to_numpy().tolist() == [[80, 140], [50, 120]]
    segment = charts.demand_capacity_table(company, "segment")  # key_account: R1; smb: R2, R3
    assert segment[["demand_hours", "capacity_hours", "ratio"]].to_numpy().tolist() == [
        [40, 40, 1.0], [90, 90, 1.0]]


# channel: direct 50 h (L0, L1, L5) on R1's 40 h (short 10); online 80 h on R2 + R3 = 90 h.
def test_demand_capacity_figure_draws_the_table_and_the_shortage(company):
    fig = charts.demand_capacity_by(company, "channel")
    demand, capacity = fig.data
    assert (demand.name, capacity.name) == ("demand", "capacity")
    assert values(demand.x) == ["direct", "online"]
    assert values(demand.y) == [50.0, 80.0]
    assert values(capacity.y) == [40.0, 90.0]
    notes = [a.text for a in fig.layout.annotations]
    assert notes == ["short 10 h"]
    assert values(demand.text) == ["demand / capacity 125%, short 10 h", "demand / capacity 89%"]
    assert fig.layout.annotations[0].x == "direct"
    assert fig.layout.xaxis.title.text == "channel"
    assert fig.layout.yaxis.title.text == charts.HOURS_TITLE


def test_demand_capacity_rejects_an_unknown_dimension(company):
    with pytest.raises(ValueError, match="unknown dimension 'area'"):
        charts.demand_capacity_table(company, "area")


# --- 2. utilization distribution ----------------------------------------------------------------

# Today: R1 40/40, R2 40/30, R3 40/60, R4 0/50; after: R1 30/20, R2 20/30, R3 30/60, R4 10/50.
def test_utilization_distribution_one_box_per_organisation(before, after):
    fig = charts.utilization_distribution({"today": before, "by region": after})
    assert [t.name for t in fig.data] == ["today", "by region"]
    assert all(isinstance(t, go.Box) and t.boxpoints == "all" for t in fig.data)
    assert values(fig.data[0].y) == pytest.approx([1.0, 40 / 30, 40 / 60, 0.0])
    assert values(fig.data[1].y) == pytest.approx([1.5, 20 / 30, 0.5, 0.2])
    assert fig.data[1].hovertext[0] == "R1 (East, manager)"
    (band,) = fig.layout.shapes  # the scenario's band by default
    assert (band.y0, band.y1) == (0.8, 1.1)
    narrow = charts.utilization_distribution({"today": before}, band=(0.9, 1.0))
    assert (narrow.layout.shapes[0].y0, narrow.layout.shapes[0].y1) == (0.9, 1.0)


def test_utilization_distribution_notes_reps_it_cannot_draw(scenario, after):
    reps = _reps([("R1", "East", "manager", 5.0, 0.0), ("R2", "West", "member", 20.0, 40.0)])
    plan = Plan(scenario, after.teams, reps, after.assignments, after.hiring, {})
    fig = charts.utilization_distribution({"odd": plan})
    assert values(fig.data[0].y) == [0.5]
    assert "1 rep(s) with hours but no selling capacity" in fig.layout.title.subtitle.text


# --- 3. demand vs capacity per team -------------------------------------------------------------

# After: East demand 80 of which L2 (40 h) unmet, capacity 70; West 50 h all assigned, 90 h.
def test_demand_vs_capacity_by_team(after):
    fig = charts.demand_vs_capacity_by_team(after)
    assigned, unmet, capacity = fig.data
    assert [t.name for t in fig.data] == ["demand assigned", "demand unmet", "capacity"]
    assert values(assigned.x) == ["East", "West"]
    assert values(assigned.y) == [40.0, 50.0]
    assert values(unmet.y) == [40.0, 0.0]
    assert values(unmet.base) == [40.0, 50.0]  # stacked on the assigned part
    assert values(capacity.y) == [70.0, 90.0]
    assert "By region test" in fig.layout.title.text


# Today L5 (10 h) has no owner and no team: it is its own bar, "(no team)", all unmet.
def test_demand_vs_capacity_by_team_shows_work_without_a_team(before):
    fig = charts.demand_vs_capacity_by_team(before)
    assigned, unmet, capacity = fig.data
    assert values(assigned.x) == ["(no team)", "Team East", "Team West"]
    assert values(assigned.y) == [0.0, 80.0, 40.0]
    assert values(unmet.y) == [10.0, 0.0, 0.0]
    assert values(capacity.y) == [0.0, 70.0, 110.0]
    assert "current organisation" in fig.layout.title.text


# --- 4. skill fit per team and dimension --------------------------------------------------------

# East: L0 (30 h, R1): region 5, segment key_account 4, product ERP 4, channel direct 3,
#       function hunting 5; L1 (10 h, R4): region:East 3, key_account 0, ERP 3, direct 0,
#       farming 5. -> region (30 + 6)/40 = .9, segment 24/40 = .6, product 30/40 = .75,
#       channel 18/40 = .45, function 1.0.
# West: L3 (20 h, R3): region 5 (home), smb 4, CRM 5, online 5, hunting 3; L4 (20 h, R2):
#       region 0 (home East), smb 3, CRM 3, online 2, farming 4; L5 (10 h, R3): region 5,
#       smb 4, ERP 0, direct 0, hunting 3. -> region 30/50 = .6, segment 36/50 = .72,
#       product 32/50 = .64, channel 28/50 = .56, function 34/50 = .68.
EXPECTED_FIT = {"East": [0.9, 0.6, 0.75, 0.45, 1.0], "West": [0.6, 0.72, 0.64, 0.56, 0.68]}


def test_fit_by_team_dimension(company, after):
    table = charts.fit_by_team_dimension(company, after)
    assert table["team_id"].tolist() == ["East"] * 5 + ["West"] * 5
    assert table["dimension"].tolist() == list(DIMS) * 2
    assert table["fit"].tolist() == pytest.approx(EXPECTED_FIT["East"] + EXPECTED_FIT["West"])
    assert table["hours"].tolist() == [40.0] * 5 + [50.0] * 5


# The dimensions weighted by the fit weights give back the fit KPI of the team's lines.
def test_fit_by_team_dimension_agrees_with_the_fit_definition(company, after, scenario):
    table = charts.fit_by_team_dimension(company, after).set_index(["team_id", "dimension"])
    weights = scenario.rules.fit_weights
    skills = SkillTable(company, scenario.rules)
    rep_of = {"R1": 0, "R2": 1, "R3": 2, "R4": 3}
    a = after.assignments[after.assignments["rep_id"] != ""].reset_index(drop=True)
    work = a.merge(company.lines, on=["account_id", "product", "function"], suffixes=("", "_l"))
    fit = skills.fit(np.array([rep_of[r] for r in work["rep_id"]]), work)
    for team in ("East", "West"):
        mask = (work["team_id"] == team).to_numpy()
        expected = np.average(fit[mask], weights=work["hours"].to_numpy()[mask])
        assert sum(w * table.loc[(team, d), "fit"] for d, w in weights.items()) == \
            pytest.approx(expected)


def test_skill_fit_heatmap_matrix(company, after):
    fig = charts.skill_fit_heatmap(company, after)
    (heat,) = fig.data
    assert values(heat.x) == list(DIMS)
    assert values(heat.y) == ["East", "West"]
    np.testing.assert_allclose(np.asarray(heat.z, dtype=float),
                               [EXPECTED_FIT["East"], EXPECTED_FIT["West"]])
    assert (heat.zmin, heat.zmax) == (0, 1)


# --- 5. coverage --------------------------------------------------------------------------------

# East ERP direct: L0 (30 h, R1 qualified) + L1 (10 h, R4: level 2 on a key account) -> 75%;
# East CRM online: L2 unmet -> 0%; West CRM online: R3 (hunting 3, CRM 5) and R2 (farming 4,
# CRM 3) -> 100%; West ERP direct: R3 has ERP 0 -> 0%.
def test_coverage_table(company, after):
    t = charts.coverage_table(company, after)
    assert t[["region", "product", "channel"]].to_numpy().tolist() == [
        ["East", "CRM", "online"], ["East", "ERP", "direct"], ["West", "CRM", "online"],
        ["West", "ERP", "direct"]]
    assert t["demand_hours"].tolist() == [40.0, 40.0, 40.0, 10.0]
    assert t["covered_hours"].tolist() == [0.0, 30.0, 40.0, 0.0]
    assert t["coverage_pct"].tolist() == [0.0, 75.0, 100.0, 0.0]


def test_coverage_table_agrees_with_the_coverage_kpi(company, after, scenario):
    t = charts.coverage_table(company, after)
    kpis = compute_kpis(company, scenario, after.teams, after.reps, after.assignments)
    assert 100 * t["covered_hours"].sum() / t["demand_hours"].sum() == \
        pytest.approx(kpis["coverage_pct"])


def test_coverage_heatmap_one_panel_per_channel(company, after):
    fig = charts.coverage_heatmap(company, after)
    direct, online = fig.data
    for heat in fig.data:
        assert values(heat.y) == ["East", "West"]
        assert values(heat.x) == ["CRM", "ERP"]
    nan = np.nan
    np.testing.assert_array_equal(np.asarray(direct.z, dtype=float), [[nan, 75.0], [nan, 0.0]])
    np.testing.assert_array_equal(np.asarray(online.z, dtype=float), [[0.0, nan], [100.0, nan]])
    assert [a.text for a in fig.layout.annotations] == ["channel direct", "channel online"]
    assert np.asarray(direct.customdata, dtype=float)[0, 1].tolist() == [40.0, 30.0]


# --- 6. org sunburst ----------------------------------------------------------------------------

def test_org_sunburst_follows_team_id_paths(scenario):
    teams = _teams([("East / farming", "East", "R1", 2, 50.0, 60.0),
                    ("East / hunting", "East", "", 1, 30.0, 20.0),
                    ("West", "West", "R3", 3, 40.0, 100.0)])
    teams.loc[teams["team_id"].str.startswith("East"), MANAGEMENT_UNIT] = "East"
    plan = Plan(scenario, teams, _reps([]), _assignments([]), _hiring([]), {})
    (sun,) = charts.org_sunburst(plan).data
    assert values(sun.ids) == [charts.ROOT_ID, "East", "East / farming", "East / hunting", "West"]
    assert values(sun.labels) == ["By region test", "East", "farming", "hunting", "West"]
    assert values(sun.parents) == ["", charts.ROOT_ID, "East", "East", charts.ROOT_ID]
    assert values(sun.values) == [6.0, 3.0, 2.0, 1.0, 3.0]
    assert sun.branchvalues == "total"
    hover = dict(zip(sun.ids, sun.hovertext))
    assert "manager: R1" in hover["East / farming"]
    assert "manager: R1 (unit East)" in hover["East / hunting"]  # led by the unit's manager
    assert "demand 80 h" in hover["East"] and "capacity 80 h" in hover["East"]
    assert "headcount 6" in hover[charts.ROOT_ID]


# --- 7. flows -----------------------------------------------------------------------------------

def test_flow_table_of_reps(before, after):
    t = charts.flow_table(before, after, "reps")
    assert t.to_numpy().tolist() == [["Team East", "East", 1.0], ["Team East", "West", 1.0],
                                     ["Team West", "East", 1.0], ["Team West", "West", 1.0]]


# L0 + L1 (40 h) Team East -> East; L2 (40 h) Team East -> unassigned (unmet after);
# L3 + L4 (40 h) Team West -> West; L5 (10 h) unowned today -> West.
def test_flow_table_of_account_hours(before, after):
    t = charts.flow_table(before, after, "accounts")
    assert t.to_numpy().tolist() == [["Team East", "East", 40.0],
                                     ["Team East", "unassigned", 40.0],
                                     ["Team West", "West", 40.0], ["unassigned", "West", 10.0]]


def test_flow_sankey_nodes_and_links(before, after):
    (sankey,) = charts.flow_sankey(before, after, "accounts").data
    assert values(sankey.node.label) == ["Team East", "Team West", "unassigned",
                                         "East", "West", "unassigned"]
    assert values(sankey.link.source) == [0, 0, 1, 2]
    assert values(sankey.link.target) == [3, 5, 4, 4]
    assert values(sankey.link.value) == [40.0, 40.0, 40.0, 10.0]
    (reps,) = charts.flow_sankey(before, after, "reps").data
    assert values(reps.node.label) == ["Team East", "Team West", "East", "West"]
    assert values(reps.link.source) == [0, 0, 1, 1]
    assert values(reps.link.target) == [2, 3, 2, 3]


def test_flow_table_rejects_an_unknown_kind(before, after):
    with pytest.raises(ValueError, match="'reps' or 'accounts'"):
        charts.flow_table(before, after, "teams")


# --- 8. hiring ----------------------------------------------------------------------------------

def test_hiring_bars_label_managers_separately(after):
    fig = charts.hiring_bars(after)
    by_name = {t.name: t for t in fig.data}
    assert set(by_name) == {"reps to hire", "managers to hire", "unmet hours"}
    assert values(by_name["reps to hire"].x) == ["East: farming, CRM"]
    assert values(by_name["reps to hire"].y) == [1.0]
    assert values(by_name["managers to hire"].x) == ["West: manager"]
    assert values(by_name["managers to hire"].y) == [1.0]
    assert values(by_name["unmet hours"].x) == ["East: farming, CRM"]
    assert values(by_name["unmet hours"].y) == [40.0]
    assert values(fig.layout.xaxis.categoryarray) == ["East: farming, CRM", "West: manager"]


# --- 9. frontier --------------------------------------------------------------------------------

POINTS = pd.DataFrame({"continuity": [0.1, 0.3, 0.2, 0.5], "balance": [0.5, 0.2, 0.4, 0.45],
                       "coverage_pct": [99.0, 98.0, 97.5, 90.0],
                       "dominated": [False, False, False, True]})


@pytest.mark.parametrize("points", [POINTS, POINTS.drop(columns="dominated")],
                         ids=["given", "computed"])
def test_frontier_figure(points):
    fig = charts.frontier_figure(points, "continuity", "balance")
    by_name = {t.name: t for t in fig.data}
    assert values(by_name["dominated"].x) == [0.5]
    assert values(by_name["dominated"].y) == [0.45]
    frontier = by_name["frontier"]
    assert frontier.mode == "lines+markers"
    assert values(frontier.x) == [0.1, 0.2, 0.3]  # sorted by x
    assert values(frontier.y) == [0.5, 0.4, 0.2]
    assert "coverage 97.5%" in frontier.hovertext[1]
    assert fig.layout.xaxis.title.text == "continuity loss (share of owned potential)"
    assert fig.layout.yaxis.title.text == charts.TERM_LABELS["balance"]
    assert set(charts.TERM_LABELS) == {"continuity", "balance", "fit", "travel", "preferences",
                                       "unmet"}


# --- 10. KPI bars -------------------------------------------------------------------------------

def test_kpi_bars_current_organisation_first():
    table = pd.DataFrame({"name": ["round-robin (by-region)", "current organisation", "Plan A",
                                   "Plan B"],
                          "kind": ["round-robin", "current", "plan", "plan"],
                          "coverage_pct": [60.0, 40.0, 99.25, None]})
    fig = charts.kpi_bars(table, "coverage_pct")
    (bars,) = fig.data
    assert values(bars.x) == ["current organisation", "round-robin (by-region)", "Plan A",
                              "Plan B"]
    y = np.asarray(bars.y, dtype=float)
    assert y[:3].tolist() == [40.0, 60.0, 99.25] and np.isnan(y[3])
    assert values(bars.text) == ["40.0", "60.0", "99.2", "-"]
    assert fig.layout.yaxis.title.text == charts.KPI_LABELS["coverage_pct"]
    with pytest.raises(ValueError, match="no column 'coverage'"):
        charts.kpi_bars(table, "coverage")


# --- empty inputs -------------------------------------------------------------------------------

EMPTY_CASES = {
    "demand_capacity_by": lambda c, p: charts.demand_capacity_by(c, "product"),
    "utilization_distribution (no plans)": lambda c, p: charts.utilization_distribution({}),
    "utilization_distribution (no reps)": lambda c, p: charts.utilization_distribution({"x": p}),
    "demand_vs_capacity_by_team": lambda c, p: charts.demand_vs_capacity_by_team(p),
    "skill_fit_heatmap": lambda c, p: charts.skill_fit_heatmap(c, p),
    "coverage_heatmap": lambda c, p: charts.coverage_heatmap(c, p),
    "org_sunburst": lambda c, p: charts.org_sunburst(p),
    "flow_sankey (reps)": lambda c, p: charts.flow_sankey(p, p, "reps"),
    "flow_sankey (accounts)": lambda c, p: charts.flow_sankey(p, p, "accounts"),
    "hiring_bars": lambda c, p: charts.hiring_bars(p),
    "frontier_figure": lambda c, p: charts.frontier_figure(pd.DataFrame(), "fit", "balance"),
    "kpi_bars": lambda c, p: charts.kpi_bars(pd.DataFrame(columns=["name", "kind",
                                                                   "coverage_pct"]),
                                             "coverage_pct"),
}


@pytest.mark.parametrize("build", EMPTY_CASES.values(), ids=EMPTY_CASES.keys())
def test_empty_inputs_give_an_empty_figure_with_a_title(build, empty_company, empty_plan):
    fig = build(empty_company, empty_plan)
    assert isinstance(fig, go.Figure)
    assert "nothing to show" in fig.layout.title.text
    assert len(fig.data) == 0
    assert fig.layout.annotations[0].text  # says why


def test_empty_tables(empty_company, empty_plan):
    assert charts.demand_capacity_table(empty_company, "region").empty
    assert charts.fit_by_team_dimension(empty_company, empty_plan).empty
    assert charts.coverage_table(empty_company, empty_plan).empty
    assert charts.flow_table(empty_plan, empty_plan, "accounts").empty


# --- plans made by the planner ------------------------------------------------------------------

# The builders take the planner's own plans (today's organisation and a solve of the tiny
# company, band 0-110%) as they are; flows conserve reps and hours.
def test_builders_draw_plans_made_by_the_planner(scenario, company):
    from planner.run import baseline, solve
    today = baseline(scenario, "current", company)
    # 130 h of demand cannot give 180 h of capacity 80%: no lower bound for the solve
    plan = solve(scenario.with_rules(utilization={"min": 0.0, "max": 1.1}), company,
                 time_limit=5)
    figures = [
        charts.demand_capacity_by(company, "region"),
        charts.utilization_distribution({"today": today, "plan": plan}),
        charts.demand_vs_capacity_by_team(plan), charts.demand_vs_capacity_by_team(today),
        charts.skill_fit_heatmap(company, plan), charts.coverage_heatmap(company, plan),
        charts.org_sunburst(plan), charts.org_sunburst(today),
        charts.flow_sankey(today, plan, "reps"), charts.flow_sankey(today, plan, "accounts"),
        charts.hiring_bars(plan)]
    for fig in figures:
        assert isinstance(fig, go.Figure) and fig.layout.title.text
        fig.to_json()  # serialisable as the app sends it
    assert charts.flow_table(today, plan, "reps")["value"].sum() == 4
    assert charts.flow_table(today, plan, "accounts")["value"].sum() == pytest.approx(130.0)
    assert charts.plan_name(today) == "current organisation"


# A plan written to its files and read back as strings (planner.verify.read_plan) draws the same
# numbers as the typed plan.
def test_plans_read_back_from_files_draw_the_same(company, scenario, before, after, tmp_path):
    from planner.verify import read_plan

    def reread(plan, name):
        t = read_plan(plan.to_csv(tmp_path / name))
        return Plan(scenario, t.teams, t.reps, t.assignments, t.hiring, t.kpis)

    b, a = reread(before, "before"), reread(after, "after")
    assert a.reps["utilization"].dtype != float  # really strings
    for what in ("reps", "accounts"):
        pd.testing.assert_frame_equal(charts.flow_table(b, a, what),
                                      charts.flow_table(before, after, what), check_dtype=False)
    pd.testing.assert_frame_equal(charts.coverage_table(company, a),
                                  charts.coverage_table(company, after))
    pd.testing.assert_frame_equal(charts.fit_by_team_dimension(company, a),
                                  charts.fit_by_team_dimension(company, after))
    for fresh, stored in ((charts.demand_vs_capacity_by_team(after),
                           charts.demand_vs_capacity_by_team(a)),
                          (charts.hiring_bars(after), charts.hiring_bars(a)),
                          (charts.utilization_distribution({"x": after}),
                           charts.utilization_distribution({"x": a}))):
        for f, s in zip(fresh.data, stored.data):
            assert f.name == s.name
            if f.x is not None:  # a box has only y
                assert values(f.x) == values(s.x)
            assert values(f.y) == pytest.approx(values(s.y))


def test_charts_import_neither_streamlit_nor_the_models():
    tree = ast.parse(Path(charts.__file__).read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree)
                if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and node.module}
    assert not imported & {"streamlit", "models", "ortools"}
