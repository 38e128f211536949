"""Unit tests of stage 1 (models.org_design) and its warm start (models.warm_start.improve_org)
on tiny instances whose optimum is computed by hand in the comment above each test.

Notation in the comments: R reps, T teams, K demand classes; "band [lo, hi]" is every rep's
member band; unmet/pair/... costs are per hour. Every solution is also checked for the model's
hard rules by `check_org` (one team per rep, hours only inside the rep's team, demand balance,
band, manager counts), so a test asserts values and properties, not tied assignments.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np
import pytest

from models.instances import (RULE_MIN_PROFICIENCY, Coverage, OrgDesignInstance, OrgTerm,
                              Progress, SolveSettings)
from models.org_design import _start_within_rules, explain_infeasibility, solve_org_design
from models.warm_start import (TeamOracle, _Search, _unit_managers, improve_org,
                                reshape_team, start_for_teams)

SETTINGS = SolveSettings(time_limit=5.0, workers=1, seed=0)


def i64(values) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


def make_org(rep_lo, rep_hi, n_teams, class_team, class_hours, pairs, terms, *, mgr_lo=None,
             mgr_hi=None, rep_target=None, mgr_target=None, can_manage=None,
             **kwargs) -> OrgDesignInstance:
    """An OrgDesignInstance from lists; manager band = member band and targets 0 by default."""
    n_r = len(rep_lo)
    rep_lo, rep_hi = i64(rep_lo), i64(rep_hi)
    return OrgDesignInstance(
        rep_lo=rep_lo, rep_hi=rep_hi,
        mgr_lo=rep_lo.copy() if mgr_lo is None else i64(mgr_lo),
        mgr_hi=rep_hi.copy() if mgr_hi is None else i64(mgr_hi),
        rep_target=i64([0] * n_r if rep_target is None else rep_target),
        mgr_target=i64([0] * n_r if mgr_target is None else mgr_target),
        can_manage=np.asarray([False] * n_r if can_manage is None else can_manage, dtype=bool),
        n_teams=n_teams, class_team=i64(class_team), class_hours=i64(class_hours),
        pair_rep=i64([r for r, _ in pairs]), pair_class=i64([k for _, k in pairs]),
        terms=terms, **kwargs)


def all_pairs(n_reps: int, n_classes: int) -> list[tuple[int, int]]:
    return [(r, k) for r in range(n_reps) for k in range(n_classes)]


def loads(inst: OrgDesignInstance, hours: np.ndarray) -> np.ndarray:
    return np.bincount(inst.pair_rep, weights=hours, minlength=inst.n_reps).astype(np.int64)


def check_org(inst: OrgDesignInstance, sol, soft_band: bool = False) -> None:
    """The hard rules of stage 1 hold on a returned solution."""
    assert sol.status in ("OPTIMAL", "FEASIBLE")
    assert sol.rep_team.shape == (inst.n_reps,)
    assert np.all((sol.rep_team >= 0) & (sol.rep_team < inst.n_teams))
    # hours only on listed pairs of the rep's own team, within the class's hours
    pair_team = inst.class_team[inst.pair_class]
    outside = sol.hours[pair_team != sol.rep_team[inst.pair_rep]]
    assert np.all(outside == 0)
    assert np.all(sol.hours >= 0) and np.all(sol.unmet >= 0)
    served = np.bincount(inst.pair_class, weights=sol.hours, minlength=len(inst.class_hours))
    assert np.array_equal(served + sol.unmet, inst.class_hours)
    if not inst.allow_unmet:
        assert np.all(sol.unmet == 0)
        assert np.all(sol.hired_managers == 0)
    load = loads(inst, sol.hours)
    lo = np.where(sol.is_manager, inst.mgr_lo, inst.rep_lo)
    hi = np.where(sol.is_manager, inst.mgr_hi, inst.rep_hi)
    assert np.all(load <= hi)
    if soft_band:
        assert sol.band_shortfall == int(np.maximum(lo - load, 0).sum())
    else:
        assert np.all(load >= lo)
    assert not np.any(sol.is_manager & ~inst.can_manage)
    if inst.span is not None and inst.unit_of_team is not None:
        unit = inst.unit_of_team[sol.rep_team]
        for u in range(inst.n_units):
            head = int((unit == u).sum())
            leads = int(sol.is_manager[unit == u].sum()) + int(sol.hired_managers[u])
            assert leads == math.ceil(head / inst.span)


def solve(inst: OrgDesignInstance, settings: SolveSettings = SETTINGS, soft_band=False):
    sol = solve_org_design(inst, settings)
    check_org(inst, sol, soft_band)
    return sol


def unmet_term(hours_cost, n_classes) -> OrgTerm:
    return OrgTerm(unmet=i64([hours_cost] * n_classes))


# --------------------------------------------------------------------------- team structure

# 1 rep, 2 teams, one class of 5 h in each team, band [0, 10], unmet 1/h. Split between the
# teams the rep would serve all 10 h (cost 0), but a rep is in exactly one team: it serves 5 h
# and the other team's 5 h stay unmet. Optimum 5.
def test_each_rep_in_exactly_one_team():
    inst = make_org([0], [10], 2, [0, 1], [5, 5], all_pairs(1, 2), {"unmet": unmet_term(1, 2)})
    sol = solve(inst)
    assert sol.status == "OPTIMAL"
    assert sol.objective == 5
    assert sorted(sol.unmet.tolist()) == [0, 5]
    assert sol.term_values == {"unmet": 5}


# 1 rep, 1 team, one class of 10 h, band [0, 10]. Serving an hour costs `pair`, leaving it
# unmet costs `unmet`: the cheaper of the two is taken for all 10 h (the band min is 0).
# pair 3 > unmet 2: leave all unmet, 10 * 2 = 20. pair 3 < unmet 5: serve all, 10 * 3 = 30.
@pytest.mark.parametrize("unmet_cost, objective, served", [(2, 20, 0), (5, 30, 10)])
def test_unmet_cost_against_serving_cost(unmet_cost, objective, served):
    inst = make_org([0], [10], 1, [0], [10], [(0, 0)],
                    {"unmet": unmet_term(unmet_cost, 1), "fit": OrgTerm(pair=i64([3]))})
    sol = solve(inst)
    assert sol.objective == objective
    assert int(sol.hours[0]) == served
    assert int(sol.unmet[0]) == 10 - served


# 1 team, 2 reps with band [0, 4], one class of 10 h, unmet 1/h: at most 4 + 4 = 8 h served,
# so 2 h stay unmet. Optimum 2, both reps at their maximum 4.
def test_band_max_forces_unmet():
    inst = make_org([0, 0], [4, 4], 1, [0], [10], all_pairs(2, 1), {"unmet": unmet_term(1, 1)})
    sol = solve(inst)
    assert sol.objective == 2
    assert loads(inst, sol.hours).tolist() == [4, 4]


# 2 teams: team 0 has 8 h, team 1 has 2 h; 2 reps qualified for both; unmet 1/h.
# Band [0, 8]: one rep in each team serves everything, optimum 0.
# Band [4, 8]: a rep in team 1 could load at most 2 < 4, so both reps must join team 0
# (loads 4 + 4 = 8) and team 1's 2 h stay unmet: optimum 2, rep_team = [0, 0].
@pytest.mark.parametrize("lo, objective", [(0, 0), (4, 2)])
def test_band_min_forces_reps_into_the_team_with_work(lo, objective):
    inst = make_org([lo, lo], [8, 8], 2, [0, 1], [8, 2], all_pairs(2, 2),
                    {"unmet": unmet_term(1, 2)})
    sol = solve(inst)
    assert sol.objective == objective
    if lo == 4:
        assert sol.rep_team.tolist() == [0, 0]
        assert sol.unmet.tolist() == [0, 2]
    else:
        assert sorted(sol.rep_team.tolist()) == [0, 1]


# Same company as above with band [4, 8], unmet 5/h and a soft band minimum costing c per hour
# short. (a) both reps in team 0: unmet 2 h -> 10. (b) one rep per team: team 1's rep serves
# 2 h, 2 h short -> 2c, nothing unmet. (Anything else is worse: e.g. both in team 1 leaves
# 8 h unmet.) c = 1: (b) wins, objective 2, shortfall 2; c = 10: (a) wins, objective 10.
@pytest.mark.parametrize("c, objective, shortfall", [(1, 2, 2), (10, 10, 0)])
def test_soft_band_minimum_shortfall(c, objective, shortfall):
    inst = make_org([4, 4], [8, 8], 2, [0, 1], [8, 2], all_pairs(2, 2),
                    {"unmet": unmet_term(5, 2), "band": OrgTerm(shortfall=i64([c, c]))})
    sol = solve(inst, soft_band=True)
    assert sol.status == "OPTIMAL"
    assert sol.objective == objective
    assert sol.band_shortfall == shortfall
    assert sol.term_values == {"unmet": objective - c * shortfall, "band": c * shortfall}


# 2 teams with 5 h each; rep 0 is only qualified for team 0's class, rep 1 for both; band
# [0, 10], unmet 1/h. Only rep 0 in team 0 and rep 1 in team 1 serves all 10 h: optimum 0.
# (rep 0 in team 1 would serve nothing there: at best 5 h unmet.)
def test_qualification_missing_pair_means_no_hours():
    inst = make_org([0, 0], [10, 10], 2, [0, 1], [5, 5], [(0, 0), (1, 0), (1, 1)],
                    {"unmet": unmet_term(1, 2)})
    sol = solve(inst)
    assert sol.objective == 0
    assert sol.rep_team.tolist() == [0, 1]


# 1 rep, 1 team, 2 classes of 5 h, band [0, 10], unmet 1/h; the rep has a pair to both classes
# but the pair to class 1 carries RULE_MIN_PROFICIENCY: it is forbidden, so class 1's 5 h
# stay unmet. Optimum 5 (without the rule bit: 0).
@pytest.mark.parametrize("rule, objective", [(0, 0), (RULE_MIN_PROFICIENCY, 5)])
def test_pair_rule_forbids_the_pair(rule, objective):
    inst = make_org([0], [10], 1, [0, 0], [5, 5], [(0, 0), (0, 1)], {"unmet": unmet_term(1, 2)},
                    pair_rule=i64([0, rule]))
    sol = solve(inst)
    assert sol.objective == objective
    assert int(sol.unmet[1]) == objective


# ------------------------------------------------------------------------------- managers

# 5 reps, 1 team (its own unit), span 2, all can manage: ceil(5 / 2) = 3 managers. Hiring costs
# 100 per manager (so none is hired); 10 h of work, band [0, 10] for all: objective 0.
# With 4 reps: exactly ceil(4 / 2) = 2 managers.
@pytest.mark.parametrize("n_reps, managers", [(5, 3), (4, 2), (1, 1)])
def test_manager_count_is_ceil_headcount_over_span(n_reps, managers):
    inst = make_org([0] * n_reps, [10] * n_reps, 1, [0], [10], all_pairs(n_reps, 1),
                    {"unmet": OrgTerm(unmet=i64([1]), missing_manager=100)},
                    can_manage=[True] * n_reps, span=2, unit_of_team=i64([0]))
    sol = solve(inst)
    assert sol.objective == 0
    assert int(sol.is_manager.sum()) == managers
    assert sol.hired_managers.tolist() == [0]


# 1 team, 2 reps who can manage, span 2 -> 1 manager. Member band [6, 10], manager band [0, 4];
# 20 h of work, unmet 1/h, a hired manager costs 100. The member serves 10, the manager at most
# 4: 6 h unmet. (Hiring the manager instead saves at most 4 h of unmet for 100.) Optimum 6.
def test_manager_has_the_reduced_band():
    inst = make_org([6, 6], [10, 10], 1, [0], [20], all_pairs(2, 1),
                    {"unmet": OrgTerm(unmet=i64([1]), missing_manager=100)},
                    mgr_lo=[0, 0], mgr_hi=[4, 4], can_manage=[True, True], span=2,
                    unit_of_team=i64([0]))
    sol = solve(inst)
    assert sol.objective == 6
    assert int(sol.is_manager.sum()) == 1
    load = loads(inst, sol.hours)
    assert sorted(load.tolist()) == [4, 10]
    assert int(load[sol.is_manager][0]) == 4


# 5 reps in 1 team, span 2 -> 3 managers, but only rep 0 can manage: 1 manager + 2 hires at
# 7 each. 10 h of work, band [0, 10]: nothing unmet. Optimum 14, hired = [2].
def test_hired_managers_when_too_few_can_manage():
    inst = make_org([0] * 5, [10] * 5, 1, [0], [10], all_pairs(5, 1),
                    {"unmet": OrgTerm(unmet=i64([1]), missing_manager=7)},
                    can_manage=[True, False, False, False, False], span=2,
                    unit_of_team=i64([0]))
    sol = solve(inst)
    assert sol.objective == 14
    assert sol.hired_managers.tolist() == [2]
    assert sol.is_manager.tolist() == [True, False, False, False, False]


# The same company without unmet demand allowed: hires are not allowed either, and 1 rep who
# can manage cannot make the 3 managers needed: INFEASIBLE. The diagnosis names the managers
# rule of unit 0 alone, and dropping that family makes it feasible.
def test_too_few_managers_without_unmet_is_infeasible_and_explained():
    inst = make_org([0] * 5, [10] * 5, 1, [0], [10], all_pairs(5, 1),
                    {"unmet": OrgTerm(unmet=i64([1]), missing_manager=7)},
                    can_manage=[True, False, False, False, False], span=2,
                    unit_of_team=i64([0]), allow_unmet=False)
    sol = solve_org_design(inst, SETTINGS)
    assert sol.status == "INFEASIBLE"
    assert sol.objective is None
    core, relaxing = explain_infeasibility(inst, SETTINGS)
    assert core == ["managers:0"]
    assert relaxing == ["managers"]


# 3 reps who can manage, 2 teams with 10 h each, member band [0, 10], manager band [0, 0],
# span 3, unmet 1/h, a hire costs 100.
# One unit over both teams: ceil(3 / 3) = 1 manager for the unit, the other two reps serve
# one team each: objective 0.
# One unit per team: each non-empty team needs its own manager (load 0). Both teams staffed:
# 2 managers, 1 seller -> 10 h unmet; all three in one team: 1 manager, 2 sellers, the other
# team's 10 h unmet. Objective 10 (a hire for 100 is never worth it).
@pytest.mark.parametrize("unit_of_team, objective, managers", [([0, 0], 0, 1), ([0, 1], 10, None)])
def test_manager_unit_spanning_two_teams(unit_of_team, objective, managers):
    inst = make_org([0] * 3, [10] * 3, 2, [0, 1], [10, 10], all_pairs(3, 2),
                    {"unmet": OrgTerm(unmet=i64([1, 1]), missing_manager=100)},
                    mgr_lo=[0] * 3, mgr_hi=[0] * 3, can_manage=[True] * 3, span=3,
                    unit_of_team=i64(unit_of_team))
    sol = solve(inst)
    assert sol.objective == objective
    assert int(sol.hired_managers.sum()) == 0
    if managers is not None:
        assert int(sol.is_manager.sum()) == managers
        assert sorted(sol.rep_team[~sol.is_manager].tolist()) == [0, 1]


# One unit over 2 teams; team 0 (reps 0, 1) has 12 h of work, team 1 (reps 2, 3) 15 h; unmet
# 100/h. Reps 0 and 1 serve at most 6 h, 3 as managers; reps 2 and 3 10 h, 5 as managers.
# Span 4 -> 1 manager: in team 0 it leaves 12 - 9 = 3 h unmet (300), in team 1 capacity 15
# still covers its 15 h (0): rep 2 manages, cost 0. (Reps 0 and 1 are qualified for fewer
# hours, so manager_rank alone would pick rep 0.)
# Span 2 -> 2 managers: both in team 0 leave 6 h unmet (600), both in team 1 5 h (500), one in
# each 3 h (300): reps 0 and 2 manage, cost 300.
@pytest.mark.parametrize("span, cost, managers", [(4, 0, [2]), (2, 300, [0, 2])])
def test_unit_managers_go_where_they_cost_least(span, cost, managers):
    inst = make_org([0] * 4, [6, 6, 10, 10], 2, [0, 1], [12, 15],
                    [(0, 0), (1, 0), (2, 1), (3, 1)], {"unmet": unmet_term(100, 2)},
                    mgr_lo=[0] * 4, mgr_hi=[3, 3, 5, 5], can_manage=[True] * 4, span=span,
                    unit_of_team=i64([0, 0]))
    start = start_for_teams(inst, i64([0, 0, 1, 1]))
    assert start.cost == cost
    assert np.flatnonzero(start.is_manager).tolist() == managers
    assert int(start.unmet.sum()) == cost // 100
    assert start.hired.tolist() == [0]
    # out of time, no flows: team 0's members have no spare hours, team 1's 5, which cover
    # rep 2's 5 given up; then team 1 has none, and rep 0 gives up 3 < rep 3's 5
    is_manager, hired, results = _unit_managers(inst, TeamOracle(inst), i64([0, 0, 1, 1]),
                                                deadline=-math.inf)
    assert np.flatnonzero(is_manager).tolist() == managers
    assert sum(res.cost for res in results.values()) == cost


# The same unit re-planned with today's managers known: they stay (their bands, and the lines
# they hold, would change otherwise), and only the rest are chosen. Span 4, rep 0 manages
# today: it stays, 3 h unmet (300). Span 2, rep 3 manages today: it stays (team 1's capacity
# 10 + 5 still covers its 15 h); of the others rep 0 costs 300 (team 0 short 3 h), rep 2 500
# (team 1 short 5 h): reps 0 and 3, cost 300.
@pytest.mark.parametrize("span, today, cost, managers", [(4, 0, 300, [0]), (2, 3, 300, [0, 3])])
def test_unit_managers_of_today_stay(span, today, cost, managers):
    hint = np.zeros(4, dtype=bool)
    hint[today] = True
    inst = make_org([0] * 4, [6, 6, 10, 10], 2, [0, 1], [12, 15],
                    [(0, 0), (1, 0), (2, 1), (3, 1)], {"unmet": unmet_term(100, 2)},
                    mgr_lo=[0] * 4, mgr_hi=[3, 3, 5, 5], can_manage=[True] * 4, span=span,
                    unit_of_team=i64([0, 0]), hint_manager=hint)
    start = start_for_teams(inst, i64([0, 0, 1, 1]))
    assert start.cost == cost
    assert np.flatnonzero(start.is_manager).tolist() == managers


# ------------------------------------------------------------------ coverage, moves, pins

# 2 reps, band [0, 10]; team 0 has 20 h, team 1 has 5 h; unmet 1/h.
# Free: both in team 0 (5 h unmet) beats one per team (10 h unmet): optimum 5.
# Coverage "at least 1 of {rep 1} in team 1": rep 1 serves team 1's 5 h, rep 0 10 of team 0's
# 20: 10 unmet. Optimum 10, rep 1 in team 1.
@pytest.mark.parametrize("with_coverage, objective", [(False, 5), (True, 10)])
def test_coverage_changes_the_optimum(with_coverage, objective):
    coverage = (Coverage("coverage:1", 1, i64([1]), 1),) if with_coverage else ()
    inst = make_org([0, 0], [10, 10], 2, [0, 1], [20, 5], all_pairs(2, 2),
                    {"unmet": unmet_term(1, 2)}, coverage=coverage)
    sol = solve(inst)
    assert sol.objective == objective
    assert sol.rep_team.tolist() == ([0, 1] if with_coverage else [0, 0])


# 3 reps today in team 1 (a rep counts as moved in team 0); band [0, 10]; team 0 has 20 h,
# team 1 has 1 h; unmet 1/h.
# No limit: two reps move to team 0 (20 h), one stays for team 1's 1 h: optimum 0.
# max_moved 1: one rep moves (10 h of team 0 unmet), optimum 10.
# max_moved 0: everyone stays, team 0's 20 h unmet: optimum 20.
@pytest.mark.parametrize("max_moved, objective, n_moved", [(None, 0, 2), (1, 10, 1), (0, 20, 0)])
def test_max_moved_limits_moves(max_moved, objective, n_moved):
    moved = np.zeros((3, 2), dtype=bool)
    moved[:, 0] = True
    inst = make_org([0] * 3, [10] * 3, 2, [0, 1], [20, 1], all_pairs(3, 2),
                    {"unmet": unmet_term(1, 2)}, moved=moved, max_moved=max_moved,
                    hint_team=i64([1, 1, 1]))
    sol = solve(inst)
    assert sol.objective == objective
    assert int((sol.rep_team == 0).sum()) == n_moved


# 2 reps, band [0, 10], 2 teams with 10 h each, unmet 1/h. Free: one rep per team, optimum 0.
# Both pinned to team 0: team 1's 10 h unmet, optimum 10.
def test_fixed_team_pin_is_honoured():
    inst = make_org([0, 0], [10, 10], 2, [0, 1], [10, 10], all_pairs(2, 2),
                    {"unmet": unmet_term(1, 2)}, fixed_team=i64([0, 0]))
    sol = solve(inst)
    assert sol.objective == 10
    assert sol.rep_team.tolist() == [0, 0]
    free = solve(make_org([0, 0], [10, 10], 2, [0, 1], [10, 10], all_pairs(2, 2),
                          {"unmet": unmet_term(1, 2)}, fixed_team=i64([-1, -1])))
    assert free.objective == 0


# ------------------------------------------------------------------------ objective terms

# 1 team, 10 h, 2 reps band [0, 10], unmet 100/h (so all 10 h are served: L0 + L1 = 10).
# Balance: targets [2, 6], cost 1/h off target for rep 0 and 3/h for rep 1:
# |L0 - 2| + 3 |L1 - 6| with L0 = 10 - L1: L1 = 6 -> 2 + 0 = 2; L1 = 7 -> 1 + 3 = 4;
# L1 = 5 -> 3 + 3 = 6; L1 = 8 -> 0 + 6 = 6. Optimum 2 with loads [4, 6] (unique).
def test_balance_deviation_optimum():
    inst = make_org([0, 0], [10, 10], 1, [0], [10], all_pairs(2, 1),
                    {"unmet": unmet_term(100, 1), "balance": OrgTerm(deviation=i64([1, 3]))},
                    rep_target=[2, 6], mgr_target=[2, 6])
    sol = solve(inst)
    assert sol.objective == 2
    assert sol.term_values == {"unmet": 0, "balance": 2}
    assert loads(inst, sol.hours).tolist() == [4, 6]


# 1 team, 5 h, 2 reps band [0, 10]; rep 0 costs 3/h (poor fit), rep 1 costs 1/h; unmet 100/h.
# Rep 1 serves all 5 h: optimum 5.
def test_fit_pair_cost_chooses_the_better_rep():
    inst = make_org([0, 0], [10, 10], 1, [0], [5], all_pairs(2, 1),
                    {"unmet": unmet_term(100, 1), "fit": OrgTerm(pair=i64([3, 1]))})
    sol = solve(inst)
    assert sol.objective == 5
    assert sol.hours.tolist() == [0, 5]


# 1 rep today in team 0, band [0, 10]; team 0 has 4 h, team 1 has 6 h; unmet 1/h; being in
# team 1 costs `move` (continuity, rep_team term).
# Stay: 6 h unmet -> 6. Move: 4 h unmet + move. move = 3: 7 > 6, stays (6); move = 1: 5 < 6,
# moves (5).
@pytest.mark.parametrize("move, objective, team", [(3, 6, 0), (1, 5, 1)])
def test_rep_team_continuity_cost(move, objective, team):
    inst = make_org([0], [10], 2, [0, 1], [4, 6], all_pairs(1, 2),
                    {"unmet": unmet_term(1, 2), "continuity": OrgTerm(rep_team=i64([[0, move]]))})
    sol = solve(inst)
    assert sol.objective == objective
    assert sol.rep_team.tolist() == [team]
    assert sol.term_values["continuity"] == (move if team == 1 else 0)


# ---------------------------------------------------------------------------- lexicographic

def _three_team_choice() -> OrgDesignInstance:
    """1 rep choosing one of 3 teams (1 h of work in each, nothing charged for unmet):
    term a costs [10, 11, 20], term b costs [9, 0, 0] by team."""
    return make_org([0], [10], 3, [0, 1, 2], [1, 1, 1], all_pairs(1, 3),
                    {"a": OrgTerm(rep_team=i64([[10, 11, 20]])),
                     "b": OrgTerm(rep_team=i64([[9, 0, 0]]))})


# Weighted (one level, a + b): teams cost 19, 11, 20 -> team 1, objective 11.
def test_weighted_sum_of_terms():
    sol = solve(_three_team_choice())
    assert sol.objective == 11
    assert sol.rep_team.tolist() == [1]
    assert sol.term_values == {"a": 11, "b": 0}


# Lexicographic a then b, tolerance 0: a is minimised first (team 0, a = 10) and held at 10,
# so b = 9: a different plan from the weighted optimum (team 1). The reported objective is the
# first level's (10).
def test_lexicographic_differs_from_weighted():
    settings = SolveSettings(time_limit=5.0, workers=1, seed=0, levels=(("a",), ("b",)),
                             tolerance=0.0)
    sol = solve(_three_team_choice(), settings)
    assert sol.status == "OPTIMAL"
    assert sol.rep_team.tolist() == [0]
    assert sol.term_values == {"a": 10, "b": 9}
    assert sol.objective == 10
    assert sol.level_bounds == (10, 9)


# Tolerance 0.1: a may rise to 10 + floor(0.1 * 10) = 11, which lets b fall to 0 (team 1);
# team 2 (a = 20) stays out of reach.
def test_lexicographic_tolerance_lets_the_next_term_improve():
    settings = SolveSettings(time_limit=5.0, workers=1, seed=0, levels=(("a",), ("b",)),
                             tolerance=0.1)
    sol = solve(_three_team_choice(), settings)
    assert sol.rep_team.tolist() == [1]
    assert sol.term_values == {"a": 11, "b": 0}
    assert sol.objective == 10  # the first level's optimum
    assert sol.level_bounds == (10, 0)


# ------------------------------------------------------------------------- infeasibility

# 1 team, 10 h, 2 reps band [0, 4], no unmet allowed: 8 h of capacity for 10 h of demand.
# INFEASIBLE; the conflict is the band maximum with team 0's demand, and dropping either
# family (all band maxima, or all demand) makes it feasible. The band minimum (0) is no part.
def test_infeasible_capacity_and_explanation():
    inst = make_org([0, 0], [4, 4], 1, [0], [10], all_pairs(2, 1), {"unmet": unmet_term(1, 1)},
                    allow_unmet=False)
    sol = solve_org_design(inst, SETTINGS)
    assert sol.status == "INFEASIBLE"
    assert sol.objective is None and len(sol.rep_team) == 0
    core, relaxing = explain_infeasibility(inst, SETTINGS)
    assert sorted(core) == ["band_max", "demand:0"]
    assert relaxing == ["band_max", "demand"]


# 1 team, 10 h, 2 reps band [6, 10], no unmet allowed: the demand equation caps the total load
# at 10 < 6 + 6, whatever else holds: the band minimum alone conflicts.
def test_explain_band_minimum_alone():
    inst = make_org([6, 6], [10, 10], 1, [0], [10], all_pairs(2, 1), {"unmet": unmet_term(1, 1)},
                    allow_unmet=False)
    assert solve_org_design(inst, SETTINGS).status == "INFEASIBLE"
    core, relaxing = explain_infeasibility(inst, SETTINGS)
    assert core == ["band_min"]
    assert relaxing == ["band_min"]


# 1 rep band [0, 10], 10 h, no unmet allowed, the only pair is forbidden by the minimum
# proficiency rule: the rule conflicts with team 0's demand.
def test_explain_min_proficiency_against_demand():
    inst = make_org([0], [10], 1, [0], [10], [(0, 0)], {"unmet": unmet_term(1, 1)},
                    allow_unmet=False, pair_rule=i64([RULE_MIN_PROFICIENCY]))
    assert solve_org_design(inst, SETTINGS).status == "INFEASIBLE"
    core, relaxing = explain_infeasibility(inst, SETTINGS)
    assert sorted(core) == ["demand:0", "min_proficiency"]
    assert relaxing == ["demand", "min_proficiency"]


# Rep 0 pinned to team 0 while a coverage rule needs rep 0 in team 1 (unmet allowed, so no
# demand rule): the pin and the coverage conflict.
def test_explain_pin_against_coverage():
    inst = make_org([0, 0], [10, 10], 2, [0, 1], [10, 10], all_pairs(2, 2),
                    {"unmet": unmet_term(1, 2)}, fixed_team=i64([0, -1]),
                    coverage=(Coverage("coverage:east", 1, i64([0]), 1),))
    assert solve_org_design(inst, SETTINGS).status == "INFEASIBLE"
    core, relaxing = explain_infeasibility(inst, SETTINGS)
    assert sorted(core) == ["coverage:east", "pin:0"]
    assert relaxing == ["coverage", "pin"]


# 2 reps band [6, 10] in 1 team of 12 h; rep 1's pair is ruled out by min_proficiency and unmet
# is allowed (1 per hour). The explaining start puts hours only where no rule forbids them: rep
# 0 takes 10 h (its band's maximum), rep 1 none, 2 h unmet; that start holds every rule but the
# band minimum (rep 1 at 0 < 6), which is how dropping the band minimum is shown to be a way
# out without a search. Without min_proficiency, 6 + 6 = 12 h fits: the other way out.
def test_explaining_start_keeps_off_ruled_out_pairs():
    inst = make_org([6, 6], [10, 10], 1, [0], [12], all_pairs(2, 1), {"unmet": unmet_term(1, 1)},
                    pair_rule=i64([0, RULE_MIN_PROFICIENCY]))
    start = _start_within_rules(inst)
    assert start.hours.tolist() == [10, 0]
    assert start.unmet.tolist() == [2]
    core, relaxing = explain_infeasibility(inst, SETTINGS)
    assert sorted(core) == ["band_min", "min_proficiency"]
    assert relaxing == ["band_min", "min_proficiency"]


# The time limit bounds the whole explanation: with none left, nothing is claimed (no core, no
# way out) rather than a conflict that was not proven.
def test_explanation_without_time_claims_nothing():
    inst = make_org([6, 6], [10, 10], 1, [0], [10], all_pairs(2, 1), {"unmet": unmet_term(1, 1)},
                    allow_unmet=False)
    assert explain_infeasibility(inst, replace(SETTINGS, time_limit=0.0)) == ([], [])


# A feasible instance has nothing to explain.
def test_explain_feasible_instance_is_empty():
    inst = make_org([0], [10], 1, [0], [10], [(0, 0)], {"unmet": unmet_term(1, 1)},
                    allow_unmet=False)
    assert explain_infeasibility(inst, SETTINGS) == ([], [])


# ------------------------------------------------------------------------------ warm start

def _warm_instance() -> OrgDesignInstance:
    """3 reps today all in team 1; team 0 has 20 h, team 1 has 4 h; band [2, 12], target 8,
    1 per hour off target, unmet 10/h.

    Two reps in team 0 serve its 20 h (loads summing to 20: |L0 - 8| + |L1 - 8| >= 4), the third
    serves team 1's 4 h (4 off target): 8. Any other split leaves >= 4 h unmet (>= 40).
    Optimum 8."""
    return make_org([2] * 3, [12] * 3, 2, [0, 1], [20, 4], all_pairs(3, 2),
                    {"unmet": unmet_term(10, 2), "balance": OrgTerm(deviation=i64([1, 1, 1]))},
                    rep_target=[8] * 3, mgr_target=[8] * 3, hint_team=i64([1, 1, 1]))


def test_improve_org_respects_band_and_matches_the_model_objective():
    inst = _warm_instance()
    start = improve_org(inst, 2.0)
    assert start.band_shortfall == 0
    assert sorted(start.rep_team.tolist()) == [0, 0, 1]
    assert start.cost == 8
    load = loads(inst, start.hours)
    assert np.all((load >= 2) & (load <= 12))
    served = np.bincount(inst.pair_class, weights=start.hours, minlength=2)
    assert np.array_equal(served + start.unmet, inst.class_hours)
    sol = solve(inst)
    assert sol.status == "OPTIMAL"
    assert sol.objective == 8
    assert sol.objective <= start.cost


# The instance above: rep 2 moved from team 1 to team 0 ([1, 1, 0] -> team 0 = {2}, team 1 =
# {0, 1}) is priced once by `cost`; taking the move asks for those evaluations whole, and gets
# the very ones priced, not new ones (the move pass evaluated each twice).
def test_the_evaluation_a_move_was_priced_by_is_the_one_it_takes():
    oracle = TeamOracle(_warm_instance())
    priced = oracle.cost(0, i64([2]))
    assert oracle.evaluations == 1
    taken = oracle.result(0, i64([2]))
    assert oracle.evaluations == 1 and taken.cost == priced
    fresh = oracle.evaluate(0, i64([2]))
    assert (fresh.cost, fresh.pair_flow.tolist()) == (taken.cost, taken.pair_flow.tolist())
    # handed over once; members in another order are another evaluation
    oracle.cost(1, i64([0, 1]))
    assert oracle.kept(1, i64([1, 0])) is None
    assert oracle.result(0, i64([2])) is not taken and oracle.evaluations == 4


def test_the_search_ends_in_the_same_design_whether_or_not_it_takes_the_priced_evaluations(
        monkeypatch):
    inst = _warm_instance()
    kept = improve_org(inst, 2.0)
    monkeypatch.setattr(TeamOracle, "kept", lambda self, t, members: None)
    again = improve_org(inst, 2.0)
    assert kept.rep_team.tolist() == again.rep_team.tolist()
    assert (kept.cost, kept.hours.tolist()) == (again.cost, again.hours.tolist())


# After `enough` seconds the search ends as soon as no rep is below the band minimum: today's
# teams [0, 1, 1] of the instance above hold the band (rep 0 serves 12 of team 0's 20 h, reps
# 1 and 2 2 h each of team 1's 4 h) at a cost of 8 h unmet x 10 + |12 - 8| + 6 + 6 = 96; with
# enough = 0 they are the answer, without it the search reaches the optimum 8.
def test_improve_org_ends_once_the_band_holds_after_enough_seconds():
    inst = replace(_warm_instance(), hint_team=i64([0, 1, 1]))
    early = improve_org(inst, 2.0, enough=0.0)
    assert early.rep_team.tolist() == [0, 1, 1]
    assert early.band_shortfall == 0 and early.cost == 96
    assert improve_org(inst, 2.0).cost == 8


# The band pass of a large company's search: 2 reps, band [8, 10], both in team 0 today;
# team 0 has 10 h (class 0), team 1 10 h (class 1), both reps qualified for both; unmet 1/h, a
# shortfall hour 100. Together in team 0 they fall 6 h short (8 + 8 > 10) and team 1's 10 h
# lie unmet. The rep with the lower load (2 h against 8, as the flow splits them) is the most
# short; team 1's 10 h of unmet work it is qualified for exceed its 2 h: it moves there.
# Each then has 10 h: no shortfall, nothing unmet.
def test_band_pass_moves_a_short_rep_to_unmet_work_it_can_do():
    inst = make_org([8, 8], [10, 10], 2, [0, 1], [10, 10], all_pairs(2, 2),
                    {"unmet": unmet_term(1, 2),
                     "band_shortfall": OrgTerm(shortfall=i64([100, 100]))},
                    hint_team=i64([0, 0]))
    search = _Search(inst, time.monotonic() + 10)
    assert sum(r.shortfall for r in search.results.values()) == 6
    assert search.band_pass()
    assert sorted(search.team.tolist()) == [0, 1]
    assert sum(r.shortfall for r in search.results.values()) == 0
    assert sum(int(r.unmet.sum()) for r in search.results.values()) == 0
    assert not search.band_pass()  # nobody is short any more


# The same company, its design both reps in team 0 (6 h short): the local search goes on from it
# and hands on once the band holds, one rep in each team, nothing unmet, no bound (no CP-SAT).
def test_a_design_below_the_band_is_mended_by_the_local_search():
    from models.org_design import mend_band
    inst = make_org([8, 8], [10, 10], 2, [0, 1], [10, 10], all_pairs(2, 2),
                    {"unmet": unmet_term(1, 2),
                     "band_shortfall": OrgTerm(shortfall=i64([100, 100]))},
                    hint_team=i64([1, 1]))
    sol = mend_band(inst, i64([0, 0]), SolveSettings(time_limit=5.0, workers=1, seed=0))
    check_org(inst, sol, soft_band=True)
    assert sorted(sol.rep_team.tolist()) == [0, 1] and sol.band_shortfall == 0
    assert sol.objective == 0 and sol.bound is None


# A team whose accounts stage 2 could not split gives up a member: 3 reps, band [4, 10], all in
# team 0, whose 12 h (class 0) meet their minimums exactly (nothing to spare above them, 18 h
# below their maximums); team 1's 6 h (class 1) lie unmet (1/h); rep 2 costs 1/h on class 0.
# Today: rep 2 serves its minimum 4 h of class 0 (4) and 6 h are unmet (6): 10. Rep 2 moving
# to team 1 serves its 6 h, reps 0 and 1 share 12 h: 0. Rep 0 or 1 moving instead leaves rep
# 2's 4 h at 1/h in team 0: 4. Rep 2 moves.
def test_a_team_with_nothing_to_spare_above_its_minimums_gives_up_its_cheapest_member():
    inst = make_org([4] * 3, [10] * 3, 2, [0, 1], [12, 6], all_pairs(3, 2),
                    {"unmet": unmet_term(1, 2),
                     "fit": OrgTerm(pair=i64([0, 0, 0, 0, 1, 0]))})
    start = reshape_team(inst, i64([0, 0, 0]), 0)
    assert start.rep_team.tolist() == [0, 0, 1]
    assert start.cost == 0 and start.band_shortfall == 0
    load = loads(inst, start.hours)
    assert load[2] == 6 and load[0] + load[1] == 12 and load.min() >= 4


# ... and a team whose work fills its members to their maximums takes one: reps 0 and 1 in
# team 0 (band [2, 5]) serve its 10 h to the full (6 h above their minimums, none below their
# maximums); reps 2 and 3 share team 1's 4 h. Rep 3 joining team 0 costs nothing (rep 2 serves
# team 1's 4 h alone); rep 2 joining costs its 2 h minimum there at 1/h. Rep 3 joins.
def test_a_team_filled_to_its_members_maximums_takes_the_cheapest_rep():
    inst = make_org([2] * 4, [5] * 4, 2, [0, 1], [10, 4], all_pairs(4, 2),
                    {"unmet": unmet_term(1, 2),
                     "fit": OrgTerm(pair=i64([0, 0, 0, 0, 1, 0, 0, 0]))})
    start = reshape_team(inst, i64([0, 0, 1, 1]), 0)
    assert start.rep_team.tolist() == [0, 0, 1, 0]
    assert start.cost == 0 and start.band_shortfall == 0


# No move leaves everyone within the band (2 reps in team 0 with exactly their minimums' 8 h,
# nothing for a rep elsewhere: team 1 has no work): no reshaped design.
def test_a_team_that_no_single_move_can_relieve_gives_no_design():
    inst = make_org([4, 4], [10, 10], 2, [0, 1], [8, 0], all_pairs(2, 2),
                    {"unmet": unmet_term(1, 2)})
    assert reshape_team(inst, i64([0, 0]), 0) is None


# Room for whole accounts, where the local search designs alone: reps 0-2 (band [4, 10]) in
# team 0 serve its 12 h at exactly their minimums, rep 3 team 1's 10 h; leaving today's team
# costs rep 0 3, rep 1 2, rep 2 1 (rep 3 5), so no move lowers the cost. With accounts of 4 h
# (team_grain), a team needs 0.25 x 4 = 1 h per member above the minimums: team 0 has none
# (needs 3), and rep 2 moves to team 1 at a cost of 1 (team 1 then has 10 - 8 = 2 h above,
# what its two members need; team 0 12 - 8 = 4 h). Without a grain, or followed by CP-SAT
# (not alone), the design stays.
@pytest.mark.parametrize("grain, alone, teams", [
    (4, True, [0, 0, 1, 1]), (None, True, [0, 0, 0, 1]), (4, False, [0, 0, 0, 1])])
def test_a_team_designed_alone_keeps_room_above_its_minimums_for_whole_accounts(
        grain, alone, teams):
    inst = make_org([4] * 4, [10] * 4, 2, [0, 1], [12, 10], all_pairs(4, 2),
                    {"unmet": unmet_term(1, 2),
                     "continuity": OrgTerm(rep_team=i64([[0, 3], [0, 2], [0, 1], [5, 0]]))},
                    hint_team=i64([0, 0, 0, 1]),
                    team_grain=None if grain is None else np.array([grain, grain], float))
    start = improve_org(inst, 2.0, alone=alone)
    assert start.rep_team.tolist() == teams
    assert start.band_shortfall == 0 and start.cost == (1 if teams[2] == 1 else 0)


# The band pass confirms its moves together: 3 reps (band [8, 10]) all in team 0 today with its
# 10 h; teams 1 and 2 have 10 h each, unmet (1/h); a shortfall hour costs 100. The two reps
# the flow leaves short head for unmet work: the first to team 1, the second, with team 1's
# work less the first rep's 8 h minimum, to team 2. One batch of two moves: three flows (one
# per team), where two moves one by one take four; every team then has one rep serving its
# 10 h (cost 0). Without the minimums of reps already headed there, both would go to team 1.
def test_the_band_pass_takes_its_moves_together_where_that_lowers_the_cost(monkeypatch):
    import models.warm_start as warm_start
    monkeypatch.setattr(warm_start, "BAND_BATCH", 2)
    inst = make_org([8] * 3, [10] * 3, 3, [0, 1, 2], [10, 10, 10], all_pairs(3, 3),
                    {"unmet": unmet_term(1, 3),
                     "band_shortfall": OrgTerm(shortfall=i64([100] * 3))},
                    hint_team=i64([0, 0, 0]))
    search = _Search(inst, time.monotonic() + 10)
    flows = []
    evaluate = search.oracle.evaluate
    monkeypatch.setattr(search.oracle, "evaluate",
                        lambda t, m, *a: flows.append(t) or evaluate(t, m, *a))
    assert search.band_pass()
    assert sorted(search.team.tolist()) == [0, 1, 2] and search.total() == 0
    assert sorted(flows) == [0, 1, 2]


# ... and move by move where together they raise it: reps 0-2 (band [8, 10]) in team 0 with
# 16 h (8 h short: 800), team 1's 4 h unmet (4): 804. Reps 0 and 1 both to team 1: team 0's
# last rep serves 10 of its 16 h (6 unmet), team 1's two reps share 4 h (12 short): 1,206.
# Rep 0 alone: team 0's two reps serve its 16 h, rep 0 team 1's 4 h (4 short): 400, taken;
# rep 1 then (1,206 against 400) is not.
def test_a_batch_of_band_moves_that_raises_the_cost_is_taken_move_by_move():
    inst = make_org([8] * 3, [10] * 3, 2, [0, 1], [16, 4], all_pairs(3, 2),
                    {"unmet": unmet_term(1, 2),
                     "band_shortfall": OrgTerm(shortfall=i64([100] * 3))},
                    hint_team=i64([0, 0, 0]))
    search = _Search(inst, time.monotonic() + 10)
    assert search.total() == 804
    unmet = np.zeros(2, dtype=np.int64)
    assert search._take_batch([(0, 0, 1), (1, 0, 1)], unmet)
    assert search.team.tolist() == [1, 0, 0] and search.total() == 400
    assert unmet.tolist() == [0, 0]


# On a large company the move pass prices a rep in the teams where it can do the most unmet
# work only: reps 0 and 1 (band [0, 10]) share team 0's 4 h; teams 1 and 2 have 6 h and 10 h
# unmet (1/h). With a screen of one team, rep 0 is priced in team 2 alone (10 h it can do)
# and moves there (10 lower); rep 1 then in team 1 alone (team 2's work is served) and moves
# (6 h served, team 0's 4 h unmet: 2 lower). Priced in every team, rep 0 ranks both.
@pytest.mark.parametrize("screen, ranked", [(True, [2]), (False, [2, 1])])
def test_a_large_companys_move_pass_prices_reps_where_unmet_work_lies(monkeypatch, screen, ranked):
    import models.warm_start as warm_start
    monkeypatch.setattr(warm_start, "MOVE_SCREEN", 1)
    if screen:
        monkeypatch.setattr(warm_start, "SCREEN_ALL_PAIRS", 0)
    inst = make_org([0, 0], [10, 10], 3, [0, 1, 2], [4, 6, 10], all_pairs(2, 3),
                    {"unmet": unmet_term(1, 3)}, hint_team=i64([0, 0]))
    search = _Search(inst, time.monotonic() + 10)
    assert search.total() == 16
    assert search.move_pass()
    assert search.ranked[0] == ranked
    assert search.team.tolist() == [2, 1] and search.total() == 4


# Between BAND_PASS_PAIRS and SCREEN_ALL_PAIRS, from a start far from a design (the instance
# above leaves 16 h of its 20 unmet: 80 %, over FAR_START_UNMET), only the first move pass is
# screened. After it rep 0 is in team 2, rep 1 in team 1, team 0's 4 h unmet; the second pass
# prices rep 0 in both other teams, team 0 first (10 h then unmet against 4: 6 higher; in
# team 1, 14: 10 higher), and moves it nowhere; from SCREEN_ALL_PAIRS on it is priced in the
# screen's one team again (team 0, where the unmet work lies). From a start nearer than
# FAR_START_UNMET (0.9 here) the first pass prices every team too.
@pytest.mark.parametrize("far_share, screen_all, first, second",
                         [(0.4, False, [2], [0, 1]), (0.4, True, [2], [0]),
                          (0.9, False, [2, 1], [0, 1])])
def test_a_mid_sized_companys_first_move_pass_alone_is_screened_from_a_far_start(
        monkeypatch, far_share, screen_all, first, second):
    import models.warm_start as warm_start
    monkeypatch.setattr(warm_start, "MOVE_SCREEN", 1)
    monkeypatch.setattr(warm_start, "BAND_PASS_PAIRS", 0)
    monkeypatch.setattr(warm_start, "FAR_START_UNMET", far_share)
    monkeypatch.setattr(warm_start, "SCREEN_ALL_PAIRS", 0 if screen_all else 10**9)
    inst = make_org([0, 0], [10, 10], 3, [0, 1, 2], [4, 6, 10], all_pairs(2, 3),
                    {"unmet": unmet_term(1, 3)}, hint_team=i64([0, 0]))
    search = _Search(inst, time.monotonic() + 10)
    assert search.far_start() == (far_share < 0.8)
    assert search.move_pass()
    assert search.ranked[0] == first and search.team.tolist() == [2, 1]
    assert not search.move_pass()
    assert search.ranked[0] == second and search.total() == 4


# From a far start (16 h of 20 unmet) the screened move pass prices each rep in as many
# teams as let it reach its last rep in the time left: at 10 s a pricing, 2 reps left and 10 s,
# one team (rep 0 in team 2, where most unmet work lies; then as above). From a nearer start
# (FAR_START_UNMET 0.9) its whole screen of two teams, whatever the time.
@pytest.mark.parametrize("far_share, ranked", [(0.4, [2]), (0.9, [2, 1])])
def test_a_move_pass_from_a_far_start_prices_reps_in_fewer_teams_when_short_of_time(
        monkeypatch, far_share, ranked):
    import models.warm_start as warm_start
    monkeypatch.setattr(warm_start, "MOVE_SCREEN", 2)
    monkeypatch.setattr(warm_start, "SCREEN_ALL_PAIRS", 0)
    monkeypatch.setattr(warm_start, "FAR_START_UNMET", far_share)
    monkeypatch.setattr(warm_start._Pace, "per_unit", lambda self: 10.0)
    inst = make_org([0, 0], [10, 10], 3, [0, 1, 2], [4, 6, 10], all_pairs(2, 3),
                    {"unmet": unmet_term(1, 3)}, hint_team=i64([0, 0]))
    search = _Search(inst, time.monotonic() + 10)
    assert search.move_pass()
    assert search.ranked[0] == ranked
    assert search.team.tolist() == [2, 1] and search.total() == 4


# The screen's width for the time left (10 s): MOVE_SCREEN where the pass fits with it; else
# the most teams that fit, each rep costing one pricing more than its teams (1,000 reps at
# 3 ms a pricing: 3.3 pricings a rep, 2 teams); at least one.
# Where the search may end early (`enough`, 10 s of a 100 s deadline), the time left counts
# to that end: 2 teams at 3 ms, not 4.
@pytest.mark.parametrize("per, width, deadline, enough",
                         [(0.001, 4, 10, None), (0.003, 2, 10, None), (0.004, 1, 10, None),
                          (1.0, 1, 10, None), (0.003, 4, 100, None), (0.003, 2, 100, 10)])
def test_the_screen_is_as_wide_as_the_time_left_allows(per, width, deadline, enough):
    inst = make_org([0, 0], [10, 10], 3, [0, 1, 2], [4, 6, 10], all_pairs(2, 3),
                    {"unmet": unmet_term(1, 3)}, hint_team=i64([0, 0]))
    now = time.monotonic()
    search = _Search(inst, now + deadline, enough=None if enough is None else now + enough)
    assert search._screen_width(1000, per) == width


# A cancel ends the search at once, below the band (the start of the instance above: 6 h short);
# where the search designs alone (a large company: no CP-SAT after it), it first reaches the
# band (one rep moved to team 1), since a design below it cannot become a plan.
def test_a_cancelled_search_that_designs_alone_first_reaches_the_band():
    import threading
    inst = make_org([8, 8], [10, 10], 2, [0, 1], [10, 10], all_pairs(2, 2),
                    {"unmet": unmet_term(1, 2),
                     "band_shortfall": OrgTerm(shortfall=i64([100, 100]))},
                    hint_team=i64([0, 0]))
    stop = threading.Event()
    stop.set()
    assert improve_org(inst, 10.0, stop=stop).band_shortfall > 0
    alone = improve_org(inst, 10.0, stop=stop, alone=True)
    assert alone.band_shortfall == 0 and sorted(alone.rep_team.tolist()) == [0, 1]


# Managers in the local search's evaluation: 3 reps who can manage in team 0 (its own unit),
# span 3 -> 1 manager; manager band [2, 4], member band [0, 10]. Team 0 has class 0 (10 h),
# team 1 class 1; rep 0 is qualified for class 1 only, reps 1 and 2 for class 0. The least
# useful seller, rep 0, would manage with no hours of team 0 to sell: 2 h below his band
# whatever the flow. Rep 1 (the lower index of the two with 10 h >= 2) manages instead and
# sells 2-4 h; nobody is short, nothing unmet.
def test_the_local_search_makes_managers_of_reps_who_can_reach_their_band():
    from models.warm_start import TeamOracle
    inst = make_org([0] * 3, [10] * 3, 2, [0, 1], [10, 5], [(0, 1), (1, 0), (2, 0)],
                    {"unmet": unmet_term(1, 2),
                     "band_shortfall": OrgTerm(shortfall=i64([100] * 3))},
                    mgr_lo=[2] * 3, mgr_hi=[4] * 3, can_manage=[True] * 3, span=3,
                    unit_of_team=i64([0, 1]))
    result = TeamOracle(inst).evaluate(0, i64([0, 1, 2]))
    assert result.managers.tolist() == [1]
    assert result.shortfall == 0
    assert int(result.unmet.sum()) == 0
    # managers given: rep 0 managing is held to the manager band [2, 4] with nothing to sell
    # there (2 h short); rep 2 managing sells 2-4 h and reps 0 and 1 the rest (none short)
    oracle = TeamOracle(inst)
    given = oracle.evaluate(0, i64([2, 0, 1]), i64([0]))
    assert given.managers.tolist() == [0] and given.hired == 0
    assert given.shortfall == 2 and int(given.unmet.sum()) == 0
    other = oracle.evaluate(0, i64([2, 0, 1]), i64([2]))
    assert other.shortfall == 0 and int(other.unmet.sum()) == 0
    assert other.cost < given.cost


# The pairs a team evaluation gathers are exactly its members' pairs in the team, member by
# member in the order given: 3 reps, 2 teams, classes 0, 2 in team 0 and 1 in team 1, every rep
# qualified for every class (pairs numbered rep * 3 + class).
def test_a_team_evaluation_gathers_its_members_pairs_in_member_order():
    from models.warm_start import TeamOracle
    inst = make_org([0] * 3, [10] * 3, 2, [0, 1, 0], [5, 5, 5], all_pairs(3, 3),
                    {"unmet": unmet_term(1, 3)})
    pairs, member = TeamOracle(inst).member_pairs(0, i64([2, 0]))
    assert pairs.tolist() == [6, 8, 0, 2]
    assert member.tolist() == [0, 0, 1, 1]
    empty, _ = TeamOracle(inst).member_pairs(1, i64([]))
    assert empty.tolist() == []


# The warm start's cost is the objective of its own plan: with the teams it chose pinned, the
# model's optimum (best hours for those teams) equals the warm start's cost.
# 3 reps, band [0, 10], [0, 10], [3, 6]; team 0 has class 0 (12 h), team 1 classes 1 (5 h) and
# 2 (3 h); unmet 4/h; fit per hour (rep: class 0, 1, 2) r0: 1 2 2, r1: 1 1 1, r2: 2 1 3;
# continuity: rep 0 in team 1 costs 2, rep 1 in team 0 costs 1.
# Teams [0, 1, 0]: r1 serves team 1's 8 h (8); r2 must load 3 (band min) of class 0 (6) and r0
# the other 9 (9): 23. Teams [0, 1, 1]: r2 takes 3 h of class 1 (3), r1 the other 5 (5), r0
# 10 of the 12 h (10), 2 h unmet (8): 26. Teams [0, 0, 1]: r0 + r1 serve 12 h of class 0 (12)
# + continuity 1, r2 serves 5 h of class 1 (5) and 1 h of class 2 (3), 2 h unmet (8): 29.
# Others put a single rep (max 10 h) on team 0 and leave more unmet. Optimum 23.
def test_improve_org_cost_equals_model_objective_of_its_teams():
    inst = make_org([0, 0, 3], [10, 10, 6], 2, [0, 1, 1], [12, 5, 3], all_pairs(3, 3),
                    {"unmet": unmet_term(4, 3), "fit": OrgTerm(pair=i64([1, 2, 2, 1, 1, 1, 2, 1, 3])),
                     "continuity": OrgTerm(rep_team=i64([[0, 2], [1, 0], [0, 0]]))})
    start = improve_org(inst, 2.0)
    assert start.band_shortfall == 0
    assert start.cost == 23
    pinned = replace(inst, fixed_team=start.rep_team.copy())
    assert solve(pinned).objective == start.cost
    sol = solve(inst)
    assert sol.objective == 23
    assert sol.rep_team.tolist() == [0, 1, 0]


# ------------------------------------------------------------------------------- progress

def test_progress_events():
    events: list[Progress] = []
    settings = SolveSettings(time_limit=5.0, workers=1, seed=0, progress=events.append,
                             stage="org")
    sol = solve(_warm_instance(), settings)
    assert sol.objective == 8
    assert events
    assert {e.stage for e in events} <= {"org", "org (local search)"}
    elapsed = [e.elapsed for e in events]
    assert elapsed == sorted(elapsed) and elapsed[0] >= 0
    for e in events:
        if e.objective is not None and e.bound is not None:
            assert e.objective >= e.bound
    assert any(e.objective == 8 for e in events)


# When CP-SAT finds no plan in time, solve_org_design answers with the warm start
# (`_warm_start_solution`, reachable only through a time-out, hence called directly here).
# 1 rep, band [4, 8], 2 h of work, unmet 5/h, soft band minimum 1 per hour short. The warm start
# serves the 2 h (2 h short); the model's objective of that very plan is 2 * 1 = 2 (CP-SAT's
# optimum too), but the fallback reports the heuristic's own cost, which charges the shortfall
# at TeamOracle.big = max(unmet 5 + 1, shortfall 1) = 6 per hour: 12.
def test_warm_start_fallback_reports_the_model_objective():
    from models.org_design import _warm_start_solution
    inst = make_org([4], [8], 1, [0], [2], [(0, 0)],
                    {"unmet": unmet_term(5, 1), "band": OrgTerm(shortfall=i64([1]))})
    assert solve(inst, soft_band=True).objective == 2
    start = improve_org(inst, 1.0)
    assert start.hours.tolist() == [2] and start.band_shortfall == 2
    fallback = _warm_start_solution(inst, start, 0.0, SolveSettings(workers=1, seed=0))
    assert fallback.objective == 2
