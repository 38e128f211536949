"""A bound for stage 2's teams of two reps that takes items and accounts whole.

A team short of people (S key-account hybrid's teams of two reps, where every hour left
unserved costs the same) fills its reps' hours to within a few hours, and what it pays
beyond that depends on which whole items, and whole accounts (travel once per account and
rep), fill them. The Lagrangian relaxation (models.allocation_bound) prices each rep's hours
and lets a plan fill them with parts of items; CP-SAT's bound rests on the same linear
relaxation. On two such teams both ended 2.7-2.8 M below optima of 825-947 M that SCIP took
14-30 s to prove.

Here the loads of a chosen set K of the reps keep their sum exactly, while each rep's load
is still priced (the prices of the reps in K only trade hours among them): the cheapest
choice of every account (each assignment of its items to a rep or, optional, to nobody, its
travel counted once per rep) is found by dynamic programming over that sum, and each rep's
share of it by the balance terms, convex in its load. At any prices this is a valid bound,
and at the same prices never below the Lagrangian relaxation's value, whose loads may take
any sum. The prices are searched one at a time (the value is concave in them). On those two
teams (K: both reps, or either one alone; the best of the three), in 0.05-0.06 s: 945.84 M
against CP-SAT's 944.47 M after 1 s (optimum 947.18 M), and 824.21 M against 822.57 M
(optimum 825.31 M); on the company's five other teams of two reps, which CP-SAT proves at
once, exactly their optima.
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass

import numpy as np

from models.instances import AllocationInstance, SummedTerms, summed_terms

#: the teams it is tried on: a team of three reps (S key-account hybrid's, optimum 353.06 M)
#: got 350.64 M at best, against CP-SAT's 350.3-351.3 M
MAX_AGENTS = 2
#: an account of more assignments than this has its items taken one by one, its travel to a
#: rep shared among the items that rep could take (still a bound: a plan pays at least that)
MAX_ASSIGNMENTS = 256
#: no bound where the assignments x load values of one evaluation exceed this (its time:
#: S's teams of 117-122 pairs, 300 assignments x 24,000 hours, about 2 ms an evaluation)
MAX_CELLS = 20_000_000
#: evaluations along one price at most (`_line`)
LINE_STEPS = 16
#: ... ending once the most its value could still rise is this share of it
LINE_TOLERANCE = 1e-5
#: the value is rounded up to an integer bound less this relative margin (floating point)
_MARGIN = 1e-9


@dataclass(frozen=True)
class Assignments:
    """Every account's choices: cost (pair costs, items left to nobody, travel) and the hours
    each rep takes, accounts in a row (`starts`: each account's first choice, and the end)."""

    cost: np.ndarray  # (C,) float
    load: np.ndarray  # (C, A) int64
    starts: np.ndarray  # (accounts + 1,)
    constant: float


def applies(inst: AllocationInstance) -> bool:
    """Whether the bound is tried: a team of two to MAX_AGENTS reps, no constraint from
    outside, and at most MAX_CELLS items x load values (the assignments are at least as
    many as the items)."""
    return (2 <= inst.n_agents <= MAX_AGENTS and not inst.extensions
            and inst.n_items * (int(inst.agent_hi.sum()) + 1) <= MAX_CELLS)


def assignments(inst: AllocationInstance, summed: SummedTerms) -> Assignments | None:
    """The accounts' choices under the `summed` terms; None where a mandatory item has no rep
    it may go to (no plan exists)."""
    travel = summed.travel if inst.item_account is not None else None
    account = inst.item_account if inst.item_account is not None \
        else np.arange(inst.n_items)
    options = _item_options(inst, summed.pair, summed.unassigned)
    if any(not o for o in options):
        return None
    costs, loads, starts = [], [], [0]
    by_account: dict[int, list[int]] = {}
    for i, acc in enumerate(account.tolist()):
        by_account.setdefault(acc, []).append(i)
    for acc, items in by_account.items():
        groups = _groups(items, options, travel, acc, inst.n_agents)
        for group, share in groups:
            for cost, load in _enumerate(group, options, share, inst.n_agents):
                costs.append(cost)
                loads.append(load)
            starts.append(len(costs))
    return Assignments(np.asarray(costs, dtype=np.float64),
                       np.asarray(loads, dtype=np.int64).reshape(-1, inst.n_agents),
                       np.asarray(starts, dtype=np.int64), float(summed.constant))


def _item_options(inst: AllocationInstance, pair_cost: np.ndarray, none_cost: np.ndarray
                  ) -> list[list[tuple[int, int, float]]]:
    """Each item's (rep, hours, cost) choices: its pairs (its pinned rep's alone, where it is
    pinned) and, optional, nobody (rep -1)."""
    options: list[list[tuple[int, int, float]]] = [[] for _ in range(inst.n_items)]
    fixed = inst.fixed_agent
    for p, (i, a, w) in enumerate(zip(inst.pair_item.tolist(), inst.pair_agent.tolist(),
                                      inst.pair_weight.tolist())):
        if fixed is None or fixed[i] < 0 or fixed[i] == a:
            options[i].append((a, int(w), float(pair_cost[p])))
    for i in np.flatnonzero(inst.item_optional).tolist():
        if fixed is None or fixed[i] < 0:
            options[i].append((-1, 0, float(none_cost[i])))
    return options


def _groups(items: list[int], options: list, travel: np.ndarray | None, acc: int,
            n_agents: int) -> list[tuple[list[int], np.ndarray]]:
    """The account's items as one group with its whole travel, or, where it has more
    assignments than MAX_ASSIGNMENTS, one group per item, each with its share of the travel
    to each rep (the travel over the items that rep could take)."""
    whole = np.zeros(n_agents) if travel is None else travel[acc].astype(np.float64)
    if math.prod(len(options[i]) for i in items) <= MAX_ASSIGNMENTS:
        return [(items, whole)]
    could = np.zeros(n_agents)
    for i in items:
        for a, _, _ in options[i]:
            if a >= 0:
                could[a] += 1
    share = np.divide(whole, could, out=np.zeros(n_agents), where=could > 0)
    return [([i], share) for i in items]


def _enumerate(group: list[int], options: list, travel: np.ndarray, n_agents: int):
    """Each assignment of the group's items: its cost (travel once per rep it uses) and the
    hours each rep takes."""
    for choice in itertools.product(*(options[i] for i in group)):
        load = np.zeros(n_agents, dtype=np.int64)
        used = np.zeros(n_agents, dtype=bool)
        cost = 0.0
        for a, w, c in choice:
            cost += c
            if a >= 0:
                load[a] += w
                used[a] = True
        yield cost + float(travel[used].sum()), load


def cells(inst: AllocationInstance, choices: Assignments) -> int:
    """Assignments x load values of one evaluation with every rep in K (the largest)."""
    return len(choices.cost) * (int(inst.agent_hi.sum()) + 1)


@dataclass(frozen=True)
class _Bands:
    """Each rep's band and what its balance costs per hour away from its target."""

    lo: np.ndarray
    hi: np.ndarray
    target: np.ndarray
    deviation: np.ndarray

    def pieces(self, a: int, price: float) -> list[tuple[float, int, int]]:
        """Rep a's balance less its priced hours, from its band's least load up: (slope, hours,
        rep) pieces, below its target and above it (convex)."""
        d, lo, hi = float(self.deviation[a]), int(self.lo[a]), int(self.hi[a])
        knee = min(max(int(self.target[a]), lo), hi)
        return [(-d - price, knee - lo, a), (d - price, hi - knee, a)]

    def value(self, a: int, price: float, load: int) -> float:
        """Rep a's balance less its priced hours at `load`."""
        return float(self.deviation[a]) * abs(load - int(self.target[a])) - price * load

    def least(self, a: int, price: float) -> tuple[float, int]:
        """Rep a's balance less its priced hours at its least over its band, and that load."""
        knee = min(max(int(self.target[a]), int(self.lo[a])), int(self.hi[a]))
        return min((self.value(a, price, load), load)
                   for load in (int(self.lo[a]), knee, int(self.hi[a])))


def bands(inst: AllocationInstance, summed: SummedTerms) -> _Bands:
    """Each rep's band, target and balance cost per hour under the `summed` terms."""
    deviation = summed.deviation.astype(np.float64)
    target = inst.agent_target if inst.agent_target is not None \
        else np.zeros(inst.n_agents, dtype=np.int64)
    return _Bands(inst.agent_lo.astype(np.int64), inst.agent_hi.astype(np.int64),
                  target.astype(np.int64), deviation)


class _Kept:
    """The relaxation for one set K of reps whose loads keep their sum: its value and a
    subgradient at given prices."""

    def __init__(self, choices: Assignments, b: _Bands, kept: np.ndarray) -> None:
        self.choices, self.b, self.kept = choices, b, kept
        self.top = int(b.hi[kept].sum())
        self.weight = choices.load[:, kept].sum(axis=1)
        # the choices of each account by their kept hours: the table takes the cheapest of
        # each such group (`_step`)
        account = np.repeat(np.arange(len(choices.starts) - 1), np.diff(choices.starts))
        self.order = np.lexsort((self.weight, account))
        w, acc = self.weight[self.order], account[self.order]
        new = np.ones(len(w), dtype=bool)
        new[1:] = (w[1:] != w[:-1]) | (acc[1:] != acc[:-1])
        self.group_start = np.flatnonzero(new)
        self.group_weight = w[self.group_start]
        self.account_groups = np.searchsorted(acc[self.group_start],
                                              np.arange(len(choices.starts)))

    def evaluate(self, prices: np.ndarray) -> tuple[float, np.ndarray]:
        """The relaxation's value at `prices` (one per rep) and its subgradient in them (the
        hours the choices give each rep less the load its balance takes)."""
        ch, b = self.choices, self.b
        value = ch.cost + ch.load @ prices
        cheapest = np.minimum.reduceat(value[self.order], self.group_start)
        tables = [np.zeros(1)]
        for g0, g1 in zip(self.account_groups[:-1].tolist(), self.account_groups[1:].tolist()):
            tables.append(_step(tables[-1], cheapest[g0:g1], self.group_weight[g0:g1],
                                self.top))
        table = np.full(self.top + 1, np.inf)
        table[:len(tables[-1])] = tables[-1]
        shares, balance = self._shares(prices)
        lo = int(b.lo[self.kept].sum())
        total = table[lo:lo + len(balance)] + balance
        at = int(np.argmin(total))
        if not np.isfinite(total[at]):
            return -math.inf, np.zeros(len(prices))
        held = self._held(tables, value, lo + at)
        loads = self._loads(prices, shares, at)
        return float(total[at]) + self._rest(prices) + ch.constant, held - loads

    def _shares(self, prices: np.ndarray) -> tuple[list, np.ndarray]:
        """The K reps' balance less their priced hours at its least for each sum of their
        loads from the least (convex: their pieces taken by slope), and those pieces."""
        b = self.b
        pieces = sorted(p for a in self.kept.tolist() for p in b.pieces(a, float(prices[a])))
        start = sum(b.value(a, float(prices[a]), int(b.lo[a])) for a in self.kept.tolist())
        slopes = np.repeat([p[0] for p in pieces], [p[1] for p in pieces])
        return pieces, np.concatenate([[start], start + np.cumsum(slopes)])

    def _rest(self, prices: np.ndarray) -> float:
        """The other reps' balance less their priced hours, each at its least."""
        kept = set(self.kept.tolist())
        return sum(self.b.least(a, float(prices[a]))[0]
                   for a in range(len(prices)) if a not in kept)

    def _held(self, tables: list[np.ndarray], value: np.ndarray, at: int) -> np.ndarray:
        """The hours each rep takes in choices that give the table's value at the sum `at`,
        found account by account from the last (`tables`: the table before each account)."""
        ch = self.choices
        held = np.zeros(ch.load.shape[1])
        for k in range(len(tables) - 1, 0, -1):
            s, e = int(ch.starts[k - 1]), int(ch.starts[k])
            before, w = tables[k - 1], self.weight[s:e]
            fits = (w <= at) & (at - w < len(before))
            reached = np.where(fits, before[np.where(fits, at - w, 0)] + value[s:e], np.inf)
            c = s + int(np.argmin(reached))
            held += ch.load[c]
            at -= int(self.weight[c])
        return held

    def _loads(self, prices: np.ndarray, pieces: list, at: int) -> np.ndarray:
        """Each rep's load at the optimum: the others' at their least, the K reps' from their
        least loads up by `at` hours, piece by piece as `_shares` took them."""
        b = self.b
        loads = np.array([b.least(a, float(prices[a]))[1] for a in range(len(prices))],
                         dtype=np.float64)
        loads[self.kept] = b.lo[self.kept]
        for _, hours, a in pieces:
            take = min(hours, at)
            loads[a] += take
            at -= take
        return loads


def _step(table: np.ndarray, value: np.ndarray, weight: np.ndarray, top: int) -> np.ndarray:
    """The table after one account: for each sum of kept hours up to `top` it can reach, the
    least over the account's groups of choices (`value`: the cheapest of each group, `weight`
    its hours) of the table at the sum less the group's hours plus its value."""
    size = min(top + 1, len(table) + int(weight.max()))
    out = np.full(size, np.inf)
    for w, v in zip(weight.tolist(), value.tolist()):
        n = min(len(table), size - w)
        if n > 0:
            np.minimum(out[w:w + n], table[:n] + v, out=out[w:w + n])
    return out


def knapsack_bound(inst: AllocationInstance, names: tuple[str, ...], seconds: float,
                   upper: int | None = None) -> int | None:
    """The best bound within about `seconds` over K (every rep, then each rep alone) and the
    prices searched for each, ending early once it reaches `upper` (a plan's cost: proved
    optimal); None where it does not apply, has too many cells, or no plan exists."""
    began = time.monotonic()
    if not applies(inst):
        return None
    summed = summed_terms(inst, names)
    choices = assignments(inst, summed)
    if choices is None or cells(inst, choices) > MAX_CELLS:
        return None
    b = bands(inst, summed)
    best = -math.inf
    scale, hour = _price_scale(b), _hour_value(inst, summed)
    for kept in [np.arange(inst.n_agents)] + [np.array([a]) for a in range(inst.n_agents)]:
        if time.monotonic() - began >= seconds or (upper is not None and best >= upper):
            break
        # (within K only the prices' differences count: one stays 0; a rep outside K
        # starts at what an hour left unserved costs, where its price ends near)
        start = np.where(np.isin(np.arange(inst.n_agents), kept), 0.0, hour)
        free = [a for a in range(inst.n_agents) if a != kept[0]] if len(kept) == 1 \
            else list(range(inst.n_agents - 1))
        best = max(best, _search(_Kept(choices, b, kept), start, free, scale,
                                 began + seconds, upper))
    if not math.isfinite(best):
        return None
    return math.ceil(best - _MARGIN * max(1.0, abs(best)))


def _price_scale(b: _Bands) -> float:
    """A price's first step: what an hour away from a target costs, or else 1."""
    positive = b.deviation[b.deviation > 0]
    return float(np.median(positive)) if len(positive) else 1.0


def _hour_value(inst: AllocationInstance, summed: SummedTerms) -> float:
    """What an hour of an item left to nobody costs, by the median over optional items (0
    without any)."""
    optional = np.flatnonzero(inst.item_optional)
    if not len(optional):
        return 0.0
    hours = np.full(inst.n_items, np.inf)
    np.minimum.at(hours, inst.pair_item, inst.pair_weight.astype(np.float64))
    per_hour = summed.unassigned[optional] / hours[optional]
    per_hour = per_hour[np.isfinite(per_hour)]
    return float(np.median(per_hour)) if len(per_hour) else 0.0


def _search(kept: _Kept, start: np.ndarray, free: list[int], scale: float, deadline: float,
            upper: int | None) -> float:
    """The best value over the `free` prices from `start`, one price at a time (`_line`)."""
    prices = start.copy()
    best, grad = kept.evaluate(prices)
    for a in free:
        if time.monotonic() >= deadline or (upper is not None and best >= upper):
            break
        best, prices, grad = _line(kept, prices, best, grad, a, scale, deadline, upper)
    return best


def _line(kept: _Kept, prices: np.ndarray, value: float, grad: np.ndarray, a: int,
          scale: float, deadline: float, upper: int | None
          ) -> tuple[float, np.ndarray, np.ndarray]:
    """The best (value, prices, subgradient) along price `a`: steps doubling uphill (by the
    subgradient's sign) until the slope turns, then where the lines of the nearest slopes on
    either side meet (the value is concave and piecewise linear: a few such points reach its
    top); LINE_STEPS evaluations at most."""
    best = point = (value, prices, grad)
    low = high = None  # (price, value, slope): the nearest points below and above the top
    step = scale
    for _ in range(LINE_STEPS):
        v, p, g = point[0], float(point[1][a]), float(point[2][a])
        if v > best[0]:
            best = point
        if g == 0 or time.monotonic() >= deadline or (upper is not None and best[0] >= upper):
            break
        if g > 0 and (low is None or p > low[0]):
            low = (p, v, g)
        elif g < 0 and (high is None or p < high[0]):
            high = (p, v, g)
        if low is not None and high is not None:
            x = (high[1] - low[1] + low[0] * low[2] - high[0] * high[2]) / (low[2] - high[2])
            # (the lines' meeting point is the most the value can reach on this line)
            reach = low[1] + low[2] * (x - low[0])
            if not low[0] < x < high[0] or reach - best[0] <= LINE_TOLERANCE * abs(best[0]):
                break
        else:
            x = p + math.copysign(step, g)
            step *= 2
        trial = point[1].copy()
        trial[a] = x
        point = _point(kept, trial)
    if point[0] > best[0]:
        best = point
    return best


def _point(kept: _Kept, prices: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    value, grad = kept.evaluate(prices)
    return value, prices, grad
