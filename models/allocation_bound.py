"""A lower bound for stage 2 (and the generalized assignment problem) by Lagrangian relaxation.

CP-SAT's own bound on a large team is the cheapest agent of each item, bands ignored: far below
any plan, so the reported gap said little. Pricing each agent's load instead (one price per
agent on "load = the hours of its items") splits the problem into one cheapest choice per item
and one small problem per agent (the best load inside its band, given the balance term), both
solved exactly with array operations. Every price vector gives a valid bound; subgradient steps
search for high ones. For the generalized assignment problem this is the LP bound; for a team it
also counts the balance term and the band's minimum, which the cheapest-agent bound ignores.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from models.instances import AllocationInstance

#: steps without a better bound before the step size is halved
PATIENCE = 10
MIN_STEP_SCALE = 1e-4


@dataclass(frozen=True)
class LagrangeBound:
    """The best bound found (objective units, rounded up: the objective is an integer), the
    agent prices that gave it, each item's cheapest choice at those prices (an agent, or -1:
    nobody), and how many price vectors were tried. The choices ignore the bands, but they
    are where a good plan starts: at the best prices most items already sit where the best
    plan puts them."""

    bound: int
    prices: np.ndarray
    choice: np.ndarray
    iterations: int
    value: float  # the bound before rounding
    #: the instance's data as the relaxation reads it, for the priced plan and a second run
    relaxation: "_Relaxation | None" = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class _Relaxation:
    """The instance's data in the form each evaluation needs (built once)."""

    order: np.ndarray  # pairs sorted by item
    starts: np.ndarray  # first sorted pair of each item that has one
    items: np.ndarray  # those items
    agent: np.ndarray  # per sorted pair
    weight: np.ndarray  # per sorted pair
    cost: np.ndarray  # per sorted pair
    none_cost: np.ndarray  # (I,) cost of leaving the item to nobody (inf when mandatory)
    lo: np.ndarray
    hi: np.ndarray
    target: np.ndarray
    deviation: np.ndarray  # (A,) per unit of |load - target|
    constant: float


def _relaxation(inst: AllocationInstance, names: tuple[str, ...]) -> _Relaxation | None:
    """None when some mandatory item has no allowed agent (no plan exists)."""
    cost = np.zeros(len(inst.pair_item))
    none = np.zeros(inst.n_items)
    deviation = np.zeros(inst.n_agents)
    constant = 0.0
    for name in names:
        term = inst.terms[name]
        constant += term.constant
        if term.pair is not None:
            cost += term.pair
        if term.unassigned is not None:
            none += term.unassigned
        if term.deviation is not None:
            deviation += term.deviation
        if term.travel is not None and inst.item_account is not None:
            cost += _travel_share(inst, term.travel)
    keep = np.ones(len(inst.pair_item), dtype=bool)
    if inst.fixed_agent is not None:
        pinned = inst.fixed_agent[inst.pair_item]
        keep = (pinned < 0) | (pinned == inst.pair_agent)
    pairs = np.flatnonzero(keep)
    order = pairs[np.argsort(inst.pair_item[pairs], kind="stable")]
    item_sorted = inst.pair_item[order]
    starts = np.flatnonzero(np.r_[True, item_sorted[1:] != item_sorted[:-1]]) if len(order) \
        else np.zeros(0, dtype=np.int64)
    items = item_sorted[starts]
    none = np.where(inst.item_optional.astype(bool), none, np.inf)
    reachable = np.zeros(inst.n_items, dtype=bool)
    reachable[items] = True
    if np.isinf(none[~reachable]).any():
        return None
    target = inst.agent_target if inst.agent_target is not None else np.zeros(inst.n_agents)
    return _Relaxation(order, starts, items, inst.pair_agent[order],
                       inst.pair_weight[order].astype(float), cost[order], none,
                       inst.agent_lo.astype(float), inst.agent_hi.astype(float),
                       target.astype(float), deviation, float(constant))


def _travel_share(inst: AllocationInstance, travel: np.ndarray) -> np.ndarray:
    """Each item's share of its account's travel to the agent: the account's cost split evenly
    over its items. A plan pays each (account, agent) pair it uses once, which is at least the
    shares of the items it gives that agent, so the shares never overstate the travel."""
    counts = np.bincount(inst.item_account, minlength=travel.shape[0]).astype(float)
    account = inst.item_account[inst.pair_item]
    return travel[account, inst.pair_agent] / np.maximum(counts[account], 1.0)


def _evaluate(r: _Relaxation, prices: np.ndarray, n_agents: int
              ) -> tuple[float, np.ndarray, np.ndarray]:
    """The relaxation's value at these prices, a subgradient (each agent's load from the
    items' cheapest choices, minus its best load) and the chosen pair of each reachable item
    (-1: nobody)."""
    priced = r.cost + prices[r.agent] * r.weight
    best = np.minimum.reduceat(priced, r.starts) if len(priced) else np.zeros(0)
    none = r.none_cost[r.items]
    to_agent = best <= none
    value = float(np.where(to_agent, best, none).sum())
    value += float(r.none_cost[_unreachable(r)].sum())
    # which pair gave each item its minimum: the first pair of the item at that value
    at_min = priced == np.repeat(best, np.diff(np.r_[r.starts, len(priced)]))
    first = np.maximum.reduceat(np.where(at_min, -np.arange(len(priced)), -len(priced)),
                                r.starts) if len(priced) else np.zeros(0, dtype=np.int64)
    chosen = np.where(to_agent, -first, -1)
    taken = chosen[to_agent]
    load = np.bincount(r.agent[taken], weights=r.weight[taken], minlength=n_agents)
    best_load, agent_value = _best_loads(r, prices)
    return value + float(agent_value.sum()) + r.constant, load - best_load, chosen


def _unreachable(r: _Relaxation) -> np.ndarray:
    mask = np.ones(len(r.none_cost), dtype=bool)
    mask[r.items] = False
    return mask


def _best_loads(r: _Relaxation, prices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per agent, the load in its band minimising deviation x |load - target| - price x load:
    a convex piecewise-linear function, so one of the band's ends or the clipped target."""
    candidates = np.stack([r.lo, r.hi, np.clip(r.target, r.lo, r.hi)])
    values = r.deviation * np.abs(candidates - r.target) - prices * candidates
    pick = np.argmin(values, axis=0)
    columns = np.arange(len(prices))
    return candidates[pick, columns], values[pick, columns]


def lagrangian_bound(inst: AllocationInstance, names: tuple[str, ...], seconds: float,
                     upper: float | None = None, max_iterations: int = 200,
                     prices: np.ndarray | None = None,
                     again: LagrangeBound | None = None) -> LagrangeBound | None:
    """The best Lagrangian bound found within `seconds` (at least one evaluation).

    `upper` (a known plan's cost) sets the subgradient steps' scale; without it the bound's
    own size does. `again`, an earlier result on the same instance and names, saves building
    the relaxation's data again. None when a mandatory item has no allowed agent."""
    began = time.monotonic()
    r = again.relaxation if again is not None and again.relaxation is not None \
        else _relaxation(inst, names)
    if r is None:
        return None
    n = inst.n_agents
    current = np.zeros(n) if prices is None else prices.astype(float).copy()
    best_value, best_prices, best_chosen = -math.inf, current.copy(), None
    scale, stale, iterations = 2.0, 0, 0
    while iterations < max_iterations:
        value, grad, chosen = _evaluate(r, current, n)
        iterations += 1
        if value > best_value + 1e-9 * max(1.0, abs(value)):
            best_value, best_prices, best_chosen, stale = value, current.copy(), chosen, 0
        else:
            stale += 1
            if stale >= PATIENCE:
                scale, stale = scale / 2, 0
        norm = float(grad @ grad)
        if norm <= 1e-12 or scale < MIN_STEP_SCALE or time.monotonic() - began >= seconds:
            break
        aim = upper if upper is not None and upper > best_value else \
            best_value + 0.05 * max(1.0, abs(best_value))
        current = current + scale * (aim - value) / norm * grad
    bound = math.ceil(best_value - 1e-6 * max(1.0, abs(best_value)))
    choice = np.full(inst.n_items, -1, dtype=np.int64)
    picked = best_chosen >= 0
    choice[r.items[picked]] = r.agent[best_chosen[picked]]
    return LagrangeBound(bound, best_prices, choice, iterations, best_value, r)


def priced_plan(inst: AllocationInstance, names: tuple[str, ...], relaxed: LagrangeBound,
                seconds: float, price_weight: float = 0.5) -> np.ndarray:
    """The relaxation's choices with every agent brought back under its maximum the way the
    prices say costs least: while an agent is over, the item whose move to an agent with room
    (or to nobody, if optional) raises the priced cost least per hour of the overload it
    removes moves (`price_weight`: the share of the prices counted). Agents
    below their minimum and items left over are for `repair_allocation`; what the time does
    not allow is left to it too."""
    deadline = time.monotonic() + seconds
    r = relaxed.relaxation if relaxed.relaxation is not None else _relaxation(inst, names)
    plan = relaxed.choice.copy()
    if r is None or not len(r.order):
        return plan
    priced = r.cost + price_weight * relaxed.prices[r.agent] * r.weight  # pairs in item order
    first = np.full(inst.n_items, 0, dtype=np.int64)
    last = np.full(inst.n_items, 0, dtype=np.int64)
    first[r.items] = r.starts
    last[r.items] = np.r_[r.starts[1:], len(r.order)]
    pair_of = np.full(inst.n_items, -1, dtype=np.int64)  # each item's chosen sorted pair
    assigned = np.flatnonzero(plan >= 0)
    key = inst.pair_item[r.order] * inst.n_agents + r.agent  # (item, agent) of each sorted pair
    by_key = np.argsort(key, kind="stable")
    pair_of[assigned] = by_key[np.searchsorted(key[by_key], assigned * inst.n_agents
                                               + plan[assigned])]
    load = np.bincount(r.agent[pair_of[assigned]], weights=r.weight[pair_of[assigned]],
                       minlength=inst.n_agents)
    pinned = inst.fixed_agent >= 0 if inst.fixed_agent is not None \
        else np.zeros(inst.n_items, dtype=bool)
    while time.monotonic() < deadline:
        over = load - r.hi
        a = int(np.argmax(over))
        if over[a] <= 0:
            break
        mine = np.flatnonzero((plan == a) & ~pinned)
        if not len(mine):
            break
        move = _cheapest_move(r, priced, mine, pair_of, first, last, load, a, float(over[a]))
        if move is None:
            break
        i, p = move
        load[a] -= r.weight[pair_of[i]]
        if p >= 0:
            load[r.agent[p]] += r.weight[p]
            plan[i], pair_of[i] = r.agent[p], p
        else:
            plan[i], pair_of[i] = -1, -1
    return plan


def _cheapest_move(r: _Relaxation, priced: np.ndarray, mine: np.ndarray, pair_of: np.ndarray,
                   first: np.ndarray, last: np.ndarray, load: np.ndarray, a: int,
                   over: float) -> tuple[int, int] | None:
    """Among agent a's items, the move with the least priced cost per hour of the overload it
    removes (hours freed beyond the overload do not count): (item, sorted pair to move to, or
    -1 for nobody), None when none of them can move."""
    counts = last[mine] - first[mine]
    owner = np.repeat(mine, counts)
    pairs = np.repeat(first[mine] - np.cumsum(np.r_[0, counts[:-1]]), counts) \
        + np.arange(int(counts.sum()))
    b = r.agent[pairs]
    fits = (b != a) & (load[b] + r.weight[pairs] <= r.hi[b])
    here = priced[pair_of[owner]]
    useful = np.clip(r.weight[pair_of[owner]], 1e-9, over)
    score = np.where(fits, (priced[pairs] - here) / useful, np.inf)
    none = (r.none_cost[mine] - priced[pair_of[mine]]) \
        / np.clip(r.weight[pair_of[mine]], 1e-9, over)
    k = int(np.argmin(score)) if len(score) else -1
    j = int(np.argmin(none))
    if k >= 0 and score[k] <= none[j] and np.isfinite(score[k]):
        return int(owner[k]), int(pairs[k])
    if np.isfinite(none[j]):
        return int(mine[j]), -1
    return None


def may_beat(inst: AllocationInstance, names: tuple[str, ...], relaxed: LagrangeBound,
             upper: int) -> np.ndarray:
    """Per pair, whether a plan costing less than `upper` can use it (reduced-cost fixing).

    Any plan x costs at least the relaxation's value plus the reduced costs of its choices
    (each choice's priced cost above its item's cheapest choice at the same prices), so a pair
    whose reduced cost alone exceeds upper - 1 - value (the objective is an integer) is in no
    plan cheaper than `upper`. Pairs the relaxation leaves out (another agent's pinned items)
    are in none either. Where the relaxation is tight most pairs go, and CP-SAT searches what
    is left far faster."""
    r = relaxed.relaxation if relaxed.relaxation is not None else _relaxation(inst, names)
    keep = np.zeros(len(inst.pair_item), dtype=bool)
    if r is None or not len(r.order):
        return keep
    priced = r.cost + relaxed.prices[r.agent] * r.weight
    cheapest = np.minimum(np.minimum.reduceat(priced, r.starts), r.none_cost[r.items])
    reduced = priced - np.repeat(cheapest, np.diff(np.r_[r.starts, len(priced)]))
    slack = upper - 1 - relaxed.value + 1e-6 * max(1.0, abs(relaxed.value))
    keep[r.order[reduced <= slack]] = True
    return keep
