"""Prices for the accounts' groupings from the LP over them (models.grouping_prices), on one
account whose LP optimum is computed by hand below."""

from __future__ import annotations

import time

import numpy as np
import pytest

from models.allocation_bound import lagrangian_bound
from models.grouping_prices import _Columns, _master_duals, grouping_prices
from models.instances import AllocTerm
from tests.test_models_allocation import i64, make_alloc

NAMES = ("cost", "travel")


def one_account(agent0_max: int = 8):
    """One account of two 4-hour items, travel 10 to either agent (bands 0-8, agent 0's up to
    `agent0_max`). Item 0 costs 0 on agent 0 and 2 on agent 1; item 1 costs 1 on agent 0 and 0
    on agent 1. Groupings: both on agent 0, 0 + 1 + 10 = 11 (8 hours there); both on agent 1,
    2 + 0 + 10 = 12; split, 0 + 0 + 20 = 20 (4 hours each)."""
    return make_alloc([0, 0], [agent0_max, 8], [(0, 0, 4), (0, 1, 4), (1, 0, 4), (1, 1, 4)], 2,
                      {"cost": AllocTerm(pair=i64([0, 2, 1, 0])),
                       "travel": AllocTerm(travel=np.array([[10, 10]]))},
                      item_account=i64([0, 0]))


# A grouping's cost counts its pairs and each agent's travel once; its hours go by agent; a
# grouping seen before is not added again.
def test_columns_cost_a_grouping_with_its_travel_once_per_agent():
    columns = _Columns(one_account(), NAMES)
    assert columns.add(i64([0, 0])) == 1
    assert columns.add(i64([0, 1])) == 1
    assert columns.add(i64([0, 0])) == 0
    owner, cost, column, agent, hours = columns.arrays()
    assert owner.tolist() == [0, 0] and cost.tolist() == [11, 20]
    assert list(zip(column.tolist(), agent.tolist(), hours.tolist())) == [
        (0, 0, 8), (1, 0, 4), (1, 1, 4)]


# Agent 0 may carry 6 hours. The LP weighs "both on agent 0" (11) 3/4 and "both on agent 1"
# (12) 1/4: 11.25, agent 0 full. An hour more there would save (12 - 11) / 8 = 0.125: its
# price. Agent 1 has room: 0.
def test_the_master_prices_the_full_agents_hours():
    columns = _Columns(one_account(agent0_max=6), NAMES)
    columns.add(i64([0, 0]))
    columns.add(i64([1, 1]))
    duals = _master_duals(one_account(agent0_max=6), NAMES, columns, 100.0, 10.0)
    assert np.allclose(duals, [0.125, 0.0])


# From prices 0 (bound 11: both items on agent 0, which cannot take them) the rounds price
# agent 0's hours towards 0.125 (where the relaxation is the LP's 11.25), each round 0.3 of the
# way: 0.0375, 0.064, 0.082, where the relaxation is 11 + (8 - 6) x 0.082 = 11.16, above 11, so
# the bound (the objective is whole) is 12, which is also the best plan's cost.
def test_grouping_prices_raise_the_bound_to_the_lps():
    inst = one_account(agent0_max=6)
    relaxed = lagrangian_bound(inst, NAMES, 1.0, prices=np.zeros(2), max_iterations=1)
    assert relaxed.bound == 11 and relaxed.grouped.tolist() == [0, 0]
    found = grouping_prices(inst, NAMES, relaxed, i64([1, 1]), time.monotonic() + 10.0)
    assert np.allclose(found.prices, [0.0821, 0.0], atol=1e-4)
    assert found.value == pytest.approx(11.164, abs=1e-3)
    assert found.bound == 12


# Without accounts there are no groupings to price: the relaxation stays.
def test_grouping_prices_need_accounts():
    inst = make_alloc([0], [8], [(0, 0, 4)], 1, {"cost": AllocTerm(pair=i64([1]))})
    relaxed = lagrangian_bound(inst, ("cost",), 1.0, prices=np.zeros(1))
    assert grouping_prices(inst, ("cost",), relaxed, i64([0]), time.monotonic() + 1.0) \
        is relaxed
