"""The repair by priced moves (models.band_repair): tiny plans outside their bands whose
cheapest mend is computed by hand in each comment, and on random small teams that it mends
without breaking what held."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from hypothesis import given, settings, strategies as st

from models.allocation import allocation_is_feasible, into_bands
from models.allocation_lns import plan_cost
from models.band_repair import priced_repair
from models.instances import AllocTerm
from models.warm_start import repair_allocation
from tests.test_models_allocation import agent_loads, i64, make_alloc


def three_items_on_agent_0(hint):
    """Agents 0, 1, 2 with bands [0, 2]; three 1-hour items that cost 0 on agent 0, and on
    agents 1 / 2: item 0 5 / 9, item 1 2 / 7, item 2 8 / 3."""
    cost = {(0, 1): 5, (0, 2): 9, (1, 1): 2, (1, 2): 7, (2, 1): 8, (2, 2): 3}
    pairs = [(i, a, 1) for i in range(3) for a in range(3)]
    return make_alloc([0, 0, 0], [2, 2, 2], pairs, 3,
                      {"cost": AllocTerm(pair=i64([cost.get((i, a), 0) for i, a, _ in pairs]))},
                      hint_agent=i64(hint))


# All three on agent 0 (3 hours, maximum 2): one must go; the cheapest move is item 1 to
# agent 1 (+2). The repair by rules alone moves another (its choice ignores the cost).
def test_the_cheapest_item_leaves_an_agent_above_its_maximum():
    inst = three_items_on_agent_0([0, 0, 0])
    plan = priced_repair(inst, ("cost",), inst.hint_agent)
    assert plan.tolist() == [0, 1, 0]
    assert plan_cost(inst, plan, ("cost",)) == 2
    assert plan_cost(inst, repair_allocation(inst), ("cost",)) > 2
    assert into_bands(inst, ("cost",), inst.hint_agent).tolist() == [0, 1, 0]


# Agent 0 is 2 hours over its maximum of 2 (items A of 2 hours, B and C of 1); on agent 1
# (room for all) A costs 5, B and C 3 each. Per hour of the breach A costs 2.5 and B or C 3:
# A moves (5), not B and C (6), though each of those is cheaper than A alone.
def test_moves_are_chosen_per_hour_of_the_breach():
    pairs = [(0, 0, 2), (0, 1, 2), (1, 0, 1), (1, 1, 1), (2, 0, 1), (2, 1, 1)]
    inst = make_alloc([0, 0], [2, 4], pairs, 3,
                      {"cost": AllocTerm(pair=i64([0, 5, 0, 3, 0, 3]))})
    plan = priced_repair(inst, ("cost",), i64([0, 0, 0]))
    assert plan.tolist() == [1, 0, 0]
    assert plan_cost(inst, plan, ("cost",)) == 5


# Agent 0 (band [2, 3]) holds item 0 (1 hour); agent 1 ([0, 3]) holds items 1 and 2, agent 2
# ([1, 3]) item 3, all at cost 0. On agent 0 item 1 costs 4, item 2 1, item 3 0, but agent 2
# would fall below its minimum: item 2 comes (+1).
def test_an_agent_below_its_minimum_takes_the_cheapest_item_that_can_leave():
    pairs = [(0, 0, 1), (1, 0, 1), (1, 1, 1), (2, 0, 1), (2, 1, 1), (3, 0, 1), (3, 2, 1)]
    inst = make_alloc([2, 0, 1], [3, 3, 3], pairs, 4,
                      {"cost": AllocTerm(pair=i64([0, 4, 0, 1, 0, 0, 0]))})
    plan = priced_repair(inst, ("cost",), i64([0, 1, 1, 2]))
    assert plan.tolist() == [0, 1, 0, 2]
    assert agent_loads(inst, plan).tolist() == [2, 1, 1]


# Agent 0 ([0, 2]) holds items 0 and 1 of account 0 and item 2 of account 1, an hour each;
# agent 1 has room. Travel: account 0 6 to agent 0, 10 to agent 1; account 1 4 and 10. Item 0
# to agent 1 adds 10 (agent 0 still serves account 0); item 2 adds 10 - 4 = 6: item 2 goes,
# travel 6 + 10 = 16.
def test_travel_prices_the_move():
    pairs = [(i, a, 1) for i in range(3) for a in range(2)]
    inst = make_alloc([0, 0], [2, 3], pairs, 3,
                      {"travel": AllocTerm(travel=np.array([[6, 10], [4, 10]]))},
                      item_account=i64([0, 0, 1]))
    plan = priced_repair(inst, ("travel",), i64([0, 0, 0]))
    assert plan.tolist() == [0, 0, 1]
    assert plan_cost(inst, plan, ("travel",)) == 16


# Agent 0 ([0, 1]) holds items 0 and 1 (an hour each); on agent 1 either costs 9, and item 1
# may go to nobody for 3: it does.
def test_an_optional_item_is_left_out_where_that_is_cheapest():
    pairs = [(0, 0, 1), (0, 1, 1), (1, 0, 1), (1, 1, 1)]
    inst = make_alloc([0, 0], [1, 1], pairs, 2,
                      {"cost": AllocTerm(pair=i64([0, 9, 0, 9]), unassigned=i64([0, 3]))},
                      optional=[False, True])
    assert priced_repair(inst, ("cost",), i64([0, 0])).tolist() == [0, -1]


# The items of the first test, item 1 pinned to agent 0 and item 0 hinted on a pair that does
# not exist (agent 3): the pin holds, and item 0 goes where it costs least with room, agent 1
# (5; agent 0 is full).
def test_pins_hold_and_items_on_impossible_pairs_are_placed_anew():
    inst = three_items_on_agent_0([0, 0, 0])
    pinned = replace(inst, fixed_agent=i64([-1, 0, -1]))
    assert priced_repair(pinned, ("cost",), i64([3, 2, 0])).tolist() == [1, 0, 0]
    assert into_bands(pinned, ("cost",), i64([3, 2, 0])).tolist() == [1, 0, 0]


# An unassigned optional item is placed where that costs less than leaving it out: item 1 of
# the test before costs 9 on agent 1 and 20 left out (agent 0 is full): it goes to agent 1.
def test_an_optional_item_is_placed_where_that_is_cheaper():
    pairs = [(0, 0, 1), (0, 1, 1), (1, 0, 1), (1, 1, 1)]
    inst = make_alloc([0, 0], [1, 1], pairs, 2,
                      {"cost": AllocTerm(pair=i64([0, 9, 0, 9]), unassigned=i64([0, 20]))},
                      optional=[False, True])
    assert priced_repair(inst, ("cost",), i64([0, -1])).tolist() == [0, 1]


@st.composite
def teams(draw):
    """Three agents, up to 10 items of up to 3 hours in up to 4 accounts, any hint."""
    n_items = draw(st.integers(1, 10))
    pairs = [(i, a, draw(st.integers(1, 3))) for i in range(n_items) for a in range(3)
             if draw(st.booleans()) or a == i % 3]
    lo = [draw(st.integers(0, 4)) for _ in range(3)]
    hi = [x + draw(st.integers(0, 6)) for x in lo]
    terms = {"cost": AllocTerm(pair=i64([draw(st.integers(0, 9)) for _ in pairs]),
                               unassigned=i64([draw(st.integers(0, 20)) for _ in range(n_items)])),
             "travel": AllocTerm(travel=np.array([[draw(st.integers(0, 9)) for _ in range(3)]
                                                  for _ in range(4)]))}
    optional = [draw(st.booleans()) for _ in range(n_items)]
    account = i64([draw(st.integers(0, 3)) for _ in range(n_items)])
    hint = i64([draw(st.integers(-1, 2)) for _ in range(n_items)])
    return make_alloc(lo, hi, pairs, n_items, terms, optional=optional, item_account=account), hint


def breach(inst, plan) -> np.ndarray:
    load = agent_loads(inst, plan)
    return np.maximum(inst.agent_lo - load, 0) + np.maximum(load - inst.agent_hi, 0)


# On random small teams: items only on pairs that exist, no agent further outside its band
# than it was, and an agent inside stays inside.
@settings(max_examples=150, deadline=None)
@given(teams())
def test_no_band_is_broken_further(team):
    inst, hint = team
    valid = np.array([any(i == pi and a == pa for pi, pa in zip(inst.pair_item, inst.pair_agent))
                      for i, a in enumerate(hint)])
    before = breach(inst, np.where(valid, hint, -1))
    plan = priced_repair(inst, ("cost", "travel"), hint)
    after = breach(inst, plan)
    assert (after <= before).all()
    held = (plan < 0) | np.array([any(i == pi and a == pa for pi, pa in
                                      zip(inst.pair_item, inst.pair_agent))
                                  for i, a in enumerate(plan)])
    assert held.all()
