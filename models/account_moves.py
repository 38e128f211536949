"""Stage 2: an account's lines gathered on one of the reps who serve them.

A plan pays travel once for each (account, rep) pair it uses, so an account whose lines are
spread over several reps pays it several times. The starts built from prices and from the
divisible allocation (models.allocation_bound, models.allocation_flow) share travel among an
account's lines, and so leave many accounts spread: on L key-account hybrid's individuals team
(25,000 accounts, 111 reps, 2.7 million pairs) 11,642 accounts had lines on more than one rep.
On large teams the neighbourhood search frees a few reps at a time and reaches few of them in
its time (22 neighbourhoods in 15 s there). Moving all of a spread account's lines to one of
its reps, where every band still holds, is priced exactly by the plan's cost, and a pass over
all of them takes about a second.
"""

from __future__ import annotations

import time

import numpy as np

from models.arrays import distinct
from models.instances import AllocationInstance, summed_terms


def gather_accounts(inst: AllocationInstance, plan: np.ndarray, names: tuple[str, ...],
                    seconds: float) -> np.ndarray:
    """The plan (which holds every band) with spread accounts gathered on one of their reps
    wherever that lowers its cost (the terms `names`) and every band still holds; pass after
    pass until one gains nothing or `seconds` run out. Pinned items stay, and so do items
    left to nobody."""
    if seconds <= 0:
        return plan  # (setting up alone takes a second on XL's largest team)
    summed = summed_terms(inst, names)
    if inst.item_account is None or summed.travel is None or not np.any(summed.travel):
        return plan
    deadline = time.monotonic() + seconds
    gathering = _Gathering(inst, plan, summed.pair, summed.deviation, summed.travel)
    while time.monotonic() < deadline and gathering.one_pass(deadline):
        pass
    return gathering.plan


class _Gathering:
    """The plan, its reps' loads and the pairs of its spread accounts' items, kept up to date
    as accounts are gathered."""

    def __init__(self, inst: AllocationInstance, plan: np.ndarray, pair_cost: np.ndarray,
                 deviation: np.ndarray, travel: np.ndarray) -> None:
        self.inst, self.plan = inst, plan.astype(np.int64).copy()
        chosen = self.plan[inst.pair_item] == inst.pair_agent
        self.load = np.bincount(inst.pair_agent[chosen], weights=inst.pair_weight[chosen],
                                minlength=inst.n_agents).astype(np.int64).tolist()
        target = inst.agent_target if inst.agent_target is not None \
            else np.zeros(inst.n_agents)
        self.target = np.asarray(target, dtype=np.int64).tolist()
        self.deviation = np.asarray(deviation, dtype=np.int64).tolist()
        self.lo, self.hi = inst.agent_lo.tolist(), inst.agent_hi.tolist()
        self.pair_cost, self.travel = pair_cost, travel
        self.movable = inst.fixed_agent < 0 if inst.fixed_agent is not None \
            else np.ones(inst.n_items, dtype=bool)
        # the pairs of the items of accounts spread now (gathering spreads none)
        items = np.flatnonzero(np.isin(inst.item_account, self._spread()))
        self.items_of = items_by_account(items, inst.item_account[items])
        wanted = np.zeros(inst.n_items, dtype=bool)
        wanted[items] = True
        # (in 32 bits where they fit: on XL's largest team these hold millions of pairs)
        small = np.int32 if inst.n_items * inst.n_agents < 2 ** 31 else np.int64
        order = inst.by_item_agent
        pairs = order[wanted[inst.pair_item[order]]].astype(small)
        self.keys = inst.item_agent_keys(pairs).astype(small)
        self.pairs = pairs

    def _spread(self) -> np.ndarray:
        """The accounts whose assigned items are on more than one rep."""
        inst, on = self.inst, self.plan >= 0
        served = distinct(inst.item_account[on].astype(np.int64) * inst.n_agents
                           + self.plan[on])
        return np.flatnonzero(np.bincount(served // inst.n_agents) > 1)

    def one_pass(self, deadline: float) -> bool:
        """Each spread account once, gathered where that gains most; whether any was."""
        gained = False
        for account in self._spread().tolist():
            if time.monotonic() >= deadline:
                break
            gained |= self._gather(account)
        return gained

    def _gather(self, account: int) -> bool:
        """The account gathered on the rep that lowers the cost most, if any does."""
        items = self.items_of.get(account)
        if items is None:
            return False
        reps = self.plan[items]
        movable = items[(reps >= 0) & self.movable[items]]
        staying = set(reps[(reps >= 0) & ~self.movable[items]].tolist())
        serving = set(reps[reps >= 0].tolist())
        candidates = np.array(sorted(serving), dtype=np.int64)
        if not len(movable) or len(candidates) < 2:
            return False
        keys = (movable[:, None] * self.inst.n_agents + candidates[None, :]).astype(
            self.keys.dtype)  # (searching with another type would copy every key)
        at = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        pairs = np.where(self.keys[at] == keys, self.pairs[at], -1)
        weight = np.where(pairs >= 0, self.inst.pair_weight[pairs], 0).tolist()
        cost = np.where(pairs >= 0, self.pair_cost[pairs], 0).tolist()
        pairs = pairs.tolist()
        column = {a: c for c, a in enumerate(candidates.tolist())}
        reps_now = self.plan[movable].tolist()
        now = [column[a] for a in reps_now]
        best = None
        for c, agent in enumerate(candidates.tolist()):
            if any(row[c] < 0 for row in pairs):
                continue
            change = self._change(account, agent, c, now, reps_now, weight, cost,
                                  staying | {agent}, serving)
            if change is not None and change < 0 and (best is None or change < best[0]):
                best = (change, c, agent)
        if best is None:
            return False
        _, c, agent = best
        for k, i in enumerate(movable.tolist()):
            if reps_now[k] != agent:
                self.load[reps_now[k]] -= weight[k][now[k]]
                self.load[agent] += weight[k][c]
                self.plan[i] = agent
        return True

    def _change(self, account: int, agent: int, c: int, now: list[int], reps_now: list[int],
                weight: list, cost: list, after: set, serving: set) -> int | None:
        """The cost's change of moving the account's movable items (on reps `reps_now`, the
        columns `now` of their pairs' `weight` and `cost` by candidate) to candidate column
        `c`, rep `agent`, the account served by the reps `after` then; None when a band
        would break."""
        shift: dict[int, int] = {}
        change = 0
        for k, col in enumerate(now):
            if col != c:
                shift[reps_now[k]] = shift.get(reps_now[k], 0) - weight[k][col]
                shift[agent] = shift.get(agent, 0) + weight[k][c]
                change += cost[k][c] - cost[k][col]
        for a, hours in shift.items():
            load = self.load[a] + hours
            if load < self.lo[a] or load > self.hi[a]:
                return None
            change += self.deviation[a] * (abs(load - self.target[a])
                                           - abs(self.load[a] - self.target[a]))
        return change - sum(int(self.travel[account, a]) for a in serving - after)


def items_by_account(items: np.ndarray, account: np.ndarray) -> dict[int, np.ndarray]:
    """The items of each account (`account`: each item's), by account."""
    order = np.argsort(account, kind="stable")
    items, account = items[order], account[order]
    cuts = np.flatnonzero(np.diff(account)) + 1
    return {int(group_account[0]): group
            for group, group_account in zip(np.split(items, cuts), np.split(account, cuts))
            if len(group)}
