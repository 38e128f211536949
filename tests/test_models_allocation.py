"""Unit tests of stage 2 (models.allocation) and its hint repair (models.warm_start), on tiny
generalized-assignment instances whose optimum is computed by hand in the comment above each
test. Every returned plan is also checked with `allocation_is_feasible`, and each term the
solver reports is recomputed by `evaluate_allocation_term`.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from models.allocation import (CPSAT_MIN_SECONDS, CPSAT_PROVES_PAIRS, allocation_is_feasible,
                               cpsat_least_seconds, evaluate_allocation_term,
                               first_level_start, narrow_to_first_level, solve_allocation,
                               solve_with_cpsat)
from models.instances import AllocationInstance, AllocTerm, Progress, SolveSettings
from models.warm_start import repair_allocation

SETTINGS = SolveSettings(time_limit=5.0, workers=1, seed=0)


def i64(values) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


def make_alloc(lo, hi, pairs, n_items, terms, optional=None, **kwargs) -> AllocationInstance:
    """pairs: (item, agent, weight) triples, in the order of the pair-indexed arrays."""
    return AllocationInstance(
        agent_lo=i64(lo), agent_hi=i64(hi),
        pair_item=i64([i for i, _, _ in pairs]), pair_agent=i64([a for _, a, _ in pairs]),
        pair_weight=i64([w for _, _, w in pairs]),
        item_optional=np.asarray([False] * n_items if optional is None else optional, dtype=bool),
        terms=terms, **kwargs)


def agent_loads(inst: AllocationInstance, item_agent: np.ndarray) -> np.ndarray:
    chosen = item_agent[inst.pair_item] == inst.pair_agent
    return np.bincount(inst.pair_agent[chosen], weights=inst.pair_weight[chosen],
                       minlength=inst.n_agents).astype(np.int64)


def solve(inst: AllocationInstance, settings: SolveSettings = SETTINGS):
    """Solve and check the plan: feasible, and every term as the solver counts it."""
    sol = solve_allocation(inst, settings)
    if sol.status in ("OPTIMAL", "FEASIBLE"):
        assert allocation_is_feasible(inst, sol.item_agent)
        for name, term in inst.terms.items():
            assert sol.term_values[name] == evaluate_allocation_term(inst, term, sol.item_agent)
        assert sol.objective == sum(sol.term_values.values())
    return sol


# Textbook GAP: 3 items, 2 agents, capacity 5 each (no minimum).
#   weight (agent 0, agent 1): item 0 (3, 2), item 1 (4, 3), item 2 (2, 4)
#   cost   (agent 0, agent 1): item 0 (1, 4), item 1 (2, 3), item 2 (5, 1)
# The 8 assignments (agent of items 0, 1, 2 -> loads, cost):
#   000 (9, 0) x   001 (7, 4) x   010 (5, 3) 1+3+5 = 9   011 (3, 7) x
#   100 (6, 2) x   101 (4, 6) x   110 (2, 5) 4+3+5 = 12  111 (0, 9) x
# The cheapest ignoring capacities (001, cost 4) is infeasible; optimum 9 with 010 (unique).
GAP_PAIRS = [(0, 0, 3), (0, 1, 2), (1, 0, 4), (1, 1, 3), (2, 0, 2), (2, 1, 4)]
GAP_COST = AllocTerm(pair=i64([1, 4, 2, 3, 5, 1]))


def gap(hi=(5, 5), **kwargs) -> AllocationInstance:
    return make_alloc([0, 0], list(hi), GAP_PAIRS, 3, {"cost": GAP_COST}, **kwargs)


def test_textbook_gap_optimum():
    sol = solve(gap())
    assert sol.status == "OPTIMAL"
    assert sol.objective == 9
    assert sol.bound == 9
    assert sol.item_agent.tolist() == [0, 1, 0]
    assert agent_loads(gap(), sol.item_agent).tolist() == [5, 3]


# Capacity 4 each: from the table above every assignment overloads an agent (010 loads 5 on
# agent 0, 110 loads 5 on agent 1): INFEASIBLE.
def test_gap_infeasible():
    sol = solve_allocation(gap(hi=(4, 4)), SETTINGS)
    assert sol.status == "INFEASIBLE"
    assert sol.objective is None
    assert sol.item_agent.tolist() == [-1, -1, -1]


# Item 0 pinned to agent 1: of the feasible assignments (010, 110) only 110 remains: 12.
def test_fixed_agent_pin_is_honoured():
    sol = solve(gap(fixed_agent=i64([1, -1, -1])))
    assert sol.objective == 12
    assert sol.item_agent.tolist() == [1, 1, 0]


# Item 2 pinned to agent 1: 001, 011, 101 and 111 all overload an agent: INFEASIBLE.
def test_fixed_agent_pin_can_make_it_infeasible():
    assert solve_allocation(gap(fixed_agent=i64([-1, -1, 1])), SETTINGS).status == "INFEASIBLE"


# A constant in a term is added once: 9 + 3.
def test_term_constant():
    inst = make_alloc([0, 0], [5, 5], GAP_PAIRS, 3,
                      {"cost": GAP_COST, "fixed": AllocTerm(constant=3)})
    sol = solve(inst)
    assert sol.objective == 12
    assert sol.term_values == {"cost": 9, "fixed": 3}


def test_allocation_is_feasible_cases():
    inst = gap()
    assert allocation_is_feasible(inst, i64([0, 1, 0]))       # loads (5, 3)
    assert allocation_is_feasible(inst, i64([1, 1, 0]))       # loads (2, 5)
    assert not allocation_is_feasible(inst, i64([0, 0, 1]))   # agent 0 at 7 > 5
    assert not allocation_is_feasible(inst, i64([0, 1, -1]))  # mandatory item 2 unassigned
    pinned = gap(fixed_agent=i64([1, -1, -1]))
    assert allocation_is_feasible(pinned, i64([1, 1, 0]))
    assert not allocation_is_feasible(pinned, i64([0, 1, 0]))  # breaks the pin
    # a pair that does not exist: item 1 may only go to agent 1 here
    sparse = make_alloc([0, 0], [9, 9], [(0, 0, 1), (1, 1, 1)], 2, {})
    assert allocation_is_feasible(sparse, i64([0, 1]))
    assert not allocation_is_feasible(sparse, i64([0, 0]))
    # an agent below its minimum; an optional item left out is fine
    low = make_alloc([2], [9], [(0, 0, 1), (1, 0, 1)], 2, {}, optional=[False, True])
    assert allocation_is_feasible(low, i64([0, 0]))
    assert not allocation_is_feasible(low, i64([0, -1]))
    roomy = replace(low, agent_lo=i64([0]))
    assert allocation_is_feasible(roomy, i64([0, -1]))


# 1 agent, capacity 5; two optional items of weight 3 and 4 (only one fits); leaving an item
# out costs `unassigned`. Costs [10, 6]: keep item 0, drop item 1 -> 6. Costs [2, 6]: keep
# item 1, drop item 0 -> 2.
@pytest.mark.parametrize("costs, objective, item_agent", [([10, 6], 6, [0, -1]),
                                                          ([2, 6], 2, [-1, 0])])
def test_optional_items_with_unassigned_cost(costs, objective, item_agent):
    inst = make_alloc([0], [5], [(0, 0, 3), (1, 0, 4)], 2,
                      {"unmet": AllocTerm(unassigned=i64(costs))}, optional=[True, True])
    sol = solve(inst)
    assert sol.objective == objective
    assert sol.item_agent.tolist() == item_agent


# 2 mandatory items of weight 1, agent 0 costs 1 per item, agent 1 costs 5, capacity 2 each.
# Agent 1's minimum 0: both to agent 0 -> 2. Minimum 1: agent 1 must take one -> 1 + 5 = 6.
@pytest.mark.parametrize("lo1, objective", [(0, 2), (1, 6)])
def test_agent_band_minimum_forces_assignment(lo1, objective):
    inst = make_alloc([0, lo1], [2, 2], [(0, 0, 1), (0, 1, 1), (1, 0, 1), (1, 1, 1)], 2,
                      {"cost": AllocTerm(pair=i64([1, 5, 1, 5]))})
    sol = solve(inst)
    assert sol.objective == objective
    assert agent_loads(inst, sol.item_agent).tolist() == ([2, 0] if lo1 == 0 else [1, 1])


# 1 optional item of weight 1, serving it costs 5, leaving it out costs nothing: left out (0).
# With the agent's minimum at 1 it must be served: 5.
@pytest.mark.parametrize("lo, objective, item_agent", [(0, 0, [-1]), (1, 5, [0])])
def test_agent_band_minimum_takes_an_optional_item(lo, objective, item_agent):
    inst = make_alloc([lo], [3], [(0, 0, 1)], 1,
                      {"cost": AllocTerm(pair=i64([5]), unassigned=i64([0]))}, optional=[True])
    sol = solve(inst)
    assert sol.objective == objective
    assert sol.item_agent.tolist() == item_agent


# An agent with no possible item and a minimum of 1 cannot reach its band: INFEASIBLE.
def test_agent_without_pairs_below_its_minimum_is_infeasible():
    inst = make_alloc([0, 1], [5, 5], [(0, 0, 1)], 1, {})
    assert solve_allocation(inst, SETTINGS).status == "INFEASIBLE"


# 2 agents with targets [4, 6], capacity 10; items of weight 2, 3, 5 (either agent), 1 per unit
# off target. Agent 0's load s, agent 1's 10 - s: |s - 4| + |4 - s| = 2 |s - 4|; the subset
# sums are 0, 2, 3, 5, 5, 7, 8, 10, so s = 3 or 5 and the optimum is 2.
def test_deviation_term_optimum():
    pairs = [(i, a, w) for i, w in enumerate([2, 3, 5]) for a in range(2)]
    inst = make_alloc([0, 0], [10, 10], pairs, 3, {"balance": AllocTerm(deviation=i64([1, 1]))},
                      agent_target=i64([4, 6]))
    sol = solve(inst)
    assert sol.status == "OPTIMAL"
    assert sol.objective == 2
    assert agent_loads(inst, sol.item_agent)[0] in (3, 5)


# Travel is paid once per distinct (account, agent). Items 0, 1 belong to account 0, item 2 to
# account 1; weight 1; travel (account x agent) [[4, 5], [3, 1]].
# Capacity [3, 3]: account 0 to agent 0 (4, once for both items), account 1 to agent 1 (1): 5.
# (Counted per item it would be 4 + 4 + 1 = 9.)
# Capacity [1, 3]: agent 0 takes at most one item. Splitting account 0: 4 + 5 (+ 1 for item 2
# on agent 1) = 10; account 0 on agent 1 (5, once) and item 2 on agent 1 (1): 6, or item 2 on
# agent 0 (3): 8. Optimum 6, everything on agent 1.
TRAVEL_CASES = [([3, 3], 5, [0, 0, 1]), ([1, 3], 6, [1, 1, 1])]  # hi, objective, item_agent


def travel_instance(hi) -> AllocationInstance:
    pairs = [(i, a, 1) for i in range(3) for a in range(2)]
    return make_alloc([0, 0], hi, pairs, 3, {"travel": AllocTerm(travel=i64([[4, 5], [3, 1]]))},
                      item_account=i64([0, 0, 1]))


@pytest.mark.parametrize("hi, objective, item_agent", TRAVEL_CASES)
def test_travel_counted_once_per_account_and_agent(hi, objective, item_agent):
    inst = travel_instance(hi)
    sol = solve(inst)
    assert sol.objective == objective
    assert sol.item_agent.tolist() == item_agent
    assert evaluate_allocation_term(inst, inst.terms["travel"], i64([0, 0, 1])) == 5
    assert evaluate_allocation_term(inst, inst.terms["travel"], i64([0, 1, 1])) == 10


# Every kind of term in one instance: each is recomputed by evaluate_allocation_term in
# `solve`. 2 agents, capacity 6, targets [3, 3]; items 0, 1 (account 0, weight 2) and item 2
# (account 1, weight 3, optional, 20 if left out); pair costs 1 on agent 0 and 2 on agent 1;
# travel [[1, 1], [1, 1]]; deviation 1 per unit.
# Serving everything costs at least 3 (pairs) + 2 (travel: two accounts) and the loads sum to
# 7 against targets summing to 6 (deviation >= 1); loads (4, 3) with items 0, 1 on agent 0
# and item 2 on agent 1: pairs 1 + 1 + 2 = 4, travel 2, deviation 1 -> 7. Item 2 on agent 0
# instead: loads (7 > 6) no; items 0 and 2 on agent 0, item 1 on agent 1: loads (5, 2): pairs
# 4, travel 3, deviation 3 -> 10. Dropping item 2 costs 20. Optimum 7.
def test_evaluate_allocation_term_matches_the_solver():
    pairs = [(0, 0, 2), (0, 1, 2), (1, 0, 2), (1, 1, 2), (2, 0, 3), (2, 1, 3)]
    terms = {"fit": AllocTerm(pair=i64([1, 2, 1, 2, 1, 2])),
             "unmet": AllocTerm(unassigned=i64([0, 0, 20])),
             "balance": AllocTerm(deviation=i64([1, 1])),
             "travel": AllocTerm(travel=i64([[1, 1], [1, 1]]), constant=0)}
    inst = make_alloc([0, 0], [6, 6], pairs, 3, terms, optional=[False, False, True],
                      agent_target=i64([3, 3]), item_account=i64([0, 0, 1]))
    sol = solve(inst)
    assert sol.objective == 7
    assert sol.term_values == {"fit": 4, "unmet": 0, "balance": 1, "travel": 2}
    assert sol.item_agent.tolist() == [0, 0, 1]
    # and on a plan the solver did not choose
    other = i64([0, 1, -1])
    # fit 1 + 2, item 2 left out 20, loads (2, 2) one off each target, account 0 on both agents
    assert [evaluate_allocation_term(inst, t, other) for t in terms.values()] == [3, 20, 2, 2]


# Hint repair: 2 agents with band [4, 4], 4 items of weight 2 (either agent), hint all on
# agent 0 (load 8). The repair hands items to agent 1 until both are at 4; the solver, started
# from it, proves the optimum 0 (no costs).
def test_infeasible_hint_is_repaired_into_the_band():
    pairs = [(i, a, 2) for i in range(4) for a in range(2)]
    inst = make_alloc([4, 4], [4, 4], pairs, 4, {"fit": AllocTerm(pair=i64([0] * 8))},
                      hint_agent=i64([0, 0, 0, 0]))
    assert not allocation_is_feasible(inst, inst.hint_agent)
    repaired = repair_allocation(inst)
    assert allocation_is_feasible(inst, repaired)
    assert agent_loads(inst, repaired).tolist() == [4, 4]
    sol = solve(inst)
    assert sol.status == "OPTIMAL" and sol.objective == 0


# A hint on a pair that does not exist (item 1 only goes to agent 1) and a missing mandatory
# item (-1) are repaired too: agent 0 [0, 1], agent 1 [1, 2], weights 1.
def test_hint_on_impossible_pair_is_repaired():
    pairs = [(0, 0, 1), (1, 1, 1), (2, 0, 1), (2, 1, 1)]
    inst = make_alloc([1, 1], [1, 2], pairs, 3, {"fit": AllocTerm(pair=i64([0, 0, 0, 0]))},
                      hint_agent=i64([0, 0, -1]))
    repaired = repair_allocation(inst)
    assert allocation_is_feasible(inst, repaired)
    assert repaired[:2].tolist() == [0, 1]


# GAP with the hint at its optimum: the solver keeps 9.
def test_gap_with_hint():
    sol = solve(gap(hint_agent=i64([0, 1, 0])))
    assert sol.status == "OPTIMAL" and sol.objective == 9


# Lexicographic over allocation terms: the GAP's `cost` first, then `second`, which charges 10
# for item 0 on agent 0. The feasible plans (see the GAP table) are 010 (cost 9, second 10) and
# 110 (cost 12, second 0).
# Tolerance 0: cost held at 9 -> 010, second 10. Tolerance 0.34: cost may reach
# 9 + floor(0.34 * 9) = 12 -> 110, second 0. Either way the reported objective is the first
# level's optimum, 9. Weighted (one level): 010 = 19, 110 = 12 -> 12.
@pytest.mark.parametrize("tolerance, plan, values", [(0.0, [0, 1, 0], {"cost": 9, "second": 10}),
                                                     (0.34, [1, 1, 0], {"cost": 12, "second": 0})])
def test_allocation_lexicographic_levels(tolerance, plan, values):
    terms = {"cost": GAP_COST, "second": AllocTerm(pair=i64([10, 0, 0, 0, 0, 0]))}
    inst = make_alloc([0, 0], [5, 5], GAP_PAIRS, 3, terms)
    lex = solve_allocation(inst, SolveSettings(time_limit=5.0, workers=1, seed=0, tolerance=tolerance,
                                               levels=(("cost",), ("second",))))
    assert lex.status == "OPTIMAL"
    assert lex.objective == 9
    assert lex.item_agent.tolist() == plan
    assert lex.term_values == values
    assert lex.level_bounds == (9, values["second"])
    weighted = solve(inst)
    assert weighted.objective == 12
    assert weighted.item_agent.tolist() == [1, 1, 0]


# Term values after a lexicographic solve must be those of the returned plan. Items 0, 1 of
# account 0 and item 2 of account 1, weight 1, capacity 3; travel (account x agent)
# [[1, 2], [3, 3]]; cost per (item, agent): item 0 (0, 0), item 1 (3, 3), item 2 (0, 1).
# Level 1, travel: account 0 on agent 0 (1) and account 1 on either (3): 4. Tolerance 1.0 lets
# travel reach 8. Level 2, cost: item 1 always costs 3, the others 0 -> 3, reached by several
# plans, e.g. [1, 1, 0] whose travel is 2 + 3 = 5. Whatever plan is returned, the reported
# travel must equal evaluate_allocation_term on it. It does not: the "serves" literal of an
# (account, agent) pair is only forced on by its items (z -> served), never off, so in level 2
# it may sit at 1 for an agent that serves nothing of the account (here: reported 6, plan 5).
# The same holds for the deviation variables (dev >= |load - target| only).
def test_lexicographic_term_values_are_those_of_the_plan():
    pairs = [(i, a, 1) for i in range(3) for a in range(2)]
    terms = {"travel": AllocTerm(travel=i64([[1, 2], [3, 3]])),
             "cost": AllocTerm(pair=i64([0, 0, 3, 3, 0, 1]))}
    inst = make_alloc([0, 0], [3, 3], pairs, 3, terms, item_account=i64([0, 0, 1]))
    sol = solve_allocation(inst, SolveSettings(time_limit=5.0, workers=1, seed=0, tolerance=1.0,
                                               levels=(("travel",), ("cost",))))
    assert sol.objective == 4
    assert sol.term_values["cost"] == 3
    assert sol.term_values["travel"] == evaluate_allocation_term(inst, terms["travel"],
                                                                 sol.item_agent)


def test_progress_events():
    events: list[Progress] = []
    settings = SolveSettings(time_limit=5.0, workers=1, seed=0, progress=events.append,
                             stage="alloc")
    sol = solve(gap(), settings)
    assert sol.objective == 9
    assert events and all(e.stage == "alloc" for e in events)
    elapsed = [e.elapsed for e in events]
    assert elapsed == sorted(elapsed)
    for e in events:
        if e.objective is not None and e.bound is not None:
            assert e.objective >= e.bound
    assert any(e.objective == 9 for e in events)


# The repair reads pair weights from a dense table, or from sorted pairs past DENSE_PAIR_TABLE;
# both give the same start. Hint [0, 0, 0] loads agent 0 with 3 + 4 + 2 = 9 > 5; it hands on its
# items smallest first (item 0, then 2, then 1 by their largest weights 3, 4, 4): item 0 to
# agent 1 (load 2), item 2 does not fit there (2 + 4 > 5), item 1 does (2 + 3 = 5): [1, 1, 0].
@pytest.mark.parametrize("dense", [True, False])
def test_repair_reads_weights_either_way(monkeypatch, dense):
    import models.warm_start as warm_start
    monkeypatch.setattr(warm_start, "DENSE_PAIR_TABLE", 10**9 if dense else 0)
    inst = gap(hint_agent=i64([0, 0, 0]))
    start = repair_allocation(inst)
    assert allocation_is_feasible(inst, start)
    assert start.tolist() == [1, 1, 0]


# Either way a pair's weight is read back, and a missing pair or no agent reads -1: pairs
# listed agent by agent, item 1 has no pair with agent 0 (weights 3, 2 / -, 3 / 2, 4).
@pytest.mark.parametrize("dense", [True, False])
def test_pair_weights_either_way(monkeypatch, dense):
    import models.warm_start as warm_start
    monkeypatch.setattr(warm_start, "DENSE_PAIR_TABLE", 10**9 if dense else 0)
    inst = make_alloc([0, 0], [5, 5], [(0, 0, 3), (2, 0, 2), (0, 1, 2), (1, 1, 3), (2, 1, 4)],
                      3, {"cost": AllocTerm(pair=i64([1, 5, 4, 3, 1]))})
    weight = warm_start._PairWeights(inst)
    assert [weight[0, 0], weight[2, 0], weight[1, 1], weight[2, 1]] == [3, 2, 3, 4]
    assert weight.of(i64([1, 0, 0])).tolist() == [2, -1, 2]
    assert weight.of(i64([-1, 1, 1])).tolist() == [-1, 3, 4]
    # the weights in the pairs' order by item (0: 3 / 2, 1: 3, 2: 2 / 4), read once: the
    # sparse form hands on its own array, the pairs coming agent by agent within each item
    by_item = weight.in_order(inst.by_item)
    assert by_item.tolist() == [3, 2, 3, 2, 4]
    assert dense or by_item is weight.weights


# An agent below its minimum takes items, largest first, from colleagues who stay above
# theirs; the candidates read by agent whether the pairs come agent by agent (the teams') or
# not (a sort). Weights (item: agent 0 / agent 1): 0: 3 / 2, 1: - / 3, 2: 2 / 4; bands
# [0, 10] and [6, 10]; hint all to agent 0. Item 1 cannot stay there: agent 1 gets it (3 < 6);
# it then takes its largest candidate, item 2 (agent 0 keeps 3 >= 0): 7 >= 6, [0, 1, 1].
@pytest.mark.parametrize("agent_by_agent", [True, False])
def test_repair_tops_up_an_agent_below_its_minimum_either_pair_order(agent_by_agent):
    from models.band_repair import pairs_by_agent
    pairs = [(0, 0, 3), (2, 0, 2), (0, 1, 2), (1, 1, 3), (2, 1, 4)]
    if not agent_by_agent:
        pairs = sorted(pairs)
    inst = make_alloc([0, 6], [10, 10], pairs, 3, {"cost": AllocTerm(pair=i64([0] * 5))})
    inst = replace(inst, hint_agent=i64([0, 0, 0]))
    assert (pairs_by_agent(inst.pair_agent) is None) == agent_by_agent
    start = repair_allocation(inst)
    assert start.tolist() == [0, 1, 1]
    assert allocation_is_feasible(inst, start)


# Two agents of capacity 5, three optional items of weight 4 on either, free when assigned,
# 10 when not. Each item's cheapest agent: 0. One agent takes one item, so the optimum leaves
# one unassigned: 10. One price on the whole capacity (10 for 12 of weight): 3 x min(10, 4p)
# - 10p, at best p = 2.5: 5, half an item unmet. With room for all (capacity 10 each): 0.
# The capacity bound's 30 steps take 3e-7 s a pair: 0.3 s for 1 million pairs, within a tenth
# of a 10 s team, not of a 2 s one; and not after a relaxation of 30 steps or more.
def test_the_capacity_bound_is_left_out_after_a_relaxation_of_as_many_steps():
    import time
    from models.allocation import wants_capacity_bound
    from models.allocation_bound import LagrangeBound
    inst = AllocationInstance(agent_lo=i64([0]), agent_hi=i64([10]),
                              pair_item=np.zeros(1_000_000, dtype=np.int64),
                              pair_agent=np.zeros(1_000_000, dtype=np.int64),
                              pair_weight=np.ones(1_000_000, dtype=np.int64),
                              item_optional=np.array([False]), terms={})

    def relaxed(steps):
        return LagrangeBound(0, np.zeros(1), np.zeros(1, dtype=np.int64), steps, 0.0)
    now = time.monotonic()
    assert wants_capacity_bound(inst, SolveSettings(time_limit=10.0), now, None)
    assert not wants_capacity_bound(inst, SolveSettings(time_limit=2.0), now, None)
    assert wants_capacity_bound(inst, SolveSettings(time_limit=10.0), now, relaxed(29))
    assert not wants_capacity_bound(inst, SolveSettings(time_limit=10.0), now, relaxed(30))


def test_capacity_bound_counts_the_work_that_must_stay_unmet():
    from models.allocation import capacity_bound, cheapest_agent_bound
    pairs = [(i, a, 4) for i in range(3) for a in range(2)]
    terms = {"unmet": AllocTerm(pair=i64([0] * 6), unassigned=i64([10, 10, 10]))}
    short = make_alloc([0, 0], [5, 5], pairs, 3, terms, optional=[True] * 3)
    assert cheapest_agent_bound(short, ("unmet",)) == 0
    assert capacity_bound(short, ("unmet",)) == 5
    assert solve(short).objective == 10
    roomy = make_alloc([0, 0], [10, 10], pairs, 3, terms, optional=[True] * 3)
    assert capacity_bound(roomy, ("unmet",)) == 0
    stranded = make_alloc([0, 0], [5, 5], pairs[:2], 3,
                          {"unmet": AllocTerm(pair=i64([0, 0]), unassigned=i64([10, 10, 10]))},
                          optional=[True, True, False])  # item 2 must go somewhere: no pair
    assert capacity_bound(stranded, ("unmet",)) is None


# A re-plan that keeps relationships first: 3 agents (capacity 10), 3 items of weight 4.
# Continuity per (item, agent) and when unassigned: item 0 owned by agent 0 (0, 5, 5; 5),
# item 1 by agent 1 (3, 0, 3; 3), item 2 unowned (0, 0, 0; 0). Unmet: item 2 unassigned
# costs 4. "second" prefers agent 2 for item 2 (3, 2, 1). The hint [0, 1, -1] costs 0 on
# continuity, each item's cheapest: every best plan keeps item 0 on agent 0 and item 1 on
# agent 1, both must be assigned, item 2 may go anywhere or nowhere. Solved by priorities:
# continuity 0, unmet 0 (item 2 assigned), second 1 (item 2 on agent 2): plan [0, 1, 2].
REPLAN_PAIRS = [(i, a, 4) for i in range(3) for a in range(3)]
REPLAN_TERMS = {"continuity": AllocTerm(pair=i64([0, 5, 5, 3, 0, 3, 0, 0, 0]),
                                        unassigned=i64([5, 3, 0])),
                "unmet": AllocTerm(unassigned=i64([0, 0, 4])),
                "second": AllocTerm(pair=i64([0, 0, 0, 0, 0, 0, 3, 2, 1]))}
BY_PRIORITY = SolveSettings(time_limit=5.0, workers=1, seed=0, tolerance=0.0,
                            levels=(("continuity",), ("unmet",), ("second",)))


def replan(hint, hi=(10, 10, 10)) -> AllocationInstance:
    return make_alloc([0, 0, 0], list(hi), REPLAN_PAIRS, 3, REPLAN_TERMS, optional=[True] * 3,
                      hint_agent=i64(hint))


def test_narrowing_keeps_only_each_items_cheapest_first_level_choices():
    narrowed = narrow_to_first_level(replan([0, 1, -1]), BY_PRIORITY, i64([0, 1, -1]))
    assert list(zip(narrowed.pair_item.tolist(), narrowed.pair_agent.tolist())) == [
        (0, 0), (1, 1), (2, 0), (2, 1), (2, 2)]
    assert narrowed.item_optional.tolist() == [False, False, True]
    assert narrowed.terms["second"].pair.tolist() == [0, 0, 3, 2, 1]
    assert narrowed.hint_agent.tolist() == [0, 1, -1]


@pytest.mark.parametrize("plan, hi", [([1, 1, -1], (10, 10, 10)),  # continuity 5 > 0
                                      ([0, 1, -1], (3, 10, 10))])  # agent 0 over its band
def test_narrowing_needs_a_plan_that_proves_the_first_level(plan, hi):
    assert narrow_to_first_level(replan(plan, hi), BY_PRIORITY, i64(plan)) is None



# Without continuity costs every plan within the bands is as good on the first level: the
# plan proves it, and the instance stays whole (nothing to drop) with the plan as its hint.
def test_a_proved_first_level_with_nothing_to_drop_keeps_the_whole_instance():
    terms = {**REPLAN_TERMS, "continuity": AllocTerm(pair=i64([0] * 9), unassigned=i64([0] * 3))}
    inst = make_alloc([0, 0, 0], [10, 10, 10], REPLAN_PAIRS, 3, terms, optional=[True] * 3,
                      hint_agent=i64([2, 2, -1]))
    narrowed = narrow_to_first_level(inst, BY_PRIORITY, i64([0, 1, -1]))
    assert narrowed is not None
    assert narrowed.pair_agent.tolist() == inst.pair_agent.tolist()
    assert narrowed.item_optional.tolist() == [True, True, True]
    assert narrowed.hint_agent.tolist() == [0, 1, -1]


# first_level_start: the hint [0, 1, -1] holds the bands and costs 0 continuity (each item's
# cheapest): it is the start. With agent 0's band maximum at 3 (item 0 weighs 4) the hint is
# repaired: item 0 leaves its owner (continuity 5 at agent 1 or 2, or 5 unassigned), so no
# start proves the first level's 0.
def test_the_first_level_start_is_the_hint_where_it_proves_that_level():
    assert first_level_start(replan([0, 1, -1]), BY_PRIORITY).tolist() == [0, 1, -1]
    assert first_level_start(replan([0, 1, -1], (3, 10, 10)), BY_PRIORITY) is None

def test_narrowed_solve_gives_the_plan_of_the_whole_model():
    inst = replan([0, 1, -1])
    whole = solve_with_cpsat(inst, BY_PRIORITY)
    narrowed = solve_allocation(inst, BY_PRIORITY)
    assert whole.item_agent.tolist() == narrowed.item_agent.tolist() == [0, 1, 2]
    assert whole.term_values == narrowed.term_values == {"continuity": 0, "unmet": 0,
                                                         "second": 1}
    assert narrowed.status == "OPTIMAL"


# The same re-plan without item 2: once narrowed, item 0 can only go to agent 0 and item 1 to
# agent 1, so that plan is the answer, optimal on every level: continuity 0, second 1 + 2 = 3.
def test_a_replan_with_no_choice_left_is_its_forced_plan():
    terms = {"continuity": AllocTerm(pair=i64([0, 5, 5, 3, 0, 3]), unassigned=i64([5, 3])),
             "second": AllocTerm(pair=i64([1, 0, 0, 0, 2, 0]))}
    inst = make_alloc([0, 0, 0], [10, 10, 10], REPLAN_PAIRS[:6], 2, terms,
                      optional=[True, True], hint_agent=i64([0, 1]))
    levels = replace(BY_PRIORITY, levels=(("continuity",), ("second",)))
    sol = solve_allocation(inst, levels)
    assert (sol.status, sol.objective, sol.bound) == ("OPTIMAL", 0, 0)
    assert sol.item_agent.tolist() == [0, 1]
    assert sol.term_values == {"continuity": 0, "second": 3}
    assert sol.level_bounds == (0, 3)
    assert solve_with_cpsat(inst, levels).term_values == sol.term_values


# A chain of two moves serves an item no single move or swap can: agent 0 (capacity 10) holds
# item 1 (6 h); item 0 (6 h, only agent 0 may take it) waits unassigned at a cost of 100;
# agent 1 (capacity 10) holds item 2 (4 h, pinned) and has room for item 1 (6 h, cost 0
# either way). Item 0 cannot join agent 0 (12 > 10), item 1 gains nothing by moving alone,
# and no swap involves item 0. Item 1 moving to agent 1 makes the room: cost 100 -> 0.
def test_a_chain_of_two_moves_serves_an_item_that_waits_for_room():
    from models.warm_start import improve_allocation, serve_unassigned
    inst = make_alloc([0, 0], [10, 10], [(0, 0, 6), (1, 0, 6), (1, 1, 6), (2, 1, 4)], 3,
                      {"unmet": AllocTerm(pair=i64([0, 0, 0, 0]), unassigned=i64([100, 0, 0]))},
                      optional=[True, False, False], fixed_agent=i64([-1, -1, 1]))
    start = i64([-1, 0, 1])
    assert allocation_is_feasible(inst, start)
    for plan in (serve_unassigned(inst, start, 1.0), improve_allocation(inst, start, 1.0)):
        assert plan.tolist() == [0, 1, 1]
        assert evaluate_allocation_term(inst, inst.terms["unmet"], plan) == 0


def test_cpsat_least_time_is_never_more_than_the_teams_own():
    small, large = CPSAT_MIN_SECONDS
    assert cpsat_least_seconds(CPSAT_PROVES_PAIRS) == small
    assert cpsat_least_seconds(CPSAT_PROVES_PAIRS + 1) == large
    assert cpsat_least_seconds(100, least_less=small) == large  # (down to the large teams')
    assert cpsat_least_seconds(100, at_most=1.0) == small
    assert cpsat_least_seconds(100, at_most=0.02) == 0.02  # a team hurried after a cancel
    assert cpsat_least_seconds(10 ** 6, at_most=0.02) == 0.02


# 200 one-hour items, two agents; agent 0 must carry at least 500 h: no split holds the bands,
# the hint's repair included. 400 pairs take longer to model (1.6e-5 s each) than the team's
# 0.005 s: the team has no plan at once (UNKNOWN) and CP-SAT's model is never built (XL
# key-account hybrid at 30 s spent minutes building one of millions of pairs, for a plan it
# could not have found in time).
def test_a_team_too_large_to_model_without_a_split_in_its_bands_has_no_plan(monkeypatch):
    import models.allocation as allocation

    def no_cpsat(*args, **kwargs):
        raise AssertionError("CP-SAT's model was built")
    monkeypatch.setattr(allocation, "solve_with_cpsat", no_cpsat)
    n = 200
    pairs = [(i, a, 1) for i in range(n) for a in (0, 1)]
    inst = make_alloc([500, 0], [1000, 1000], pairs, n,
                      {"cost": AllocTerm(pair=i64([a for _, a, _ in pairs]))},
                      optional=[True] * n, hint_agent=i64([1] * n))
    assert allocation.unbuildable(inst, replace(SETTINGS, time_limit=0.005))
    sol = solve_allocation(inst, replace(SETTINGS, time_limit=0.005))
    assert (sol.status, sol.item_agent) == ("UNKNOWN", None)


# Pairs (item, agent): (1, 0), (0, 0), (1, 1), (0, 1): by item, positions 1, 3 (item 0), then
# 0, 2 (item 1). An instance with another hint has the same pairs: the order carries over
# (the same array, not sorted again) and the hint is the new one.
def test_an_instance_with_another_hint_keeps_its_pairs_order_by_item():
    inst = make_alloc([0, 0], [9, 9], [(1, 0, 1), (0, 0, 1), (1, 1, 1), (0, 1, 1)], 2,
                      {"cost": AllocTerm(pair=i64([1, 2, 3, 4]))}, hint_agent=i64([0, 0]))
    assert inst.by_item.tolist() == [1, 3, 0, 2]
    other = inst.with_hint(i64([1, 0]))
    assert other.hint_agent.tolist() == [1, 0] and inst.hint_agent.tolist() == [0, 0]
    assert other.__dict__["by_item"] is inst.by_item


# The gathering's time of a team of 10 s: its share, 0.1 x 10 = 1 s, up to
# LARGEST_TEAM_PAIRS pairs; above, where it comes first and the descent after it has the rest,
# half of what is left: 5 s at once, 4 s with 2 s of the team's time gone; all of it, 8 s,
# where the descent, the team's last step, needs more than the other half to start (4.5 s of
# 8; as a step before others it would need 9 s).
def test_the_gathering_has_half_of_what_is_left_on_the_largest_teams(monkeypatch):
    import time
    import models.allocation as allocation
    inst = make_alloc([0, 0], [9, 9], [(0, 0, 1), (0, 1, 1)], 1,
                      {"cost": AllocTerm(pair=i64([1, 2]))})
    settings, began = replace(SETTINGS, time_limit=10.0), time.monotonic()
    assert allocation._gather_seconds(inst, settings, began) == pytest.approx(1.0, abs=0.05)
    monkeypatch.setattr(allocation, "LARGEST_TEAM_PAIRS", 1)
    assert allocation._gather_seconds(inst, settings, began) == pytest.approx(5.0, abs=0.05)
    assert allocation._gather_seconds(inst, settings, began - 2.0) == pytest.approx(4.0, abs=0.05)
    monkeypatch.setattr(allocation, "descent_least_seconds",
                        lambda _, last=False: 4.5 if last else 9.0)
    assert allocation._gather_seconds(inst, settings, began) == pytest.approx(5.0, abs=0.05)
    assert allocation._gather_seconds(inst, settings, began - 2.0) == pytest.approx(8.0, abs=0.05)


# By (item, agent): the pairs above come agent by agent, so within each item the order by item
# already has its agents ascending, and is that very array, carried over to another hint.
# Pairs (1, 1), (0, 0), (1, 0), (0, 1) do not: item 0's are positions 1 (agent 0), 3 (agent 1),
# item 1's 2 (agent 0), 0 (agent 1), where by item alone it was 1, 3, 0, 2.
def test_pairs_by_item_then_agent_reuse_the_order_by_item_where_it_is_one():
    inst = make_alloc([0, 0], [9, 9], [(1, 0, 1), (0, 0, 1), (1, 1, 1), (0, 1, 1)], 2,
                      {"cost": AllocTerm(pair=i64([1, 2, 3, 4]))})
    assert inst.by_item_agent is inst.by_item
    assert inst.with_hint(i64([1, 0])).__dict__["by_item_agent"] is inst.by_item
    mixed = make_alloc([0, 0], [9, 9], [(1, 1, 1), (0, 0, 1), (1, 0, 1), (0, 1, 1)], 2,
                       {"cost": AllocTerm(pair=i64([1, 2, 3, 4]))})
    assert mixed.by_item.tolist() == [1, 3, 0, 2]
    assert mixed.by_item_agent.tolist() == [1, 3, 2, 0]


# Every term of a plan at once, as one by one: items 0, 1 of account 0 to agent 0 and item 2
# of account 1 to agent 1; item 3 left out. pair costs 1 + 4 = 5 (+ 3 for item 2: pair 4 of
# cost 6: 11 in all); unassigned: item 3's 7; deviation: loads 5 and 2 against targets 4 and
# 4: |1| + |-2| = 3, times 2 = 6; travel: (account 0, agent 0) once, 10, and (1, 1), 20: 30.
def test_all_terms_of_a_plan_are_valued_at_once_as_one_by_one():
    from models.allocation import evaluate_allocation_term, evaluate_allocation_terms
    pairs = [(0, 0, 2), (0, 1, 2), (1, 0, 3), (2, 0, 1), (2, 1, 2), (3, 1, 1)]
    terms = {"cost": AllocTerm(pair=i64([1, 9, 4, 9, 6, 9])),
             "left": AllocTerm(unassigned=i64([0, 0, 0, 7])),
             "balance": AllocTerm(deviation=i64([2, 2])),
             "travel": AllocTerm(travel=i64([[10, 15], [25, 20]]), constant=0)}
    inst = make_alloc([0, 0], [9, 9], pairs, 4, terms, optional=[True] * 4,
                      agent_target=i64([4, 4]), item_account=i64([0, 0, 1, 1]))
    plan = i64([0, 0, 1, -1])
    values = evaluate_allocation_terms(inst, terms, plan)
    assert values == {"cost": 11, "left": 7, "balance": 6, "travel": 30}
    assert values == {n: evaluate_allocation_term(inst, t, plan) for n, t in terms.items()}


# CP-SAT presolves what the settings say; the summed whole model is solved without presolve
# (SUMMED_PRESOLVE), and with it the textbook GAP's optimum is still 9 (plan 010).
@pytest.mark.parametrize("presolve", [True, False])
def test_cpsat_presolves_as_the_settings_say(presolve):
    from models.cpsat import new_solver
    solver = new_solver(replace(SETTINGS, presolve=presolve), 1.0)
    assert solver.parameters.cp_model_presolve is presolve


def test_the_summed_whole_model_is_solved_without_presolve(monkeypatch):
    import models.allocation as allocation
    seen = []
    solve_summed = allocation.solve_summed

    def spy(model, names, settings, capture, evaluate):
        seen.append(settings.presolve)
        return solve_summed(model, names, settings, capture, evaluate)
    monkeypatch.setattr(allocation, "solve_summed", spy)
    sol = solve_with_cpsat(gap(), SETTINGS)
    assert seen == [allocation.SUMMED_PRESOLVE] == [False]
    assert (sol.status, sol.objective, sol.item_agent.tolist()) == ("OPTIMAL", 9, [0, 1, 0])
