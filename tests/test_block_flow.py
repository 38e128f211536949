"""The flow over blocks of an account's items (models.block_flow) and where the engine starts
from it (models.allocation._block_start): blocks, their pairs and the flows' plans computed by
hand on tiny instances (each comment gives them)."""

from __future__ import annotations

import time

import numpy as np
import pytest

import models.account_relaxation as account_relaxation
import models.allocation as allocation
from models.allocation_bound import lagrangian_bound
from models.allocation_flow import flow_choices
from models.allocation_lns import plan_cost
from models.block_flow import block_flow_plan, block_instance, block_pairs, blocks_of
from models.instances import AllocTerm, SolveSettings
from tests.test_models_allocation import i64, make_alloc

SETTINGS = SolveSettings(time_limit=5.0, workers=1, seed=0)
NAMES = ("cost", "travel")


def one_account(item1_on_agent1: bool = True, **kwargs):
    """One account of two 4-hour items, travel 10 to either agent (bands 0-8). Item 0 costs 0
    on agent 0 and 2 on agent 1; item 1 costs 1 on agent 0 and 0 on agent 1 (where it may go
    there). Whole on agent 0: 0 + 1 + 10 = 11; whole on agent 1: 12; split: 0 + 0 + 20."""
    pairs = [(0, 0, 4), (0, 1, 4), (1, 0, 4)] + ([(1, 1, 4)] if item1_on_agent1 else [])
    costs = [0, 2, 1] + ([0] if item1_on_agent1 else [])
    return make_alloc([0, 0], [8, 8], pairs, 2,
                      {"cost": AllocTerm(pair=i64(costs)),
                       "travel": AllocTerm(travel=np.array([[10, 10]]))},
                      item_account=i64([0, 0]), **kwargs)


# Items of one account on one agent share a block; another account's item on that agent, an
# item on another agent and an item left to nobody each have their own.
def test_blocks_are_an_accounts_items_on_one_agent():
    inst = make_alloc([0, 0], [20, 20], [(i, a, 1) for i in range(5) for a in (0, 1)], 5,
                      {"cost": AllocTerm(pair=i64([0] * 10))},
                      item_account=i64([0, 0, 1, 0, 0]), optional=[True] * 5)
    block = blocks_of(inst, i64([0, 0, 0, 1, -1]))
    assert block[0] == block[1]
    assert len({block[0], block[2], block[3], block[4]}) == 4


# The block of both items: on agent 0 for 8 hours at 0 + 1 + travel 10 = 11, on agent 1 at
# 2 + 0 + 10 = 12; where item 1 may not go to agent 1, only agent 0 takes the block.
def test_a_blocks_pairs_add_its_items_and_its_accounts_travel_once():
    inst = one_account()
    blocks = block_instance(inst, NAMES, blocks_of(inst, i64([0, 0])))
    assert blocks.n_items == 1 and blocks.item_account is None
    assert blocks.pair_agent.tolist() == [0, 1]
    assert blocks.pair_weight.tolist() == [8, 8]
    assert blocks.terms["blocks"].pair.tolist() == [11, 12]
    only = block_instance(one_account(False), NAMES, i64([0, 0]))
    assert only.pair_agent.tolist() == [0] and only.terms["blocks"].pair.tolist() == [11]


# Item 1 pinned to agent 1: its block (alone) goes only there, at 0 + its travel 10.
def test_a_pinned_item_keeps_its_block_to_its_agent():
    inst = one_account(fixed_agent=i64([-1, 1]))
    blocks = block_instance(inst, NAMES, blocks_of(inst, i64([0, 1])))
    item1 = blocks_of(inst, i64([0, 1]))[1]
    on_item1 = blocks.pair_item == item1
    assert blocks.pair_agent[on_item1].tolist() == [1]
    assert blocks.terms["blocks"].pair[on_item1].tolist() == [10]


# The item flow shares the travel (5 an item on either agent): item 0 goes to agent 0 (5 < 7),
# item 1 to agent 1 (5 < 6), a plan of 20. The block flow keeps the account whole on agent 0
# (11 < 12).
def test_the_block_flow_keeps_the_account_whole_where_the_item_flow_splits_it():
    inst = one_account()
    assert flow_choices(inst, NAMES).agent.tolist() == [0, 1]
    block = blocks_of(inst, i64([0, 0]))
    plan = block_flow_plan(inst, NAMES, block)
    assert plan.tolist() == [0, 0]
    assert plan_cost(inst, plan, NAMES) == 11
    assert block_pairs(inst, block) == 2  # item 0's pairs: the block's at most


# At prices 0 the account's cheapest grouping is both items on agent 0 (11, against 20 split):
# the relaxation's `grouped` says so, also where its accounts are built at each pricing
# (deferred), whose steps share travel and choose the split.
@pytest.mark.parametrize("deferred", [False, True])
def test_the_relaxation_gives_each_accounts_cheapest_grouping(monkeypatch, deferred):
    if deferred:
        monkeypatch.setattr(account_relaxation, "MAX_CELLS", 0)
    relaxed = lagrangian_bound(one_account(), NAMES, 1.0, prices=np.zeros(2),
                               from_optimum=True)
    assert relaxed.grouped.tolist() == [0, 0]
    if deferred:
        assert relaxed.choice.tolist() == [0, 1]


# The engine starts from the block flow's plan only on teams above BLOCK_FLOW_FROM_PAIRS pairs,
# and only where its time (estimated from the item flow's) fits in its share of what is left;
# the groupings at prices 0 are the LP's own there (11), so no second one follows.
def test_the_block_start_is_for_large_teams_with_time_for_it(monkeypatch):
    inst = one_account()
    relaxed = lagrangian_bound(inst, NAMES, 1.0, prices=np.zeros(2), from_optimum=True)
    now = time.monotonic()
    assert allocation._block_start(inst, NAMES, relaxed, SETTINGS, now, 0.01) == ([], relaxed)
    monkeypatch.setattr(allocation, "BLOCK_FLOW_FROM_PAIRS", 0)
    started, again = allocation._block_start(inst, NAMES, relaxed, SETTINGS, now, 0.01)
    assert [s.tolist() for s in started] == [[0, 0]]
    assert again.bound == 11
    assert allocation._block_start(inst, NAMES, relaxed, SETTINGS, now, 100.0) == ([], relaxed)
