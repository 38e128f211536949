"""The divisible allocation as a min-cost flow (models.allocation_flow) and the core search it
feeds (models.allocation._core_start), its rounding as a start (models.allocation._flow_rounding):
choices, splits and cores computed by hand on tiny instances (each comment gives the flow's
optimum)."""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest

from models.allocation import _core_start, _flow_rounding, _relax_and_start
from models.allocation_bound import lagrangian_bound
import models.allocation_flow as flow_module
import models.flow_apart as flow_apart
from models.allocation_flow import _costs, _first_columns, flow_applies, flow_choices, flow_core
from models.allocation_lns import plan_cost
from models.instances import AllocTerm, SolveSettings
from tests.test_models_allocation import i64, make_alloc

SETTINGS = SolveSettings(time_limit=5.0, workers=1, seed=0)
PAIRS = [(0, 0, 4), (0, 1, 4), (1, 0, 4), (1, 1, 4), (2, 0, 4), (2, 1, 4)]


def three_items(lo=(0, 0), hi=(7, 20), **kwargs):
    """Three items of 4 hours. Agent 0 costs nothing; agent 1 costs 10, 20 and 30 for items
    0, 1 and 2 (2.5, 5 and 7.5 per hour)."""
    return make_alloc(list(lo), list(hi), PAIRS, 3,
                      {"cost": AllocTerm(pair=i64([0, 10, 0, 20, 0, 30]))}, **kwargs)


# Agent 0's 7 hours go where an hour saves most: item 2's 4 hours (7.5 each), then 3 of item
# 1's (5 each); item 1's last hour and item 0 go to agent 1.
def test_the_flow_fills_the_cheap_agent_by_savings_per_hour_and_splits_one_item():
    found = flow_choices(three_items(), ("cost",))
    assert found.agent.tolist() == [1, 0, 0]
    assert found.split.tolist() == [False, True, False]


# Agent 1 must work at least 8 hours, so agent 0 keeps only item 2 (4 hours): nothing splits.
def test_the_band_minimum_is_filled_before_any_saving():
    found = flow_choices(three_items(lo=(0, 8)), ("cost",))
    assert found.agent.tolist() == [1, 1, 0]
    assert not found.split.any()


# Item 2 pinned to agent 1: agent 0's 7 hours go to item 1 (4) and 3 of item 0's.
def test_a_pinned_item_stays_with_its_agent():
    found = flow_choices(three_items(fixed_agent=i64([-1, -1, 1])), ("cost",))
    assert found.agent.tolist() == [0, 0, 1]
    assert found.split.tolist() == [True, False, False]


# Twelve mandatory hours, ten hours of room: no flow places them all.
def test_no_flow_when_mandatory_hours_do_not_fit():
    assert flow_choices(three_items(hi=(5, 5)), ("cost",)) is None


# An optional item that costs 3 when nobody takes it and 10 or 20 on an agent goes to nobody.
def test_an_optional_item_goes_to_nobody_when_that_is_cheapest():
    inst = make_alloc([0, 0], [10, 10], [(0, 0, 4), (0, 1, 4)], 1,
                      {"cost": AllocTerm(pair=i64([10, 20]), unassigned=i64([3]))},
                      optional=[True])
    assert flow_choices(inst, ("cost",)).agent.tolist() == [-1]


# Two items of 4 hours that cost nothing anywhere; 1 per hour away from the target. With
# agent 0's target at 8 and agent 1's at 0, both go to agent 0 (no deviation); the other way
# round, both to agent 1.
def test_the_balance_pulls_the_hours_to_the_targets():
    def inst(targets):
        return make_alloc([0, 0], [10, 10], [(0, 0, 4), (0, 1, 4), (1, 0, 4), (1, 1, 4)], 2,
                          {"balance": AllocTerm(deviation=i64([1, 1]))},
                          agent_target=i64(targets))
    assert flow_choices(inst([8, 0]), ("balance",)).agent.tolist() == [0, 0]
    assert flow_choices(inst([0, 8]), ("balance",)).agent.tolist() == [1, 1]


# Only the named terms count: with "cost" left out every pair costs nothing, and the flow
# has no reason to prefer agent 0 over agent 1 for item 2 (7.5 per hour saved otherwise).
def test_only_the_named_terms_are_priced():
    inst = three_items()
    terms = dict(inst.terms, other=AllocTerm(pair=i64([0, 0, 0, 0, 9, 0])))
    found = flow_choices(replace(inst, terms=terms), ("other",))
    assert found.agent[2] == 1


# Round 1 is the first test's flow (item 1 split, pinned to agent 0 for round 2); round 2
# gives agent 0 item 1 (4 hours) and 3 of item 2's, which splits. The core is every pair used,
# with both pairs of each split item: all but item 0's pair with agent 0.
def test_the_core_gathers_the_pairs_of_each_rounding():
    assert flow_core(three_items(), ("cost",), rounds=1).pairs.tolist() == \
        [False, True, True, True, True, False]
    found = flow_core(three_items(), ("cost",), rounds=2)
    assert found.pairs.tolist() == [False, True, True, True, True, True]
    assert found.rounded.tolist() == [1, 0, 0]  # the first solve's choices


def core_start(inst, start, seconds=5.0):
    return _core_start(inst, SETTINGS, flow_choices(inst, tuple(inst.terms)), start, seconds)


def test_the_flow_applies_where_items_weigh_the_same_on_most_agents():
    assert flow_applies(three_items())
    # a weight per agent, as in the generalized assignment benchmark: a third of the pairs
    # carry their item's largest weight
    varied = make_alloc([0, 0, 0], [9, 9, 9], [(0, 0, 4), (0, 1, 5), (0, 2, 6)], 1,
                        {"cost": AllocTerm(pair=i64([0, 0, 0]))})
    assert not flow_applies(varied)


# From every item on agent 1 (10 + 20 + 30 = 60): the flow's rounding [1, 0, 0] puts 8 hours
# on agent 0 (7 of room); priced back under it, item 1 (saving 5 per hour) goes to agent 1
# rather than item 2 (7.5): [1, 1, 0], the optimum, 10 + 20 = 30.
def test_the_flows_rounding_under_the_maxima_is_a_start():
    inst = three_items()
    relaxed = lagrangian_bound(inst, ("cost",), seconds=1.0)
    found = _flow_rounding(inst, ("cost",), relaxed, flow_choices(inst, ("cost",)), 1.0)
    assert found.tolist() == [1, 1, 0]
    assert plan_cost(inst, found, ("cost",)) == 30


# The relaxation's priced plans made poor (every item on agent 1, 60), the rounding is the
# start the team's first descent gets: [1, 1, 0], 30 (before, the core made it after that
# descent had spent its time on the dearer start).
def test_the_flows_rounding_is_among_the_starts(monkeypatch):
    import models.allocation as allocation
    real = allocation.priced_plan
    monkeypatch.setattr(allocation, "priced_plan", lambda *args, choice=None, **kwargs:
                        i64([1, 1, 1]) if choice is None else real(*args, choice=choice, **kwargs))
    relaxed, start, flow = _relax_and_start(three_items(hint_agent=i64([1, 1, 1])), SETTINGS)
    assert flow is not None and relaxed is not None
    assert start.tolist() == [1, 1, 0]


# Three items as above and a third agent dearer than agent 1 (40 an item): the flow and the
# optimum as above. A team's solution carries the flow its engine computed (here one that goes
# without CP-SAT's whole model, as teams of more than LNS_ONLY_PAIRS pairs do); solved again
# with that flow as its hint, the engine takes it as it is (the flow is not computed again), but not a flow whose
# column generation stopped at its deadline, nor one of another instance (four items).
def test_a_second_solve_takes_the_first_solves_flow(monkeypatch):
    import models.allocation as allocation
    monkeypatch.setattr(allocation, "skips_cpsat", lambda *args, **kwargs: True)
    pairs = PAIRS + [(0, 2, 4), (1, 2, 4), (2, 2, 4)]  # a third agent, dearer than agent 1
    inst = make_alloc([0, 0, 0], [7, 20, 20], pairs, 3,
                      {"cost": AllocTerm(pair=i64([0, 10, 0, 20, 0, 30, 40, 40, 40]))},
                      hint_agent=i64([1, 1, 1]))
    settings = replace(SETTINGS, time_limit=0.3)
    first = allocation._engine(inst, settings)
    assert first.flow is not None and first.flow.settled
    assert first.flow.agent.tolist() == [1, 0, 0]
    computed = []
    real = allocation.flow_choices
    monkeypatch.setattr(allocation, "flow_choices",
                        lambda *args, **kwargs: computed.append(1) or real(*args, **kwargs))
    again = allocation._engine(replace(inst, hint_flow=first.flow), settings)
    assert computed == [] and again.flow is first.flow and again.objective == 30
    cut = replace(first.flow, settled=False)
    assert allocation._flow_of(replace(inst, hint_flow=cut), ("cost",), 5.0) is not cut
    other = replace(first.flow, agent=i64([1, 0, 0, 0]))
    assert allocation._flow_of(replace(inst, hint_flow=other), ("cost",), 5.0) is not other
    assert computed == [1, 1]


# The same team as one that gives its time back (above QUICK_FROM_PAIRS pairs, 0 here): it
# ends once its descent stops, its neighbourhood search asked for no time and no capacity
# bound computed beside its relaxation's; its plan is still the optimum (30). Below it, the
# search gets what is left of the team's time.
def test_a_team_that_gives_back_its_time_ends_after_its_descent(monkeypatch):
    import models.allocation as allocation
    monkeypatch.setattr(allocation, "skips_cpsat", lambda *args, **kwargs: True)
    pairs = PAIRS + [(0, 2, 4), (1, 2, 4), (2, 2, 4)]
    inst = make_alloc([0, 0, 0], [7, 20, 20], pairs, 3,
                      {"cost": AllocTerm(pair=i64([0, 10, 0, 20, 0, 30, 40, 40, 40]))},
                      hint_agent=i64([1, 1, 1]))
    asked, capacity = [], []
    real_search, real_capacity = allocation.improve_by_neighbourhoods, allocation.capacity_bound
    monkeypatch.setattr(allocation, "improve_by_neighbourhoods", lambda inst, plan, settings,
                        seconds, *args, **kwargs: asked.append(seconds)
                        or real_search(inst, plan, settings, seconds, *args, **kwargs))
    monkeypatch.setattr(allocation, "capacity_bound", lambda *args, **kwargs:
                        capacity.append(1) or real_capacity(*args, **kwargs))
    settings = replace(SETTINGS, time_limit=2.0)
    monkeypatch.setattr(allocation, "QUICK_FROM_PAIRS", 0)
    given_back = allocation._engine(inst, settings)
    assert given_back.objective == 30 and len(asked) == 1 and asked[0] <= 0 and capacity == []
    monkeypatch.setattr(allocation, "QUICK_FROM_PAIRS", 10)
    kept = allocation._engine(inst, settings)
    assert kept.objective == 30 and len(asked) == 2 and asked[1] > 1.0


# The optimum as the start: nothing is cheaper, and the start comes back as it is.
def test_the_core_search_keeps_an_optimal_start():
    start = i64([1, 1, 0])
    assert core_start(three_items(), start) is start


# CP-SAT on the core (all pairs but item 0's with agent 0, and the start's) finds the optimum
# from a poor start.
def test_the_core_search_finds_the_optimum_from_a_poor_start(monkeypatch):
    import models.allocation as allocation
    monkeypatch.setattr(allocation, "CORE_MIN_PAIRS", 0)  # (a team this small is CP-SAT's)
    inst = three_items()
    found = core_start(inst, i64([1, 1, 1]))
    assert found.tolist() == [1, 1, 0]
    assert plan_cost(inst, found, ("cost",)) == 30


# Too little time for the search, or a team small enough for CP-SAT's whole model: the
# start as it came.
def test_the_core_search_needs_time_and_a_larger_team(monkeypatch):
    import models.allocation as allocation
    start = i64([1, 1, 1])
    assert core_start(three_items(), start) is start
    monkeypatch.setattr(allocation, "CORE_MIN_PAIRS", 0)
    assert core_start(three_items(), start, seconds=0.0) is start
    assert np.array_equal(start, [1, 1, 1])


# One account's item: travel 10 to agent 0, 3 to agent 1, nothing else: agent 1.
def test_travel_is_priced():
    inst = make_alloc([0, 0], [10, 10], [(0, 0, 4), (0, 1, 4)], 1,
                      {"travel": AllocTerm(travel=np.array([[10, 3]]))}, item_account=i64([0]))
    assert flow_choices(inst, ("travel",)).agent.tolist() == [1]


# The first test's flow: item 1 is split between agent 0 (full) and agent 1 (room to spare),
# so an hour on agent 0 is worth what item 1 saves there per hour, 5, and one on agent 1
# nothing. At those prices the Lagrangian relaxation is the divisible optimum: items 10 + 20
# + 20 (each at its cheapest priced agent) less 5 x 7 for agent 0's hours = 15, the flow's
# cost (item 0 on agent 1, 10, and a quarter of item 1 there, 5).
def test_the_flows_prices_are_its_duals_and_give_the_relaxations_optimum():
    inst = three_items()
    prices = flow_choices(inst, ("cost",)).prices
    assert prices == pytest.approx([5.0, 0.0], abs=1e-4)
    assert lagrangian_bound(inst, ("cost",), 1.0, prices=prices, max_iterations=1).bound == 15


# A rep who serves part of an item carries less of it (2 of its 4 hours, the rest unmet); the
# flow charges that pair the item's whole 4 hours of room, so agent 1 (3 hours of room) takes
# only 3 of them (at 1/4 per hour) and agent 0 the last (at 10/4): the item splits, though a
# plan may give it to agent 1 whole (2 hours). The flow never promises room a plan lacks.
def test_a_partial_pair_is_charged_the_items_whole_room():
    inst = make_alloc([0, 0], [10, 3], [(0, 0, 4), (0, 1, 2)], 1,
                      {"cost": AllocTerm(pair=i64([10, 1]))})
    found = flow_choices(inst, ("cost",))
    assert found.agent.tolist() == [1]
    assert found.split.tolist() == [True]


def by_columns(monkeypatch, first_pairs: int = 1, settled: float = 0.0) -> None:
    """Every flow solved by column generation from each item's `first_pairs` cheapest pairs,
    stopping where at most `settled` of the items have a pair priced below zero."""
    monkeypatch.setattr("models.allocation_flow.SPARSE_FROM_PAIRS", 0)
    monkeypatch.setattr("models.allocation_flow.SPARSE_PAIRS", first_pairs)
    monkeypatch.setattr("models.allocation_flow.ENTERING_PAIRS", 1)
    monkeypatch.setattr("models.allocation_flow.SETTLED_SHARE", settled)


# Each item's cheapest pair is agent 0's (pairs 0, 2, 4), found one item at a time.
def test_the_first_columns_are_each_items_cheapest(monkeypatch):
    monkeypatch.setattr("models.allocation_flow.SPARSE_PAIRS", 1)
    monkeypatch.setattr("models.allocation_flow.SLICE_PAIRS", 2)
    inst = three_items()
    first = _first_columns(inst, _costs(inst, ("cost",)), np.full(3, -1))
    assert sorted(first.tolist()) == [0, 2, 4]


# From agent 0's pairs alone, 5 of the 12 hours have no room but the stand-ins; their duals
# bring agent 1's pairs in, and the optimum is the whole network's (the first test): item 0
# on agent 1, item 1 split, agent 0's hour worth 5.
def test_column_generation_reaches_the_whole_networks_optimum(monkeypatch):
    by_columns(monkeypatch)
    found = flow_choices(three_items(), ("cost",))
    assert found.agent.tolist() == [1, 0, 0]
    assert found.split.tolist() == [False, True, False]
    assert found.prices == pytest.approx([5.0, 0.0], abs=1e-4)


def test_column_generation_keeps_pins_and_finds_no_flow_where_none_fits(monkeypatch):
    by_columns(monkeypatch)
    found = flow_choices(three_items(fixed_agent=i64([-1, -1, 1])), ("cost",))
    assert found.agent.tolist() == [0, 0, 1]
    assert flow_choices(three_items(hi=(5, 5)), ("cost",)) is None


# Agent 1 must work 8 hours; agent 0's pairs alone place every item (12 hours of room) but
# leave that minimum empty. Stopping when every item may still gain keeps that first flow;
# going on reaches the optimum (the second test), two items on agent 1.
def test_column_generation_stops_once_few_items_would_gain(monkeypatch):
    by_columns(monkeypatch, settled=1.0)
    assert flow_choices(three_items(lo=(0, 8), hi=(20, 20)), ("cost",)).agent.tolist() == [0, 0, 0]
    by_columns(monkeypatch, settled=0.0)
    assert flow_choices(three_items(lo=(0, 8), hi=(20, 20)), ("cost",)).agent.tolist() == [1, 1, 0]


# The same stop by the share for the largest teams: above SETTLED_LARGEST_FROM pairs (0 here)
# SETTLED_SHARE_LARGEST (every item may gain: the first flow) counts, below it SETTLED_SHARE
# (none: the optimum).
def test_the_largest_teams_settle_by_their_own_share(monkeypatch):
    by_columns(monkeypatch, settled=0.0)
    monkeypatch.setattr("models.allocation_flow.SETTLED_SHARE_LARGEST", 1.0)
    inst = three_items(lo=(0, 8), hi=(20, 20))
    monkeypatch.setattr("models.allocation_flow.SETTLED_LARGEST_FROM", 0)
    assert flow_choices(inst, ("cost",)).agent.tolist() == [0, 0, 0]
    monkeypatch.setattr("models.allocation_flow.SETTLED_LARGEST_FROM", 10 ** 9)
    assert flow_choices(inst, ("cost",)).agent.tolist() == [1, 1, 0]


# The largest teams also stop after SOLVES_LARGEST solves: after one, the first flow (every
# item on agent 0, no stand-in in use) is kept where the optimum needs a second; after two,
# the optimum.
def test_the_largest_teams_stop_after_their_number_of_solves(monkeypatch):
    by_columns(monkeypatch, settled=0.0)
    monkeypatch.setattr("models.allocation_flow.SETTLED_SHARE_LARGEST", 0.0)
    monkeypatch.setattr("models.allocation_flow.SETTLED_LARGEST_FROM", 0)
    inst = three_items(lo=(0, 8), hi=(20, 20))
    monkeypatch.setattr("models.allocation_flow.SOLVES_LARGEST", 1)
    assert flow_choices(inst, ("cost",)).agent.tolist() == [0, 0, 0]
    monkeypatch.setattr("models.allocation_flow.SOLVES_LARGEST", 2)
    assert flow_choices(inst, ("cost",)).agent.tolist() == [1, 1, 0]


# The same first flow is kept when another solve would end past the deadline (here, one
# already past), and says it may not have settled; a first flow with stand-ins in use is not
# (the first column generation test: its last solve is the optimum, settled without a
# deadline).
def test_column_generation_stops_at_its_deadline_with_a_flow_that_places_every_item(
        monkeypatch):
    by_columns(monkeypatch, settled=0.0)
    late = time.monotonic() - 1.0
    inst = three_items(lo=(0, 8), hi=(20, 20))
    cut = flow_choices(inst, ("cost",), deadline=late)
    assert cut.agent.tolist() == [0, 0, 0] and not cut.settled
    assert flow_choices(three_items(), ("cost",), deadline=late).agent.tolist() == [1, 0, 0]
    assert flow_choices(three_items(), ("cost",)).settled


# Four hours each. Agent 0 (room for one item) is the cheapest for items 0 and 1 (cost 0),
# agent 2 (room for one) for item 2 (cost 1); agent 1 (room for two) is dearer (9, 4 and 5).
# From each item's cheapest pair one of items 0 and 1 has no room but a stand-in; at those
# duals each item brings in its most negative pair, and the second solve is the optimum: item
# 1 on agent 1 (0 + 4 + 1). Its duals price an hour of agent 0 at 1 and of agent 2 at 0.75,
# so no pair left out prices below zero (item 2 on agent 0: 2/4 - 1 + 1 = 0.5): two solves.
def test_column_generation_prices_pairs_with_the_agents_duals(monkeypatch):
    by_columns(monkeypatch)
    pairs = [(i, a, 4) for i in range(3) for a in range(3)]
    inst = make_alloc([0, 0, 0], [4, 8, 4], pairs, 3,
                      {"cost": AllocTerm(pair=i64([0, 9, 1, 0, 4, 6, 2, 5, 1]))})
    solves = []
    solve = flow_module._Network.solve

    def counted(network, pairs, stand_in=False):
        solves.append(sorted(pairs.tolist()))
        return solve(network, pairs, stand_in)
    monkeypatch.setattr(flow_module._Network, "solve", counted)
    found = flow_choices(inst, ("cost",))
    assert found.agent.tolist() == [0, 1, 2]
    assert found.prices == pytest.approx([1.0, 0.0, 0.75], abs=1e-4)
    assert solves == [[0, 3, 8], [0, 2, 3, 4, 8]]


# A team too large for two runs gets one, from the flow's prices; a smaller one gets runs from
# nothing, from the best prices and from the flow's. A start's cost sets where the steps aim
# only in the runs from elsewhere: L key-account hybrid's individuals team, its hint repaired to
# 411.5 M against a bound of 136 M, kept the flow's bound (136.13 M) and priced a 166.4 M plan
# when its steps aimed at that cost; aimed near the bound, 136.89 M and 156.5 M. Here the hint,
# all on agent 1, repaired costs 60; the first run's priced plan (item 2 on agent 0) 30.
@pytest.mark.parametrize("large", [True, False])
def test_steps_from_the_flows_prices_are_not_aimed_at_a_starts_cost(monkeypatch, large):
    import models.allocation as allocation
    uppers = []
    real = allocation.lagrangian_bound

    def spy(inst, names, seconds, upper=None, **kwargs):
        uppers.append(upper)
        return real(inst, names, seconds, upper=upper, **kwargs)
    monkeypatch.setattr(allocation, "lagrangian_bound", spy)
    if large:
        monkeypatch.setattr(allocation, "LNS_ONLY_PAIRS", 0)
    allocation._relax_and_start(three_items(hint_agent=i64([1, 1, 1])),
                                replace(SETTINGS, time_limit=1.0))
    assert uppers == ([None] if large else [60, 30, None])


# The relaxation's runs share half of a 1 s team (two rounds here: 0.125 s each), or 0.7 of it
# above LNS_ONLY_PAIRS pairs (one round, from the flow's prices: 0.35 s).
@pytest.mark.parametrize("large", [True, False])
def test_a_large_team_gives_its_relaxation_more_of_its_time(monkeypatch, large):
    import models.allocation as allocation
    seconds = []
    real = allocation.lagrangian_bound

    def spy(inst, names, budget, **kwargs):
        seconds.append(budget)
        return real(inst, names, budget, **kwargs)
    monkeypatch.setattr(allocation, "lagrangian_bound", spy)
    if large:
        monkeypatch.setattr(allocation, "LNS_ONLY_PAIRS", 0)
    allocation._relax_and_start(three_items(hint_agent=i64([1, 1, 1])),
                                replace(SETTINGS, time_limit=1.0))
    assert seconds == pytest.approx([0.35] if large else [0.125] * 3, abs=0.01)


# A team solved beside the process's other work (the local lane) is estimated at
# FLOW_SECONDS_PER_PAIR_BESIDE (its flows are solved in a child process): the three items' 6
# pairs at 0.5 s alone, and 0.75 s or 0.85 s beside, in a large team's 1 s (FLOW_SHARE_LARGE
# 0.8): the flow fits beside at 0.75 s, not at 0.85 s.
@pytest.mark.parametrize("beside, fits", [(0.75, True), (0.85, False)])
def test_a_team_beside_the_processs_other_work_solves_the_flow_only_where_it_fits_there(
        monkeypatch, beside, fits):
    import models.allocation as allocation
    inst = three_items(hint_agent=i64([1, 1, 1]))
    monkeypatch.setattr(allocation, "FLOW_SECONDS_PER_PAIR", 0.5 / len(inst.pair_item))
    monkeypatch.setattr(allocation, "FLOW_SECONDS_PER_PAIR_BESIDE", beside / len(inst.pair_item))
    monkeypatch.setattr(allocation, "LNS_ONLY_PAIRS", 0)
    assert allocation._flow_of(inst, ("cost",), 1.0) is not None
    assert (allocation._flow_of(inst, ("cost",), 1.0, beside_others=True) is not None) == fits
    assert allocation._flow_of(inst, ("cost",), 1.2, beside_others=True) is not None


# A large team (above LNS_ONLY_PAIRS) solves the flow where it is estimated at up to
# FLOW_SHARE_LARGE (0.8) of its time, a small one up to FLOW_SHARE (0.4): the three items' 6
# pairs estimated at 0.5 s of a 1 s team. The relaxation and the priced plans then share
# what the flow left: a flow of 0.5 s leaves a large team's relaxation (0.7 of the rest, one
# round, half of it for the steps) 0.175 s.
@pytest.mark.parametrize("large", [True, False])
def test_a_large_team_solves_the_flow_in_more_of_its_time_and_relaxes_in_the_rest(
        monkeypatch, large):
    import time
    import models.allocation as allocation
    inst = three_items(hint_agent=i64([1, 1, 1]))
    monkeypatch.setattr(allocation, "FLOW_SECONDS_PER_PAIR", 0.5 / len(inst.pair_item))
    if large:
        monkeypatch.setattr(allocation, "LNS_ONLY_PAIRS", 0)
    assert (allocation._flow_of(inst, ("cost",), 1.0) is not None) == large
    seconds = relaxation_seconds(monkeypatch, inst)
    assert seconds == pytest.approx([0.175] if large else [0.125, 0.125], abs=0.01)


def relaxation_seconds(monkeypatch, inst) -> list[float]:
    """The time each run of the relaxation gets in a 1 s team whose flow takes 0.5 s."""
    import models.allocation as allocation
    from models.allocation_flow import flow_choices as real_flow
    seconds = []

    def slow_flow(*args, **kwargs):
        time.sleep(0.5)
        return real_flow(*args, **kwargs)

    def spy(inst, names, budget, **kwargs):
        seconds.append(budget)
        return lagrangian_bound(inst, names, budget, **kwargs)
    monkeypatch.setattr(allocation, "flow_choices", slow_flow)
    monkeypatch.setattr(allocation, "lagrangian_bound", spy)
    allocation._relax_and_start(inst, replace(SETTINGS, time_limit=1.0))
    return seconds


# What the starts take beside their share (START_SECONDS_PER_PAIR, here 0.05 s a pair: 0.3 s
# for the 6 pairs, for each of the hint's repair and the one run from the flow's prices) comes
# off what the flow left before the relaxation's share: (1 - 0.5 - 0.6) s is none.
def test_what_the_starts_take_comes_off_the_relaxations_time(monkeypatch):
    import models.allocation as allocation
    inst = three_items(hint_agent=i64([1, 1, 1]))
    monkeypatch.setattr(allocation, "FLOW_SECONDS_PER_PAIR", 0.5 / len(inst.pair_item))
    monkeypatch.setattr(allocation, "LNS_ONLY_PAIRS", 0)
    monkeypatch.setattr(allocation, "START_SECONDS_PER_PAIR", 0.05)
    assert relaxation_seconds(monkeypatch, inst) == [0.0]
    monkeypatch.setattr(allocation, "START_SECONDS_PER_PAIR", 0.01)  # (0.12 s of 0.5)
    assert relaxation_seconds(monkeypatch, inst) == pytest.approx([0.133], abs=0.01)


# The plan priced at the flow's prices is the team's best start by far: where the flow left
# the relaxation no time (as above, START_SECONDS_PER_PAIR 0.05 s a pair), it still gets
# PRICED_SECONDS_PER_PAIR (here 0.02 s) for each of the 6 pairs, 0.12 s, to be brought under
# the maxima; the relaxation's own steps keep their share (none). XL region x function's
# teams of 1.7 and 5.5 million pairs, their priced plans cut to nothing after the flow, ended
# 15 % and 7 % above their bounds; priced to the end, 0.5 % and 0.4 %.
def test_the_flows_priced_plan_gets_its_least_time_where_the_flow_left_none(monkeypatch):
    import models.allocation as allocation
    inst = three_items(hint_agent=i64([1, 1, 1]))
    monkeypatch.setattr(allocation, "FLOW_SECONDS_PER_PAIR", 0.5 / len(inst.pair_item))
    monkeypatch.setattr(allocation, "LNS_ONLY_PAIRS", 0)
    monkeypatch.setattr(allocation, "START_SECONDS_PER_PAIR", 0.05)
    monkeypatch.setattr(allocation, "PRICED_SECONDS_PER_PAIR", 0.02)
    priced = []
    real = allocation.priced_plan

    def spy(inst, names, relaxed, seconds, **kwargs):
        priced.append(seconds)
        return real(inst, names, relaxed, seconds, **kwargs)
    monkeypatch.setattr(allocation, "priced_plan", spy)
    assert relaxation_seconds(monkeypatch, inst) == [0.0]
    assert priced == pytest.approx([0.12, allocation.PRICED_MIN_SECONDS])  # (then the rounding)


# With one cheapest pair per item (agent 0's: pairs 0, 2, 4), the hinted pairs come too:
# items 0 and 1 hinted to agent 1 (pairs 1 and 3), item 2 not hinted.
def test_the_first_columns_hold_each_items_hinted_pair(monkeypatch):
    monkeypatch.setattr("models.allocation_flow.SPARSE_PAIRS", 1)
    inst = three_items(hint_agent=i64([1, 1, -1]))
    first = _first_columns(inst, _costs(inst, ("cost",)), np.full(3, -1))
    assert first.tolist() == [0, 1, 2, 3, 4]


# Solved in a child process (the parent's own solver would fail), the flows are the same:
# the optimum of the first test, by column generation.
def test_a_flow_solved_apart_is_the_one_solved_here(monkeypatch):
    by_columns(monkeypatch)
    here = flow_choices(three_items(), ("cost",))

    def fail(*args):
        raise AssertionError("solved in the parent")
    monkeypatch.setattr("models.flow_apart.min_cost_flows", fail)
    apart = flow_choices(three_items(), ("cost",), apart=True)
    assert apart.agent.tolist() == here.agent.tolist() == [1, 0, 0]
    assert apart.split.tolist() == here.split.tolist()
    assert apart.prices == pytest.approx(here.prices)


# The child's peak memory is its own: with 200 MB held here when it starts, it reports far
# less (getrusage's maximum, which survives exec, would report at least those 200 MB).
def test_a_flow_childs_peak_memory_is_its_own():
    held = np.ones(200_000_000 // 8)
    with flow_apart.FlowApart() as child:
        child.solve(i64([0]), i64([1]), i64([5]), i64([1]), i64([4, -4]))
    assert 0 < flow_apart.peak_rss_mb() < 150
    del held


# A child that has died leaves the flow to the parent: the same flows.
def test_a_flow_whose_child_died_is_solved_here():
    arcs = (i64([0, 0, 1]), i64([1, 2, 2]), i64([5, 5, 5]), i64([1, 4, 1]))
    supplies = i64([4, 0, -4])
    with flow_apart.FlowApart() as child:
        assert child.solve(*arcs, supplies).tolist() == [4, 0, 4]
        child.process.kill()
        child.process.wait()
        assert child.solve(*arcs, supplies).tolist() == [4, 0, 4]
        assert child.failed
    assert flow_apart.min_cost_flows(*arcs, i64([11, 0, -11])) is None  # (room for 10)


def many_items(n: int = 1000):
    """n items of an hour each: agent 0 costs 1 an item and has room for 600, agent 1 costs 3
    and has room for all. At the optimum agent 0 is full, and an hour of it is worth 2 (an
    item on agent 1 would pay 2 more), an hour of agent 1 nothing."""
    pairs = [(i, a, 1) for i in range(n) for a in (0, 1)]
    return make_alloc([0, 0], [600, n], pairs, n, {"cost": AllocTerm(pair=i64([1, 3] * n))})


# A tenth of the accounts, agent 0's room scaled to the hours drawn: agent 0 is still full
# there, and the sample's duals are the whole flow's, [2, 0]. Without the scaling agent 0
# would have room for every item drawn, and its hour would be worth nothing.
def test_a_samples_duals_price_the_agents_as_the_whole_flow():
    inst = many_items()
    assert flow_choices(inst, ("cost",)).prices == pytest.approx([2.0, 0.0], abs=1e-4)
    duals = flow_module._sample_duals(inst, _costs(inst, ("cost",)), np.full(1000, -1),
                                      flow_apart.min_cost_flows, None)
    assert duals == pytest.approx([2.0, 0.0], abs=1e-4)


def test_no_sample_is_drawn_with_too_few_items_per_agent(monkeypatch):
    monkeypatch.setattr("models.allocation_flow.SEED_ITEMS_PER_AGENT", 60)  # (about 50 each)
    inst = many_items()
    assert flow_module._sample_duals(inst, _costs(inst, ("cost",)), np.full(1000, -1),
                                     flow_apart.min_cost_flows, None) is None


# Per hour, agent 1 costs 2.5, 5 and 7.5 for items 0, 1 and 2, agent 0 nothing. At the seed
# prices [10, 0] every item's cheapest is agent 1 (pairs 1, 3, 5); at [6, 0] item 2's is
# agent 0 (6 < 7.5: pair 4).
def test_the_first_columns_are_each_items_cheapest_at_the_seed_prices(monkeypatch):
    monkeypatch.setattr("models.allocation_flow.SPARSE_PAIRS", 1)
    inst = three_items()
    costs, free = _costs(inst, ("cost",)), np.full(3, -1)
    assert sorted(_first_columns(inst, costs, free, np.array([10.0, 0.0])).tolist()) == [1, 3, 5]
    assert sorted(_first_columns(inst, costs, free, np.array([6.0, 0.0])).tolist()) == [1, 3, 4]


# Column generation from the sample's duals ends at the whole network's optimum: agent 0
# full with 600 items, its hour worth 2.
def test_column_generation_from_a_samples_duals_reaches_the_whole_networks_optimum(
        monkeypatch):
    by_columns(monkeypatch)
    seeds = []
    sample_duals = flow_module._sample_duals

    def spied(*args):
        seeds.append(sample_duals(*args))
        return seeds[-1]
    monkeypatch.setattr(flow_module, "_sample_duals", spied)
    found = flow_choices(many_items(), ("cost",))
    assert seeds[0] == pytest.approx([2.0, 0.0], abs=1e-4)
    assert int(np.sum(found.agent == 0)) == 600 and int(np.sum(found.agent == 1)) == 400
    assert found.prices == pytest.approx([2.0, 0.0], abs=1e-4)
