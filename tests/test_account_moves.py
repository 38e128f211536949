"""Spread accounts gathered on one of their reps (models.account_moves): tiny plans whose best
gathering is computed by hand in each comment."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings, strategies as st

from models.account_moves import gather_accounts
from models.allocation import allocation_is_feasible
from models.allocation_lns import plan_cost
from models.instances import AllocTerm
from tests.test_models_allocation import i64, make_alloc

NAMES = ("cost", "travel")
PAIRS = [(0, 0, 4), (0, 1, 4), (1, 0, 4), (1, 1, 4)]


def one_account(lo=(0, 0), hi=(20, 20), cost=(0, 3, 1, 0), travel=(10, 10), **kwargs):
    """One account of two items of 4 hours; item 0 costs 0 on rep 0 and 3 on rep 1, item 1
    costs 1 on rep 0 and 0 on rep 1; travel 10 to either rep."""
    return make_alloc(list(lo), list(hi), PAIRS, 2,
                      {"cost": AllocTerm(pair=i64(list(cost))),
                       "travel": AllocTerm(travel=np.array([list(travel)]))},
                      item_account=i64([0, 0]), **kwargs)


# Spread over reps 0 and 1 (cost 0 + 0 + travel 20). On rep 0: 0 + 1 + 10 = 11; on rep 1:
# 3 + 0 + 10 = 13. Rep 0 it is.
def test_a_spread_account_goes_where_it_costs_least():
    inst = one_account()
    plan = gather_accounts(inst, i64([0, 1]), NAMES, 5.0)
    assert plan.tolist() == [0, 0]
    assert plan_cost(inst, plan, NAMES) == 11


# Given no time, the spread account above stays spread (and the plan is the very one given).
def test_no_time_gathers_nothing():
    plan = i64([0, 1])
    assert gather_accounts(one_account(), plan, NAMES, 0.0) is plan


# Rep 0 has room for one item only: rep 1 takes both (13 against 20).
def test_a_rep_without_room_is_passed_over():
    plan = gather_accounts(one_account(hi=(4, 20)), i64([0, 1]), NAMES, 5.0)
    assert plan.tolist() == [1, 1]


# Each rep must keep 4 hours: no gathering holds both bands.
def test_a_band_minimum_keeps_the_account_spread():
    plan = gather_accounts(one_account(lo=(4, 4)), i64([0, 1]), NAMES, 5.0)
    assert plan.tolist() == [0, 1]


# Item 1 pinned to rep 1: item 0 joins it (3 + 0 + 10 = 13 against 0 + 0 + 20).
def test_a_pinned_item_stays_and_the_others_join_it():
    plan = gather_accounts(one_account(fixed_agent=i64([-1, 1])), i64([0, 1]), NAMES, 5.0)
    assert plan.tolist() == [1, 1]


# Travel 1 to each rep: gathering saves 1 and costs 1 (rep 0) or 3 (rep 1). Nothing moves.
def test_an_account_stays_spread_when_gathering_saves_too_little():
    plan = gather_accounts(one_account(travel=(1, 1)), i64([0, 1]), NAMES, 5.0)
    assert plan.tolist() == [0, 1]


# Balance 2 per hour off a target of 4 on each rep: gathering on rep 0 puts both reps 4 hours
# off (16 more), which the 9 it saves does not pay for.
def test_the_balance_is_priced():
    inst = one_account(agent_target=i64([4, 4]))
    inst.terms["balance"] = AllocTerm(deviation=i64([2, 2]))
    plan = gather_accounts(inst, i64([0, 1]), NAMES + ("balance",), 5.0)
    assert plan.tolist() == [0, 1]
    assert gather_accounts(inst, i64([0, 1]), NAMES, 5.0).tolist() == [0, 0]


def test_without_travel_the_plan_is_returned_as_it_is():
    plan = i64([0, 1])
    assert gather_accounts(one_account(), plan, ("cost",), 5.0) is plan


@st.composite
def companies(draw):
    """Three reps, four accounts of one to three items each, random costs, travel and
    bands, with a plan that holds the bands."""
    n_agents, sizes = 3, draw(st.lists(st.integers(1, 3), min_size=4, max_size=4))
    account = np.repeat(np.arange(4), sizes)
    n_items = len(account)
    weight = draw(st.lists(st.integers(1, 5), min_size=n_items, max_size=n_items))
    plan = np.array(draw(st.lists(st.integers(0, n_agents - 1), min_size=n_items,
                                  max_size=n_items)))
    pairs = [(i, a, weight[i]) for i in range(n_items) for a in range(n_agents)]
    load = np.bincount(plan, weights=weight, minlength=n_agents).astype(int)
    slack = draw(st.lists(st.integers(0, 6), min_size=2 * n_agents, max_size=2 * n_agents))
    lo = np.maximum(0, load - slack[:n_agents])
    hi = load + slack[n_agents:]
    cost = draw(st.lists(st.integers(0, 9), min_size=len(pairs), max_size=len(pairs)))
    travel = np.array(draw(st.lists(st.integers(0, 20), min_size=4 * n_agents,
                                    max_size=4 * n_agents))).reshape(4, n_agents)
    inst = make_alloc(lo.tolist(), hi.tolist(), pairs, n_items,
                      {"cost": AllocTerm(pair=i64(cost)), "travel": AllocTerm(travel=travel)},
                      item_account=i64(account))
    return inst, i64(plan)


# On random small companies the gathered plan holds every band and costs no more.
@settings(max_examples=60, deadline=None)
@given(companies())
def test_gathering_keeps_the_bands_and_never_costs_more(company):
    inst, plan = company
    gathered = gather_accounts(inst, plan, NAMES, 5.0)
    assert allocation_is_feasible(inst, gathered)
    assert plan_cost(inst, gathered, NAMES) <= plan_cost(inst, plan, NAMES)
