"""Why an account changed owner (planner.moves), on tiny companies whose optimal plan is
worked out by hand, so each line's reason is known.

Company (all work is farming; fit = 0.07 * (function + product) + 0.1, see tests/test_rules.py):
  R1 East, level 3, 40 h, farming 5, ERP 5, CRM 1
  R2 East, level 4, 100 h, farming 5, ERP 5, CRM 5
  R3 West, level 3, 40 h, farming 5, ERP 5
Accounts, all owned by R1 today:
  A1 East SMB ERP 30 h, potential 100      -> kept by R1
  A2 East SMB CRM 5 h                      -> R2: R1 has CRM 1 < 2 (min_proficiency)
  A3 East key account ERP 5 h              -> R2: R1 is level 3 < 4 (key_accounts_senior)
  A4 West SMB ERP 10 h                     -> R3: by region, West is another team (org model)
  A5 East SMB ERP 20 h                     -> R2: R1 has 30 h of 40 h (utilization band)
Org model by-region, band 0-100%, weights {unmet: 100, continuity: 1}: R1 stays in East
(moving West would lose A1's potential 100 to keep A4's 10), R2 must be in East for A2 and A3,
R3 in West for A4; R1 keeps A1 rather than A5 (potential 100 vs 10).
"""

from __future__ import annotations

import pytest

from planner.data import load_scenario_data
from planner.moves import MOVE_COLUMNS, cause_counts, owner_changes
from planner.run import solve
from planner.scenario import load_scenario
from tests.helpers import write_scenario

REPS = """\
rep_id,name,home_region,level,capacity_hours,can_manage,function:farming,product:ERP,product:CRM
R1,Ann,East,3,40,false,5,5,1
R2,Bob,East,4,100,false,5,5,5
R3,Cy,West,3,40,false,5,5,0
"""
ACCOUNTS = """\
account_id,account_name,region,segment,channel,product,potential,current_owner,hours:farming
A1,Acme,East,smb,direct,ERP,100,R1,30
A2,Beta,East,smb,direct,CRM,10,R1,5
A3,Core,East,key_account,direct,ERP,10,R1,5
A4,Delta,West,smb,direct,ERP,10,R1,10
A5,Echo,East,smb,direct,ERP,10,R1,20
"""


@pytest.fixture
def moves(tmp_path):
    path = write_scenario(tmp_path, REPS, ACCOUNTS, org_model="by-region",
                          rules={"utilization": {"min": 0, "max": 1.0}},
                          objective={"weights": {"unmet": 100, "continuity": 1}})
    sc = load_scenario(path)
    plan = solve(sc)
    assert plan.verify() == []
    return owner_changes(load_scenario_data(sc), plan).set_index("account_id")


def test_each_move_names_its_rule_or_term(moves):
    assert list(moves.reset_index().columns) == list(MOVE_COLUMNS)
    assert sorted(moves.index) == ["A2", "A3", "A4", "A5"]  # A1 stays with R1
    assert moves["cause"].to_dict() == {"A2": "min_proficiency", "A3": "key_accounts_senior",
                                        "A4": "org model", "A5": "utilization band"}
    assert moves.at["A2", "reason"] == ("its owner R1 has product proficiency 1 in CRM, below "
                                        "the minimum 2")
    assert moves.at["A3", "reason"] == "key accounts go to level 4+ reps; its owner R1 is level 3"
    assert moves.at["A4", "reason"] == ("the org model puts this work in team West; its owner "
                                        "R1 is in team East")
    assert moves.at["A5", "reason"] == ("its owner R1 carries 30 h of 40 h; 20 h more would "
                                        "exceed 100%")
    assert moves["to_rep"].to_dict() == {"A2": "R2", "A3": "R2", "A4": "R3", "A5": "R2"}
    assert set(moves["from_rep"]) == {"R1"} and set(moves["from_team"]) == {"East"}


def test_cause_counts_sum_lines_and_hours(moves):
    counts = cause_counts(moves.reset_index()).set_index("cause")
    assert counts["lines"].to_dict() == {"utilization band": 1, "org model": 1,
                                         "min_proficiency": 1, "key_accounts_senior": 1}
    assert counts["hours"].tolist() == [20.0, 10.0, 5.0, 5.0]


# A better-fitting rep takes the work: one team, R1 owns A1 (10 h ERP) with ERP 2
# (fit 0.07 * 7 + 0.1 = 0.59), R2 has ERP 5 (fit 0.80). Weights {unmet: 100, fit: 10,
# continuity: 1}: moving saves 10 x 0.21 x 10 h / 10 h = 2.1 of misfit and loses 1 of
# continuity, so A1 moves to R2 for fit.
FIT_REPS = """\
rep_id,name,home_region,level,capacity_hours,can_manage,function:farming,product:ERP
R1,Ann,East,3,40,false,5,2
R2,Bob,East,3,40,false,5,5
"""
FIT_ACCOUNTS = """\
account_id,account_name,region,segment,channel,product,potential,current_owner,hours:farming
A1,Acme,East,smb,direct,ERP,10,R1,10
"""


def test_a_better_fit_is_named_with_both_fits(tmp_path):
    path = write_scenario(tmp_path, FIT_REPS, FIT_ACCOUNTS,
                          rules={"utilization": {"min": 0, "max": 1.0}},
                          objective={"weights": {"unmet": 100, "fit": 10, "continuity": 1}})
    sc = load_scenario(path)
    plan = solve(sc)
    moves = owner_changes(load_scenario_data(sc), plan)
    assert moves[["account_id", "from_rep", "to_rep", "cause"]].values.tolist() == [
        ["A1", "R1", "R2", "fit"]]
    assert moves["reason"].iloc[0] == "R2 fits the work better than its owner R1 (0.80 vs 0.59)"


def test_a_plan_that_keeps_every_owner_has_no_moves(tmp_path):
    path = write_scenario(tmp_path, FIT_REPS, FIT_ACCOUNTS,
                          rules={"utilization": {"min": 0, "max": 1.0}},
                          objective={"weights": {"unmet": 100, "continuity": 10}})
    sc = load_scenario(path)
    moves = owner_changes(load_scenario_data(sc), solve(sc))
    assert moves.empty and list(moves.columns) == list(MOVE_COLUMNS)
