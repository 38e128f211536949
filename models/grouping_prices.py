"""Prices at which each account's cheapest grouping of its items is the one a good plan uses:
a few rounds of column generation on the LP over the accounts' groupings, solved by HiGHS.

The block flow (models.block_flow) serves each account's items in the groups they form at
the item flow's prices, and those prices are the optimum of a relaxation that shares an
account's travel among its items, not of the one that prices accounts whole. On XL key-account
hybrid's individuals team (12.1 million pairs, 92,926 items in 50,000 accounts, 240 agents,
stored from a run) the groups at the flow's prices give a block flow of 156.2 M; at the
optimum of the LP over every account's groupings (151.14 M; column generation to its end, 75
s) 151.3 M, and the team's plan from that LP's rounding 152.7 M against 157.2 M. The master LP
here is over the accounts with more than one grouping so far (the others are constants), its
first columns a good plan's groupings and the flow's; each round prices at the best prices so
far moved 0.3 of the way to the master's duals (Wentges' smoothing: the first master's duals
alone priced the relaxation at -176 M). Three rounds took 13.6 s on that team: the bound
149.11 -> 150.33 M, a block flow of 151.6 M.

HiGHS solves the second round's master (31,000 accounts, 85,000 columns) in 1.6 s; GLOP took
29 s on one of that size.
"""

from __future__ import annotations

import time

import highspy
import numpy as np

from models.allocation_bound import LagrangeBound, lagrangian_bound
from models.arrays import distinct
from models.highs import quiet_highs
from models.instances import AllocationInstance

#: master LP and pricing rounds
ROUNDS = 3
#: each round prices at this share of the best prices so far plus the rest of the master's
#: duals: the first master's duals alone priced the relaxation at -446 M (the best 149 M)
SMOOTHING = 0.7
#: an hour beyond an agent's band costs the master this many times the dearest price
PENALTY = 10.0


class _Columns:
    """Every grouping of an account seen so far: its cost, and the hours it gives each agent."""

    def __init__(self, inst: AllocationInstance, names: tuple[str, ...]) -> None:
        self.inst, self.names = inst, names
        self.account = inst.item_account.astype(np.int64)
        self.n_accounts = int(self.account.max(initial=-1)) + 1
        # a grouping's key: the sum of its items' agents times a random number per item
        self.weights = np.random.default_rng(0).integers(
            1, 2 ** 62, size=inst.n_items, dtype=np.uint64)
        self.known = np.zeros(0, dtype=np.uint64)
        self.owner: list[np.ndarray] = []  # per batch: each column's account
        self.cost: list[np.ndarray] = []
        self.entries: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # column, agent, hours
        self.count = 0
        self.per_account = np.zeros(self.n_accounts, dtype=np.int64)

    def add(self, item_agent: np.ndarray) -> int:
        """Add the groupings of `item_agent` (per item, -1: nobody) not seen before."""
        keys = np.zeros(self.n_accounts, dtype=np.uint64)
        np.add.at(keys, self.account, (item_agent + 2).astype(np.uint64) * self.weights)
        new = np.flatnonzero(~np.isin(keys, self.known))
        if not len(new):
            return 0
        self.known = np.concatenate([self.known, keys[new]])
        cost, acc, agent, hours = self._groupings(item_agent)
        number = np.full(self.n_accounts, -1, dtype=np.int64)
        number[new] = self.count + np.arange(len(new))
        keep = number[acc] >= 0
        self.owner.append(new)
        self.cost.append(cost[new])
        self.entries.append((number[acc[keep]], agent[keep], hours[keep]))
        self.per_account[new] += 1
        self.count += len(new)
        return len(new)

    def _groupings(self, item_agent: np.ndarray):
        """Each account's cost under `item_agent`, and its (account, agent, hours) entries."""
        inst, account = self.inst, self.account
        alone = np.flatnonzero((item_agent < 0) & inst.item_optional.astype(bool))
        chosen = np.flatnonzero(item_agent[inst.pair_item] == inst.pair_agent)
        cost = np.zeros(self.n_accounts)
        # (term by term, on the chosen pairs only: summed_terms would hold a whole summed copy
        # of the largest team's per-pair costs)
        for name in self.names:
            term = inst.terms[name]
            if term.pair is not None:
                np.add.at(cost, account[inst.pair_item[chosen]], term.pair[chosen])
            if term.unassigned is not None:
                np.add.at(cost, account[alone], term.unassigned[alone])
        key = account[inst.pair_item[chosen]] * inst.n_agents + inst.pair_agent[chosen]
        pairs, at = np.unique(key, return_inverse=True)
        acc, agent = pairs // inst.n_agents, pairs % inst.n_agents
        hours = np.bincount(at.reshape(-1), weights=inst.pair_weight[chosen],
                            minlength=len(pairs))
        for name in self.names:
            travel = inst.terms[name].travel
            if travel is not None:
                np.add.at(cost, acc, travel[acc, agent])
        return cost, acc, agent, hours

    def arrays(self):
        """All columns: account, cost, and entries (column, agent, hours) by column."""
        column, agent, hours = (np.concatenate(part) for part in zip(*self.entries))
        order = np.argsort(column, kind="stable")
        return (np.concatenate(self.owner), np.concatenate(self.cost),
                column[order], agent[order], hours[order])


def _master_duals(inst: AllocationInstance, names: tuple[str, ...], columns: _Columns,
                  penalty: float, seconds: float) -> np.ndarray | None:
    """The master LP's duals on the agents' loads (what an hour of each agent's load is worth):
    each account's groupings weighted to one, the agents' loads inside their bands, the balance
    term on each load's distance from its target, the groupings' hours beyond the bands at
    `penalty` an hour (the plans the groupings come from need not hold them). Accounts with one
    grouping are constants. None where HiGHS does not prove it optimal in `seconds`."""
    owner, cost, column, agent, hours = columns.arrays()
    n_agents = inst.n_agents
    free = columns.per_account[owner] > 1
    fixed_load = np.bincount(agent[~free[column]], weights=hours[~free[column]],
                             minlength=n_agents)
    offset = float(cost[~free].sum()) + sum(int(inst.terms[n].constant) for n in names)
    deviation = np.zeros(n_agents)
    for name in names:
        if inst.terms[name].deviation is not None:
            deviation += inst.terms[name].deviation
    target = inst.agent_target.astype(float) if inst.agent_target is not None \
        else np.zeros(n_agents)
    accounts = distinct(owner[free])
    row = np.full(columns.n_accounts, -1, dtype=np.int64)
    row[accounts] = np.arange(len(accounts))
    n_rows = len(accounts)
    lp = quiet_highs()
    lp.setOptionValue("time_limit", max(0.1, seconds))
    none = np.zeros(1, dtype=np.int32), np.zeros(0, dtype=np.int32), np.zeros(0)
    lp.addRows(n_rows, np.ones(n_rows), np.ones(n_rows), 0, *none)  # groupings weigh one
    lp.addRows(n_agents, fixed_load, fixed_load, 0, *none)  # load less the groupings' hours
    lp.addRows(n_agents, target, target, 0, *none)  # load - above + below = target
    agents = np.arange(n_agents, dtype=np.int32)
    lp.addCols(n_agents, np.zeros(n_agents), inst.agent_lo.astype(float),
               inst.agent_hi.astype(float), 2 * n_agents,
               np.arange(0, 2 * n_agents, 2, dtype=np.int32),
               np.stack([n_rows + agents, n_rows + n_agents + agents], 1).reshape(-1),
               np.ones(2 * n_agents))
    for sign in (-1.0, 1.0):  # above and below the target
        lp.addCols(n_agents, deviation, np.zeros(n_agents), np.full(n_agents, highspy.kHighsInf),
                   n_agents, agents, (n_rows + n_agents + agents).astype(np.int32),
                   np.full(n_agents, sign))
    for sign in (-1.0, 1.0):  # hours the groupings give beyond the band, at `penalty` each
        lp.addCols(n_agents, np.full(n_agents, penalty), np.zeros(n_agents),
                   np.full(n_agents, highspy.kHighsInf), n_agents, agents,
                   (n_rows + agents).astype(np.int32), np.full(n_agents, sign))
    lp.changeObjectiveOffset(offset)
    taken = np.flatnonzero(free)
    number = np.full(len(owner), -1, dtype=np.int64)
    number[taken] = np.arange(len(taken))
    inside = free[column]
    per_column = np.bincount(number[column[inside]], minlength=len(taken))
    starts = (np.cumsum(per_column + 1) - (per_column + 1)).astype(np.int32)
    index = np.empty(int((per_column + 1).sum()), dtype=np.int32)
    value = np.empty(len(index))
    index[starts], value[starts] = row[owner[taken]], 1.0
    rest = np.ones(len(index), dtype=bool)
    rest[starts] = False
    index[rest], value[rest] = n_rows + agent[inside], -hours[inside]
    lp.addCols(len(taken), cost[taken], np.zeros(len(taken)),
               np.full(len(taken), highspy.kHighsInf), len(index), starts, index, value)
    lp.run()
    if lp.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return np.array(lp.getSolution().row_dual)[n_rows:n_rows + n_agents]


def grouping_prices(inst: AllocationInstance, names: tuple[str, ...], relaxed: LagrangeBound,
                    plan: np.ndarray, deadline: float, rounds: int = ROUNDS) -> LagrangeBound:
    """The relaxation at the best prices found by `rounds` rounds from `relaxed`'s (the item
    flow's), its small accounts priced whole: their `grouped` choices for the block flow, their
    bound (never lower than `relaxed`'s). The first master chooses between `plan`'s groupings
    (a good plan: the block flow's, at `relaxed`'s groupings) and `relaxed`'s. Stops where the
    next round would end past `deadline`."""
    if inst.item_account is None or relaxed.grouped is None:
        return relaxed
    columns = _Columns(inst, names)
    columns.add(plan)
    columns.add(relaxed.grouped)
    best, pricing, duals, added = relaxed, None, None, True
    penalty = PENALTY * (float(np.abs(relaxed.prices).max(initial=0.0)) + 1.0)
    for _ in range(rounds):
        if added:  # (else the master is the same, its duals too: the prices move towards them)
            duals = _master_duals(inst, names, columns, penalty, deadline - time.monotonic())
            if duals is None:
                break
        left = deadline - time.monotonic()
        if pricing is not None and pricing > left:
            break
        priced = time.monotonic()
        found = lagrangian_bound(inst, names, max(0.0, left),
                                 prices=SMOOTHING * best.prices + (1 - SMOOTHING) * duals,
                                 again=relaxed, max_iterations=1, from_optimum=True)
        pricing = time.monotonic() - priced
        if found is None or found.grouped is None:
            break
        if found.value > best.value:
            best = found
        added = columns.add(found.grouped) > 0
    return best
