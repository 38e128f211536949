"""Large-neighbourhood search for stage 2 (and the generalized assignment problem).

CP-SAT alone proves small teams optimal but, on two cores, improves large ones slowly: a better
plan often needs a chain of moves across several agents (item 1 from agent a to b, which makes
room by handing item 2 to c...). This search keeps a complete plan and repeatedly frees every
item of a few related agents, re-solving that small assignment exactly with CP-SAT. Stage 2's
objective splits by agent (pair costs, unassigned items, each agent's deviation, travel per
(account, agent) pair), so a sub-plan that is cheaper on the chosen agents is cheaper overall.
Where the objective is a sum over items alone (the GAP), some neighbourhoods free chosen items
across every agent instead, each agent's capacity narrowed by what its other items take.
"""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
from ortools.sat.python import cp_model

from models.allocation_proto import summed_model
from models.arrays import distinct
from models.instances import AllocationInstance, AllocTerm, Progress, SolveSettings

MIN_AGENTS = 2
MAX_AGENTS = 12
#: items a neighbourhood that frees items (not agents) starts with
ITEMS_FIRST = 20
#: the share of neighbourhoods that free items where both kinds apply
ITEMS_SHARE = 0.5
#: how strongly the choice of items follows their regret rank (one drawn each time)
ITEMS_SHARPNESS = (1.0, 2.0, 4.0)
#: deterministic-time cap per neighbourhood (CP-SAT's own work units, about seconds)
SUB_WORK = 0.25
#: Building a neighbourhood's model (written into its proto: models.allocation_proto) takes
#: about this long per item x agent pair and per item (M's neighbourhoods of 12 agents, 7,000-
#: 10,000 pairs and 700-1,100 items: 0.019 s; XL's of 3 agents with every unassigned item they
#: could take, 18,000-28,000 pairs and 7,600-10,300 items: 0.12 s)
SUB_BUILD_SECONDS_PER_PAIR = 1e-6
SUB_BUILD_SECONDS_PER_ITEM = 1e-5


@dataclass
class LnsStats:
    """What the search did: for the benchmark and the README, and for tuning."""

    neighbourhoods: int = 0
    improvements: int = 0
    final_size: int = 0


def level_terms(inst: AllocationInstance, settings: SolveSettings) -> tuple[str, ...]:
    """The terms the (single-level) objective sums."""
    if settings.levels:
        return tuple(n for n in settings.levels[0] if n in inst.terms)
    return tuple(inst.terms)


def plan_cost(inst: AllocationInstance, item_agent: np.ndarray, names: tuple[str, ...]) -> int:
    """The objective of a complete plan: the sum of the named terms."""
    from models.allocation import evaluate_allocation_terms
    return sum(evaluate_allocation_terms(inst, {n: inst.terms[n] for n in names},
                                         item_agent).values())


def sub_instance(inst: AllocationInstance, agents: np.ndarray, item_agent: np.ndarray
                 ) -> tuple[AllocationInstance, np.ndarray, np.ndarray]:
    """The assignment of the chosen agents' items (and unassigned optional items they could
    take) among those agents only; returns it with the global ids of its items and agents."""
    chosen = np.zeros(inst.n_agents, dtype=bool)
    chosen[agents] = True
    reach = np.zeros(inst.n_items, dtype=bool)
    reach[inst.pair_item[chosen[inst.pair_agent]]] = True
    held = np.zeros(inst.n_items, dtype=bool)
    held[item_agent >= 0] = chosen[item_agent[item_agent >= 0]]
    items = np.nonzero(held | (reach & (item_agent < 0)))[0]
    item_new = np.full(inst.n_items, -1, dtype=np.int64)
    item_new[items] = np.arange(len(items))
    agent_new = np.full(inst.n_agents, -1, dtype=np.int64)
    agent_new[agents] = np.arange(len(agents))
    keep = (item_new[inst.pair_item] >= 0) & chosen[inst.pair_agent]
    terms = {}
    for name, t in inst.terms.items():
        terms[name] = AllocTerm(
            pair=None if t.pair is None else t.pair[keep],
            unassigned=None if t.unassigned is None else t.unassigned[items],
            deviation=None if t.deviation is None else t.deviation[agents],
            travel=None if t.travel is None else t.travel[:, agents])
    fixed = None
    if inst.fixed_agent is not None:
        fixed = np.where(inst.fixed_agent[items] >= 0,
                         agent_new[np.maximum(inst.fixed_agent[items], 0)], -1)
    current = item_agent[items]
    hint = np.where(current >= 0, agent_new[np.maximum(current, 0)], -1)
    sub = AllocationInstance(
        agent_lo=inst.agent_lo[agents], agent_hi=inst.agent_hi[agents],
        pair_item=item_new[inst.pair_item[keep]], pair_agent=agent_new[inst.pair_agent[keep]],
        pair_weight=inst.pair_weight[keep], item_optional=inst.item_optional[items],
        terms=terms,
        agent_target=None if inst.agent_target is None else inst.agent_target[agents],
        item_account=None if inst.item_account is None else inst.item_account[items],
        fixed_agent=fixed, hint_agent=hint)
    return sub, items, agents


def frees_items(inst: AllocationInstance) -> bool:
    """Whether neighbourhoods may free items rather than agents: only when the objective is
    a sum over items (pairs, unassigned), so that a sub-plan's cost counts alone."""
    return not inst.extensions and not any(
        (t.deviation is not None and np.any(t.deviation))
        or (t.travel is not None and np.any(t.travel)) for t in inst.terms.values())


def items_sub_instance(inst: AllocationInstance, items: np.ndarray, item_agent: np.ndarray
                       ) -> tuple[AllocationInstance, np.ndarray, np.ndarray]:
    """The re-assignment of the chosen items among every agent, each agent's band narrowed
    by what its other items already take; returns it with the global ids of its items and
    agents. For an objective that `frees_items`."""
    freed = np.zeros(inst.n_items, dtype=bool)
    freed[items] = True
    held = (item_agent[inst.pair_item] == inst.pair_agent) & ~freed[inst.pair_item]
    load = np.bincount(inst.pair_agent[held], weights=inst.pair_weight[held],
                       minlength=inst.n_agents).astype(np.int64)
    keep = freed[inst.pair_item]
    agents = np.arange(inst.n_agents)
    item_new = np.full(inst.n_items, -1, dtype=np.int64)
    item_new[items] = np.arange(len(items))
    terms = {name: AllocTerm(pair=None if t.pair is None else t.pair[keep],
                             unassigned=None if t.unassigned is None else t.unassigned[items],
                             constant=0)
             for name, t in inst.terms.items()}
    sub = AllocationInstance(
        agent_lo=np.maximum(inst.agent_lo - load, 0), agent_hi=inst.agent_hi - load,
        pair_item=item_new[inst.pair_item[keep]], pair_agent=inst.pair_agent[keep],
        pair_weight=inst.pair_weight[keep], item_optional=inst.item_optional[items],
        terms=terms, fixed_agent=None if inst.fixed_agent is None else inst.fixed_agent[items],
        hint_agent=item_agent[items])
    return sub, items, agents


class _Neighbours:
    """Which agents (or items) to free together: agents between which items could move
    cheaply, items whose cost would rise least elsewhere."""

    def __init__(self, inst: AllocationInstance, names: tuple[str, ...], rng: random.Random,
                 prices: np.ndarray | None = None):
        self.rng = rng
        cost = np.zeros(len(inst.pair_item), dtype=np.float64)
        for n in names:
            if inst.terms[n].pair is not None:
                cost += inst.terms[n].pair
        if prices is not None:  # what an hour of each agent is worth (a Lagrangian price)
            cost += prices[inst.pair_agent] * inst.pair_weight
        # each item's pairs (a stable sort by item is quick: pairs come in runs sorted by
        # item, one per agent); an item's cheapest agents are found when first asked for
        self.cost = cost
        # what leaving each item out costs (never, for a mandatory item)
        none = np.zeros(inst.n_items, dtype=np.float64)
        for n in names:
            if inst.terms[n].unassigned is not None:
                none += inst.terms[n].unassigned
        self.none = np.where(inst.item_optional.astype(bool), none, np.inf)
        self.by_item = inst.by_item
        self.item_start = inst.item_starts
        self.pair_agent, self.pair_item = inst.pair_agent, inst.pair_item
        self.n_agents, self.n_items = inst.n_agents, inst.n_items
        self._cheapest: dict[int, list[int]] = {}

    def cheapest_agents(self, item: int, k: int) -> list[int]:
        """The item's k cheapest agents, cheapest first (ties: in pair order)."""
        known = self._cheapest.get(item)
        if known is None or len(known) < k:
            pairs = self.by_item[self.item_start[item]:self.item_start[item + 1]]
            pairs = pairs[np.argsort(self.cost[pairs], kind="stable")]
            known = self._cheapest[item] = self.pair_agent[pairs[:max(k, 4)]].tolist()
        return known[:k]

    def pick(self, item_agent: np.ndarray, size: int) -> np.ndarray:
        size = min(size, self.n_agents)
        first = self.rng.randrange(self.n_agents)
        chosen = [first]
        pool = [i for i in np.nonzero(item_agent == first)[0].tolist()]
        tries = 0
        while len(chosen) < size and tries < 20 * size:
            tries += 1
            if not pool or self.rng.random() < 0.15:
                b = self.rng.randrange(self.n_agents)
            else:
                i = self.rng.choice(pool)
                options = self.cheapest_agents(i, 4)
                b = self.rng.choice(options) if options else self.rng.randrange(self.n_agents)
            if b not in chosen:
                chosen.append(b)
                pool += np.nonzero(item_agent == b)[0].tolist()
        return np.array(sorted(chosen), dtype=np.int64)

    def pick_items(self, item_agent: np.ndarray, movable: np.ndarray, size: int) -> np.ndarray:
        """`size` items that may move, drawn the more likely the less their (priced) cost would
        rise on their next-best agent: where a better plan differs from this one. (On the GAP
        benchmark's d05100 the 12 items its optimum moves are among the 30 of 100 with the
        least regret at the relaxation's prices.)"""
        size = min(size, len(movable))
        held = self.pair_agent == item_agent[self.pair_item]
        out = item_agent < 0
        now = np.where(out, self.none, 0.0)
        now[self.pair_item[held]] = self.cost[held]
        other = np.where(out, np.inf, self.none)
        np.minimum.at(other, self.pair_item[~held], self.cost[~held])
        regret = np.nan_to_num((other - now)[movable], nan=np.inf)
        rank = np.argsort(np.argsort(regret, kind="stable"), kind="stable")
        # weighted sampling without replacement (weights exp(-rank / size)) by Gumbel keys
        noise = np.random.default_rng(self.rng.randrange(1 << 30)).gumbel(size=len(movable))
        sharpness = ITEMS_SHARPNESS[self.rng.randrange(len(ITEMS_SHARPNESS))]
        return np.sort(movable[np.argsort(sharpness * rank / size - noise)[:size]])


class _Size:
    """How many agents (or items) a neighbourhood frees: more while neighbourhoods are proved
    optimal without a gain (after twice as many as it takes to cover all `total` once, the plan
    is locally optimal at that size), fewer when they run out of time."""

    def __init__(self, total: int, first: int, least: int, most: int,
                 grow: Callable[[int], int], shrink: Callable[[int], int]):
        self.total, self.least, self.most = total, least, most
        self.grow, self.shrink = grow, shrink
        self.size, self.stale = first, 0

    def adapt(self, improved: bool, proved: bool) -> None:
        self.stale = 0 if improved else self.stale + 1
        if not proved and not improved:
            self.size = max(self.least, self.shrink(self.size))
        elif self.stale >= 2 * math.ceil(self.total / self.size) and self.size < self.most:
            self.size, self.stale = min(self.most, self.grow(self.size)), 0


def solve_sub(sub: AllocationInstance, names: tuple[str, ...], seed: int,
              deadline: float, work: float = SUB_WORK) -> tuple[np.ndarray | None, bool]:
    """The best assignment of a neighbourhood (None when none better than its hint was
    found) and whether it was proved optimal; CP-SAT stops by `deadline` (a time.monotonic()
    instant) at the latest, its model's building included."""
    built = summed_model(sub, names, sub.hint_agent)
    solver = cp_model.CpSolver()
    p = solver.parameters
    p.num_workers = 1
    p.random_seed = seed
    p.max_deterministic_time = work
    p.max_time_in_seconds = max(0.05, deadline - time.monotonic())
    p.linearization_level = 2
    status = solver.solve(built.model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, False
    return built.item_agent(sub, solver), status == cp_model.OPTIMAL


def sub_build_seconds(sub: AllocationInstance) -> float:
    """About how long a neighbourhood's model takes to build (`solve_sub`)."""
    return (len(sub.pair_item) * SUB_BUILD_SECONDS_PER_PAIR
            + sub.n_items * SUB_BUILD_SECONDS_PER_ITEM)


def improve_by_neighbourhoods(inst: AllocationInstance, item_agent: np.ndarray,
                              settings: SolveSettings, time_budget: float,
                              bound: int | None = None,
                              stats: LnsStats | None = None,
                              prices: np.ndarray | None = None,
                              patience: float | None = None,
                              hand_over: Callable[[np.ndarray], bool] | None = None,
                              ask_at: float | None = None
                              ) -> np.ndarray:
    """Improve a complete, feasible plan within `time_budget` seconds; never makes it worse.

    With several workers, as many searches run at once on the shared plan (CP-SAT releases
    the interpreter while it solves); a sub-plan is taken only when none of its agents changed
    meanwhile. Stops early at `bound` (nothing better exists), when `settings.stop` is set, or
    after `patience` seconds without a better plan if `hand_over` says so for the plan (asked
    again after each such stretch, and once at `ask_at` (a `time.monotonic()` time) stall or
    not; without it the search stops). A worker that comes free meanwhile
    (`settings.spare_worker`) runs one more search."""
    shared = _Shared(inst, item_agent, level_terms(inst, settings), settings, bound,
                     time.monotonic() + time_budget,
                     stats if stats is not None else LnsStats(), prices, patience, hand_over,
                     ask_at)
    threads = [threading.Thread(target=shared.search, args=(settings.seed + k,), daemon=True)
               for k in range(1, max(1, settings.workers))]
    if settings.spare_worker is not None:
        threads.append(threading.Thread(
            target=shared.search_once_free,
            args=(settings.spare_worker.free, settings.seed + max(1, settings.workers)),
            daemon=True))
    for t in threads:
        t.start()
    shared.search(settings.seed)
    shared.finished.set()
    for t in threads:
        t.join()
    return shared.best


class _Shared:
    """The plan the searches improve together, and the bookkeeping that keeps it consistent."""

    def __init__(self, inst: AllocationInstance, item_agent: np.ndarray,
                 names: tuple[str, ...], settings: SolveSettings, bound: int | None,
                 deadline: float, stats: LnsStats, prices: np.ndarray | None = None,
                 patience: float | None = None,
                 hand_over: Callable[[np.ndarray], bool] | None = None,
                 ask_at: float | None = None):
        self.inst, self.names, self.settings = inst, names, settings
        self.patience, self.hand_over, self.handed_over = patience, hand_over, False
        self.ask_at = ask_at
        self.bound, self.deadline, self.stats = bound, deadline, stats
        self.prices = prices
        self.best = np.asarray(item_agent, dtype=np.int64).copy()
        self.cost = plan_cost(inst, self.best, names)
        self.version = np.zeros(inst.n_agents, dtype=np.int64)
        self.lock = threading.Lock()
        self.began = self.gained = time.monotonic()
        self.finished = threading.Event()  # (the first search has ended)

    def _done(self) -> bool:
        stop = self.settings.stop
        now = time.monotonic()
        return (now >= self.deadline or (stop is not None and stop.is_set())
                or (self.bound is not None and self.cost <= self.bound)
                or self._stalled(now))

    def _stalled(self, now: float) -> bool:
        """Whether the search stops: after `patience` seconds without a better plan, or at
        `ask_at`, if `hand_over` says so (without one, whenever asked)."""
        if self.handed_over or not self._asks(now):
            return self.handed_over
        with self.lock:
            if not self.handed_over and self._asks(now):
                self.handed_over = self.hand_over is None or self.hand_over(self.best.copy())
                # asked: the next question comes a patience later, and the timed one is spent
                self.gained, self.ask_at = now, None
        return self.handed_over

    def _asks(self, now: float) -> bool:
        """Whether `hand_over`'s question is due: a stall, or the timed question's time."""
        return ((self.patience is not None and now - self.gained >= self.patience)
                or (self.ask_at is not None and now >= self.ask_at))

    def search_once_free(self, free: threading.Event, seed: int) -> None:
        """One more search, once `free` is set (a worker has come free), unless the first
        search has ended by then."""
        while not self.finished.is_set() and time.monotonic() < self.deadline:
            if free.wait(0.1):
                self.search(seed)
                return

    def search(self, seed: int) -> None:
        """One search, its neighbourhoods' sizes adapting (`_Size`)."""
        inst = self.inst
        rng = random.Random(seed)
        picker = _Neighbours(inst, self.names, rng, self.prices)
        n = inst.n_agents
        by_agents = _Size(n, min(max(MIN_AGENTS, 3), n), MIN_AGENTS + 1, min(MAX_AGENTS, n),
                          lambda k: k + 1, lambda k: k - 1)
        movable = np.nonzero(inst.fixed_agent < 0)[0] if inst.fixed_agent is not None \
            else np.arange(inst.n_items)
        by_items = _Size(len(movable), min(len(movable), ITEMS_FIRST), ITEMS_FIRST // 2,
                         len(movable), lambda k: k * 5 // 4 + 1, lambda k: k * 9 // 10) \
            if frees_items(inst) and len(movable) else None
        while not self._done():
            with self.lock:
                plan = self.best.copy()
            size = by_agents.size
            items_now = by_items is not None and (size >= n or rng.random() < ITEMS_SHARE)
            if items_now:
                sub, items, ids = items_sub_instance(
                    inst, picker.pick_items(plan, movable, by_items.size), plan)
            else:
                sub, items, ids = sub_instance(inst, picker.pick(plan, size), plan)
            if sub.n_items == 0:
                continue
            if sub_build_seconds(sub) > self.deadline - time.monotonic():
                break  # its model would not be built in the time left (many unassigned items)
            seen = self.version.copy()
            before = plan_cost(sub, sub.hint_agent, self.names)
            # (items' neighbourhoods get the agents' work cap of the moment: as measured)
            found, proved = solve_sub(sub, self.names, rng.randrange(1 << 30), self.deadline,
                                      SUB_WORK * size)
            after = plan_cost(sub, found, self.names) if found is not None else before
            with self.lock:
                self.stats.neighbourhoods += 1
            improved = self._take(items, ids, plan, seen, found, before - after) \
                if found is not None and after < before else False
            (by_items if items_now else by_agents).adapt(improved, proved or found is None)
        with self.lock:
            self.stats.final_size = max(self.stats.final_size, by_agents.size)

    def _take(self, items: np.ndarray, ids: np.ndarray, plan: np.ndarray, seen: np.ndarray,
              found: np.ndarray, gain: int) -> bool:
        """Put a cheaper sub-plan into the shared plan, unless another search changed one of
        the agents it gives or takes items from (their loads) or one of its items meanwhile."""
        new = np.where(found >= 0, ids[np.maximum(found, 0)], -1)
        moved = new != plan[items]
        touched = distinct(np.concatenate([new[moved], plan[items][moved]]))
        touched = touched[touched >= 0]
        with self.lock:
            if not (np.array_equal(self.version[touched], seen[touched])
                    and np.array_equal(self.best[items], plan[items])):
                return False
            self.best[items] = new
            self.cost -= gain
            self.version[touched] += 1
            self.stats.improvements += 1
            self.gained = time.monotonic()
            self._report()
        return True

    def _report(self) -> None:
        if self.settings.progress is not None:
            self.settings.progress(Progress(self.settings.stage, time.monotonic() - self.began,
                                            self.cost, self.bound))
