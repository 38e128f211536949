"""The Lagrangian bound of stage 2 (models.allocation_bound): values computed by hand on tiny
instances (each comment gives the relaxation and the best plan), and on random small ones the
property that makes it a bound: never above the optimum CP-SAT proves."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import given, settings, strategies as st

from models.allocation import cheapest_agent_bound, solve_with_cpsat
import itertools

from models.allocation import allocation_is_feasible
from models.account_relaxation import _set_partitions, choose
from models.allocation_bound import (LagrangeBound, _relaxation, travel_share, lagrangian_bound,
                                     may_beat, priced_plan, tighten)
from models.allocation_lns import plan_cost
from models.instances import AllocTerm, SolveSettings, summed_terms
from tests.test_models_allocation import i64, make_alloc


def bound_of(inst) -> int:
    found = lagrangian_bound(inst, tuple(inst.terms), seconds=5.0, max_iterations=2000)
    assert found is not None
    return found.bound


# Two items of weight 2; agent 0 (capacity 3) costs 1 per item, agent 1 (capacity 10) costs 3.
# A plan fits one item on agent 0: 1 + 3 = 4. The LP puts 1.5 items there: 1.5 + 0.5 x 3 = 3,
# which is the Lagrangian bound (price 1 per hour on agent 0 makes both agents cost 3).
def test_bound_is_the_lp_value_when_items_would_split():
    inst = make_alloc([0, 0], [3, 10], [(0, 0, 2), (0, 1, 2), (1, 0, 2), (1, 1, 2)], 2,
                      {"cost": AllocTerm(pair=i64([1, 3, 1, 3]))})
    assert bound_of(inst) == 3
    assert cheapest_agent_bound(inst, ("cost",)) == 2


# One agent, target 10, deviation 1 per hour; its two mandatory items of 3 hours each give it 6:
# the only plan costs |6 - 10| = 4. Pricing its load at -1 per hour gives 4 = -6 + min over
# loads L of (|L - 10| + L) = -6 + 10; the cheapest-agent bound counts no deviation (0).
def test_bound_counts_the_balance_term():
    inst = make_alloc([0], [20], [(0, 0, 3), (1, 0, 3)], 2,
                      {"balance": AllocTerm(deviation=i64([1]))}, agent_target=i64([10]))
    assert bound_of(inst) == 4
    assert cheapest_agent_bound(inst, ("balance",)) == 0


# One agent that must work 5 to 10 hours; its only item (5 hours, optional) costs 7 when it
# takes it and 2 when nobody does. Only taking it reaches the band: 7. At price -1 per hour the
# relaxation gives min(7 - 5, 2) + 5 = 7; the cheapest-agent bound leaves the item out (2).
def test_bound_counts_the_band_minimum():
    inst = make_alloc([5], [10], [(0, 0, 5)], 1,
                      {"cost": AllocTerm(pair=i64([7]), unassigned=i64([2]))}, optional=[True])
    assert bound_of(inst) == 7
    assert cheapest_agent_bound(inst, ("cost",)) == 2


# Two items of one account, both on the only agent: the travel (10) is paid once. Each item
# carries half of it in the relaxation, 5 + 5 = 10, never more than a plan pays.
def test_travel_is_shared_among_the_accounts_items():
    inst = make_alloc([0], [10], [(0, 0, 1), (1, 0, 1)], 2,
                      {"travel": AllocTerm(travel=np.array([[10]]))}, item_account=i64([0, 0]))
    assert bound_of(inst) == 10


# Account 0's item 0 may go to agent 0 only, its item 1 to agent 0 or 1; travel 10 to agent 0,
# 6 to agent 1. Agent 0's 10 is split between the two items that may cause it (5 each); agent
# 1's 6 is item 1's alone (split over both items, as before, it was 3).
def test_travel_is_split_over_the_items_each_agent_may_take():
    inst = make_alloc([0, 0], [10, 10], [(0, 0, 1), (1, 0, 1), (1, 1, 1)], 2,
                      {"travel": AllocTerm(travel=np.array([[10, 6]]))}, item_account=i64([0, 0]))
    assert travel_share(inst, np.array([[10, 6]])).tolist() == [5.0, 5.0, 6.0]


# The same shares a pair at a time (counts summed over the slices), and added to a cost.
def test_travel_shares_are_the_same_a_slice_at_a_time(monkeypatch):
    monkeypatch.setattr("models.allocation_bound.SLICE_PAIRS", 1)
    inst = make_alloc([0, 0], [10, 10], [(0, 0, 1), (1, 0, 1), (1, 1, 1)], 2,
                      {"travel": AllocTerm(travel=np.array([[10, 6]]))}, item_account=i64([0, 0]))
    cost = np.array([1.0, 2.0, 3.0])
    assert travel_share(inst, np.array([[10, 6]]), add_to=cost) is cost
    assert cost.tolist() == [6.0, 7.0, 9.0]


# One account of two items, travel 10 to either agent; item 0 costs 0 on agent 0 and 5 on agent
# 1, item 1 the other way round. Together on one agent: 0 + 5 + 10 = 15; apart: 0 + 0 + 10 + 10
# = 20. Item by item with shared travel the relaxation would say 5 + 5 = 10 (each item on its
# cheap agent with half the travel); solved as one account it is the optimum, 15.
def test_a_small_accounts_travel_is_counted_exactly():
    inst = make_alloc([0, 0], [10, 10], [(0, 0, 1), (0, 1, 1), (1, 0, 1), (1, 1, 1)], 2,
                      {"cost": AllocTerm(pair=i64([0, 5, 5, 0])),
                       "travel": AllocTerm(travel=np.array([[10, 10]]))},
                      item_account=i64([0, 0]))
    assert bound_of(inst) == 15


# Three accounts as above (items 2a and 2a + 1 of account a: 12 cells), with room for 11 kept
# and a chunk of one account at a time: each is built when priced, and the bound is still
# 3 x 15 = 45 (30 with the travel shared). With room for 12 they are kept, in one group.
def three_accounts_priced_a_chunk_at_a_time(monkeypatch):
    """The three accounts above, with room for 11 cells kept and chunks of 4."""
    import models.account_relaxation as accounts
    monkeypatch.setattr(accounts, "MAX_CELLS", 11)
    monkeypatch.setattr(accounts, "CHUNK_CELLS", 4)
    return make_alloc([0, 0], [10, 10], [(i, a, 1) for i in range(6) for a in range(2)], 6,
                      {"cost": AllocTerm(pair=i64([0, 5, 5, 0] * 3)),
                       "travel": AllocTerm(travel=np.array([[10, 10]] * 3))},
                      item_account=i64([0, 0, 1, 1, 2, 2]))


def test_accounts_too_many_to_keep_are_priced_a_chunk_at_a_time(monkeypatch):
    import models.account_relaxation as accounts
    inst = three_accounts_priced_a_chunk_at_a_time(monkeypatch)
    groups = _relaxation(inst, tuple(inst.terms)).accounts
    assert [type(g).__name__ for g in groups] == ["DeferredGroup"] * 3
    assert [g.items.tolist() for g in groups] == [[[0, 1]], [[2, 3]], [[4, 5]]]
    assert bound_of(inst) == 45
    monkeypatch.setattr(accounts, "MAX_CELLS", 12)
    groups = _relaxation(inst, tuple(inst.terms)).accounts
    assert [type(g).__name__ for g in groups] == ["AccountGroup"]
    assert bound_of(inst) == 45


# The relaxation keeps no second copy of a team's pairs: with no pair pinned its order by item
# is the instance's own, and its account groups keep the travel term's own array (summing a
# lone term copies nothing), each group's rows made floats when it is built. With item 0
# pinned to agent 1, the order leaves out pair 0 (item 0 on agent 0): pairs 1-11.
def test_the_relaxation_shares_the_instances_arrays(monkeypatch):
    inst = three_accounts_priced_a_chunk_at_a_time(monkeypatch)
    names = tuple(inst.terms)
    relaxed = _relaxation(inst, names)
    assert relaxed.order is inst.by_item
    assert summed_terms(inst, names).travel is inst.terms["travel"].travel
    built = relaxed.accounts[1].build()
    assert built.travel.dtype == np.float64 and built.travel.tolist() == [[10.0, 10.0]]
    pinned = replace(inst, fixed_agent=i64([1, -1, -1, -1, -1, -1]))
    assert _relaxation(pinned, names).order.tolist() == list(range(1, 12))


# The same three accounts, priced a chunk at a time (so the steps share travel). From prices
# given as the divisible optimum's (`from_optimum`) no step is taken: one evaluation, and the
# bound is the value at those prices with the accounts priced whole: 45 at no prices; at
# prices 1 and -1 an hour on agents 0 and 1, each account cheapest with both items on agent 1
# (5 + 0 + 10 - 2 = 13; on agent 0 17, split 20), 39 in all, and each agent's load at its best
# in its band of 0-10 hours (-1 x 10 on agent 0, 0 on agent 1): 29. Steps from there reach 45.
def test_from_the_divisible_optimums_prices_no_step_shares_travel(monkeypatch):
    inst = three_accounts_priced_a_chunk_at_a_time(monkeypatch)
    names = tuple(inst.terms)
    at_zero = lagrangian_bound(inst, names, 1.0, prices=np.zeros(2), from_optimum=True)
    assert (at_zero.iterations, at_zero.bound) == (1, 45)
    tilted = np.array([1.0, -1.0])
    at_tilted = lagrangian_bound(inst, names, 1.0, prices=tilted, from_optimum=True)
    assert (at_tilted.iterations, at_tilted.bound) == (1, 29)
    stepped = lagrangian_bound(inst, names, 1.0, prices=tilted)
    assert stepped.iterations > 1 and stepped.bound == 45


# One account of three items, travel 5 to either of two agents: item 0 costs 0 on agent 0 and 9
# on agent 1, item 1 the other way round, item 2 (optional, 0 to nobody) 1 on either. All on
# one agent: 15; items 0 and 2 on agent 0, item 1 on agent 1: 6 + 5 = 11; items 0 and 1 on
# their cheap agents and item 2 to nobody: 5 + 5 + 0 = 10, the least of the five groupings.
def test_an_accounts_cheapest_grouping_of_its_items():
    inst = make_alloc([0, 0], [10, 10], [(i, a, 1) for i in range(3) for a in range(2)], 3,
                      {"cost": AllocTerm(pair=i64([0, 9, 9, 0, 1, 1]), unassigned=i64([0, 0, 0])),
                       "travel": AllocTerm(travel=np.array([[5, 5]]))},
                      optional=[False, False, True], item_account=i64([0, 0, 0]))
    relaxation = _relaxation(inst, tuple(inst.terms))
    (group,) = relaxation.accounts
    found = choose(group, np.zeros(2))
    assert found.value == 10
    assert found.items.tolist() == [0, 1, 2] and found.agent.tolist() == [0, 1, -1]
    assert found.load.tolist() == [1.0, 1.0]
    # at a price of 6 per hour on agent 0, items 0 and 1 together on agent 1 (9 + 0 + 5 = 14,
    # item 2 to nobody) beat item 0 alone on agent 0 (6 + 5 + 5 + 0 = 16)
    at_six = choose(group, np.array([6.0, 0.0]))
    assert at_six.value == 14 and at_six.agent.tolist() == [1, 1, -1]


def test_set_partitions_are_all_the_ways_to_group_an_accounts_items():
    for k, bell in ((1, 1), (2, 2), (3, 5), (4, 15)):
        found = _set_partitions(k)
        assert len(found) == bell
        assert len({tuple(sorted(p)) for p in found}) == bell
        assert all(sorted(i for block in p for i in block) == list(range(k)) for p in found)


# The instance of the first test: prices 0 give each item's cheapest agent, 1 + 1 = 2; the LP
# value is 3. One subgradient evaluation stays at 2; the box steps from there reach 3.
def test_box_steps_reach_the_lp_value():
    inst = make_alloc([0, 0], [3, 10], [(0, 0, 2), (0, 1, 2), (1, 0, 2), (1, 1, 2)], 2,
                      {"cost": AllocTerm(pair=i64([1, 3, 1, 3]))})
    first = lagrangian_bound(inst, ("cost",), 1.0, max_iterations=1)
    assert first.bound == 2
    assert tighten(inst, first, 5.0).bound == 3


# Item 0 is pinned to agent 1 (cost 9, against 1 on agent 0); item 1 costs 2 on either.
# Every plan costs 9 + 2 = 11.
def test_pinned_items_count_at_their_agent():
    inst = make_alloc([0, 0], [10, 10], [(0, 0, 1), (0, 1, 1), (1, 0, 1), (1, 1, 1)], 2,
                      {"cost": AllocTerm(pair=i64([1, 9, 2, 2]))}, fixed_agent=i64([1, -1]))
    assert bound_of(inst) == 11


# Item 1 has no allowed agent: optional, it costs its "nobody" cost (4); mandatory, no plan
# exists and there is no bound to give.
def test_items_without_agents():
    terms = {"cost": AllocTerm(pair=i64([3]), unassigned=i64([0, 4]))}
    inst = make_alloc([0], [10], [(0, 0, 1)], 2, terms, optional=[False, True])
    assert bound_of(inst) == 7
    assert lagrangian_bound(replace(inst, item_optional=np.array([False, False])),
                            ("cost",), 1.0) is None


# No capacity binds: at the best prices (0) each item's choice is its cheaper agent, item 0
# agent 0 (1 against 3), item 1 agent 1 (2 against 4): 1 + 2 = 3.
def test_choices_are_each_items_cheapest_pair_at_the_best_prices():
    inst = make_alloc([0, 0], [10, 10], [(0, 0, 2), (0, 1, 2), (1, 0, 2), (1, 1, 2)], 2,
                      {"cost": AllocTerm(pair=i64([1, 3, 4, 2]))})
    found = lagrangian_bound(inst, ("cost",), 1.0)
    assert found.bound == 3
    assert found.choice.tolist() == [0, 1]


# Agent 0 (capacity 4) holds both items, one hour over. Item 0 (4 hours) would cost 4 more on
# agent 1, item 1 (1 hour) 2 more: per hour freed item 0 looks cheaper (1 against 2), but only
# one hour needs to go, and per hour of the overload item 1 is (2 against 4). Moving it gives
# the optimum, 1 + 3 = 4 (moving item 0 would cost 5 + 1 = 6).
def test_priced_plan_moves_what_removes_the_overload_cheapest():
    inst = make_alloc([0, 0], [4, 10], [(0, 0, 4), (0, 1, 4), (1, 0, 1), (1, 1, 1)], 2,
                      {"cost": AllocTerm(pair=i64([1, 5, 1, 3]))})
    at_zero = LagrangeBound(0, np.zeros(2), i64([0, 0]), 0, 0.0)
    assert priced_plan(inst, ("cost",), at_zero, seconds=5.0).tolist() == [0, 1]


# The same with agent 1 priced at 3 per hour (half of it counts, price_weight 0.5): item 1
# would then cost 3 + 1.5 more per hour on agent 1 against 4 + 6 for item 0, and an optional
# item 1 left to nobody (cost 2, one more than on agent 0) is cheaper still.
def test_priced_plan_counts_prices_and_may_leave_optional_items_out():
    inst = make_alloc([0, 0], [4, 10], [(0, 0, 4), (0, 1, 4), (1, 0, 1), (1, 1, 1)], 2,
                      {"cost": AllocTerm(pair=i64([1, 5, 1, 3]), unassigned=i64([0, 2]))},
                      optional=[False, True])
    priced = LagrangeBound(0, np.array([0.0, 3.0]), i64([0, 0]), 0, 0.0)
    assert priced_plan(inst, ("cost",), priced, seconds=5.0).tolist() == [0, -1]


# Agent 0 (capacity 1) holds three items of one hour, each free there; agent 1 has room for
# one (each costs 1 there), agent 2 for all (items cost 3, 2 and 4). Two must leave: item 0 to
# agent 1, then item 1 to agent 2, 1 + 2 = 3. Made together (a large team's way), all three
# are priced into agent 1 at once: the second and third no longer fit there once item 0 has
# gone, and the next pricing sends item 1 to agent 2: the same plan.
def test_priced_plan_makes_an_agents_cheapest_moves_together_where_they_still_fit(monkeypatch):
    import models.allocation_bound as bound
    inst = make_alloc([0, 0, 0], [1, 1, 10], [(i, a, 1) for i in range(3) for a in range(3)], 3,
                      {"cost": AllocTerm(pair=i64([0, 1, 3, 0, 1, 2, 0, 1, 4]))})
    at_zero = LagrangeBound(0, np.zeros(3), i64([0, 0, 0]), 0, 0.0)
    one_by_one = priced_plan(inst, ("cost",), at_zero, seconds=5.0).tolist()
    monkeypatch.setattr(bound, "BATCH_FROM_PAIRS", 0)
    assert priced_plan(inst, ("cost",), at_zero, seconds=5.0).tolist() == one_by_one == [1, 2, 0]


# Agent 0 takes one item (capacity 1), agent 1 any; item 0 costs 1 or 5, item 1 costs 2 or 3.
# The best plan costs 1 + 3 = 4, and so does the relaxation at price 1 on agent 0 (items 2
# and 3, less the price of its hour). Reduced costs: item 0 on agent 1 is 5 - 2 = 3 above its
# cheapest choice, the others 0. A plan cheaper than 5 (4 at most) has room for none of it;
# none is cheaper than 4, so no pair is in one.
def test_reduced_costs_rule_out_the_pairs_no_cheaper_plan_uses():
    inst = make_alloc([0, 0], [1, 10], [(0, 0, 1), (0, 1, 1), (1, 0, 1), (1, 1, 1)], 2,
                      {"cost": AllocTerm(pair=i64([1, 5, 2, 3]))})
    priced = LagrangeBound(4, np.array([1.0, 0.0]), i64([0, 1]), 1, 4.0)
    assert may_beat(inst, ("cost",), priced, 5).tolist() == [True, False, True, True]
    assert may_beat(inst, ("cost",), priced, 4).tolist() == [False] * 4


def every_plan(inst):
    """Each item at one of its agents or (optional) nobody, in every combination."""
    options = [inst.pair_agent[inst.pair_item == i].tolist()
               + ([-1] if inst.item_optional[i] else []) for i in range(inst.n_items)]
    return [i64(p) for p in itertools.product(*options)]


@st.composite
def small_instances(draw):
    """2-3 agents, 1-6 items, random allowed pairs, costs, bands, optional items, balance
    and travel."""
    n_agents = draw(st.integers(2, 3))
    n_items = draw(st.integers(1, 6))
    pairs = [(i, a, draw(st.integers(1, 6))) for i in range(n_items) for a in range(n_agents)
             if draw(st.booleans()) or a == i % n_agents]
    hi = [draw(st.integers(4, 14)) for _ in range(n_agents)]
    lo = [draw(st.integers(0, h // 2)) for h in hi]
    optional = [draw(st.booleans()) for _ in range(n_items)]
    n_accounts = draw(st.integers(1, n_items))
    pinned = [draw(st.sampled_from([-1, -1, -1] + [a for i_, a, _ in pairs if i_ == i]))
              for i in range(n_items)]
    terms = {
        "cost": AllocTerm(pair=i64([draw(st.integers(0, 9)) for _ in pairs]),
                          unassigned=i64([draw(st.integers(0, 20)) for _ in range(n_items)])),
        "balance": AllocTerm(deviation=i64([draw(st.integers(0, 3)) for _ in range(n_agents)])),
        "travel": AllocTerm(travel=np.array([[draw(st.integers(0, 8)) for _ in range(n_agents)]
                                             for _ in range(n_accounts)])),
    }
    return make_alloc(lo, hi, pairs, n_items, terms, optional=optional,
                      agent_target=i64([(lo[a] + hi[a]) // 2 for a in range(n_agents)]),
                      item_account=i64([i % n_accounts for i in range(n_items)]),
                      fixed_agent=i64(pinned))


def optimum(inst, names) -> int | None:
    costs = [plan_cost(inst, p, names) for p in every_plan(inst)
             if allocation_is_feasible(inst, p)]
    return min(costs, default=None)


# Accounts of 1-6 items (those of 2-4 counted exactly, larger ones by shares), pinned items,
# bands, balance: the bound, after subgradient steps and after the box steps, is never above
# the optimum found by enumerating every plan. (Counting each item's travel in full breaks it:
# tried, and this test and five others fail.)
@settings(max_examples=80, deadline=None)
@given(small_instances(), st.integers(1, 30))
def test_bound_never_exceeds_the_optimum(inst, steps):
    names = tuple(inst.terms)
    found = lagrangian_bound(inst, names, 1.0, max_iterations=steps)
    best = optimum(inst, names)
    if found is None:  # a mandatory item no agent may take: no plan at all
        assert best is None
        return
    raised = tighten(inst, found, 1.0)
    assert raised.bound >= found.bound
    if best is not None:
        assert raised.bound <= best
    assert set(raised.choice.tolist()) <= set(range(-1, inst.n_agents))


# The bound with one price on the whole capacity never exceeds the optimum either (travel and
# balance, left out of it, are at least 0), and is never below each item's cheapest agent.
@settings(max_examples=80, deadline=None)
@given(small_instances(), st.integers(1, 30))
def test_capacity_bound_never_exceeds_the_optimum(inst, steps):
    from models.allocation import capacity_bound, cheapest_agent_bound
    names = tuple(inst.terms)
    found = capacity_bound(inst, names, steps)
    best = optimum(inst, names)
    if found is None:  # a mandatory item no agent may take: no plan at all
        assert best is None
        return
    assert found >= cheapest_agent_bound(inst, names)
    if best is not None:
        assert found <= best


@settings(max_examples=30, deadline=None)
@given(small_instances())
def test_bound_never_exceeds_the_proved_optimum(inst):
    found = lagrangian_bound(inst, tuple(inst.terms), 1.0)
    best = solve_with_cpsat(inst, SolveSettings(time_limit=5.0, workers=1, seed=0))
    if best.status == "OPTIMAL":
        assert found is not None and found.bound <= best.objective


@settings(max_examples=60, deadline=None)
@given(small_instances(), st.integers(0, 6))
def test_every_pair_of_a_cheaper_plan_survives_reduced_cost_fixing(inst, above):
    names = tuple(inst.terms)
    found = lagrangian_bound(inst, names, 1.0)
    if found is not None:
        found = tighten(inst, found, 1.0)
    plans = [p for p in every_plan(inst) if allocation_is_feasible(inst, p)]
    if found is None or not plans:
        return
    costs = [plan_cost(inst, p, names) for p in plans]
    upper = min(costs) + above
    keep = may_beat(inst, names, found, upper)
    for plan, cost in zip(plans, costs):
        if cost < upper:
            used = plan[inst.pair_item] == inst.pair_agent
            assert keep[used].all()
