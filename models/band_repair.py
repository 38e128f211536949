"""Bringing a stage-2 plan into its agents' bands by the cheapest moves.

The starts the engine rounds from its relaxations (the block flow's, the priced plans) break
the bands of a few agents. `models.warm_start.repair_allocation` mends any plan by rules that
do not look at the cost (the roomiest agent, the smallest item first). On the block flow's
plan for XL key-account hybrid's individuals team (a whole run at 120 s: 11.6 million pairs,
92,926 items, 231 agents; 112.39 M with its bands broken) the rules moved 128 items for
3.69 M (116.08 M); the moves priced here moved 72 for 0.01 M less (112.39 M), in 1.1 s. On
M key-account hybrid's teams the best start of three teams came out 14-17 % cheaper.

`priced_repair` prices every way an agent outside its band can get back into it (each of its
items to each agent with room for it, or to nobody where optional; each item it could take,
from nobody or from an agent that stays above its minimum) by the change in the objective,
travel included, and takes the cheapest per hour of the breach first; it first places
unassigned items where they cost least. What it cannot mend is left to repair_allocation,
which follows it (models.allocation.into_bands).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from models.instances import AllocationInstance

#: rounds over the agents outside their bands (each a pass over those above, then those below)
ROUNDS = 3
#: pairs handled at once where the plan's pairs are found
PAIR_SLICE = 1 << 20


def pairs_by_agent(pair_agent: np.ndarray) -> np.ndarray | None:
    """The pairs' positions ordered by agent, or None where they already come agent by agent
    (the planner's teams): that order, spelled out, took 96 MB on XL's individuals team at
    the solving process's peak."""
    if bool(np.all(pair_agent[1:] >= pair_agent[:-1])):
        return None
    return np.argsort(pair_agent, kind="stable")


class _Plan:
    """A plan with its loads, each item's pair and each (account, agent)'s items served, and
    the objective's pieces (of the terms `names`) for pricing many moves at once."""

    def __init__(self, inst: AllocationInstance, names: tuple[str, ...], item_agent: np.ndarray):
        self.inst = inst
        terms = [inst.terms[n] for n in names]
        # (pair costs read term by term where asked: instances.summed_terms would hold a
        # summed copy of every pair's, 97 MB on XL's individuals team)
        self.pair_terms = [t.pair for t in terms if t.pair is not None]
        self.none_cost = sum((t.unassigned.astype(np.int64) for t in terms
                              if t.unassigned is not None), np.zeros(inst.n_items, np.int64))
        self.none_cost = np.where(inst.item_optional, self.none_cost, 0)
        self.dev_coef = sum((t.deviation.astype(np.int64) for t in terms
                             if t.deviation is not None), np.zeros(inst.n_agents, np.int64))
        self.target = (inst.agent_target if inst.agent_target is not None
                       else np.zeros(inst.n_agents)).astype(np.int64)
        travel = [t.travel for t in terms if t.travel is not None]
        self.travel = None if not travel or inst.item_account is None else \
            np.asarray(travel[0], dtype=np.int64) if len(travel) == 1 else sum(travel)
        self.weight = inst.pair_weight
        self.lo, self.hi = inst.agent_lo.astype(np.int64), inst.agent_hi.astype(np.int64)
        self.fixed = inst.fixed_agent if inst.fixed_agent is not None else \
            np.full(inst.n_items, -1)
        self.by_item = inst.by_item
        self.item_start = inst.item_starts
        self.by_agent = pairs_by_agent(inst.pair_agent)
        self.agent_start = np.searchsorted(
            inst.pair_agent if self.by_agent is None else inst.pair_agent[self.by_agent],
            np.arange(inst.n_agents + 1))
        self.item_agent = np.full(inst.n_items, -1, dtype=np.int64)
        self.pair = np.full(inst.n_items, -1, dtype=np.int64)
        wanted = np.where(self.fixed >= 0, self.fixed, item_agent).astype(np.int64)
        for s in range(0, len(inst.pair_item), PAIR_SLICE):
            items = inst.pair_item[s:s + PAIR_SLICE]
            hit = np.flatnonzero(inst.pair_agent[s:s + PAIR_SLICE] == wanted[items])
            self.pair[items[hit]] = s + hit
        held = self.pair >= 0
        self.item_agent[held] = inst.pair_agent[self.pair[held]]
        self.load = np.bincount(self.item_agent[held], weights=self.weight[self.pair[held]],
                                minlength=inst.n_agents).astype(np.int64)
        self.serving = None
        if self.travel is not None:
            self.account = inst.item_account.astype(np.int64)
            self.serving = np.zeros(self.travel.shape, dtype=np.int32)
            np.add.at(self.serving, (self.account[held], self.item_agent[held]), 1)

    def pair_cost(self, pairs: np.ndarray) -> np.ndarray:
        return sum((t[pairs].astype(np.int64) for t in self.pair_terms),
                   np.zeros(len(pairs), np.int64))

    def _dev(self, agents: np.ndarray, change: np.ndarray) -> np.ndarray:
        """The deviation terms' change where each agent's load changes by `change`."""
        load, target = self.load[agents], self.target[agents]
        return self.dev_coef[agents] * (np.abs(load + change - target) - np.abs(load - target))

    def delta(self, items: np.ndarray, dst_pair: np.ndarray) -> np.ndarray:
        """The objective's change where each item leaves its agent for its pair's (-1:
        nobody), one move at a time."""
        src_pair = self.pair[items]
        src = self.item_agent[items]
        dst = np.where(dst_pair >= 0, self.inst.pair_agent[dst_pair], -1)
        out = np.where(dst_pair >= 0, self.pair_cost(np.maximum(dst_pair, 0)),
                       self.none_cost[items])
        out -= np.where(src_pair >= 0, self.pair_cost(np.maximum(src_pair, 0)),
                        self.none_cost[items])
        w_src = np.where(src_pair >= 0, self.weight[np.maximum(src_pair, 0)], 0)
        w_dst = np.where(dst_pair >= 0, self.weight[np.maximum(dst_pair, 0)], 0)
        s, d = np.maximum(src, 0), np.maximum(dst, 0)
        out += np.where(src >= 0, self._dev(s, -w_src), 0)
        out += np.where(dst >= 0, self._dev(d, w_dst), 0)
        if self.travel is not None:
            account = self.account[items]
            leaves = (src >= 0) & (self.serving[account, s] == 1)
            joins = (dst >= 0) & (self.serving[account, d] == 0)
            out -= np.where(leaves, self.travel[account, s], 0)
            out += np.where(joins, self.travel[account, d], 0)
        return out

    def move(self, i: int, dst_pair: int) -> None:
        src, src_pair = int(self.item_agent[i]), int(self.pair[i])
        if src >= 0:
            self.load[src] -= self.weight[src_pair]
            if self.serving is not None:
                self.serving[self.account[i], src] -= 1
        dst = int(self.inst.pair_agent[dst_pair]) if dst_pair >= 0 else -1
        self.item_agent[i], self.pair[i] = dst, dst_pair
        if dst >= 0:
            self.load[dst] += self.weight[dst_pair]
            if self.serving is not None:
                self.serving[self.account[i], dst] += 1

    def pairs_of_items(self, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The pairs of these items, and each pair's item."""
        first, last = self.item_start[items], self.item_start[items + 1]
        counts = last - first
        ends = np.cumsum(counts)
        at = np.repeat(first - (ends - counts), counts) + np.arange(int(counts.sum()))
        return self.by_item[at], np.repeat(items, counts)

    def pairs_of_agent(self, a: int) -> np.ndarray:
        span = slice(self.agent_start[a], self.agent_start[a + 1])
        return np.arange(span.start, span.stop) if self.by_agent is None else self.by_agent[span]


def _take(plan: _Plan, items: np.ndarray, dst_pair: np.ndarray, score: np.ndarray,
          done: Callable[[], bool]) -> bool:
    """Takes the moves of these (each item to its pair's agent, -1: nobody) by their `score`,
    lowest first, one per item, while each still holds every band and until `done`. A move
    is priced as if alone: after one of an account's items moves, the account's others wait
    for the next batch. Whether any was taken."""
    inst = plan.inst
    by_item = np.lexsort((score, items))
    first = by_item[np.r_[True, items[by_item][1:] != items[by_item][:-1]]] if len(items) \
        else by_item
    order = first[np.argsort(score[first], kind="stable")]
    src_of = plan.item_agent[items]
    touched: set[int] = set()
    taken = False
    for k in order.tolist():
        i, p = int(items[k]), int(dst_pair[k])
        if plan.item_agent[i] != src_of[k]:
            continue
        if plan.serving is not None:
            account = int(plan.account[i])
            if account in touched:
                continue
        src, sp = int(src_of[k]), int(plan.pair[i])
        dst = int(inst.pair_agent[p]) if p >= 0 else -1
        if src >= 0 and plan.load[src] - plan.weight[sp] < plan.lo[src]:
            continue
        if dst >= 0 and plan.load[dst] + plan.weight[p] > plan.hi[dst]:
            continue
        plan.move(i, p)
        taken = True
        if plan.serving is not None:
            touched.add(account)
        if done():
            break
    return taken


def _per_hour(delta: np.ndarray, hours: np.ndarray, breach: int) -> tuple[np.ndarray, np.ndarray]:
    """Each move's cost per hour of the breach it mends, and the moves that mend any."""
    useful = np.minimum(hours, breach)
    keep = useful > 0
    return delta[keep] / useful[keep], keep


def _place(plan: _Plan) -> bool:
    """One batch of moves placing unassigned items where they cost least: every mandatory
    one, an optional one where that costs less than leaving it out."""
    inst = plan.inst
    lost = np.flatnonzero((plan.item_agent < 0) & (plan.fixed < 0))
    if not len(lost):
        return False
    pairs, items = plan.pairs_of_items(lost)
    agents = inst.pair_agent[pairs]
    room = plan.load[agents] + plan.weight[pairs] <= plan.hi[agents]
    pairs, items = pairs[room], items[room]
    delta = plan.delta(items, pairs)
    wanted = ~inst.item_optional[items] | (delta < 0)
    return _take(plan, items[wanted], pairs[wanted], delta[wanted].astype(float),
                 lambda: False)


def _lower(plan: _Plan, a: int) -> bool:
    """One batch of moves off agent a, above its maximum."""
    inst = plan.inst
    own = np.flatnonzero((plan.item_agent == a) & (plan.fixed < 0))
    if not len(own):
        return False
    pairs, items = plan.pairs_of_items(own)
    agents = inst.pair_agent[pairs]
    fits = (agents != a) & (plan.load[agents] + plan.weight[pairs] <= plan.hi[agents])
    pairs, items = pairs[fits], items[fits]
    optional = own[inst.item_optional[own]]
    items = np.concatenate([items, optional])
    dst_pair = np.concatenate([pairs, np.full(len(optional), -1, dtype=np.int64)])
    score, keep = _per_hour(plan.delta(items, dst_pair), plan.weight[plan.pair[items]],
                            int(plan.load[a] - plan.hi[a]))
    return _take(plan, items[keep], dst_pair[keep], score,
                 lambda: plan.load[a] <= plan.hi[a])


def _raise(plan: _Plan, a: int) -> bool:
    """One batch of moves onto agent a, below its minimum."""
    inst = plan.inst
    pairs = plan.pairs_of_agent(a).astype(np.int64)
    items = inst.pair_item[pairs].astype(np.int64)
    src = plan.item_agent[items]
    held = np.maximum(src, 0)
    src_weight = np.where(src >= 0, plan.weight[np.maximum(plan.pair[items], 0)], 0)
    able = (plan.fixed[items] < 0) & (src != a) \
        & ((src < 0) | (plan.load[held] - src_weight >= plan.lo[held])) \
        & (plan.load[a] + plan.weight[pairs] <= plan.hi[a])
    pairs, items = pairs[able], items[able]
    score, keep = _per_hour(plan.delta(items, pairs), plan.weight[pairs],
                            int(plan.lo[a] - plan.load[a]))
    return _take(plan, items[keep], pairs[keep], score,
                 lambda: plan.load[a] >= plan.lo[a])


def priced_repair(inst: AllocationInstance, names: tuple[str, ...], item_agent: np.ndarray
                  ) -> np.ndarray:
    """The plan with the agents outside their bands brought into them where moves priced by
    the terms `names` manage it (see the module's docstring), the cheapest per hour of the
    breach first; pinned items go to their agent, items on pairs that do not exist to nobody.
    Unassigned items are placed where they cost least (optional ones where that costs less
    than leaving them out). What it cannot mend is repair_allocation's."""
    plan = _Plan(inst, names, np.asarray(item_agent, dtype=np.int64))
    for _ in range(ROUNDS):
        changed = False
        while _place(plan):
            changed = True
        for a in np.flatnonzero(plan.load > plan.hi).tolist():
            while plan.load[a] > plan.hi[a] and _lower(plan, a):
                changed = True
        for a in np.flatnonzero(plan.load < plan.lo).tolist():
            while plan.load[a] < plan.lo[a] and _raise(plan, a):
                changed = True
        if not changed:
            break
    return plan.item_agent
