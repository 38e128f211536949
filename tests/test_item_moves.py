"""Single moves, swaps, chains and re-chosen agents (models.item_moves): tiny plans whose best
move is computed by hand in each comment, and a property on random small companies."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from models.allocation import allocation_is_feasible
from models.allocation_lns import plan_cost
from models.instances import AllocTerm, SolveSettings
from models.instances import summed_terms
from models.item_moves import _Descent, _knapsack, improve_by_moves
from tests.test_models_allocation import i64, make_alloc

SECONDS = 5.0


def two_agents(hi, weights, cost, names=("cost",), **kwargs):
    """Items of the given weights, each with a pair to both agents (costs in pair order:
    item 0 on agents 0 and 1, then item 1...); bands from 0 to `hi`."""
    pairs = [(i, a, w) for i, w in enumerate(weights) for a in range(2)]
    return make_alloc([0, 0], list(hi), pairs, len(weights),
                      {names[0]: AllocTerm(pair=i64(cost))}, **kwargs)


# Item 0 costs 5 on agent 0 and 2 on agent 1, which has room: it moves (cost 2).
def test_an_item_moves_where_it_costs_less():
    inst = two_agents((10, 10), [4], [5, 2])
    plan = improve_by_moves(inst, i64([0]), ("cost",), SECONDS)
    assert plan.tolist() == [1]
    assert plan_cost(inst, plan, ("cost",)) == 2


# Both agents are full (4 hours each): neither item can move alone, but swapping them costs
# 1 + 1 = 2 against 5 + 5 = 10.
def test_two_items_swap_where_neither_can_move_alone():
    inst = two_agents((4, 4), [4, 4], [5, 1, 1, 5])
    plan = improve_by_moves(inst, i64([0, 1]), ("cost",), SECONDS)
    assert plan.tolist() == [1, 0]
    assert plan_cost(inst, plan, ("cost",)) == 2


# Agent 0 is full with item 0 (mandatory, 0 there, 1 on agent 1). Item 1 (optional, 10 left
# to nobody) fits agent 0 alone. Item 1 joining agent 0 while item 0 leaves for agent 1
# costs 1 against 10.
def test_a_chain_makes_room_for_an_item_left_to_nobody():
    pairs = [(0, 0, 4), (0, 1, 4), (1, 0, 4)]
    inst = make_alloc([0, 0], [4, 4], pairs, 2,
                      {"cost": AllocTerm(pair=i64([0, 1, 0]), unassigned=i64([0, 10]))},
                      optional=[False, True])
    plan = improve_by_moves(inst, i64([0, -1]), ("cost",), SECONDS)
    assert plan.tolist() == [1, 0]
    assert plan_cost(inst, plan, ("cost",)) == 1


# The same chain is not looked for where its pass's estimate does not fit the time: above
# CHAIN_SLOW_FROM_PAIRS pairs (0 here) at CHAIN_SLOW_SECONDS_PER_PAIR (an hour a pair here),
# the item stays left to nobody.
def test_a_chain_pass_on_the_largest_teams_starts_only_where_its_slower_estimate_fits(
        monkeypatch):
    pairs = [(0, 0, 4), (0, 1, 4), (1, 0, 4)]
    inst = make_alloc([0, 0], [4, 4], pairs, 2,
                      {"cost": AllocTerm(pair=i64([0, 1, 0]), unassigned=i64([0, 10]))},
                      optional=[False, True])
    monkeypatch.setattr("models.item_moves.CHAIN_SLOW_SECONDS_PER_PAIR", 3600.0)
    monkeypatch.setattr("models.item_moves.CHAIN_SLOW_FROM_PAIRS", 0)
    assert improve_by_moves(inst, i64([0, -1]), ("cost",), SECONDS).tolist() == [0, -1]
    monkeypatch.setattr("models.item_moves.CHAIN_SLOW_FROM_PAIRS", 3)
    assert improve_by_moves(inst, i64([0, -1]), ("cost",), SECONDS).tolist() == [1, 0]


# A quick descent (the largest teams': models.item_moves.QUICK_FROM_PAIRS) makes no swaps or
# chains: the two full agents keep their items (cost 10, against 2 swapped), and the item
# the chain would serve stays left to nobody (10, against 1); single moves it still makes.
def test_a_quick_descent_makes_single_moves_but_no_swaps_or_chains():
    swap = two_agents((4, 4), [4, 4], [5, 1, 1, 5])
    assert improve_by_moves(swap, i64([0, 1]), ("cost",), SECONDS, quick=True).tolist() == [0, 1]
    pairs = [(0, 0, 4), (0, 1, 4), (1, 0, 4)]
    chain = make_alloc([0, 0], [4, 4], pairs, 2,
                       {"cost": AllocTerm(pair=i64([0, 1, 0]), unassigned=i64([0, 10]))},
                       optional=[False, True])
    assert improve_by_moves(chain, i64([0, -1]), ("cost",), SECONDS,
                            quick=True).tolist() == [0, -1]
    single = two_agents((10, 10), [4], [5, 2])
    assert improve_by_moves(single, i64([0]), ("cost",), SECONDS, quick=True).tolist() == [1]


# One agent of 6 hours holds items 0 and 1 (3 hours each, 4 each to leave out). Item 2 (6
# hours) costs 10 left out. No single move, swap or chain fits; leaving 0 and 1 out to take
# item 2 costs 8 against 10.
def test_an_agent_re_chooses_its_items_where_two_make_room_for_one():
    pairs = [(0, 0, 3), (1, 0, 3), (2, 0, 6)]
    inst = make_alloc([0], [6], pairs, 3,
                      {"cost": AllocTerm(pair=i64([0, 0, 0]), unassigned=i64([4, 4, 10]))},
                      optional=[True, True, True])
    plan = improve_by_moves(inst, i64([0, 0, -1]), ("cost",), SECONDS)
    assert plan.tolist() == [-1, -1, 0]
    assert plan_cost(inst, plan, ("cost",)) == 8


def test_the_knapsack_takes_the_best_set_that_fits():
    # weights 2, 2, 3 in 4 hours: items 0 and 1 (-9) beat item 2 alone (-6)
    chosen = _knapsack(i64([-5, -4, -6]), i64([2, 2, 3]), 4, lambda w: 0 * w, 0)
    assert chosen.tolist() == [True, True, False]
    # a deviation of 10 at 4 hours: item 2 alone (-6 at 3 hours) is best
    chosen = _knapsack(i64([-5, -4, -6]), i64([2, 2, 3]), 4, lambda w: 10 * (w == 4), 0)
    assert chosen.tolist() == [False, False, True]
    # at least 4 hours: the only choice is items 0 and 1
    assert _knapsack(i64([5, 4, 6]), i64([2, 2, 3]), 4, lambda w: 0 * w, 4).tolist() \
        == [True, True, False]
    assert _knapsack(i64([1]), i64([2]), 4, lambda w: 0 * w, 3) is None


# Agent 0 (5 to 8 hours) holds items 0 and 3 (4 hours each); items 1 and 2 (2 hours) are on
# agents 1 and 2. Swapping 0 for 1 saves 10, and so does 3 for 2; either alone leaves agent 0
# at 6 hours, both at 4, under its band. A pass makes one and prices the other again later.
def test_swaps_that_share_an_agent_are_not_made_together():
    pairs = [(0, 0, 4), (0, 1, 4), (1, 0, 2), (1, 1, 2), (2, 0, 2), (2, 2, 2), (3, 0, 4),
             (3, 2, 4)]
    inst = make_alloc([5, 0, 0], [8, 10, 10], pairs, 4,
                      {"cost": AllocTerm(pair=i64([5, 0, 0, 5, 0, 5, 5, 0]))})
    descent = _Descent(inst, i64([0, 1, 2, 0]), summed_terms(inst, ("cost",)))
    assert descent.swap_pass() == 1
    assert allocation_is_feasible(inst, descent.plan)
    assert plan_cost(inst, descent.plan, ("cost",)) == 10


# Targets of 4 hours, 2 per hour off them. Item 0 alone to agent 1 saves 3 but puts both
# agents 4 hours off (16); swapping items 0 and 1 saves 3 + 1 and keeps the loads.
def test_the_balance_is_priced():
    inst = two_agents((10, 10), [4, 4], [3, 0, 0, 1], agent_target=i64([4, 4]))
    inst.terms["balance"] = AllocTerm(deviation=i64([2, 2]))
    plan = improve_by_moves(inst, i64([0, 1]), ("cost", "balance"), SECONDS)
    assert plan.tolist() == [1, 0]
    assert plan_cost(inst, plan, ("cost", "balance")) == 0


# One account's two items on two agents pay its travel (10) twice; either joining the other
# saves 10, and then nothing more gains.
def test_an_account_served_twice_is_joined_up():
    inst = two_agents((10, 10), [1, 1], [0, 0, 0, 0], item_account=i64([0, 0]))
    inst.terms["travel"] = AllocTerm(travel=np.array([[10, 10]]))
    plan = improve_by_moves(inst, i64([0, 1]), ("cost", "travel"), SECONDS)
    assert plan[0] == plan[1]
    assert plan_cost(inst, plan, ("cost", "travel")) == 10


# Both items of one account on agent 0 pay its travel (10) once. Item 1 moving to agent 1
# makes the account pay it there too (+10); once item 0 has moved there, either item following
# the other saves the travel at one agent (-10). Prices within a pass count the moves made
# before.
def test_a_move_is_priced_with_the_moves_made_before_it():
    inst = two_agents((10, 10), [1, 1], [0, 0, 0, 0], item_account=i64([0, 0]))
    inst.terms["travel"] = AllocTerm(travel=np.array([[10, 10]]))
    descent = _Descent(inst, i64([0, 0]), summed_terms(inst, ("cost", "travel")))
    descent.count_served()
    assert descent.shift_change(1, 1) == 10
    descent.move(0, 1)
    assert descent.shift_change(1, 1) == -10
    assert descent.shift_change(0, 0) == -10


# Every move of an account of two items on two agents (travel 10 at each; item 0 costs 0 / 4 on
# agents 0 / 1, item 1 2 / 0), with balance (target 1 on each agent, 3 an hour off it), priced
# by its known pair as by the pair looked up: the same, before and after a move made by its
# pair (item 0 to agent 1: pair 1).
def test_a_move_priced_by_its_pair_costs_what_it_costs_looked_up():
    inst = two_agents((10, 10), [1, 1], [0, 4, 2, 0], item_account=i64([0, 0]),
                      agent_target=i64([1, 1]))
    inst.terms["travel"] = AllocTerm(travel=np.array([[10, 10]]))
    inst.terms["balance"] = AllocTerm(deviation=i64([3, 3]))
    descent = _Descent(inst, i64([0, 0]), summed_terms(inst, tuple(inst.terms)))
    descent.count_served()
    pair = {(0, 0): 0, (0, 1): 1, (1, 0): 2, (1, 1): 3}

    def both(item, agent):
        return descent.shift_change(item, agent, pair[item, agent]), \
            descent.shift_change(item, agent)
    before = {(i, a): both(i, a) for i in range(2) for a in range(2)}
    assert all(by_pair == looked_up for by_pair, looked_up in before.values())
    descent.move(0, 1, 1)
    assert descent.pair[0] == 1 and descent.load.tolist() == [1, 1]
    after = {(i, a): both(i, a) for i in range(2) for a in range(2)}
    assert all(by_pair == looked_up for by_pair, looked_up in after.values())
    # item 1 to agent 1 now: -2 on its pair, agent 0 from its target (+3) and no longer
    # paying travel (-10), agent 1 above its target (+3)
    assert after[1, 1] == (-6, -6)


# One account's two items on agent 0 pay travel 10 there; agent 1's travel is 2. Either item
# moving alone would make the account pay both (+2); the whole account moving saves 8.
def test_a_whole_account_moves_where_single_items_would_not():
    inst = two_agents((10, 10), [1, 1], [0, 0, 0, 0], item_account=i64([0, 0]))
    inst.terms["travel"] = AllocTerm(travel=np.array([[10, 2]]))
    plan = improve_by_moves(inst, i64([0, 0]), ("cost", "travel"), SECONDS)
    assert plan.tolist() == [1, 1]
    assert plan_cost(inst, plan, ("cost", "travel")) == 2
    # with agent 1 holding at most one hour it cannot take the account: nothing moves
    tight = two_agents((10, 1), [1, 1], [0, 0, 0, 0], item_account=i64([0, 0]))
    tight.terms["travel"] = inst.terms["travel"]
    assert improve_by_moves(tight, i64([0, 0]), ("cost", "travel"), SECONDS).tolist() == [0, 0]


# Two such accounts (travel 10 at agent 0; 2 and 3 at agent 1), agent 1 with room for one:
# the one that saves more (8) moves, and the other, priced again, no longer fits.
def test_accounts_move_while_they_fit():
    inst = two_agents((10, 2), [1, 1, 1, 1], [0] * 8, item_account=i64([0, 0, 1, 1]))
    inst.terms["travel"] = AllocTerm(travel=np.array([[10, 2], [10, 3]]))
    plan = improve_by_moves(inst, i64([0, 0, 0, 0]), ("cost", "travel"), SECONDS)
    assert plan.tolist() == [1, 1, 0, 0]
    assert plan_cost(inst, plan, ("cost", "travel")) == 12


# Item 0 is pinned to agent 0 (5 there, 0 on agent 1) and stays; item 1 is mandatory and
# costs nothing left out, yet stays held.
def test_pinned_items_stay_and_mandatory_items_stay_held():
    inst = two_agents((10, 10), [1, 1], [5, 0, 3, 3], fixed_agent=i64([0, -1]))
    inst.terms["cost"] = AllocTerm(pair=i64([5, 0, 3, 3]), unassigned=i64([0, 0]))
    plan = improve_by_moves(inst, i64([0, 1]), ("cost",), SECONDS)
    assert plan.tolist() == [0, 1]


@st.composite
def companies(draw):
    """Three agents, up to eight items (some optional, some pinned) of one to four accounts,
    random costs, weights, travel, targets and bands, with a plan that holds the bands."""
    n_agents = 3
    n_items = draw(st.integers(1, 8))
    account = np.array(draw(st.lists(st.integers(0, 3), min_size=n_items, max_size=n_items)))
    optional = draw(st.lists(st.booleans(), min_size=n_items, max_size=n_items))
    pairs = [(i, a, draw(st.integers(1, 5))) for i in range(n_items) for a in range(n_agents)
             if draw(st.booleans()) or a == 0]
    owners = [[a for i2, a, _ in pairs if i2 == i] for i in range(n_items)]
    plan = np.array([draw(st.sampled_from(owners[i] + ([-1] if optional[i] else [])))
                     for i in range(n_items)])
    weight = {(i, a): w for i, a, w in pairs}
    load = np.zeros(n_agents, dtype=int)
    for i, a in enumerate(plan.tolist()):
        if a >= 0:
            load[a] += weight[i, a]
    slack = draw(st.lists(st.integers(0, 6), min_size=2 * n_agents, max_size=2 * n_agents))
    pinned = [draw(st.integers(0, 5)) == 0 and plan[i] >= 0 for i in range(n_items)]
    n = len(pairs)
    terms = {
        "cost": AllocTerm(pair=i64(draw(st.lists(st.integers(0, 9), min_size=n, max_size=n))),
                          unassigned=i64(draw(st.lists(st.integers(0, 20), min_size=n_items,
                                                       max_size=n_items)))),
        "travel": AllocTerm(travel=np.array(draw(st.lists(
            st.integers(0, 9), min_size=4 * n_agents, max_size=4 * n_agents))).reshape(4, 3)),
        "balance": AllocTerm(deviation=i64(draw(st.lists(st.integers(0, 3), min_size=3,
                                                         max_size=3)))),
    }
    inst = make_alloc(np.maximum(0, load - slack[:n_agents]).tolist(),
                      (load + slack[n_agents:]).tolist(), pairs, n_items, terms,
                      optional=optional, item_account=i64(account),
                      agent_target=i64(draw(st.lists(st.integers(0, 12), min_size=3,
                                                     max_size=3))),
                      fixed_agent=i64([a if p else -1 for a, p in zip(plan.tolist(), pinned)]))
    return inst, i64(plan)


NAMES = ("cost", "travel", "balance")


def single_moves(inst, plan):
    """Every plan one move away that holds the bands and keeps pins and mandatory items."""
    for i in range(inst.n_items):
        if inst.fixed_agent[i] >= 0:
            continue
        options = inst.pair_agent[inst.pair_item == i].tolist()
        options += [-1] if inst.item_optional[i] else []
        for a in options:
            if a != plan[i]:
                moved = plan.copy()
                moved[i] = a
                if allocation_is_feasible(inst, moved):
                    yield moved


# On random small companies the plan holds every band, keeps pins, costs no more, and no
# single move would make it cheaper.
@settings(max_examples=80, deadline=None)
@given(companies())
def test_moves_keep_the_bands_and_end_where_no_single_move_gains(company):
    inst, plan = company
    moved = improve_by_moves(inst, plan, NAMES, SECONDS)
    assert allocation_is_feasible(inst, moved)
    cost = plan_cost(inst, moved, NAMES)
    assert cost <= plan_cost(inst, plan, NAMES)
    pinned = inst.fixed_agent >= 0
    assert np.array_equal(moved[pinned], plan[pinned])
    assert all(plan_cost(inst, other, NAMES) >= cost for other in single_moves(inst, moved))


# Its first pass estimated at 0.5 s (2 pairs x 0.25 s), the descent needs twice that: in 0.9 s
# it leaves the plan alone (cost 5), in 1.5 s it moves item 0 to agent 1 (cost 2). As a
# team's last step it needs the estimate once: in 0.9 s it moves item 0.
def test_a_descent_starts_only_where_its_first_pass_fits_twice(monkeypatch):
    import models.item_moves as moves
    monkeypatch.setattr(moves, "SETUP_SECONDS_PER_PAIR", 0.0)
    monkeypatch.setattr(moves, "SHIFT_SECONDS_PER_PAIR", 0.25)
    inst = two_agents((10, 10), [4], [5, 2])
    assert moves.descent_least_seconds(inst) == 1.0
    assert moves.descent_least_seconds(inst, last=True) == 0.5
    assert improve_by_moves(inst, i64([0]), ("cost",), 0.9).tolist() == [0]
    assert improve_by_moves(inst, i64([0]), ("cost",), 1.5).tolist() == [1]
    assert improve_by_moves(inst, i64([0]), ("cost",), 0.9, last=True).tolist() == [1]


# The same descent needs 1.0 s. Its share of a 10 s team (0.05: 0.5 s) is too short, and 1.0 s
# is within three quarters of the 10 s left: it gets 1.0 s. Of a 1.2 s team it could have at
# most 0.9 s: it keeps its share (0.06 s, and does not start). A share that fits (0.2: 2 s) stays.
def test_a_descent_too_long_for_its_share_gets_the_least_it_needs_where_that_fits(monkeypatch):
    import time
    import models.allocation as allocation
    import models.item_moves as moves
    monkeypatch.setattr(moves, "SETUP_SECONDS_PER_PAIR", 0.0)
    monkeypatch.setattr(moves, "SHIFT_SECONDS_PER_PAIR", 0.25)
    inst = two_agents((10, 10), [4], [5, 2])

    def seconds(limit, share):
        return allocation._descent_seconds(inst, SolveSettings(time_limit=limit),
                                           time.monotonic(), share)
    assert seconds(10.0, 0.05) == 1.0
    assert seconds(1.2, 0.05) == pytest.approx(0.06, abs=0.01)
    assert seconds(10.0, 0.2) == pytest.approx(2.0, abs=0.01)
