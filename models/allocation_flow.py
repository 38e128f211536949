"""Stage 2's allocation with divisible items, as a min-cost flow: where a good plan's pairs lie.

On the planner's teams an item weighs the same on every agent who serves all of its lines (one
who serves part of them carries less and leaves the rest unmet, at a price). With its hours
divisible, the allocation is then a transportation problem: each item's hours flow to agents
or to nobody, and each agent's load is priced piecewise (below the band's minimum, below and
above its target for the balance). OR-Tools' min-cost flow solves it in milliseconds, and its
optimum is nearly whole: on M region x function's East hunting team (1,712 items, 17 agents,
20,542 pairs) 15 items are split, and the rest, each item to the agent with most of its hours,
costs 200.1 M, against 199.1 M for the best plan known and 212 M for the team's start. But
rounding breaks the bands by a few hundred hours, and bringing it back under them loses most of
the gain (210.1 M priced, 211.7 M by the local repair alone). So models.allocation uses the
flow three ways: its duals (`FlowChoice.prices`) as the Lagrangian relaxation's prices, at
which its bound is near its optimum at once; its rounding, priced back under the maxima, as
one more start; and the pairs it uses over a few roundings that pin its split items
(`flow_core`) as a core that CP-SAT searches exactly first (`_core_start`).

Costs per hour are the item's cost on the pair divided by its whole weight, travel shared
among the account's items (as in the Lagrangian relaxation). A pair that carries less than the
whole weight is charged the whole weight's room, so the flow never promises room a plan does
not have.
"""

from __future__ import annotations

import itertools
import time
from contextlib import nullcontext
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from models.allocation_bound import SLICE_PAIRS, pair_slices, travel_share
from models.arrays import distinct
from models.flow_apart import FlowApart, min_cost_flows
from models.instances import AllocationInstance, FlowChoice, summed_terms

#: The flow applies where at least this share of the pairs carry their item's whole weight
#: (the planner's teams: 84-100 %; the generalized assignment benchmark's: about one agent
#: in five or ten, where the flow's room would be far off)
WHOLE_WEIGHT_SHARE = 0.5
#: The largest unit cost after scaling to integers (the flow's costs are int64; its total,
#: up to this times the hours, stays far inside them)
COST_SCALE = 1e7
#: Above this many pairs the flow starts from each item's SPARSE_PAIRS cheapest (see
#: `flow_choices`); a stand-in arc to the sink costs STAND_IN times the largest cost per hour.
#: (From 2 million, until 2026-12-04: XL key-account hybrid's teams of 0.11-1.33 million
#: pairs, stored from a whole run and solved alone, took 0.12-2.38 s for the whole network
#: and 0.08-0.91 s this way, 1.3-3.5 times faster on those above 0.16 million, the relaxation's
#: bound at the duals the same within 0.04 M and the starts within 0.15 M either way: 0.66 s
#: of the 2.54 s of its team of 0.81 million pairs instead of 1.64 s, and a whole network is
#: solved at once, where no deadline stops it)
SPARSE_FROM_PAIRS = 100_000
SPARSE_PAIRS = 8
ENTERING_PAIRS = 2
SETTLED_SHARE = 0.005
#: ... and SETTLED_SHARE_LARGEST on teams of more than SETTLED_LARGEST_FROM pairs (too large to
#: send to a worker: XL key-account hybrid's individuals team), whose solves take 5-6 s each
SETTLED_SHARE_LARGEST = 0.05
SETTLED_LARGEST_FROM = 8_000_000
#: ... and which solve at most this many times (with no stand-in in use). XL key-account
#: hybrid's individuals team (12.2 million pairs, 46.7 s), its items still gaining 5.7 % after
#: the third solve: a fourth took 6.4 s for a bound of 236.25 M against 235.78 M, and the
#: team ended at 268.4 M against 260.1 M (alone, a busy process beside it); in the whole run
#: its relaxation took 46 of its 46.7 s, the team ended at 353 M and the run's stage-2 gap at
#: 7.1 %
SOLVES_LARGEST = 3
STAND_IN = 1000.0
#: Above SPARSE_FROM_PAIRS the first columns are each item's cheapest at the duals of a sample:
#: the flow of SEED_SHARE of the accounts (drawn with a fixed seed), the agents' bands scaled to
#: the hours drawn, solved by column generation in turn. XL key-account hybrid's individuals
#: team (11.2 million pairs, 92,926 items, 223 agents): the sample's duals lay within 4.7 an
#: hour of the optimum's (median; they run to 3,400 an hour), and the first solve left 0.2 %
#: of the items gaining where each item's cheapest pairs left 79 %, then 26 % and 13 % after
#: two more solves (the flow 12-15 s instead of 28 s, its bound 325.5 M instead of 324.1 M)
SEED_SHARE = 0.1
#: ... where the sample holds at least this many items per agent. XL region x function's
#: East hunting team (3.6 million pairs, 23,710 items, 200 agents: a sample of 12 items per
#: agent): 2 solves instead of 9, the flow 5.4 s instead of 16.4 s, the same bound (281.94 M)
SEED_ITEMS_PER_AGENT = 5


def whole_weights(inst: AllocationInstance) -> np.ndarray:
    """Each item's whole weight: its largest on any pair (at least 1)."""
    weight = np.zeros(inst.n_items, dtype=np.int64)
    np.maximum.at(weight, inst.pair_item, inst.pair_weight.astype(np.int64))
    return np.maximum(weight, 1)


def flow_applies(inst: AllocationInstance) -> bool:
    """Whether the items' weights are mostly the same on every agent (see the module)."""
    if not len(inst.pair_item):
        return False
    whole = whole_weights(inst)[inst.pair_item]
    return float(np.mean(inst.pair_weight == whole)) >= WHOLE_WEIGHT_SHARE


@dataclass(frozen=True)
class _Costs:
    """The terms every solve of one instance's flow prices alike, built once for its roundings."""

    whole: np.ndarray  # (I,) each item's whole weight
    pair: np.ndarray  # (P,) each pair's cost, travel shared among the account's items
    unassigned: np.ndarray  # (I,)
    deviation: np.ndarray  # (A,)


def _costs(inst: AllocationInstance, names: tuple[str, ...]) -> _Costs:
    summed = summed_terms(inst, names)
    pair = summed.pair.astype(float)
    if summed.travel is not None:
        travel_share(inst, summed.travel, add_to=pair)
    return _Costs(whole_weights(inst), pair, summed.unassigned, summed.deviation.astype(float))


def flow_choices(inst: AllocationInstance, names: tuple[str, ...],
                 pinned: np.ndarray | None = None, costs: _Costs | None = None,
                 apart: bool = False, deadline: float | None = None) -> FlowChoice | None:
    """The divisible allocation's optimum for the terms `names`, with the items `pinned` marks
    (an agent, or -1 for free) held to that agent or nobody (`costs`: those terms, if summed
    already). None when the mandatory items' hours cannot all be placed.

    Above SPARSE_FROM_PAIRS pairs it is solved on a part of them first, each item's
    SPARSE_PAIRS cheapest per hour at the duals of a sample's flow (`_sample_duals`; with no
    sample, the cheapest per hour alone), and the part grows by the pairs its duals price below
    zero until (nearly) none is: column generation (`_by_columns`), in a fraction of the whole
    network's memory; it also stops where another solve would end past the `deadline` (a
    time.monotonic() value), with a flow on the part so far that places every item. With
    `apart`, the flows are solved in a child process (models.flow_apart), where they hold none
    of this process's time."""
    priced = costs if costs is not None else _costs(inst, names)
    fixed = inst.fixed_agent if inst.fixed_agent is not None else np.full(inst.n_items, -1)
    held = fixed if pinned is None else np.where(fixed >= 0, fixed, pinned)
    with FlowApart() if apart else nullcontext() as child:
        solver = child.solve if child is not None else min_cost_flows
        network = _network(inst, priced, held, solver)
        if len(inst.pair_item) <= SPARSE_FROM_PAIRS:
            solved = network.solve(np.flatnonzero(_allowed(inst, held, slice(None))))
        else:
            solved = _by_columns(inst, network, held, deadline,
                                 _sample_duals(inst, priced, held, solver, deadline))
    if solved is None:
        return None
    agent, split = _read(inst, solved.hours, solved.pairs, network.nobody)
    return FlowChoice(agent, split, _duals(inst, network, solved), settled=not solved.cut)


def _network(inst: AllocationInstance, priced: _Costs, held: np.ndarray,
             solver: Callable[..., np.ndarray | None]) -> "_Network":
    """The flow's network, its costs scaled by the largest over every open pair."""
    fixed = inst.fixed_agent if inst.fixed_agent is not None else np.full(inst.n_items, -1)
    nobody = np.flatnonzero(inst.item_optional.astype(bool) & (fixed < 0))
    largest = max([float(np.abs(_unit(inst, priced, part)[_allowed(inst, held, part)])
                         .max(initial=0.0)) for part in pair_slices(len(inst.pair_item))]
                  + [float(np.abs(priced.unassigned[nobody] / priced.whole[nobody])
                           .max(initial=0.0)),
                     float(np.abs(priced.deviation).max(initial=0.0))])
    return _Network(inst, priced, nobody, largest, solver)


def _duals(inst: AllocationInstance, network: "_Network", solved: "_Solved") -> np.ndarray:
    """What an hour of each agent's load is worth at a flow's optimum, in objective units."""
    sink = inst.n_items + inst.n_agents
    return (solved.distance[sink] - solved.distance[inst.n_items:sink]) / network.scale


def _sample_duals(inst: AllocationInstance, priced: _Costs, held: np.ndarray,
                  solver: Callable[..., np.ndarray | None], deadline: float | None
                  ) -> np.ndarray | None:
    """The agents' duals in the flow of a sample of the accounts (see SEED_SHARE): near the
    whole flow's, where the items are many. None where the sample would be too small or has
    no flow that places its items."""
    account = inst.item_account if inst.item_account is not None else np.arange(inst.n_items)
    drawn = np.random.default_rng(0).random(int(account.max(initial=-1)) + 1) < SEED_SHARE
    items = np.flatnonzero(drawn[account])
    if len(items) < SEED_ITEMS_PER_AGENT * inst.n_agents:
        return None
    number = np.full(inst.n_items, -1, dtype=np.int64)
    number[items] = np.arange(len(items))
    pairs = np.flatnonzero(number[inst.pair_item] >= 0)
    share = float(priced.whole[items].sum()) / max(1.0, float(priced.whole.sum()))
    sample = AllocationInstance(
        agent_lo=np.floor(inst.agent_lo * share).astype(np.int64),
        agent_hi=np.ceil(inst.agent_hi * share).astype(np.int64),
        pair_item=number[inst.pair_item[pairs]], pair_agent=inst.pair_agent[pairs],
        pair_weight=inst.pair_weight[pairs], item_optional=inst.item_optional[items], terms={},
        agent_target=None if inst.agent_target is None
        else np.round(inst.agent_target * share).astype(np.int64),
        fixed_agent=None if inst.fixed_agent is None else inst.fixed_agent[items],
        hint_agent=None if inst.hint_agent is None else inst.hint_agent[items])
    costs = _Costs(priced.whole[items], priced.pair[pairs], priced.unassigned[items],
                   priced.deviation)
    network = _network(sample, costs, held[items], solver)
    solved = _by_columns(sample, network, held[items], deadline)
    return None if solved is None else _duals(sample, network, solved)


def _unit(inst: AllocationInstance, priced: _Costs, pairs: slice | np.ndarray) -> np.ndarray:
    """The pairs' costs per hour."""
    return priced.pair[pairs] / priced.whole[inst.pair_item[pairs]]


def _allowed(inst: AllocationInstance, held: np.ndarray, pairs: slice | np.ndarray
             ) -> np.ndarray:
    """Whether each pair is open to its item: the item is not held, or held to its agent."""
    on = held[inst.pair_item[pairs]]
    return (on < 0) | (on == inst.pair_agent[pairs])


@dataclass(frozen=True)
class _Solved:
    """A flow's optimum on a subset of the pairs."""

    pairs: np.ndarray  # the subset
    hours: np.ndarray  # on each of its pairs, then on each nobody arc
    distance: np.ndarray  # the node potentials (items, agents, the sink)
    stood_in: bool  # whether a stand-in arc carries hours
    cut: bool = False  # whether column generation stopped at its deadline (`_by_columns`)


class _Network:
    """The flow's network for a subset of the pairs: items -> agents (or nobody) -> the sink,
    costs per hour scaled to integers alike for every subset (`largest`: the largest cost per
    hour of a pair, a nobody arc or the balance, over all of them)."""

    def __init__(self, inst: AllocationInstance, priced: _Costs, nobody: np.ndarray,
                 largest: float, solver: Callable[..., np.ndarray | None] = min_cost_flows
                 ) -> None:
        self.inst, self.priced, self.nobody, self.solver = inst, priced, nobody, solver
        self.pieces = _load_pieces(inst, priced.deviation, largest)
        steepest = max(float(np.abs(c).max(initial=0.0)) for _, c in self.pieces)
        self.scale = COST_SCALE / max(1.0, largest, steepest)
        self.stand_in = STAND_IN * max(1.0, largest, steepest)

    def solve(self, pairs: np.ndarray, stand_in: bool = False) -> _Solved | None:
        """The optimum on `pairs`. With `stand_in`, every item that must be placed may also
        send its hours to the sink at STAND_IN times the largest cost, so that a subset with
        too little room still has an optimum (its duals then point to the pairs that make
        room)."""
        inst, priced, nobody = self.inst, self.priced, self.nobody
        n_items, n_agents = inst.n_items, inst.n_agents
        whole, sink = priced.whole, n_items + n_agents
        tails = [inst.pair_item[pairs], nobody]
        heads = [n_items + inst.pair_agent[pairs], np.full(len(nobody), sink)]
        caps = [whole[inst.pair_item[pairs]], whole[nobody]]
        costs = [_unit(inst, priced, pairs), priced.unassigned[nobody] / whole[nobody]]
        for agent_caps, agent_costs in self.pieces:
            used = np.flatnonzero(agent_caps > 0)
            tails.append(n_items + used)
            heads.append(np.full(len(used), sink))
            caps.append(agent_caps[used])
            costs.append(agent_costs[used])
        must = np.flatnonzero(~inst.item_optional.astype(bool)) if stand_in \
            else np.zeros(0, dtype=np.int64)
        if len(must):
            tails.append(must)
            heads.append(np.full(len(must), sink))
            caps.append(whole[must])
            costs.append(np.full(len(must), self.stand_in))
        arcs = _Arcs(np.concatenate(tails).astype(np.int64),
                     np.concatenate(heads).astype(np.int64),
                     np.concatenate(caps).astype(np.int64),
                     np.round(np.concatenate(costs) * self.scale).astype(np.int64))
        supplies = np.r_[whole, np.zeros(n_agents, dtype=np.int64), -whole.sum()]
        hours = self.solver(arcs.tail, arcs.head, arcs.cap, arcs.cost, supplies.astype(np.int64))
        if hours is None:
            return None
        stood_in = bool(len(must)) and bool(np.any(hours[len(arcs.tail) - len(must):] > 0))
        return _Solved(pairs, hours[:len(pairs) + len(nobody)], _potentials(arcs, hours, sink + 1),
                       stood_in)


def _by_columns(inst: AllocationInstance, network: _Network, held: np.ndarray,
                deadline: float | None = None, seed: np.ndarray | None = None
                ) -> _Solved | None:
    """The flow's optimum by column generation (see `flow_choices`), every pair priced a
    slice at a time. It stops once at most SETTLED_SHARE of the items have a pair priced
    below zero: the duals are then near the optimum's (XL's individuals team, 9 million
    pairs: 6 solves instead of 8, the relaxation's bound at the duals 590.70 M either way;
    on teams above SETTLED_LARGEST_FROM pairs, at SETTLED_SHARE_LARGEST: XL key-account
    hybrid's individuals team, 11.9 million pairs, 3 solves of 5-6 s instead of 4-5, 4.6 % of
    its items gaining after the third and 0.7 % after the fourth, its bound 229.9 M either way;
    at 0.05 on every team, XL region x function's team of 3.7 million pairs ended a whole run
    at 301.2 M for a bound of 233.8 M, the run's stage-2 gap 5.9 %, and at 0.005 the same
    design's at 252.6 M for 245.8 M, 0.81 %), or on those teams after SOLVES_LARGEST solves, or
    where another solve, as long as the last, would end past the `deadline`: after 3 of its 4
    solves on XL key-account hybrid's individuals team (12.1 million pairs), the bound at the
    duals was 210.19 M against 210.26 M, and its priced plan 361 M against 302 M (586-699 M
    without a flow, in whole runs)."""
    chosen = np.zeros(len(inst.pair_item), dtype=bool)
    chosen[_first_columns(inst, network.priced, held, seed)] = True
    n_items = inst.n_items
    largest = len(inst.pair_item) > SETTLED_LARGEST_FROM
    for solves in itertools.count(1):
        began = time.monotonic()
        solved = network.solve(np.flatnonzero(chosen), stand_in=True)
        if solved is None:
            return None
        if not solved.stood_in and deadline is not None \
                and 2 * time.monotonic() - began > deadline:
            return replace(solved, cut=True)
        if not solved.stood_in and largest and solves >= SOLVES_LARGEST:
            return solved
        found, priced_below = [], []
        for part in pair_slices(len(inst.pair_item)):
            reduced = np.round(_unit(inst, network.priced, part) * network.scale) \
                + solved.distance[inst.pair_item[part]] \
                - solved.distance[n_items + inst.pair_agent[part]]
            below = np.flatnonzero(~chosen[part] & _allowed(inst, held, part) & (reduced < -0.5))
            found.append(below + part.start)
            priced_below.append(reduced[below])
        entering = np.concatenate(found)
        if not len(entering):  # the optimum: with stand-ins in use, no flow places every item
            return None if solved.stood_in else solved
        gaining = np.count_nonzero(np.bincount(inst.pair_item[entering], minlength=n_items))
        settled = SETTLED_SHARE_LARGEST if largest else SETTLED_SHARE
        if gaining <= settled * n_items and not solved.stood_in:
            return solved
        chosen[_cheapest_of_each(inst.pair_item[entering], np.concatenate(priced_below),
                                 entering, ENTERING_PAIRS)] = True


def _first_columns(inst: AllocationInstance, priced: _Costs, held: np.ndarray,
                   seed: np.ndarray | None = None) -> np.ndarray:
    """Each item's SPARSE_PAIRS cheapest open pairs per hour (with the agents' `seed` prices
    per hour added, if any), found for a block of items at a time, and its hinted pair. The
    hint places every item on an agent of its own, so the first
    flow finds room for all of them, where the cheapest pairs alone crowd a few agents and
    stand-ins carry hours until more pairs enter (XL key-account hybrid's individuals team,
    12.1 million pairs: 4 solves instead of 5, none with stand-ins in use; the relaxation's
    bound at the duals 210.26 M against 210.25 M)."""
    per_block = max(1, inst.n_items * SLICE_PAIRS // max(1, len(inst.pair_item)))
    ends = np.r_[0, np.cumsum(np.bincount(inst.pair_item, minlength=inst.n_items))]
    found = []
    for first in range(0, inst.n_items, per_block):
        pairs = inst.by_item[ends[first]:ends[min(first + per_block, inst.n_items)]]
        pairs = pairs[_allowed(inst, held, pairs)]
        cost = _unit(inst, priced, pairs)
        if seed is not None:
            cost = cost + seed[inst.pair_agent[pairs]]
        found.append(_cheapest_of_each(inst.pair_item[pairs], cost, pairs, SPARSE_PAIRS))
    if inst.hint_agent is not None:
        for part in pair_slices(len(inst.pair_item)):
            hinted = inst.hint_agent[inst.pair_item[part]] == inst.pair_agent[part]
            found.append(np.flatnonzero(hinted & _allowed(inst, held, part)) + part.start)
    return distinct(np.concatenate(found))


def _cheapest_of_each(item: np.ndarray, cost: np.ndarray, index: np.ndarray, k: int
                      ) -> np.ndarray:
    """Of the pairs `index` (of items `item`, costing `cost`), each item's `k` cheapest."""
    low = float(cost.min(initial=0.0))
    spread = float(cost.max(initial=0.0)) - low or 1.0
    order = np.argsort(item + 0.5 * (cost - low) / spread, kind="stable")
    ranked = item[order]
    first = np.r_[0, np.flatnonzero(ranked[1:] != ranked[:-1]) + 1]
    rank = np.arange(len(order)) - np.repeat(first, np.diff(np.r_[first, len(order)]))
    return index[order[rank < k]]


@dataclass(frozen=True)
class _Arcs:
    tail: np.ndarray
    head: np.ndarray
    cap: np.ndarray
    cost: np.ndarray  # per unit, scaled to integers


def _potentials(arcs: _Arcs, hours: np.ndarray, n_nodes: int) -> np.ndarray:
    """Shortest distances in the optimal flow's residual network (from a root joined to every
    node at no cost): node potentials under which no residual arc has a negative reduced
    cost, that is, the flow's duals. Bellman-Ford, one array operation per round: the
    network alternates items and agents, so the rounds are few."""
    forward, backward = hours < arcs.cap, hours > 0
    tail = np.r_[arcs.tail[forward], arcs.head[backward]]
    head = np.r_[arcs.head[forward], arcs.tail[backward]]
    cost = np.r_[arcs.cost[forward], -arcs.cost[backward]].astype(np.float64)
    distance = np.zeros(n_nodes)
    for _ in range(n_nodes):
        relaxed = distance.copy()
        np.minimum.at(relaxed, head, distance[tail] + cost)
        if np.array_equal(relaxed, distance):
            break
        distance = relaxed
    return distance


def _load_pieces(inst: AllocationInstance, deviation: np.ndarray, largest: float
                 ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each agent's load priced in three pieces of (hours, cost per hour): up to the band's
    minimum at a cost below any other (`largest`: the largest cost per hour of a pair, a
    nobody arc or the balance), so that the flow fills it where it can; up to the target; and
    up to the maximum, the balance's slope on either side of the target."""
    lo = inst.agent_lo.astype(np.int64)
    hi = np.maximum(inst.agent_hi.astype(np.int64), lo)
    target = inst.agent_target.astype(np.int64) if inst.agent_target is not None else lo
    target = np.clip(target, lo, hi)
    first = -4.0 * largest - 1.0
    return [(lo, first - deviation), (target - lo, -deviation), (hi - target, deviation)]


def _read(inst: AllocationInstance, hours: np.ndarray, pairs: np.ndarray, nobody: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray]:
    """Each item's largest share (an agent, -1: nobody), and whether it has more than one."""
    item = np.r_[inst.pair_item[pairs], nobody]
    agent = np.r_[inst.pair_agent[pairs], np.full(len(nobody), -1)]
    used = hours > 0
    parts = np.bincount(item[used], minlength=inst.n_items)
    order = np.lexsort((-hours, item))
    first = np.flatnonzero(np.r_[True, item[order][1:] != item[order][:-1]])
    choice = np.full(inst.n_items, -1, dtype=np.int64)
    largest = order[first]
    choice[item[largest]] = np.where(hours[largest] > 0, agent[largest], -1)
    return choice, parts > 1


@dataclass(frozen=True)
class FlowCore:
    """What `flow_core` found."""

    pairs: np.ndarray  # (P,) bool: the core
    rounded: np.ndarray  # (I,) the first solve's choices: a plan, though maybe over the maxima


def flow_core(inst: AllocationInstance, names: tuple[str, ...], rounds: int,
              first: FlowChoice | None = None) -> FlowCore | None:
    """Per pair, whether the divisible optimum uses it in one of `rounds` solves, each of which
    pins the items the one before split to the agent with most of their hours (and keeps every
    pair of those split items); `first`, the first solve if done already. None when the flow
    has no optimum."""
    pinned = np.full(inst.n_items, -1, dtype=np.int64)
    core = np.zeros(len(inst.pair_item), dtype=bool)
    rounded = None
    costs = _costs(inst, names)
    for k in range(rounds):
        found = first if k == 0 and first is not None \
            else flow_choices(inst, names, pinned, costs)
        if found is None:
            break
        if rounded is None:
            rounded = found.agent
        core |= (inst.pair_agent == found.agent[inst.pair_item]) | found.split[inst.pair_item]
        split = found.split & (found.agent >= 0)
        if not split.any():
            break
        pinned[split] = found.agent[split]
    return None if rounded is None else FlowCore(core, rounded)
