"""Travel counted exactly for small accounts in stage 2's Lagrangian relaxation.

A plan pays an account's travel to a rep once, however many of the account's items the rep
takes. Item by item the relaxation can only give each item a share of it, and where an
account's items would sit best on different reps the shares undercount what splitting them
costs (S's individuals team: the relaxation 1,051 M against an optimum near 1,158 M, the LP
with "an item on a rep means the account's travel to that rep" 1,158 M). At given prices an
account of a few items is solved exactly instead: every plan groups its items by rep, so its
cheapest choice is the cheapest partition of the items into groups, each group on the rep
that takes all of it for least (travel once) or, alone, left to nobody when optional. This
is at least the LP's value, and still a valid bound for any prices.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

import numpy as np

from models.arrays import distinct

#: accounts of up to this many items are solved exactly (set partitions: 2, 5, 15)
MAX_ITEMS = 4
#: accounts x items x agents (all sizes together) beyond which the accounts are built a chunk
#: of at most CHUNK_CELLS at a time, each time they are priced (DeferredGroup: memory; a cell
#: kept takes 16 bytes). L key-account hybrid's individuals team has 4.3 million cells: built
#: each time (3 million a size at most, before), its relaxation's steps shared travel instead,
#: and its bound and plans suffered (see models.allocation_bound's
#: MIN_EXACT_STEPS_FROM_PRICES); XL's has 19.2 million, for which its process's memory has no
#: room (XL key-account hybrid's peak: 3.8 of the 4 GB its target allows)
MAX_CELLS = 6_000_000
CHUNK_CELLS = 3_000_000


@dataclass(frozen=True)
class AccountGroup:
    """The accounts of one size k whose travel is counted exactly, as dense arrays."""

    items: np.ndarray  # (n, k) the accounts' items
    cost: np.ndarray  # (n, k, A) each item's cost on each agent without travel (inf: not allowed)
    weight: np.ndarray  # (n, k, A) hours (0 where not allowed), float32 where that is exact
    pair: np.ndarray  # (n, k, A) the pair's index in the relaxation's order (-1: none), int32
    none: np.ndarray  # (n, k) cost of the item to nobody (inf: mandatory)
    travel: np.ndarray  # (n, A) the account's travel to each agent
    blocks: tuple[tuple[int, ...], ...]  # the non-empty sets of the k items
    partitions: np.ndarray  # (P, k) for each partition, the block each item is in
    partition_blocks: tuple[np.ndarray, ...]  # for each partition, its blocks (each once)


@dataclass(frozen=True)
class DeferredGroup:
    """Accounts of one size whose dense arrays are built each time they are priced (`build`),
    a chunk at a time: kept, a large team's would cost hundreds of MB (XL key-account
    hybrid's individuals team: 35,000 accounts of 2-3 items x 231 agents, 430 MB)."""

    items: np.ndarray  # (n, k) the accounts' items
    build: Callable[[], AccountGroup]


@dataclass(frozen=True)
class AccountChoice:
    """The exact part's value at some prices, each of its items' agent (-1: nobody) and
    chosen pair (-1: nobody), and the hours it gives each agent."""

    value: float
    agent: np.ndarray  # (items,) in the order of `items`
    pair: np.ndarray
    items: np.ndarray
    load: np.ndarray  # (A,)


def _set_partitions(k: int) -> list[list[tuple[int, ...]]]:
    """All partitions of range(k) into non-empty blocks."""
    if k == 0:
        return [[]]
    out = []
    for rest in _set_partitions(k - 1):
        out.append(rest + [(k - 1,)])
        for b in range(len(rest)):
            out.append(rest[:b] + [rest[b] + (k - 1,)] + rest[b + 1:])
    return out


def account_groups(item_account: np.ndarray, n_items: int, n_agents: int, order: np.ndarray,
                   pair_item: np.ndarray, pair_agent: np.ndarray, weight: np.ndarray,
                   base_cost: np.ndarray, none: np.ndarray, travel: np.ndarray
                   ) -> list[AccountGroup | DeferredGroup]:
    """Groups of accounts of 2 to MAX_ITEMS items, one per size where all sizes' cells are
    within MAX_CELLS; otherwise DeferredGroups of at most CHUNK_CELLS cells each. `order` lists
    the relaxation's pairs (pinned items' other agents left out); `weight` and `base_cost`
    (pair costs without travel) are in that order; `travel` (accounts x agents) is taken as
    the instance holds it, each group's rows made floats when it is built (a float copy of
    the whole held 93 MB beside XL's individuals team's relaxation)."""
    per_account = np.bincount(item_account, minlength=travel.shape[0])
    groups: list[AccountGroup | DeferredGroup] = []
    data = (item_account, n_items, n_agents, order, pair_item, pair_agent, weight, base_cost,
            none, travel)
    sizes = np.arange(2, MAX_ITEMS + 1)
    kept = int((np.bincount(per_account, minlength=MAX_ITEMS + 1)[2:MAX_ITEMS + 1] * sizes).sum()
               * n_agents) <= MAX_CELLS
    for k in sizes.tolist():
        accounts = np.flatnonzero(per_account == k)
        if not len(accounts):
            continue
        row = np.full(travel.shape[0], -1, dtype=np.int64)
        row[accounts] = np.arange(len(accounts))
        members = np.flatnonzero(row[item_account] >= 0)
        items = members[np.argsort(item_account[members], kind="stable")].reshape(len(accounts), k)
        if kept:
            groups.append(_group(accounts, items, *data))
            continue
        step = max(1, CHUNK_CELLS // (k * n_agents))
        groups += [DeferredGroup(items[s:s + step], partial(_group, accounts[s:s + step],
                                                             items[s:s + step], *data))
                   for s in range(0, len(accounts), step)]
    return groups


def _group(accounts: np.ndarray, items: np.ndarray, item_account: np.ndarray, n_items: int,
           n_agents: int, order: np.ndarray, pair_item: np.ndarray, pair_agent: np.ndarray,
           weight: np.ndarray, base_cost: np.ndarray, none: np.ndarray, travel: np.ndarray
           ) -> AccountGroup:
    """The dense arrays of `accounts`, each of the same number of items (`items`, by account)."""
    k = items.shape[1]
    account_row = np.full(travel.shape[0], -1, dtype=np.int64)
    account_row[accounts] = np.arange(len(accounts))
    row = np.full(n_items, -1, dtype=np.int64)
    row[items] = account_row[item_account[items]]
    slot = np.zeros(n_items, dtype=np.int64)
    slot[items] = np.arange(k)[None, :]
    cost = np.full((len(accounts), k, n_agents), np.inf)
    exact32 = not len(weight) or float(np.max(weight)) < 2 ** 24  # whole hours float32 holds
    hours = np.zeros((len(accounts), k, n_agents), dtype=np.float32 if exact32 else float)
    pair = np.full((len(accounts), k, n_agents), -1,
                   dtype=np.int32 if len(order) < 2 ** 31 else np.int64)
    inside = np.flatnonzero(row[pair_item[order]] >= 0)
    i = pair_item[order[inside]]
    at = (row[i], slot[i], pair_agent[order[inside]])
    cost[at] = base_cost[inside]
    hours[at] = weight[inside]
    pair[at] = inside
    partitions = _set_partitions(k)
    blocks = sorted({b for p in partitions for b in p}, key=lambda b: (len(b), b))
    index = {b: n for n, b in enumerate(blocks)}
    member_block = np.array([[index[next(b for b in p if s in b)] for s in range(k)]
                             for p in partitions])
    return AccountGroup(items, cost, hours, pair, none[items], travel[accounts].astype(float),
                        tuple(blocks), member_block,
                        tuple(distinct(row) for row in member_block))


def choose(group: AccountGroup | DeferredGroup, prices: np.ndarray) -> AccountChoice:
    """Each account's cheapest choice at `prices`: the cheapest partition of its items, each
    block on its cheapest agent (travel once) or, a single optional item, to nobody."""
    if isinstance(group, DeferredGroup):
        group = group.build()
    n, k, n_agents = group.cost.shape
    priced = group.cost + prices[None, None, :] * group.weight
    rows = np.arange(n)
    block_value = np.empty((len(group.blocks), n))
    block_agent = np.empty((len(group.blocks), n), dtype=np.int64)
    for b, members in enumerate(group.blocks):
        total = group.travel + priced[:, members[0], :]
        for m in members[1:]:  # (slices added in place: a fancy index's copy took a third)
            total += priced[:, m, :]
        agent = np.argmin(total, axis=1)
        value = total[rows, agent]
        if len(members) == 1:
            alone = group.none[:, members[0]]
            nobody = alone < value
            value = np.where(nobody, alone, value)
            agent = np.where(nobody, -1, agent)
        block_value[b], block_agent[b] = value, agent
    totals = np.stack([block_value[used].sum(axis=0) for used in group.partition_blocks])
    best = np.argmin(totals, axis=0)
    member_block = group.partitions[best]  # (n, k)
    agent = block_agent[member_block, rows[:, None]]
    on = agent >= 0
    safe = np.where(on, agent, 0)
    slots = np.arange(k)[None, :]
    pair = np.where(on, group.pair[rows[:, None], slots, safe], -1)
    hours = np.where(on, group.weight[rows[:, None], slots, safe], 0.0)
    load = np.bincount(safe[on], weights=hours[on], minlength=n_agents)
    return AccountChoice(float(totals[best, rows].sum()), agent.ravel(), pair.ravel(),
                         group.items.ravel(), load)
