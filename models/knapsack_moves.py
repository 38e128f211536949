"""Moves for stage 2's teams of few reps, each solved exactly by dynamic programming over the
hours of one rep.

A team short of people (S key-account hybrid's teams of two and three reps, every item
optional at about one price per hour left unserved) fills its reps' hours to within a few
hours; which whole items fill them, and at what travel, is a strongly correlated knapsack.
The single moves, swaps and chains of models.item_moves keep a plan's loads nearly as they
are, CP-SAT's linear relaxation fills hours with parts of items, and both stalled there 2-6 M
above the optima (353.06, 947.18 and 825.31 M, which SCIP took 14-30 s to prove): after 0.4 s
of polishing 358.92, 949.46 and 827.06 M.

Each move here keeps the rest of the plan and chooses anew, exactly, over one rep's load:
- `_one_rep`: what one rep holds and the unassigned items it may take (a knapsack);
- `_resplit`: what two reps hold, split anew between them (the second rep's load is what is
  left, for items of the same hours on either; accounts with other items are tried in every
  combination where they are few, and kept where they are not);
- `_priced_pair`: what two reps hold and the unassigned items, each to either rep or to
  nobody: the first rep's load exact, the second's hours priced, the price bisected until its
  band holds; the second rep's items are then chosen anew (`_one_rep`) within its band.
An account's items are chosen together (its travel counts once per rep). Moves are taken
while they lower the plan's cost; the priced pairs (the dearer moves) once the others gain
nothing. From the plans the teams' first solves and polishes ended with (358.92, 950.44 and
949.46, 830.18 and 827.06 M) the moves reach the three optima, and end where none gains, in
0.07-0.17 s."""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from models.allocation_lns import plan_cost
from models.instances import AllocationInstance, summed_terms

#: the teams the moves are tried on: up to this many reps (a priced pair per ordered pair)
MAX_AGENTS = 3
#: ... and up to this many items x hours of the largest band (one table's cells)
MAX_CELLS = 5_000_000
#: an account's items are chosen together in every combination up to this many; beyond it
#: in fewer (as they are, each item changed alone, all to one choice)
MAX_OPTIONS = 81
#: a re-split tries the accounts whose items take other hours on either rep in every
#: combination up to this many, and keeps them as they are beyond it
MAX_COMBINATIONS = 256
#: the bisection of a priced pair's price: at most this many tables
PRICE_STEPS = 10
_INF = np.int64(1) << 60
_UNREACHED = _INF >> 1  # (a cell never reached stays above this, costs added or not)


def applies(inst: AllocationInstance) -> bool:
    """Whether the moves are tried: two to MAX_AGENTS reps, no constraint from outside, and
    at most MAX_CELLS items x hours of the largest band."""
    return (2 <= inst.n_agents <= MAX_AGENTS and not inst.extensions and inst.n_items > 0
            and inst.n_items * (int(inst.agent_hi.max()) + 1) <= MAX_CELLS)


@dataclass(frozen=True)
class _Team:
    """The team's items by rep (dense: few reps): hours (-1 where the item may not go),
    summed pair costs, the cost of leaving each item to nobody, pins, accounts, travel."""

    weight: np.ndarray  # (I, A) int64
    cost: np.ndarray  # (I, A) int64
    none: np.ndarray  # (I,) int64
    optional: np.ndarray  # (I,) bool
    pinned: np.ndarray  # (I,) int64, -1 = free
    account: np.ndarray  # (I,) int64
    travel: np.ndarray  # (accounts, A) int64
    lo: np.ndarray
    hi: np.ndarray
    target: np.ndarray
    deviation: np.ndarray

    def choices(self, item: int, agents: tuple[int, ...], nobody: bool) -> list[int]:
        """Where the item may go among `agents` (and to nobody, -1, when `nobody`)."""
        if self.pinned[item] >= 0:
            return [int(self.pinned[item])] if self.pinned[item] in agents else []
        out = [a for a in agents if self.weight[item, a] >= 0]
        return out + [-1] if nobody and self.optional[item] else out

    def balance(self, a: int, load: np.ndarray) -> np.ndarray:
        """Rep a's balance cost at each of the `load` values."""
        return self.deviation[a] * np.abs(load - self.target[a])


def team_of(inst: AllocationInstance, names: tuple[str, ...]) -> _Team:
    """The team's arrays under the objective terms `names`."""
    summed = summed_terms(inst, names)
    n, m = inst.n_items, inst.n_agents
    weight = np.full((n, m), -1, dtype=np.int64)
    cost = np.zeros((n, m), dtype=np.int64)
    weight[inst.pair_item, inst.pair_agent] = inst.pair_weight
    cost[inst.pair_item, inst.pair_agent] = summed.pair
    account = inst.item_account.astype(np.int64) if inst.item_account is not None \
        else np.arange(n, dtype=np.int64)
    travel = summed.travel if summed.travel is not None and inst.item_account is not None \
        else np.zeros((int(account.max()) + 1, m), dtype=np.int64)
    pinned = inst.fixed_agent.astype(np.int64) if inst.fixed_agent is not None \
        else np.full(n, -1, dtype=np.int64)
    target = inst.agent_target if inst.agent_target is not None else np.zeros(m)
    return _Team(weight, cost, summed.unassigned.astype(np.int64),
                 inst.item_optional.astype(bool), pinned, account, travel.astype(np.int64),
                 inst.agent_lo.astype(np.int64), inst.agent_hi.astype(np.int64),
                 np.asarray(target, dtype=np.int64), summed.deviation.astype(np.int64))


@dataclass(frozen=True)
class _Option:
    """One assignment of an account's items in a move: the hours it gives each rep of the
    move, its cost (items, travel once per rep), and where each item goes."""

    hours: tuple[int, ...]
    cost: int
    items: tuple[int, ...]
    agents: tuple[int, ...]


def _options(team: _Team, items: list[int], choices: list[list[int]], current: np.ndarray,
             agents: tuple[int, ...], paid: set[tuple[int, int]]) -> list[_Option]:
    """The account's assignments (all of them up to MAX_OPTIONS, else as they are, each item
    changed alone and all to one choice), `paid` the (account, rep) whose travel other items
    already pay."""
    if math.prod(len(c) for c in choices) <= MAX_OPTIONS:
        combos = list(itertools.product(*choices))
    else:
        now = tuple(int(current[i]) for i in items)
        combos = {now}
        for k, c in enumerate(choices):
            combos.update(now[:k] + (a,) + now[k + 1:] for a in c)
        for a in set().union(*choices):
            if all(a in c for c in choices):
                combos.add((a,) * len(items))
        combos = sorted(combos)
    acc = int(team.account[items[0]])
    out = []
    for combo in combos:
        hours = [0] * len(agents)
        cost = 0
        for i, a in zip(items, combo):
            if a < 0:
                cost += int(team.none[i])
            else:
                hours[agents.index(a)] += int(team.weight[i, a])
                cost += int(team.cost[i, a])
        cost += sum(int(team.travel[acc, a]) for a in set(combo)
                    if a >= 0 and (acc, a) not in paid)
        out.append(_Option(tuple(hours), cost, tuple(items), tuple(int(a) for a in combo)))
    return out


def _accounts(team: _Team, items: list[int]) -> list[list[int]]:
    """The items by account."""
    groups: dict[int, list[int]] = {}
    for i in items:
        groups.setdefault(int(team.account[i]), []).append(i)
    return list(groups.values())


@dataclass(frozen=True)
class _Table:
    """The least cost of taking one option of each group at each total of the first rep's
    hours 0..cap (`best`; unreached cells above _UNREACHED), the table before each group and
    after the last (`layers`), and each group's cheapest option (cost, position) per hours."""

    best: np.ndarray
    layers: list[np.ndarray]
    cheapest: list[dict[int, tuple[int, int]]]

    def taken(self, groups: list[list[_Option]], total: int) -> list[_Option]:
        """The options the table took to reach `total` hours."""
        out = []
        for g in range(len(groups) - 1, -1, -1):
            before, value = self.layers[g], self.layers[g + 1][total]
            for w, (c, k) in self.cheapest[g].items():
                if 0 <= total - w < len(before) and before[total - w] + c == value:
                    out.append(groups[g][k])
                    total -= w
                    break
        return out


def _table(groups: list[list[_Option]], cap: int, cost_of: Callable[[_Option], int]) -> _Table:
    """The table of the groups' options by the first rep's hours, up to `cap`, each option
    costing `cost_of` it."""
    best = np.zeros(1, dtype=np.int64)
    layers, cheapest = [best], []
    for options in groups:
        least: dict[int, tuple[int, int]] = {}
        for k, o in enumerate(options):
            w, c = o.hours[0], cost_of(o)
            if w <= cap and (w not in least or c < least[w][0]):
                least[w] = (c, k)
        reach = min(cap, len(best) - 1 + max(least, default=0))  # (totals reached so far)
        new = np.full(reach + 1, _INF, dtype=np.int64)
        for w, (c, _) in least.items():
            n = min(len(best), reach + 1 - w)
            if n > 0:
                np.minimum(new[w:w + n], best[:n] + c, out=new[w:w + n])
        best = new
        layers.append(best)
        cheapest.append(least)
    out = np.full(cap + 1, _INF, dtype=np.int64)
    out[:len(best)] = best
    return _Table(out, layers, cheapest)


def _apply(plan: np.ndarray, options: list[_Option]) -> np.ndarray:
    """The plan with each option's items where the option puts them."""
    new = plan.copy()
    for o in options:
        new[list(o.items)] = o.agents
    return new


def _one_rep(team: _Team, plan: np.ndarray, a: int) -> np.ndarray | None:
    """Rep a's items chosen anew from what it holds and the unassigned items it may take,
    the rest of the plan kept; None where its band cannot hold."""
    items = [i for i in np.flatnonzero((plan == a) | (plan < 0)).tolist()
             if team.choices(i, (a,), nobody=True) and (plan[i] == a or team.weight[i, a] >= 0)]
    groups = [_options(team, g, [team.choices(i, (a,), nobody=True) for i in g], plan, (a,),
                       set()) for g in _accounts(team, items)]
    cap = int(team.hi[a])
    table = _table(groups, cap, lambda o: o.cost)
    load = np.arange(cap + 1)
    total = np.where(table.best < _UNREACHED, table.best + team.balance(a, load), _INF)
    total[:int(team.lo[a])] = _INF
    at = int(np.argmin(total))
    if total[at] >= _UNREACHED:
        return None
    return _apply(plan, table.taken(groups, at))


def _resplit(team: _Team, plan: np.ndarray, a: int, b: int) -> np.ndarray | None:
    """What reps a and b hold, split anew between them, the rest of the plan kept; None
    where no split holds both bands."""
    held = np.flatnonzero((plan == a) | (plan == b)).tolist()
    if not held:
        return None
    linear, other = [], []
    for g in _accounts(team, held):
        options = _options(team, g, [team.choices(i, (a, b), nobody=False) for i in g], plan,
                           (a, b), set())
        # (each option's hours on a and b sum alike: b's load is what a's leaves)
        (linear if len({sum(o.hours) for o in options}) == 1 else other).append(options)
    if math.prod(len(o) for o in other) > MAX_COMBINATIONS:
        linear += [[o for o in options if all(plan[list(o.items)] == o.agents)]
                   for options in other]
        other = []
    whole = sum(options[0].hours[0] + options[0].hours[1] for options in linear)
    table = _table(linear, whole, lambda o: o.cost)
    load = np.arange(whole + 1)
    found = (_INF, 0, ())
    for combo in itertools.product(*other):
        on_a = sum(o.hours[0] for o in combo) + load
        on_b = sum(o.hours[1] for o in combo) + whole - load
        total = np.where(table.best < _UNREACHED, table.best + sum(o.cost for o in combo)
                         + team.balance(a, on_a) + team.balance(b, on_b), _INF)
        total[(on_a < team.lo[a]) | (on_a > team.hi[a])
              | (on_b < team.lo[b]) | (on_b > team.hi[b])] = _INF
        at = int(np.argmin(total))
        if total[at] < found[0]:
            found = (total[at], at, combo)
    if found[0] >= _UNREACHED:
        return None
    return _apply(plan, table.taken(linear, found[1]) + list(found[2]))


def _priced_pair(team: _Team, plan: np.ndarray, a: int, b: int, deadline: float
                 ) -> list[np.ndarray]:
    """Plans from what reps a and b hold and the unassigned items, each to either rep or to
    nobody: rep a's load exact, rep b's hours priced, the price bisected between nothing and
    what makes every item dearer on b than elsewhere; each plan with b's items chosen anew
    within its band (`_one_rep`). Those plans, the cheapest not known; the bisection stops at
    the `deadline` (a time.monotonic() instant)."""
    items = [i for i in np.flatnonzero((plan == a) | (plan == b) | (plan < 0)).tolist()
             if plan[i] >= 0 or team.choices(i, (a, b), nobody=False)]
    groups = [_options(team, g, [team.choices(i, (a, b), nobody=True) for i in g], plan,
                       (a, b), set()) for g in _accounts(team, items)]
    if not groups:
        return []
    on_b = [i for i in items if team.weight[i, b] > 0]
    top = max([float(team.none[i] - team.cost[i, b]) / float(team.weight[i, b])
               for i in on_b] + [0.0])
    cap = int(team.hi[a])
    load = np.arange(cap + 1)
    balance = team.balance(a, load)
    low, high = 0.0, top
    plans, seen = [], set()
    for _ in range(PRICE_STEPS):
        if time.monotonic() >= deadline:
            break
        price = (low + high) / 2
        def priced(o: _Option, price: float = price) -> int:
            return o.cost + int(round(price * o.hours[1]))
        table = _table(groups, cap, priced)
        total = np.where(table.best < _UNREACHED, table.best + balance, _INF)
        total[:int(team.lo[a])] = _INF
        at = int(np.argmin(total))
        if total[at] >= _UNREACHED:
            break
        taken = table.taken(groups, at)
        if sum(o.hours[1] for o in taken) > team.hi[b]:
            low = price
        else:
            high = price
        moved = _apply(plan, taken)
        if moved.tobytes() in seen:  # (the same plan at another price)
            continue
        seen.add(moved.tobytes())
        fixed = _one_rep(team, moved, b)
        if fixed is not None:
            plans.append(fixed)
    return plans


def improve_by_knapsack_moves(inst: AllocationInstance, plan: np.ndarray,
                              names: tuple[str, ...], seconds: float) -> np.ndarray:
    """The plan (which holds every band) after the moves that lower its cost (the terms
    `names`), the cheaper ones round after round, a priced pair whenever those gain nothing,
    until none gains or `seconds` run out."""
    from models.allocation import allocation_is_feasible  # (models.allocation imports this)
    deadline = time.monotonic() + seconds
    team = team_of(inst, names)
    cost = plan_cost(inst, plan, names)
    agents = range(inst.n_agents)
    cheap = [(_one_rep, (a,)) for a in agents] \
        + [(_resplit, (a, b)) for a in agents for b in agents if a < b]
    # (the exact load the smaller band's: its table is the shorter)
    dear = sorted(((a, b) for a in agents for b in agents if a != b),
                  key=lambda ab: (int(inst.agent_hi[ab[0]]), ab))

    def better(new: np.ndarray | None) -> bool:
        nonlocal plan, cost
        if new is None or not allocation_is_feasible(inst, new):
            return False
        value = plan_cost(inst, new, names)
        if value >= cost:
            return False
        plan, cost = new, value
        return True
    while time.monotonic() < deadline:
        gained = False
        for move, args in cheap:
            if time.monotonic() >= deadline:
                return plan
            gained |= better(move(team, plan, *args))
        if gained:
            continue
        for a, b in dear:
            if time.monotonic() >= deadline:
                return plan
            for new in _priced_pair(team, plan, a, b, deadline):
                gained |= better(new)
            if gained:
                break
        if not gained:
            return plan
    return plan
