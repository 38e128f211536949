"""Unit tests of the joint model (models.joint.solve_joint) on a 2-team, 3-rep company whose
optimum is computed by hand in the comment above each test."""

from __future__ import annotations

import numpy as np
import pytest

from models.instances import (AllocationInstance, AllocTerm, JointInstance, OrgDesignInstance,
                              OrgTerm, SolveSettings)
from models.joint import solve_joint

SETTINGS = SolveSettings(time_limit=5.0, workers=1, seed=0)


def i64(values) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


# The company: reps 0, 1, 2 with band [0, 8]; teams 0 and 1; items 0 and 1 belong to team 0,
# item 2 to team 1; every item weighs 4 for every rep (so a rep takes at most 2 items), and a
# rep can only take an item of its own team. Fit cost per (item, rep):
#            rep 0  rep 1  rep 2
#   item 0     1      2      3
#   item 1     2      1      3
#   item 2     2      1      5
FIT = [[1, 2, 3], [2, 1, 3], [2, 1, 5]]


def company(balance: int = 0, mgr_hi: int = 8, span: int | None = None,
            unit_of_team=None, missing_manager: int = 0) -> JointInstance:
    n_r = 3
    org_terms = {}
    if balance:
        org_terms["balance"] = OrgTerm(deviation=i64([balance] * n_r))
    if missing_manager:
        org_terms["unmet"] = OrgTerm(missing_manager=missing_manager)
    org = OrgDesignInstance(
        rep_lo=i64([0] * n_r), rep_hi=i64([8] * n_r), mgr_lo=i64([0] * n_r),
        mgr_hi=i64([mgr_hi] * n_r), rep_target=i64([4] * n_r), mgr_target=i64([0] * n_r),
        can_manage=np.ones(n_r, dtype=bool), n_teams=2, class_team=i64([0, 1]),
        class_hours=i64([0, 0]), pair_rep=i64([]), pair_class=i64([]), terms=org_terms,
        span=span, unit_of_team=None if unit_of_team is None else i64(unit_of_team))
    pairs = [(i, r) for i in range(3) for r in range(n_r)]
    alloc = AllocationInstance(
        agent_lo=i64([0] * n_r), agent_hi=i64([8] * n_r),
        pair_item=i64([i for i, _ in pairs]), pair_agent=i64([r for _, r in pairs]),
        pair_weight=i64([4] * len(pairs)), item_optional=np.zeros(3, dtype=bool),
        terms={"fit": AllocTerm(pair=i64([FIT[i][r] for i, r in pairs]))})
    return JointInstance(org, alloc, item_team=i64([0, 0, 1]))


def check_joint(inst: JointInstance, sol) -> None:
    """Every item goes to a rep of its team; loads inside the (member or manager) band."""
    assert sol.status in ("OPTIMAL", "FEASIBLE")
    assert np.all(sol.item_agent >= 0)
    assert np.array_equal(sol.rep_team[sol.item_agent], inst.item_team)
    w = {(i, a): wt for i, a, wt in zip(inst.alloc.pair_item.tolist(),
                                        inst.alloc.pair_agent.tolist(),
                                        inst.alloc.pair_weight.tolist())}
    load = np.zeros(inst.org.n_reps, dtype=np.int64)
    for i, a in enumerate(sol.item_agent.tolist()):
        load[a] += w[i, a]
    hi = np.where(sol.is_manager, inst.org.mgr_hi, inst.org.rep_hi)
    lo = np.where(sol.is_manager, inst.org.mgr_lo, inst.org.rep_lo)
    assert np.all((load >= lo) & (load <= hi))


# Fit only. Item 2's rep is in team 1 and can take no team-0 item.
#   item 2 -> rep 1 (1): items 0, 1 to reps 0, 2 of team 0; rep 0 takes both (1 + 2 = 3,
#     load 8): 4.
#   item 2 -> rep 0 (2): items 0, 1 to reps 1, 2; rep 1 takes both (2 + 1 = 3): 5.
#   item 2 -> rep 2 (5): at least 5 + 2.
# Optimum 4: items [0, 0, 1], rep 0 in team 0, rep 1 in team 1.
def test_joint_fit_only():
    inst = company()
    sol = solve_joint(inst, SETTINGS)
    check_joint(inst, sol)
    assert sol.status == "OPTIMAL"
    assert sol.objective == 4
    assert sol.item_agent.tolist() == [0, 0, 1]
    assert sol.rep_team[:2].tolist() == [0, 1]


# With balance (target load 4, 1 per unit off target): a rep with two items (8) and a rep with
# none (0) are 4 + 4 = 8 off, more than any fit saving, so each rep takes one item. The six
# permutations (rep of items 0, 1, 2): 012: 1+1+5 = 7, 021: 1+3+1 = 5, 102: 2+2+5 = 9,
# 120: 2+3+2 = 7, 201: 3+2+1 = 6, 210: 3+1+2 = 6. Any other plan costs >= 4 + 8 = 12.
# Optimum 5 (fit 5, balance 0): items [0, 2, 1], teams [0, 1, 0].
def test_joint_with_balance():
    inst = company(balance=1)
    sol = solve_joint(inst, SETTINGS)
    check_joint(inst, sol)
    assert sol.status == "OPTIMAL"
    assert sol.objective == 5
    assert sol.term_values == {"fit": 5, "balance": 0}
    assert sol.item_agent.tolist() == [0, 2, 1]
    assert sol.rep_team.tolist() == [0, 1, 0]


# With managers: each team its own unit, span 2, managers sell nothing (band [0, 0]), a hired
# manager costs 100. A team with sales needs a seller and ceil(head / 2) managers: without
# hires team 0 needs >= 2 reps (a manager and a seller) and team 1 as well: 4 > 3 reps, so at
# least one hire (100). With one hire: the 3 reps split 2 + 1, the pair with a rep manager
# and a seller, the single rep sells under the hired manager. Teams {0, 2} + {1}: rep 2
# manages, rep 0 sells items 0, 1 (3), rep 1 item 2 (1): 104. Teams {0} + {1, 2}: rep 0 items
# 0, 1 (3), rep 2 manages, rep 1 item 2 (1): 104. Other splits cost more in fit (item 2 on
# rep 0 with items 0, 1 on rep 1: 2 + 3 = 5). Optimum 104, one hire.
def test_joint_with_managers_and_a_hire():
    inst = company(mgr_hi=0, span=2, unit_of_team=[0, 1], missing_manager=100)
    sol = solve_joint(inst, SETTINGS)
    check_joint(inst, sol)
    assert sol.status == "OPTIMAL"
    assert sol.objective == 104
    assert sol.term_values == {"fit": 4, "unmet": 100}
    assert int(sol.hired_managers.sum()) == 1
    assert sol.item_agent.tolist() == [0, 0, 1]
    for t in range(2):
        head = int((sol.rep_team == t).sum())
        leads = int(sol.is_manager[sol.rep_team == t].sum()) + int(sol.hired_managers[t])
        assert leads == -(-head // 2)


# Lexicographic in the joint model: balance first (0: one item per rep), then fit (5, as above).
@pytest.mark.parametrize("levels", [(("balance",), ("fit",))])
def test_joint_lexicographic(levels):
    settings = SolveSettings(time_limit=5.0, workers=1, seed=0, levels=levels, tolerance=0.0)
    sol = solve_joint(company(balance=1), settings)
    assert sol.objective == 0
    assert sol.term_values == {"fit": 5, "balance": 0}
    assert sol.level_bounds == (0, 5)
