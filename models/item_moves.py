"""Stage 2: a plan improved by moving single items, swapping pairs of them, short chains and
re-choosing an agent's items (a descent).

The neighbourhood search (models.allocation_lns) re-solves the items of a few agents exactly
with CP-SAT. Where agents are full that is slow: on M region x function's South service team
(more work than hours, 15 reps, 22,045 pairs) each such solve took about half a second, and the
search made 2 in a second. Here every move of one kind is priced at once with numpy:
- one item to another agent, or to nobody (each priced again, exactly, when its turn comes in
  a pass, since the moves before it may have changed its agents' loads);
- two items swapped between two agents, or an item swapped for one left to nobody;
- a chain: an item joins an agent while one of the agent's own leaves for another, or for
  nobody;
- an agent's items re-chosen among its optional ones and those left to nobody (a knapsack over
  its hours): two small items out for a larger one that gains more;
- a whole account (all its items held by one agent) to another agent: one item alone would
  make the account pay travel at both.
Swaps and chains that touch distinct agents are made together; single moves come first, until
none is left, then every other kind once a round.

Measured from the starts of M region x function's teams (the cost the engine's start had ->
after the descent, seconds to its end): South service 256.87 -> 254.50 M (0.92 s), East hunting
213.47 -> 208.71 M (0.13 s), East farming 293.98 -> 292.69 M (0.54 s) (single moves and swaps
first, before chains were made every round). The teams of one 10 s solve (2 s for S), each
solved alone at the time its first pass had, two seeds, sums of plan - bound without -> with:
M region x function 32.7 / 34.3 -> 22.0 / 23.7 M; M key-account hybrid 11.9 / 11.4 -> 5.0 /
5.0 M; S key-account hybrid 42.0 / 35.6 -> 18.7 / 19.7 M.
"""

from __future__ import annotations

import math
import time
from typing import Callable

import numpy as np

from models.account_moves import items_by_account
from models.allocation_bound import pair_slices
from models.arrays import distinct
from models.instances import AllocationInstance, SummedTerms, summed_terms

#: above this many candidate pairs (a's items x b's items) a swap between two agents is looked
#: for among the SWAP_CANDIDATES items of each whose moves alone would gain most
SWAP_FULL = 4_096
SWAP_CANDIDATES = 64
#: a chain into an agent is looked for among the CHAIN_CANDIDATES items of its own that would
#: gain most by leaving and the CHAIN_CANDIDATES pairs into it that would gain most
CHAIN_CANDIDATES = 64
#: an agent's items are re-chosen among its own optional ones and the KNAPSACK_CANDIDATES
#: items left to nobody that would gain most an hour, by dynamic programming over its hours
#: in the band (where the band spans at most KNAPSACK_MAX_SPAN units)
KNAPSACK_CANDIDATES = 256
KNAPSACK_MAX_SPAN = 50_000
#: whole accounts are moved where accounts x agents is at most this (the pass adds up each
#: account's pairs by agent in arrays of that size)
ACCOUNT_MAX_CELLS = 10_000_000
#: What a pass takes a pair, about (measured on L key-account hybrid's individuals team, 2.7
#: million pairs: setting up 0.15 s, the first single moves 0.72 s, whole accounts 0.18 s,
#: chains 1.31 s): a pass starts only when that fits in the time left, and the descent only
#: when its set-up and first single moves take at most half its time. (Without this, XL region
#: x function's teams of 1-5 million pairs overran their times by 1-2.5 s each, and the teams
#: after them were starved.)
SETUP_SECONDS_PER_PAIR = 6e-8
SHIFT_SECONDS_PER_PAIR = 2.7e-7
ACCOUNT_SECONDS_PER_PAIR = 7e-8
CHAIN_SECONDS_PER_PAIR = 5e-7
#: ... but a chain pass's set-up (every item's best way out and every pair's way in) costs more
#: a pair on the largest teams: XL key-account hybrid's individuals team (11.2 million pairs)
#: 14.0-15.6 s alone, 13.7 s in a whole run where 6.3 s were estimated (the team ended 7.2 s
#: past its time; its chains gained 0.07 M of 353 M)
CHAIN_SLOW_FROM_PAIRS = 8_000_000
CHAIN_SLOW_SECONDS_PER_PAIR = 1.3e-6
#: On a team of more than this many pairs a descent may be `quick`: single moves, whole
#: accounts and re-choices, without the chains and swaps, whose passes there take seconds for
#: next to nothing: XL key-account hybrid's individuals team (12.5 million pairs, alone at its
#: 54 s of a whole run): its single moves done at 246.95 M, a chain pass then took 10.5 s for
#: 0.08 M and a swap pass 13.9 s for 0.05 M (bound 238.86 M)
QUICK_FROM_PAIRS = CHAIN_SLOW_FROM_PAIRS


def improve_by_moves(inst: AllocationInstance, plan: np.ndarray, names: tuple[str, ...],
                     seconds: float, last: bool = False, quick: bool = False) -> np.ndarray:
    """The plan (which holds every band) after moves, swaps, chains, re-choices and account
    moves that each lower its cost (the terms `names`) and keep every band, round after round
    until one gains nothing or `seconds` run out; `quick`, without the chains and swaps (see
    QUICK_FROM_PAIRS). Pinned items stay, and a mandatory item is never left to nobody. It
    starts only in its least time (`descent_least_seconds`; `last`: nothing else follows it in
    the team's time)."""
    deadline = time.monotonic() + seconds
    if descent_least_seconds(inst, last) > seconds:
        return plan
    descent = _Descent(inst, plan, summed_terms(inst, names), deadline)
    while time.monotonic() < deadline:
        if descent.shift_pass():
            continue  # (single moves are the cheapest to price: first until none is left)
        # (every other kind once a round: one chain took M's East farming team from 297.6 to
        # 292.1 M after a dozen swaps that gained 0.1 M)
        made = descent.account_pass()
        if not quick:
            made += descent.chain_pass() + descent.swap_pass()
        if not made + descent.knapsack_pass():
            break
    return descent.plan


def descent_least_seconds(inst: AllocationInstance, last: bool = False) -> float:
    """The least time a descent starts in: its first pass cannot be cut short, so it must fit
    well within the time (twice its estimate), or, where nothing follows it in the team's
    time (`last`), fit: the estimate is about twice what the first pass takes after a
    gathering (XL key-account hybrid's individuals team, 12.2 million pairs: setting up 0.56-
    0.64 s, the first single moves 1.6-1.8 s, estimated 4.0 s). There, at twice, the descent
    did not start in the 7.7 s left after the gathering, and the team ended 52 M above its
    bound; where it had 15 s, it took the team from 297 M to 267 M."""
    return (1 if last else 2) * len(inst.pair_item) * (SETUP_SECONDS_PER_PAIR
                                                       + SHIFT_SECONDS_PER_PAIR)


class _Descent:
    """The plan with its agents' loads, each item's pair, cost and weight, kept up to date."""

    def __init__(self, inst: AllocationInstance, plan: np.ndarray, summed: SummedTerms,
                 deadline: float = math.inf) -> None:
        self.inst, self.plan = inst, plan.astype(np.int64).copy()
        self.deadline = deadline
        self.pair_cost, self.none_cost = summed.pair, summed.unassigned
        self.dev_cost = summed.deviation.astype(np.int64)
        self.travel = summed.travel if summed.travel is not None and np.any(summed.travel) \
            else None
        self.n_agents = n_agents = inst.n_agents
        target = inst.agent_target if inst.agent_target is not None else np.zeros(n_agents)
        self.target = np.asarray(target, dtype=np.int64)
        self.lo = np.asarray(inst.agent_lo, dtype=np.int64)
        self.hi = np.asarray(inst.agent_hi, dtype=np.int64)
        self.weight = np.asarray(inst.pair_weight, dtype=np.int64)
        self.optional = inst.item_optional.astype(bool)
        self.movable = inst.fixed_agent < 0 if inst.fixed_agent is not None \
            else np.ones(inst.n_items, dtype=bool)
        self.account = inst.item_account if inst.item_account is not None \
            else np.arange(inst.n_items)
        # (in 32 bits where they fit: XL's largest team has 11 million pairs)
        small = np.int32 if inst.n_items * n_agents < 2 ** 31 else np.int64
        self.order = inst.by_item_agent.astype(small)
        self.keys = inst.item_agent_keys(self.order).astype(small)
        self.pair = self.find(np.arange(inst.n_items), np.maximum(self.plan, 0))
        self.pair[self.plan < 0] = -1
        held = self.pair[self.pair >= 0]
        self.load = np.bincount(inst.pair_agent[held], weights=self.weight[held],
                                minlength=n_agents).astype(np.int64)
        self.served_keys = self.served_counts = np.zeros(0, dtype=np.int64)
        self.served_map: dict[int, int] = {}  # the counts, as (account, agent) key -> count
        self.served_since: dict[int, int] = {}  # moves' changes to the counts since counted
        # (the bands and the balance per agent as Python numbers, for moves priced one by one)
        self.agent_lo, self.agent_hi = self.lo.tolist(), self.hi.tolist()
        self.agent_target, self.agent_dev = self.target.tolist(), self.dev_cost.tolist()
        self.swap_from = 0  # the agent a swap pass starts from
        self.changed: dict[str, np.ndarray] = {}  # kind of pass -> agents changed since

    def find(self, items: np.ndarray, agents: np.ndarray) -> np.ndarray:
        """The pair of each (item, agent), or -1 where there is none."""
        key = (items.astype(np.int64) * self.inst.n_agents + agents).astype(self.keys.dtype)
        at = np.minimum(np.searchsorted(self.keys, key), len(self.keys) - 1)
        return np.where(self.keys[at] == key, self.order[at], -1).astype(np.int64)

    def now_cost(self, items: np.ndarray) -> np.ndarray:
        """What each item's pair (or being left to nobody) costs now."""
        pair = self.pair[items]
        return np.where(pair >= 0, self.pair_cost[np.maximum(pair, 0)],
                        np.where(self.optional[items], self.none_cost[items], 0))

    def now_weight(self, items: np.ndarray) -> np.ndarray:
        pair = self.pair[items]
        return np.where(pair >= 0, self.weight[np.maximum(pair, 0)], 0)

    def deviation(self, agents: np.ndarray | int, load: np.ndarray) -> np.ndarray:
        return self.dev_cost[agents] * np.abs(load - self.target[agents])

    def count_served(self) -> None:
        """How many items of each account each agent holds (for the travel it pays)."""
        self.served_since = {}
        if self.travel is None:
            self.served_map = {}
            return
        on = self.plan >= 0
        self.served_keys, self.served_counts = np.unique(
            self.account[on].astype(np.int64) * self.inst.n_agents + self.plan[on],
            return_counts=True)
        self.served_map = dict(zip(self.served_keys.tolist(), self.served_counts.tolist()))

    def served(self, accounts: np.ndarray, agents: np.ndarray) -> np.ndarray:
        """How many items of each account the agent holds."""
        if not len(self.served_keys):
            return np.zeros(np.broadcast(accounts, agents).shape, dtype=np.int64)
        key = accounts.astype(np.int64) * self.inst.n_agents + agents
        at = np.minimum(np.searchsorted(self.served_keys, key), len(self.served_keys) - 1)
        return np.where(self.served_keys[at] == key, self.served_counts[at], 0)

    def travel_in(self, items: np.ndarray, agents: np.ndarray) -> np.ndarray:
        """The travel each item's account starts to pay when the item joins the agent."""
        if self.travel is None:
            return np.zeros(np.broadcast(items, agents).shape, dtype=np.int64)
        accounts = self.account[items]
        return self.travel[accounts, agents] * (self.served(accounts, agents) == 0)

    def travel_out(self, items: np.ndarray, agents: np.ndarray) -> np.ndarray:
        """The travel each item's account stops paying when the item leaves the agent."""
        if self.travel is None:
            return np.zeros(np.broadcast(items, agents).shape, dtype=np.int64)
        accounts = self.account[items]
        return self.travel[accounts, agents] * (self.served(accounts, agents) == 1)

    def leaving(self, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """What the items' agents save when each item leaves (deviation and travel), and
        whether their bands allow it; items held by nobody save nothing."""
        agents = self.plan[items]
        on = agents >= 0
        a = np.maximum(agents, 0)
        load = self.load[a] - self.now_weight(items)
        saving = self.deviation(a, load) - self.deviation(a, self.load[a]) \
            - self.travel_out(items, a)
        return np.where(on, saving, 0), ~on | (load >= self.lo[a])

    def fits(self, seconds_per_pair: float) -> bool:
        """Whether a pass that takes about this long a pair fits in the time left."""
        return time.monotonic() + len(self.inst.pair_item) * seconds_per_pair < self.deadline

    def shift_pass(self) -> int:
        """The moves of single items that lower the cost, cheapest first, each priced again
        when its turn comes; how many were made. Only the moves whose price may have changed
        since the last pass are looked at (`changed`): on L key-account hybrid's individuals
        team (2.7 million pairs) a pass over all took 0.3 s, and after the first two each
        made a few dozen moves."""
        if not self.fits(SHIFT_SECONDS_PER_PAIR):
            return 0
        self.count_served()
        changed = self.changed_since("shift")
        leaving = self._leaving_all()
        found = [self._shifts(part, changed, *leaving)
                 for part in pair_slices(len(self.inst.pair_item))]
        found.append(self._to_nobody(changed))
        change = np.concatenate([f[0] for f in found])
        items = np.concatenate([f[1] for f in found])
        to = np.concatenate([f[2] for f in found])
        pairs = np.concatenate([f[3] for f in found])
        order = np.argsort(change, kind="stable")
        moved: set[int] = set()
        for k, (item, agent, pair) in enumerate(zip(items[order].tolist(), to[order].tolist(),
                                                    pairs[order].tolist())):
            if k % 256 == 255 and time.monotonic() >= self.deadline:
                break
            # (earlier moves of this pass may have changed its price: priced again)
            if item in moved or self.shift_change(item, agent, pair) >= 0:
                continue
            self.move(item, agent, pair)
            moved.add(item)
        return len(moved)

    def shift_change(self, item: int, agent: int, pair: int | None = None) -> int:
        """The exact change in cost of moving one item to `agent` (-1: nobody) now, by its
        `pair` if known; a positive number where a band would break. (Priced in Python
        numbers: a pass prices up to hundreds of thousands of moves one by one, XL key-account
        hybrid's individuals team 141,000 in its first, at 80 us each in numpy arrays of one.)"""
        source = int(self.plan[item])
        if agent >= 0 and pair is None:
            pair = int(self.find(np.array([item]), np.array([agent]))[0])
        held = int(self.pair[item])
        now = int(self.pair_cost[held]) if held >= 0 \
            else int(self.none_cost[item]) if self.optional[item] else 0
        change = (int(self.pair_cost[pair]) if agent >= 0 else int(self.none_cost[item])) - now
        account = int(self.account[item])
        if source >= 0:
            before = int(self.load[source])
            load = before - int(self.weight[held])
            if load < self.agent_lo[source]:
                return 1
            change += self._balance(source, load) - self._balance(source, before)
            if self.travel is not None and self.served_now(account, source) == 1:
                change -= int(self.travel[account, source])
        if agent >= 0:
            before = int(self.load[agent])
            load = before + int(self.weight[pair])
            if load > self.agent_hi[agent]:
                return 1
            change += self._balance(agent, load) - self._balance(agent, before)
            if self.travel is not None and self.served_now(account, agent) == 0:
                change += int(self.travel[account, agent])
        return change

    def _balance(self, agent: int, load: int) -> int:
        """`deviation` for one agent, in Python numbers."""
        return self.agent_dev[agent] * abs(load - self.agent_target[agent])

    def served_now(self, account: int, agent: int) -> int:
        """How many items of the account the agent holds now (counted, plus moves since)."""
        key = account * self.n_agents + agent
        return self.served_map.get(key, 0) + self.served_since.get(key, 0)

    def account_pass(self) -> int:
        """Whole accounts moved: each account of several items, all held by one agent and none
        pinned, to another agent that has pairs for all of them, where that lowers the cost,
        cheapest first, each priced again when its turn comes; how many moved. One item of
        such an account moving alone makes the account pay its travel twice, so single moves
        never start it."""
        inst = self.inst
        if self.travel is None or self.travel.size > ACCOUNT_MAX_CELLS \
                or not self.fits(ACCOUNT_SECONDS_PER_PAIR):
            return 0
        n_accounts, n_agents = self.travel.shape
        agent, size = self._whole_accounts(n_accounts)
        if not np.any(agent >= 0):
            return 0
        cost = np.zeros(n_accounts * n_agents)
        weight = np.zeros(n_accounts * n_agents)
        count = np.zeros(n_accounts * n_agents)
        for part in pair_slices(len(inst.pair_item)):
            accounts = self.account[inst.pair_item[part]]
            keep = agent[accounts] >= 0
            cell = accounts[keep] * n_agents + inst.pair_agent[part][keep]
            cost += np.bincount(cell, self.pair_cost[part][keep], len(cost))
            weight += np.bincount(cell, self.weight[part][keep], len(cost))
            count += np.bincount(cell, minlength=len(cost))
        accounts, to = np.divmod(np.flatnonzero(count == np.repeat(size, n_agents)), n_agents)
        source = agent[accounts]
        keep = (source >= 0) & (to != source)
        accounts, to, source = accounts[keep], to[keep], source[keep]
        items = np.flatnonzero(agent[self.account] >= 0)
        now_cost = np.bincount(self.account[items], self.now_cost(items), n_accounts)
        now_weight = np.bincount(self.account[items], self.now_weight(items), n_accounts)
        cell = accounts * n_agents + to
        load_to = self.load[to] + weight[cell].astype(np.int64)
        load_from = self.load[source] - now_weight[accounts].astype(np.int64)
        change = cost[cell] - now_cost[accounts] + self.travel[accounts, to] \
            - self.travel[accounts, source] + self.deviation(to, load_to) \
            - self.deviation(to, self.load[to]) + self.deviation(source, load_from) \
            - self.deviation(source, self.load[source])
        good = (change < 0) & (load_to <= self.hi[to]) & (load_from >= self.lo[source])
        order = np.argsort(change[good], kind="stable")
        items_of = items_by_account(items, self.account[items])
        moved = 0
        for account, agent_to in zip(accounts[good][order].tolist(), to[good][order].tolist()):
            members = items_of[account]
            if self.account_change(members, agent_to) < 0:
                for item in members.tolist():
                    self.move(item, agent_to)
                moved += 1
        return moved

    def _whole_accounts(self, n_accounts: int) -> tuple[np.ndarray, np.ndarray]:
        """The agent holding each account of several items wholly (none of them pinned or
        left to nobody; -1 for the others), and each account's number of items."""
        size = np.bincount(self.account, minlength=n_accounts)
        held = (self.plan >= 0) & self.movable
        lowest = np.full(n_accounts, self.inst.n_agents, dtype=np.int64)
        highest = np.full(n_accounts, -1, dtype=np.int64)
        np.minimum.at(lowest, self.account[held], self.plan[held])
        np.maximum.at(highest, self.account[held], self.plan[held])
        movable = np.bincount(self.account[held], minlength=n_accounts)
        whole = (size >= 2) & (movable == size) & (lowest == highest)
        return np.where(whole, lowest, -1), size

    def account_change(self, items: np.ndarray, agent: int) -> int:
        """The exact change in cost of moving an account's items (all held by one agent, and
        only they of the account) to `agent` now; a positive number where a band would break
        or the items no longer share an agent."""
        sources = distinct(self.plan[items])
        if len(sources) != 1 or sources[0] < 0 or sources[0] == agent:
            return 1
        source = int(sources[0])
        pairs = self.find(items, np.full(len(items), agent))
        if np.any(pairs < 0):
            return 1
        load_to = int(self.load[agent] + self.weight[pairs].sum())
        load_from = int(self.load[source] - self.now_weight(items).sum())
        if load_to > self.hi[agent] or load_from < self.lo[source]:
            return 1
        account = int(self.account[items[0]])
        return int(self.pair_cost[pairs].sum() - self.now_cost(items).sum()
                   + self.travel[account, agent] - self.travel[account, source]
                   + self.deviation(agent, load_to) - self.deviation(agent, self.load[agent])
                   + self.deviation(source, load_from)
                   - self.deviation(source, self.load[source]))

    def changed_since(self, kind: str) -> np.ndarray:
        """The agents whose items changed since the last pass of this kind (at first, all).
        A move's price reads only the loads and accounts' counts of the agents it leaves and
        joins, so a move between agents that did not change is priced as before. The last
        entry stands for nobody (the items left to nobody changed)."""
        changed = self.changed.get(kind)
        self.changed[kind] = np.zeros(self.inst.n_agents + 1, dtype=bool)
        return np.ones(self.inst.n_agents + 1, dtype=bool) if changed is None else changed

    def _leaving_all(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For every item, what its leaving changes (its cost now off, what its agent saves
        on), whether it may leave (movable, and its agent's band allows it); and each agent's
        balance now: what pricing every pair's move shares, item by item and agent by agent."""
        every = np.arange(self.inst.n_items)
        saving, ok = self.leaving(every)
        balance = self.deviation(np.arange(self.inst.n_agents), self.load)
        return saving - self.now_cost(every), ok & self.movable, balance

    def _shifts(self, part: slice, changed: np.ndarray, off: np.ndarray, may_leave: np.ndarray,
                balance: np.ndarray) -> tuple[np.ndarray, ...]:
        """The moves of the pairs in `part` that would lower the cost and whose price may have
        changed: change, item, agent, pair (`_leaving_all`: what each item's leaving changes,
        whether it may leave, each agent's balance now). Travel, which only adds to a move's
        cost, is priced for the moves that gain without it alone."""
        inst = self.inst
        items, agents = inst.pair_item[part], inst.pair_agent[part]
        keep = may_leave[items] & (self.plan[items] != agents)
        if not changed.all():
            keep &= changed[agents] | _held_by(self.plan[items], changed)
        pairs = np.flatnonzero(keep) + part.start
        items, agents = items[keep], agents[keep]
        load = self.load[agents] + self.weight[pairs]
        change = self.pair_cost[pairs] + off[items] + self.deviation(agents, load) \
            - balance[agents]
        good = (load <= self.hi[agents]) & (change < 0)
        change, items, agents, pairs = change[good], items[good], agents[good], pairs[good]
        change = change + self.travel_in(items, agents)
        good = change < 0
        return change[good], items[good], agents[good], pairs[good]

    def _to_nobody(self, changed: np.ndarray) -> tuple[np.ndarray, ...]:
        """Optional items on `changed` agents whose leaving to nobody would lower the cost
        (change, item, and -1 for agent and pair)."""
        items = np.flatnonzero((self.plan >= 0) & self.optional & self.movable)
        items = items[_held_by(self.plan[items], changed)]
        saving, ok = self.leaving(items)
        change = self.none_cost[items] - self.now_cost(items) + saving
        good = ok & (change < 0)
        none = np.full(int(good.sum()), -1, dtype=np.int64)
        return change[good], items[good], none, none

    def move(self, item: int, agent: int, pair: int | None = None) -> None:
        """The item moved to `agent` (-1: nobody), by its `pair` if known."""
        source = int(self.plan[item])
        key = int(self.account[item]) * self.inst.n_agents
        for changed in self.changed.values():
            changed[[source, agent]] = True  # (-1, nobody, is the last entry)
        if source >= 0:
            self.load[source] -= self.weight[self.pair[item]]
            self.served_since[key + source] = self.served_since.get(key + source, 0) - 1
        if agent >= 0:
            self.served_since[key + agent] = self.served_since.get(key + agent, 0) + 1
        self.plan[item] = agent
        if agent < 0:
            pair = -1
        elif pair is None:
            pair = int(self.find(np.array([item]), np.array([agent]))[0])
        self.pair[item] = pair
        if agent >= 0:
            self.load[agent] += self.weight[self.pair[item]]

    def swap_pass(self) -> int:
        """For each two agents (and each agent with the items left to nobody) the swap that
        lowers the cost most, made together where they touch distinct agents; how many were."""
        self.count_served()
        n_agents = self.inst.n_agents
        held = _by_agent(self.plan, self.movable, n_agents)
        free = np.flatnonzero((self.plan < 0) & self.movable)
        changed = self.changed_since("swap")
        found = []
        for step in range(n_agents):
            a = (self.swap_from + step) % n_agents
            if time.monotonic() >= self.deadline:
                self.swap_from = a  # (the next pass goes on from here)
                self.changed["swap"] |= changed
                break
            for b in list(range(a + 1, n_agents)) + [-1]:
                if not (changed[a] or changed[b]):  # (b = -1: nobody's items changed)
                    continue
                best = self._best_swap(a, b, held[a], held[b] if b >= 0 else free)
                if best is not None:
                    found.append(best)
        return self.make_together(found)

    def _best_swap(self, a: int, b: int, mine: np.ndarray, theirs: np.ndarray
                   ) -> tuple[int, tuple] | None:
        """The swap of one of agent a's items `mine` with one of `theirs` (agent b's, or left
        to nobody when b < 0) that lowers the cost most: its change and its moves."""
        if b < 0:
            mine = mine[self.optional[mine]]
        if not len(mine) or not len(theirs):
            return None
        to_a = self.find(theirs, np.full(len(theirs), a))
        theirs, to_a = theirs[to_a >= 0], to_a[to_a >= 0]
        if b >= 0:
            to_b = self.find(mine, np.full(len(mine), b))
            mine, to_b = mine[to_b >= 0], to_b[to_b >= 0]
        if not len(mine) or not len(theirs):
            return None
        # what each item's move alone changes in pair costs and travel
        if b >= 0:
            out = self.pair_cost[to_b] - self.now_cost(mine) + self.travel_in(mine, b) \
                - self.travel_out(mine, np.full(len(mine), a))
            back = self.pair_cost[to_a] - self.now_cost(theirs) + self.travel_in(theirs, a) \
                - self.travel_out(theirs, np.full(len(theirs), b))
        else:
            out = self.none_cost[mine] - self.now_cost(mine) \
                - self.travel_out(mine, np.full(len(mine), a))
            back = self.pair_cost[to_a] - self.none_cost[theirs] + self.travel_in(theirs, a)
        if len(mine) * len(theirs) > SWAP_FULL:
            first = np.argsort(out, kind="stable")[:SWAP_CANDIDATES]
            second = np.argsort(back, kind="stable")[:SWAP_CANDIDATES]
            mine, out, to_b = mine[first], out[first], to_b[first] if b >= 0 else None
            theirs, back, to_a = theirs[second], back[second], to_a[second]
        load_a = self.load[a] - self.now_weight(mine)[:, None] + self.weight[to_a][None, :]
        change = out[:, None] + back[None, :] + self.deviation(a, load_a) \
            - self.deviation(a, self.load[a])
        ok = (load_a >= self.lo[a]) & (load_a <= self.hi[a])
        if b >= 0:
            load_b = self.load[b] - self.now_weight(theirs)[None, :] + self.weight[to_b][:, None]
            change = change + self.deviation(b, load_b) - self.deviation(b, self.load[b])
            ok &= (load_b >= self.lo[b]) & (load_b <= self.hi[b])
        if self.travel is not None:  # (two items of one account would share its travel)
            ok &= self.account[mine][:, None] != self.account[theirs][None, :]
        best = _cheapest(change, ok)
        if best is None:
            return None
        value, r, c = best
        i, j = int(mine[r]), int(theirs[c])
        return value, ((i, a, b), (j, b, a))

    def chain_pass(self) -> int:
        """For each agent the chain that lowers the cost most: one item joins it (from another
        agent or from nobody) and one of its own leaves (to another agent, or to nobody), made
        together where they touch distinct agents; how many were. (Where every agent is full,
        an item left to nobody gets in only if another makes room.)"""
        slow = len(self.inst.pair_item) > CHAIN_SLOW_FROM_PAIRS
        if not self.fits(CHAIN_SLOW_SECONDS_PER_PAIR if slow else CHAIN_SECONDS_PER_PAIR):
            return 0
        self.count_served()
        out, dest = self._best_ways_out()
        change, joining, pairs, agents = self._ways_in()
        order = np.argsort(agents, kind="stable")
        starts = np.searchsorted(agents[order], np.arange(self.inst.n_agents + 1))
        held = _by_agent(self.plan, self.movable & (dest >= -1), self.inst.n_agents)
        found = []
        for a in range(self.inst.n_agents):
            if time.monotonic() >= self.deadline:
                break
            mine = order[starts[a]:starts[a + 1]]
            best = self._best_chain(a, held[a], out, dest, change[mine], joining[mine],
                                    pairs[mine])
            if best is not None:
                found.append(best)
        return self.make_together(found)

    def make_together(self, found: list[tuple[int, tuple]]) -> int:
        """Each found exchange (its change, and its moves as (item, from, to)), cheapest first,
        made where its items are still where it found them and no agent it touches was touched
        by one made before (its price holds then); how many were made."""
        touched: set[int] = set()
        made = 0
        for _, moves in sorted(found):
            agents = {a for _, source, to in moves for a in (source, to)} - {-1}
            if agents & touched or any(self.plan[item] != source for item, source, _ in moves):
                continue
            for item, _, to in moves:
                self.move(item, to)
            touched |= agents
            made += 1
        return made

    def _best_ways_out(self) -> tuple[np.ndarray, np.ndarray]:
        """Each held, movable item's cheapest way to leave its agent, and where to (-1:
        nobody): the change in pair costs, travel and the receiving agent's deviation (its own
        agent's deviation depends on what joins it); an item with none is priced at 0 to
        nowhere (-2), and never chosen."""
        inst = self.inst
        n = inst.n_items
        out = np.zeros(n, dtype=np.int64)
        dest = np.full(n, -2, dtype=np.int64)
        held = (self.plan >= 0) & self.movable
        nobody = np.flatnonzero(held & self.optional)
        out[nobody] = self.none_cost[nobody] - self.now_cost(nobody) \
            - self.travel_out(nobody, self.plan[nobody])
        dest[nobody] = -1
        for part in pair_slices(len(inst.pair_item)):
            items, agents = inst.pair_item[part], inst.pair_agent[part]
            pairs = np.arange(part.start, part.stop)
            keep = held[items] & (self.plan[items] != agents)
            items, agents, pairs = items[keep], agents[keep], pairs[keep]
            load = self.load[agents] + self.weight[pairs]
            change = self.pair_cost[pairs] - self.now_cost(items) \
                + self.travel_in(items, agents) - self.travel_out(items, self.plan[items]) \
                + self.deviation(agents, load) - self.deviation(agents, self.load[agents])
            fits = load <= self.hi[agents]
            items, agents, change = items[fits], agents[fits], change[fits]
            order = np.lexsort((change, items))
            first = np.ones(len(order), dtype=bool)
            first[1:] = items[order][1:] != items[order][:-1]
            best = order[first]
            better = (dest[items[best]] == -2) | (change[best] < out[items[best]])
            out[items[best[better]]] = change[best[better]]
            dest[items[best[better]]] = agents[best[better]]
        return out, dest

    def _ways_in(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every move of a movable item to an agent not holding it, where the leaving keeps
        the band it leaves: the change in pair costs, travel and the deviation of the agent
        it leaves (the receiving agent's depends on what leaves it), the item, its pair and
        the agent."""
        found = [self._ways_in_of(part) for part in pair_slices(len(self.inst.pair_item))]
        return tuple(np.concatenate([f[k] for f in found]) for k in range(4))

    def _ways_in_of(self, part: slice) -> tuple[np.ndarray, ...]:
        inst = self.inst
        items, agents = inst.pair_item[part], inst.pair_agent[part]
        pairs = np.arange(part.start, part.stop)
        keep = (self.plan[items] != agents) & self.movable[items]
        items, agents, pairs = items[keep], agents[keep], pairs[keep]
        saving, ok = self.leaving(items)
        change = self.pair_cost[pairs] - self.now_cost(items) + saving \
            + self.travel_in(items, agents)
        change, items, pairs, agents = change[ok], items[ok], pairs[ok], agents[ok]
        # (only each agent's CHAIN_CANDIDATES cheapest are looked at: the rest can go)
        order = np.lexsort((change, agents))
        first = np.searchsorted(agents[order], agents[order])
        keep = order[np.arange(len(order)) - first < CHAIN_CANDIDATES]
        return change[keep], items[keep], pairs[keep], agents[keep]

    def _best_chain(self, a: int, mine: np.ndarray, out: np.ndarray, dest: np.ndarray,
                    change_in: np.ndarray, joining: np.ndarray, pairs: np.ndarray
                    ) -> tuple[int, tuple] | None:
        """The chain into agent a that lowers the cost most, one of its items `mine` leaving
        (its cheapest way out `out`, to `dest`) and one of the `joining` coming in by `pairs`:
        its change and its moves."""
        if not len(mine) or not len(joining):
            return None
        mine = mine[np.argsort(out[mine], kind="stable")[:CHAIN_CANDIDATES]]
        first = np.argsort(change_in, kind="stable")[:CHAIN_CANDIDATES]
        change_in, joining, pairs = change_in[first], joining[first], pairs[first]
        load = self.load[a] - self.now_weight(mine)[:, None] + self.weight[pairs][None, :]
        change = out[mine][:, None] + change_in[None, :] + self.deviation(a, load) \
            - self.deviation(a, self.load[a])
        source = self.plan[joining]
        ok = (load >= self.lo[a]) & (load <= self.hi[a]) \
            & ((dest[mine][:, None] < 0) | (dest[mine][:, None] != source[None, :]))
        if self.travel is not None:
            ok &= self.account[mine][:, None] != self.account[joining][None, :]
        best = _cheapest(change, ok)
        if best is None:
            return None
        value, r, c = best
        i, j = int(mine[r]), int(joining[c])
        return value, ((i, a, int(dest[i])), (j, int(self.plan[j]), a))

    def knapsack_pass(self) -> int:
        """Each agent's items re-chosen, where that lowers the cost: which of its optional
        items it keeps and which items left to nobody it takes on, exactly within its band
        (a knapsack). Where every agent is full this is what makes room: two small items out
        for one larger that gains more (M's South service team). How many agents changed."""
        self.count_served()
        free = np.flatnonzero((self.plan < 0) & self.movable)
        if not len(free):
            return 0
        own = _by_agent(self.plan, self.movable & self.optional, self.inst.n_agents)
        changed = 0
        for a in range(self.inst.n_agents):
            if time.monotonic() >= self.deadline:
                break
            changed += self._rechoose(a, own[a], free[self.plan[free] < 0])
        return changed

    def _rechoose(self, a: int, own: np.ndarray, free: np.ndarray) -> int:
        """Agent a's best choice among its optional items `own` and the items `free` (left to
        nobody), made when it lowers the cost (checked exactly); whether it did."""
        pairs = self.find(free, np.full(len(free), a))
        free, pairs = free[pairs >= 0], pairs[pairs >= 0]
        if not len(free):
            return 0
        off = self.none_cost[own] - self.now_cost(own) - self.travel_out(own, np.full(len(own), a))
        into = self.pair_cost[pairs] - self.none_cost[free] + self.travel_in(free, a)
        first = np.argsort(into / np.maximum(self.weight[pairs], 1), kind="stable")
        first = first[:KNAPSACK_CANDIDATES]
        free, pairs, into = free[first], pairs[first], into[first]
        items = np.concatenate([own, free])
        value = np.concatenate([-off, into])
        weight = np.concatenate([self.now_weight(own), self.weight[pairs]])
        base = int(self.load[a] - weight[:len(own)].sum())
        span = int(self.hi[a]) - base
        if span < 0 or span > KNAPSACK_MAX_SPAN:
            return 0
        chosen = _knapsack(value, weight, span, lambda extra: self.deviation(a, base + extra),
                           int(self.lo[a]) - base)
        if chosen is None:
            return 0
        leaving = own[~chosen[:len(own)]]
        joining = free[chosen[len(own):]]
        if not len(leaving) and not len(joining):
            return 0
        if self._rechoice_change(a, leaving, joining) >= 0:
            return 0
        for item in leaving.tolist():
            self.move(item, -1)
        for item in joining.tolist():
            self.move(item, a)
        return 1

    def _rechoice_change(self, a: int, leaving: np.ndarray, joining: np.ndarray) -> int:
        """The exact change in cost when agent a leaves the items `leaving` to nobody and
        takes on `joining` (held by nobody); a positive number where a band would break."""
        pairs = self.find(joining, np.full(len(joining), a))
        load = self.load[a] - self.now_weight(leaving).sum() + self.weight[pairs].sum()
        if not self.lo[a] <= load <= self.hi[a]:
            return 1
        change = int((self.none_cost[leaving] - self.now_cost(leaving)).sum()
                     + (self.pair_cost[pairs] - self.none_cost[joining]).sum()
                     + self.deviation(a, load) - self.deviation(a, self.load[a]))
        if self.travel is None:
            return change
        accounts = distinct(self.account[np.concatenate([leaving, joining])])
        before = self.served(accounts, np.full(len(accounts), a))
        after = before.copy()
        np.subtract.at(after, np.searchsorted(accounts, self.account[leaving]), 1)
        np.add.at(after, np.searchsorted(accounts, self.account[joining]), 1)
        pay = self.travel[accounts, a]
        return change + int((pay * (after > 0)).sum() - (pay * (before > 0)).sum())


def _cheapest(change: np.ndarray, ok: np.ndarray) -> tuple[int, int, int] | None:
    """The most negative change where `ok` (a matrix), with its row and column; None when no
    change there is negative."""
    change = np.where(ok, change, 0)
    k = int(np.argmin(change))
    if change.flat[k] >= 0:
        return None
    r, c = divmod(k, change.shape[1])
    return int(change.flat[k]), r, c


def _held_by(agents: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Whether each of `agents` (-1: nobody) is one of the `wanted`."""
    return (agents >= 0) & wanted[np.maximum(agents, 0)]


def _by_agent(plan: np.ndarray, wanted: np.ndarray, n_agents: int) -> list[np.ndarray]:
    """The `wanted` items each agent holds, by agent."""
    items = np.flatnonzero(wanted & (plan >= 0))
    items = items[np.argsort(plan[items], kind="stable")]
    return np.split(items, np.searchsorted(plan[items], np.arange(1, n_agents)))


def _knapsack(value: np.ndarray, weight: np.ndarray, span: int,
              deviation: Callable[[np.ndarray], np.ndarray], least: int) -> np.ndarray | None:
    """Which items to take (each adds its `value` and `weight`) so that the values plus
    `deviation` of the weight taken are least, the weight between `least` and `span`; None
    when no choice fits."""
    cost = np.full(span + 1, np.iinfo(np.int64).max // 4, dtype=np.int64)
    cost[0] = 0
    took = np.zeros((len(value), span + 1), dtype=bool)
    for k, (v, w) in enumerate(zip(value.tolist(), weight.tolist())):
        if w > span:
            continue
        if w == 0:
            took[k] = v < 0
            cost += min(v, 0)
            continue
        candidate = cost[:-w] + v
        better = candidate < cost[w:]
        took[k, w:] = better
        cost[w:] = np.where(better, candidate, cost[w:])
    total = cost + deviation(np.arange(span + 1))
    total[:max(0, least)] = np.iinfo(np.int64).max
    at = int(np.argmin(total))
    if total[at] >= np.iinfo(np.int64).max // 8:
        return None
    chosen = np.zeros(len(value), dtype=bool)
    for k in range(len(value) - 1, -1, -1):
        if took[k, at]:
            chosen[k] = True
            at -= int(weight[k])
    return chosen
