"""The knapsack moves for stage 2's teams of few reps (models.knapsack_moves): plans computed by
hand on tiny instances (each comment says why no simpler move gets there), and on random small
teams the properties every search must keep: the plan holds every constraint, never costs
more than its start, and mostly reaches the optimum found by trying every plan."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import models.allocation as allocation
from models.allocation import allocation_is_feasible
from models.allocation_lns import plan_cost
from models.instances import AllocSolution, AllocTerm, SolveSettings
from models.knapsack_moves import (_one_rep, _priced_pair, _resplit, applies,
                                   improve_by_knapsack_moves, team_of)
from tests.test_models_allocation import i64, make_alloc

SETTINGS = SolveSettings(time_limit=1.0, workers=1, seed=0)
FAR = float("inf")


def moved(inst, plan) -> np.ndarray:
    return improve_by_knapsack_moves(inst, i64(plan), tuple(inst.terms), seconds=5.0)


def cost(inst, plan) -> int:
    return plan_cost(inst, i64(plan), tuple(inst.terms))


# One rep of 7 hours holds a 5-hour item; items of 3 and 4 hours are left; every hour left
# costs 10. Its best choice is the 3 and the 4 (50 left, not 70): a move of one item for two,
# found by its knapsack over 0..7 hours.
def test_one_rep_fills_its_hours_with_whole_items():
    inst = make_alloc([0], [7], [(0, 0, 5), (1, 0, 3), (2, 0, 4)], 3,
                      {"unmet": AllocTerm(unassigned=i64([50, 30, 40]))}, optional=[True] * 3)
    team = team_of(inst, ("unmet",))
    assert _one_rep(team, i64([0, -1, -1]), 0).tolist() == [-1, 0, 0]


# Reps of 6 hours each hold {A 4 h, B 2 h} and {C 3 h, D 3 h}, all mandatory; A costs 10 on
# rep 0 and nothing on rep 1. Both are full, so no item moves alone and no swap of two fits
# (A for C: 5 and 7 hours); the re-split gives rep 1 A and B, rep 0 C and D: 0.
def test_two_reps_items_split_anew():
    pairs = [(i, a, w) for i, w in enumerate([4, 2, 3, 3]) for a in range(2)]
    fit = i64([10, 0] + [0, 0] * 3)
    inst = make_alloc([0, 0], [6, 6], pairs, 4, {"fit": AllocTerm(pair=fit)})
    team = team_of(inst, ("fit",))
    assert _resplit(team, i64([0, 0, 1, 1]), 0, 1).tolist() == [1, 1, 0, 0]
    assert cost(inst, [1, 1, 0, 0]) == 0


# Reps a and b of 5 hours. X (5 h) costs 8 on a, nothing on b, 100 left out; b holds Y (3 h)
# and Z (2 h), which only b may take (30 and 20 left out); P (2 h) and Q (3 h), left (20 and
# 30), only a may take. From a{X} b{Y, Z} (58) the optimum a{P, Q} b{X} (50) needs all three
# changes at once: a alone would drop X (100), b alone cannot reach X, and X does not fit
# beside b's items. The priced pair finds it with a's load exact.
def xyz_team():
    pairs = [(0, 0, 5), (0, 1, 5), (1, 1, 3), (2, 1, 2), (3, 0, 2), (4, 0, 3)]
    return make_alloc([0, 0], [5, 5], pairs, 5,
                      {"fit": AllocTerm(pair=i64([8, 0, 0, 0, 0, 0])),
                       "unmet": AllocTerm(unassigned=i64([100, 30, 20, 20, 30]))},
                      optional=[True] * 5)


def test_a_priced_pair_moves_what_no_single_rep_can():
    inst = xyz_team()
    team, start = team_of(inst, tuple(inst.terms)), i64([0, 1, 1, -1, -1])
    assert cost(inst, start) == 58
    assert _one_rep(team, start, 0).tolist() == start.tolist()
    assert _one_rep(team, start, 1).tolist() == start.tolist()
    assert _resplit(team, start, 0, 1).tolist() == start.tolist()
    found = [cost(inst, p) for p in _priced_pair(team, start, 0, 1, deadline=FAR)]
    assert min(found) == 50
    assert moved(inst, start).tolist() == [1, -1, -1, 0, 0]


# An account of two 2-hour items, 4 each left out, travel 5 to the rep (4 hours): both taken
# cost 5 (travel once), one alone 9, none 8. The knapsack takes the account's items together.
def test_an_accounts_travel_is_paid_once():
    inst = make_alloc([0], [4], [(0, 0, 2), (1, 0, 2)], 2,
                      {"unmet": AllocTerm(unassigned=i64([4, 4])),
                       "travel": AllocTerm(travel=np.array([[5]]))},
                      optional=[True, True], item_account=i64([0, 0]))
    assert moved(inst, [-1, -1]).tolist() == [0, 0]
    assert cost(inst, [0, 0]) == 5


# The XYZ team with X pinned to a: no move takes it away (58 stays the best); with P made
# mandatory and held by a, a keeps it.
def test_pins_and_mandatory_items_hold():
    inst = replace(xyz_team(), fixed_agent=i64([0, -1, -1, -1, -1]))
    assert moved(inst, [0, 1, 1, -1, -1]).tolist() == [0, 1, 1, -1, -1]
    mandatory = replace(xyz_team(), item_optional=np.array([True, True, True, False, True]))
    out = moved(mandatory, [-1, 1, 1, 0, -1])
    assert out[3] == 0 and allocation_is_feasible(mandatory, out)


# Out of time, the plan is given back as it came; teams of one rep or more than three, or with
# constraints from outside, are not tried.
def test_no_time_no_moves_and_where_they_apply():
    inst, start = xyz_team(), i64([0, 1, 1, -1, -1])
    assert improve_by_knapsack_moves(inst, start, tuple(inst.terms), seconds=0.0) is start
    assert applies(inst)
    one = make_alloc([0], [7], [(0, 0, 5)], 1, {"fit": AllocTerm(pair=i64([1]))})
    four = make_alloc([0] * 4, [5] * 4, [(0, a, 5) for a in range(4)], 1,
                      {"fit": AllocTerm(pair=i64([1] * 4))})
    assert not applies(one) and not applies(four)
    assert not applies(replace(inst, extensions=(object(),)))


def _random_team(seed: int):
    """Two or three reps, up to five items over up to three accounts; hours that may differ
    by rep, pair costs, travel, balance, optional and pinned items."""
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(2, 4)), int(rng.integers(1, 6))
    pairs = [(i, a, int(rng.integers(1, 6))) for i in range(n) for a in range(m)
             if rng.random() < 0.85]
    terms = {"fit": AllocTerm(pair=rng.integers(0, 9, len(pairs))),
             "unmet": AllocTerm(unassigned=rng.integers(3, 30, n)),
             "balance": AllocTerm(deviation=rng.integers(0, 4, m)),
             "travel": AllocTerm(travel=rng.integers(0, 8, (3, m)))}
    fixed = np.where(rng.random(n) < 0.15, rng.integers(0, m, n), -1)
    return make_alloc(rng.integers(0, 3, m).tolist(), rng.integers(3, 12, m).tolist(), pairs,
                      n, terms, optional=(rng.random(n) < 0.6).tolist(),
                      agent_target=rng.integers(0, 10, m), item_account=rng.integers(0, 3, n),
                      fixed_agent=fixed)


def _plans(inst) -> list[np.ndarray]:
    """Every plan that holds every constraint, by trying them all."""
    return [i64(p) for p in itertools.product(range(-1, inst.n_agents), repeat=inst.n_items)
            if allocation_is_feasible(inst, i64(p))]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000))
def test_moves_keep_every_constraint_and_never_cost_more(seed):
    inst = _random_team(seed)
    plans = _plans(inst)
    if not plans:
        return
    start = plans[seed % len(plans)]
    out = moved(inst, start)
    assert allocation_is_feasible(inst, out)
    assert cost(inst, out) <= cost(inst, start)


# From the dearest plan of each random team, the moves reach the optimum on at least nine in
# ten of the first 100 seeds where a plan exists (65 of 67 when written).
def test_moves_mostly_reach_the_optimum():
    reached = total = 0
    for seed in range(100):
        inst = _random_team(seed)
        plans = _plans(inst)
        if not plans:
            continue
        costs = [cost(inst, p) for p in plans]
        total += 1
        reached += cost(inst, moved(inst, plans[int(np.argmax(costs))])) == min(costs)
    assert total >= 60 and reached >= 0.9 * total


# A team of two reps that CP-SAT leaves unproved at the XYZ plan (58): the moves take it to 50,
# and the solution counts its terms as the plan does; a proved plan is given back untouched.
def test_the_engine_moves_an_unproved_plan_of_two_reps(monkeypatch):
    inst = xyz_team()
    start = i64([0, 1, 1, -1, -1])
    values = {"fit": 8, "unmet": 50}
    unproved = AllocSolution("FEASIBLE", 58, 40, start, values, 0.01)
    monkeypatch.setattr(allocation, "solve_with_cpsat", lambda *a, **k: unproved)
    out = allocation._cpsat_then_moves(inst, SETTINGS, None)
    assert (out.status, out.objective, out.bound) == ("FEASIBLE", 50, 40)
    assert out.term_values == {"fit": 0, "unmet": 50}
    proved = replace(unproved, status="OPTIMAL", bound=58)
    monkeypatch.setattr(allocation, "solve_with_cpsat", lambda *a, **k: proved)
    assert allocation._cpsat_then_moves(inst, SETTINGS, None) is proved


@pytest.mark.parametrize("seed", range(5))
def test_the_engine_plans_of_random_teams_hold(seed):
    inst = _random_team(seed)
    sol = allocation.solve_allocation(inst, SETTINGS)
    if sol.status in ("OPTIMAL", "FEASIBLE"):
        assert allocation_is_feasible(inst, sol.item_agent)
        assert sol.objective == cost(inst, sol.item_agent)
        assert sol.bound <= sol.objective
