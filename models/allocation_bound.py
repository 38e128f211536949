"""A lower bound for stage 2 (and the generalized assignment problem) by Lagrangian relaxation.

CP-SAT's own bound on a large team is the cheapest agent of each item, bands ignored: far below
any plan, so the reported gap said little. Pricing each agent's load instead (one price per
agent on "load = the hours of its items") splits the problem into one cheapest choice per item
and one small problem per agent (the best load inside its band, given the balance term), both
solved exactly with array operations. Every price vector gives a valid bound; subgradient
steps, then a box-step cutting-plane method, search for high ones. For the generalized
assignment problem their optimum is the LP bound; for a team it also counts the balance term
and the band's minimum, which the cheapest-agent bound ignores, and (models.account_relaxation)
what splitting a small account between reps costs in travel.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from ortools.linear_solver import pywraplp

from models.account_relaxation import AccountGroup, DeferredGroup, account_groups, choose
from models.instances import AllocationInstance, summed_terms

#: relative margin for floating-point error when rounding a relaxation value to a bound
_MARGIN = 1e-6
#: the box steps halve the box after this many points in a row without a better bound: started
#: near the optimum (the GAP instances, whose subgradient steps reach it) a box as wide as a
#: typical cost per hour took d801600's 6 s without a rise; halved after 5 misses, 0.65 s to
#: its LP bound (97019 -> 97034)
NULLS = 5
SHRINK = 0.5
#: steps that must fit in the subgradient's time for them to price small accounts whole
MIN_EXACT_STEPS = 50
#: ... and where the steps start from the divisible allocation's prices (near the optimum
#: already). L key-account hybrid's individuals team (2.8 million pairs, 46,558 items in
#: 25,000 accounts, 5.6 s of steps at 0.14 s a step priced whole): sharing travel, 132 steps,
#: bound 156.8 M, the plan priced at it 199.7 M and the team 172.2 M at its 24 s; priced
#: whole, 40-71 steps, 158.5-158.7 M, 176.5-181.0 M and 165.9 M
MIN_EXACT_STEPS_FROM_PRICES = 20
#: subgradient steps without a better bound before the step size is halved
PATIENCE = 10
#: Pricing accounts whose arrays are built each time (DeferredGroup) takes about this long
#: per account x item x agent cell (XL key-account hybrid's individuals team: 18.5 million
#: cells in 0.84 s)
DEFERRED_SECONDS_PER_CELL = 5e-8
MIN_STEP_SCALE = 1e-4
#: From this many pairs the priced plan makes an agent's cheapest moves together, each pricing
#: (`_cheapest_moves`); smaller teams and the GAP instances one move a pricing, as before (M
#: key-account hybrid with it from 100,000 pairs, alternated with the code before, three runs
#: each: stage-2 gaps 0.55 / 0.64 / 0.56 % against 0.43 / 0.38 / 0.61 %, not clearly apart)
BATCH_FROM_PAIRS = 1_000_000


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
    #: each item's agent (-1: nobody) in its account's cheapest grouping at the prices, small
    #: accounts priced whole (`choice` itself unless the steps shared travel); None without
    #: accounts priced so
    grouped: np.ndarray | None = field(default=None, repr=False, compare=False)


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
    #: accounts whose travel is counted exactly (models.account_relaxation), and per item
    #: whether it is in one of them (then its pairs' shares do not count)
    accounts: tuple[AccountGroup | DeferredGroup, ...] = ()
    grouped: np.ndarray | None = None
    position: np.ndarray | None = None  # (I,) each item's place in `items` (-1: unreachable)
    #: the sorted pairs of the items in no such account, and where each item's start there:
    #: priced alone when the accounts are priced whole (pricing every pair took 0.03 of L key-
    #: account hybrid's individuals team's 0.08 s a step, 85 % of it for nothing)
    alone_pairs: np.ndarray | None = None
    alone_starts: np.ndarray | None = None


def _relaxation(inst: AllocationInstance, names: tuple[str, ...]) -> _Relaxation | None:
    """None when some mandatory item has no allowed agent (no plan exists)."""
    summed = summed_terms(inst, names)
    cost, none = summed.pair.astype(float), summed.unassigned.astype(float)
    deviation, travel, constant = summed.deviation.astype(float), summed.travel, summed.constant
    base_cost = cost
    if travel is not None:
        cost = cost + travel_share(inst, travel)
    keep = np.ones(len(inst.pair_item), dtype=bool)
    if inst.fixed_agent is not None:
        pinned = inst.fixed_agent[inst.pair_item]
        keep = (pinned < 0) | (pinned == inst.pair_agent)
    # the kept pairs by item, as sorted once (the order itself where every pair is kept:
    # XL's individuals team holds 96 MB less while its relaxation lives)
    order = inst.by_item if keep.all() else inst.by_item[keep[inst.by_item]]
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
    weight = inst.pair_weight[order].astype(float)
    groups: tuple[AccountGroup | DeferredGroup, ...] = ()
    grouped = position = None
    if travel is not None and np.any(travel):
        groups = tuple(account_groups(inst.item_account, inst.n_items, inst.n_agents, order,
                                      inst.pair_item, inst.pair_agent, weight,
                                      base_cost[order], none, travel))
        grouped = np.zeros(inst.n_items, dtype=bool)
        for g in groups:
            grouped[g.items.ravel()] = True
        position = np.full(inst.n_items, -1, dtype=np.int64)
        position[items] = np.arange(len(items))
    alone_pairs = alone_starts = None
    if grouped is not None:
        sizes = np.diff(np.r_[starts, len(order)])
        alone = ~grouped[items]
        alone_pairs = np.flatnonzero(np.repeat(alone, sizes))
        alone_starts = np.r_[0, np.cumsum(sizes[alone])[:-1]].astype(np.int64)
    return _Relaxation(order, starts, items, inst.pair_agent[order], weight, cost[order], none,
                       inst.agent_lo.astype(float), inst.agent_hi.astype(float),
                       target.astype(float), deviation, float(constant), groups, grouped,
                       position, alone_pairs, alone_starts)


def travel_share(inst: AllocationInstance, travel: np.ndarray, add_to: np.ndarray | None = None
                 ) -> np.ndarray:
    """Each item's share of its account's travel to the agent: the cost split evenly over the
    account's items that agent may take. A plan pays each (account, agent) pair it uses once,
    which is at least the shares of the items it gives that agent, so the shares never
    overstate the travel. (Split over all the account's items, an item that only one agent
    may take carried a fraction of a cost it always causes: S's individuals team, bound
    974 M -> 1,051 M of a plan at 1,158 M.) With `add_to` (per pair), the shares are added to
    it and it is returned. Computed a slice of pairs at a time: on XL's largest teams (11
    million pairs) whole-length temporaries would cost hundreds of MB."""
    counts = np.zeros(travel.shape[0] * inst.n_agents, dtype=np.int64)
    for part in pair_slices(len(inst.pair_item)):
        counts += np.bincount(_account_agent(inst, part), minlength=len(counts))
    out = np.zeros(len(inst.pair_item)) if add_to is None else add_to
    for part in pair_slices(len(inst.pair_item)):
        account, agent = inst.item_account[inst.pair_item[part]], inst.pair_agent[part]
        shared = np.maximum(counts[account * inst.n_agents + agent], 1)
        out[part] += travel[account, agent] / shared
    return out


#: pairs per slice where per-pair work is done a slice at a time (`pair_slices`)
SLICE_PAIRS = 1 << 20


def pair_slices(n_pairs: int) -> list[slice]:
    """The pairs in slices of SLICE_PAIRS."""
    return [slice(s, min(n_pairs, s + SLICE_PAIRS)) for s in range(0, n_pairs, SLICE_PAIRS)]


def _account_agent(inst: AllocationInstance, part: slice) -> np.ndarray:
    """The (account, agent) key of each pair in `part`."""
    return inst.item_account[inst.pair_item[part]] * inst.n_agents + inst.pair_agent[part]


def _items_part(r: _Relaxation, prices: np.ndarray, n_agents: int, exact: bool = True
                ) -> tuple[float, np.ndarray, np.ndarray]:
    """The items' part of the relaxation at these prices (each item's cheapest choice; with
    `exact`, each small account's cheapest choice of its items together), the load those
    choices give each agent (the part's slope in the prices) and the chosen pair of each
    reachable item (-1: nobody)."""
    unreachable = _unreachable(r)
    if not exact or not r.accounts:
        each, chosen = _cheapest_pairs(r, prices, None, r.starts, r.items)
        taken = chosen[chosen >= 0]
        load = np.bincount(r.agent[taken], weights=r.weight[taken], minlength=n_agents)
        return float(each.sum()) + float(r.none_cost[unreachable].sum()), load, chosen
    alone = ~r.grouped[r.items]
    chosen = np.full(len(r.items), -1, dtype=np.int64)
    each, chosen[alone] = _cheapest_pairs(r, prices, r.alone_pairs, r.alone_starts,
                                          r.items[alone])
    value = float(each.sum()) + float(r.none_cost[unreachable & ~r.grouped].sum())
    taken = chosen[chosen >= 0]
    load = np.bincount(r.agent[taken], weights=r.weight[taken],
                       minlength=n_agents).astype(float)  # (int when nothing is taken)
    for group in r.accounts:
        exact_choice = choose(group, prices)
        value += exact_choice.value
        load += exact_choice.load
        at = r.position[exact_choice.items]
        chosen[at[at >= 0]] = exact_choice.pair[at >= 0]
    return value, load, chosen


def _cheapest_pairs(r: _Relaxation, prices: np.ndarray, pairs: np.ndarray | None,
                    starts: np.ndarray, items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each of `items`' cheapest choice at these prices among its sorted `pairs` (all of them:
    None; each item's first at `starts`) or nobody: its value, and its pair (-1: nobody)."""
    if pairs is None:
        priced = r.cost + prices[r.agent] * r.weight
    elif len(pairs):
        priced = r.cost[pairs] + prices[r.agent[pairs]] * r.weight[pairs]
    else:
        return np.zeros(len(items)), np.full(len(items), -1, dtype=np.int64)
    if not len(priced):
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    best, first = _run_minima(priced, starts)
    none = r.none_cost[items]
    to_agent = best <= none
    chosen = first if pairs is None else pairs[first]
    return np.where(to_agent, best, none), np.where(to_agent, chosen, -1)


def _run_minima(values: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The least of each run of `values` (each run's first at `starts`, none empty) and where
    it is: the run's first position at that value."""
    best = np.minimum.reduceat(values, starts)
    at_min = values == np.repeat(best, np.diff(np.r_[starts, len(values)]))
    return best, -np.maximum.reduceat(np.where(at_min, -np.arange(len(values)), -len(values)),
                                      starts)


def _unreachable(r: _Relaxation) -> np.ndarray:
    mask = np.ones(len(r.none_cost), dtype=bool)
    mask[r.items] = False
    return mask


def _load_candidates(r: _Relaxation) -> np.ndarray:
    """(3, A): the loads an agent's part can be best at: its band's ends and clipped target."""
    return np.stack([r.lo, r.hi, np.clip(r.target, r.lo, r.hi)])


def _best_loads(r: _Relaxation, prices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per agent, the load in its band minimising deviation x |load - target| - price x load:
    a convex piecewise-linear function, so one of the band's ends or the clipped target."""
    candidates = _load_candidates(r)
    values = r.deviation * np.abs(candidates - r.target) - prices * candidates
    pick = np.argmin(values, axis=0)
    columns = np.arange(len(prices))
    return candidates[pick, columns], values[pick, columns]


class _CuttingPlanes:
    """The box-step method's model of the relaxation as a function of the prices (a small
    linear programme for GLOP): the items' part from below by the planes of the points
    evaluated so far, each agent's part exactly (the least of three lines), the prices kept
    within a box around the best ones found. Its maximum is the next point to evaluate.

    Why not subgradient steps alone: on the planner's teams they need thousands of steps to
    reach the optimum (M's East hunting team: 17 % below it after 1,000, there after 3,079),
    while these planes reach it in 100-200 evaluations (see bench/HISTORY.md)."""

    GROW = 2.0  # the box's growth where a better point lies on its edge

    def __init__(self, r: _Relaxation, n_agents: int) -> None:
        self.solver = pywraplp.Solver.CreateSolver("GLOP")
        inf = self.solver.infinity()
        self.prices = [self.solver.NumVar(-inf, inf, "") for _ in range(n_agents)]
        self.items = self.solver.NumVar(-inf, inf, "")
        agents = [self.solver.NumVar(-inf, inf, "") for _ in range(n_agents)]
        objective = self.solver.Objective()
        objective.SetMaximization()
        objective.SetCoefficient(self.items, 1.0)
        candidates = _load_candidates(r)
        for a, part in enumerate(agents):
            objective.SetCoefficient(part, 1.0)
            for load in candidates[:, a].tolist():
                row = self.solver.Constraint(
                    -inf, float(r.deviation[a] * abs(load - r.target[a])))
                row.SetCoefficient(part, 1.0)
                row.SetCoefficient(self.prices[a], load)
        per_hour = np.abs(r.cost) / np.maximum(r.weight, 1e-9)
        self.width = np.full(n_agents, max(1.0, float(np.median(per_hour)) if len(r.cost)
                                           else 1.0))
        self.constant = r.constant

    def add(self, point: np.ndarray, value: float, load: np.ndarray) -> None:
        """The plane of the items' part at `point`: value + load . (prices - point)."""
        row = self.solver.Constraint(-self.solver.infinity(), float(value - load @ point))
        row.SetCoefficient(self.items, 1.0)
        for var, slope in zip(self.prices, load.tolist()):
            if slope:
                row.SetCoefficient(var, -slope)

    def next_point(self, centre: np.ndarray, seconds: float) -> tuple[np.ndarray, float] | None:
        """The model's best prices in the box around `centre` and the model's value there.
        The planes never underestimate the relaxation (it is concave), so when that value is
        no higher than the centre's, no prices near the centre are better, and by concavity
        none anywhere. None if GLOP fails or takes more than `seconds`."""
        for var, lo, hi in zip(self.prices, (centre - self.width).tolist(),
                               (centre + self.width).tolist()):
            var.SetBounds(lo, hi)
        self.solver.SetTimeLimit(max(1, int(seconds * 1000)))
        if self.solver.Solve() != pywraplp.Solver.OPTIMAL:
            return None
        point = np.array([var.solution_value() for var in self.prices])
        return point, self.solver.Objective().Value() + self.constant

    def moved(self, centre: np.ndarray, point: np.ndarray) -> None:
        """A better point: grow the box along the prices where it reached the edge."""
        edge = np.abs(point - centre) >= 0.999 * self.width
        self.width = np.where(edge, self.width * self.GROW, self.width)


class _Best:
    """Evaluates price vectors, gives each one's plane to the model (when there is one) and
    keeps the best."""

    def __init__(self, r: _Relaxation, n_agents: int, planes: _CuttingPlanes | None = None,
                 exact: bool = True) -> None:
        # (deferred accounts are built at every exact evaluation: only the best prices' one)
        self.r, self.n, self.planes = r, n_agents, planes
        self.exact = exact and not _deferred(r)
        self.value, self.prices, self.chosen = -math.inf, np.zeros(n_agents), None
        self.evaluations = 0

    def evaluate(self, prices: np.ndarray) -> tuple[float, np.ndarray, bool]:
        """The relaxation's value at `prices`, a supergradient (each agent's load from the
        items' choices less its best load) and whether the point is the best so far."""
        items_value, load, chosen = _items_part(self.r, prices, self.n, self.exact)
        best_load, agent_value = _best_loads(self.r, prices)
        value = items_value + float(agent_value.sum()) + self.r.constant
        self.evaluations += 1
        if self.planes is not None:
            self.planes.add(prices, items_value, load)
        better = value > self.value + 1e-9 * max(1.0, abs(value))
        if better:
            self.value, self.prices, self.chosen = value, prices.copy(), chosen
        return value, load - best_load, better

    def result(self, inst: AllocationInstance) -> LagrangeBound:
        grouped = self.chosen if self.exact and self.r.accounts else None
        if not self.exact and self.r.accounts:  # the best prices, small accounts priced whole
            items_value, _, grouped = _items_part(self.r, self.prices, self.n)
            self.value = items_value + float(_best_loads(self.r, self.prices)[1].sum()) \
                + self.r.constant
            if not _deferred(self.r):
                # (with deferred accounts the priced plan from these choices took 11 s, not
                # 0.5, and cost 328.7 M, not 249.9 M: XL key-account hybrid's individuals team)
                self.chosen = grouped
        return LagrangeBound(_rounded(self.value), self.prices, self._agents(inst, self.chosen),
                             self.evaluations, self.value, self.r,
                             None if grouped is None else self._agents(inst, grouped))

    def _agents(self, inst: AllocationInstance, chosen: np.ndarray) -> np.ndarray:
        """Each item's agent (-1: nobody) from the chosen pair of each reachable item."""
        choice = np.full(inst.n_items, -1, dtype=np.int64)
        picked = chosen >= 0
        choice[self.r.items[picked]] = self.r.agent[chosen[picked]]
        return choice


def lagrangian_bound(inst: AllocationInstance, names: tuple[str, ...], seconds: float,
                     upper: float | None = None, max_iterations: int = 200,
                     prices: np.ndarray | None = None,
                     again: LagrangeBound | None = None,
                     min_exact_steps: int = MIN_EXACT_STEPS,
                     from_optimum: bool = False) -> LagrangeBound | None:
    """The best Lagrangian bound found by subgradient steps within `seconds` (at least one
    evaluation). Their prices make good priced plans early on; for the relaxation's optimum,
    `tighten` goes on from them. The steps share each account's travel among its lines (1.5-2
    times as quick to evaluate as pricing small accounts whole, three times before the
    partitions' blocks were listed once: L's key-account teams, given 0.2 s, got a third of
    the steps and bounds 40-90 % lower) unless `min_exact_steps` of the
    latter fit in the time (the steps' plans are better for it: S's individuals team 1,195 M
    -> 1,160 M); the best prices' value and choices are then those with small accounts priced
    whole, which is never lower.

    `upper` (a known plan's cost) sets the steps' scale; without it the bound's own size
    does. `prices` are where the steps start; `again`, an earlier result on the same instance
    and names, saves building the relaxation's data again. With `from_optimum` (`prices`
    are the divisible allocation's optimum, models.allocation_flow, whose duals are the
    shared relaxation's optimum) no step is taken unless small accounts are priced whole:
    sharing travel, steps from there do not rise (XL key-account hybrid's individuals team,
    12.6 million pairs: 166.31 M at the flow's prices, at most 166.40 M over 20 steps in 8 s,
    181.69 M priced whole at either). None when a mandatory item has no allowed agent."""
    began = time.monotonic()
    r = again.relaxation if again is not None and again.relaxation is not None \
        else _relaxation(inst, names)
    if r is None:
        return None
    best = _Best(r, inst.n_agents, exact=bool(r.accounts))
    steps_end = seconds - _deferred_seconds(r)
    current = np.zeros(inst.n_agents) if prices is None else prices.astype(float).copy()
    scale, stale = 2.0, 0
    while best.evaluations < max_iterations:
        took = time.monotonic()
        value, grad, better = best.evaluate(current)
        too_slow = best.exact and (time.monotonic() - took) * min_exact_steps > seconds
        if from_optimum and (too_slow or not best.exact):
            break  # (steps sharing travel would not rise from there: see above)
        if too_slow:
            best.exact = False  # the rest of the steps share travel (see above)
        if better:
            stale = 0
        else:
            stale += 1
            if stale >= PATIENCE:
                scale, stale = scale / 2, 0
        norm = float(grad @ grad)
        if norm <= 1e-12 or scale < MIN_STEP_SCALE or time.monotonic() - began >= steps_end:
            break
        aim = upper if upper is not None and upper > best.value else \
            best.value + 0.05 * max(1.0, abs(best.value))
        current = current + scale * (aim - value) / norm * grad
    return best.result(inst)


def tighten(inst: AllocationInstance, relaxed: LagrangeBound, seconds: float,
            upper: float | None = None, max_iterations: int = 1000) -> LagrangeBound:
    """The bound raised by the box-step method (`_CuttingPlanes`) from `relaxed`'s prices,
    within `seconds`, the box halved after NULLS points in a row without a better bound: it
    stops at the relaxation's optimum, or once the bound reaches `upper` (a known plan's cost:
    it cannot go higher). `relaxed` itself unless the bound rises."""
    began = time.monotonic()
    r = relaxed.relaxation
    if r is None or not len(r.order):
        return relaxed
    best = _Best(r, inst.n_agents, _CuttingPlanes(r, inst.n_agents))
    steps_end = seconds - _deferred_seconds(r)
    centre = relaxed.prices.astype(float)
    best.evaluate(centre)
    misses = 0
    while best.evaluations < max_iterations and (upper is None or best.value <= upper - 1):
        left = steps_end - (time.monotonic() - began)
        step = best.planes.next_point(centre, left) if left > 0 else None
        if step is None:
            break
        point, model_value = step
        if model_value - best.value <= _MARGIN * max(1.0, abs(best.value)) \
                or _rounded(model_value) <= _rounded(best.value):
            break  # no price vector gives a (rounded) higher bound
        if best.evaluate(point)[2]:
            best.planes.moved(centre, point)
            centre, misses = point, 0
        else:
            misses += 1
            if misses >= NULLS:
                best.planes.width *= SHRINK
                misses = 0
    # the steps' prices stay unless the bound itself rises: where they had reached the optimum
    # (the GAP instances), the box's are other optimal prices, no better for the search
    return best.result(inst) if _rounded(best.value) > relaxed.bound else relaxed


def _deferred(r: _Relaxation) -> bool:
    return any(isinstance(g, DeferredGroup) for g in r.accounts)


def _deferred_seconds(r: _Relaxation) -> float:
    """About how long pricing the deferred accounts takes, at the best prices once the steps
    end (reserved out of their time)."""
    return DEFERRED_SECONDS_PER_CELL * sum(g.items.size for g in r.accounts
                                           if isinstance(g, DeferredGroup)) * len(r.lo)


def _rounded(value: float) -> int:
    """The bound a relaxation value gives (the objective is an integer), with a margin for
    floating-point error."""
    return math.ceil(value - _MARGIN * max(1.0, abs(value)))


def priced_plan(inst: AllocationInstance, names: tuple[str, ...], relaxed: LagrangeBound,
                seconds: float, price_weight: float = 0.5, choice: np.ndarray | None = None
                ) -> np.ndarray:
    """The relaxation's choices (or `choice`, another plan over the maxima) with every agent
    brought back under its maximum the way the prices say costs least: while an agent is
    over, the item whose move to an agent with room (or to nobody, if optional) raises the
    priced cost least per hour of the overload it removes moves (`price_weight`: the share of
    the prices counted). Agents below their minimum and items left over are for
    `repair_allocation`; what the time does not allow is left to it too."""
    deadline = time.monotonic() + seconds
    r = relaxed.relaxation if relaxed.relaxation is not None else _relaxation(inst, names)
    plan = (relaxed.choice if choice is None else choice).copy()
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
    # (sorted already where the pairs come agent by agent, as on the planner's teams)
    by_key = np.arange(len(key)) if bool(np.all(key[1:] > key[:-1])) \
        else np.argsort(key, kind="stable")
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
        moves = _cheapest_moves(r, priced, mine, pair_of, first, last, load, a, float(over[a]),
                                None if len(r.order) >= BATCH_FROM_PAIRS else 1)
        if not moves:
            break
        for i, p in moves:  # (each still fitting where it goes, until the agent is under)
            if load[a] <= r.hi[a]:
                break
            if p >= 0 and load[r.agent[p]] + r.weight[p] > r.hi[r.agent[p]]:
                continue
            load[a] -= r.weight[pair_of[i]]
            if p >= 0:
                load[r.agent[p]] += r.weight[p]
                plan[i], pair_of[i] = r.agent[p], p
            else:
                plan[i], pair_of[i] = -1, -1
    return plan


def _cheapest_moves(r: _Relaxation, priced: np.ndarray, mine: np.ndarray, pair_of: np.ndarray,
                    first: np.ndarray, last: np.ndarray, load: np.ndarray, a: int,
                    over: float, most: int | None = None) -> list[tuple[int, int]]:
    """Agent a's items' cheapest moves (at `most` of them), each item's least priced cost per
    hour of the overload it removes (hours freed beyond the overload do not count) first:
    (item, sorted pair to move to, or -1 for nobody). Made in that order while each still
    fits, they bring the agent under its maximum in one pricing rather than one a move. L
    key-account hybrid's individuals team (2.8 million pairs), 67,800 hours over at its
    relaxation's choices: 3.1 s one move a pricing, and cut short at 2 s, as in its run, the
    repair of what was left cost 385 M against 196 M; all together, 0.33 s and 194.3 M (the
    descent after either for 2.5 s: 186.1 and 183.5 M)."""
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
    # each item's least score (an item held has its pair: no run is empty)
    best, at = _run_minima(score, np.r_[0, np.cumsum(counts)[:-1]])
    to_agent = best <= none
    value = np.where(to_agent, best, none)
    order = np.argsort(value, kind="stable")[:most]
    order = order[np.isfinite(value[order])]
    return [(int(mine[k]), int(pairs[at[k]]) if to_agent[k] else -1) for k in order.tolist()]


def may_beat(inst: AllocationInstance, names: tuple[str, ...], relaxed: LagrangeBound,
             upper: int) -> np.ndarray:
    """Per pair, whether a plan costing less than `upper` can use it (reduced-cost fixing).

    Any plan x costs at least the relaxation's value plus the reduced costs of its choices
    (each choice's priced cost above its item's cheapest choice at the same prices), so a pair
    whose reduced cost alone exceeds upper - 1 - value (the objective is an integer) is in no
    plan cheaper than `upper`. Pairs the relaxation leaves out (another agent's pinned items)
    are in none either. Where the relaxation is tight most pairs go, and CP-SAT searches what
    is left far faster. (The value is the item-by-item one at the same prices, travel shared:
    the reduced costs are item by item; small accounts' exact travel would overstate it.)"""
    r = relaxed.relaxation if relaxed.relaxation is not None else _relaxation(inst, names)
    keep = np.zeros(len(inst.pair_item), dtype=bool)
    if r is None or not len(r.order):
        return keep
    prices = relaxed.prices
    priced = r.cost + prices[r.agent] * r.weight
    cheapest = np.minimum(np.minimum.reduceat(priced, r.starts), r.none_cost[r.items])
    reduced = priced - np.repeat(cheapest, np.diff(np.r_[r.starts, len(priced)]))
    value = _items_part(r, prices, inst.n_agents, exact=False)[0] \
        + float(_best_loads(r, prices)[1].sum()) + r.constant
    slack = upper - 1 - value + _MARGIN * max(1.0, abs(value))
    keep[r.order[reduced <= slack]] = True
    return keep
