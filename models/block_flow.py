"""Stage 2's divisible allocation over blocks of an account's items, each served whole.

The item flow (models.allocation_flow) shares an account's travel among its items, so its
rounding spreads accounts, and on a large team travel-bound far from the best plan no local
move repairs that: XL key-account hybrid's individuals team (12.3 million pairs, 92,926 items
in 50,000 accounts, 241 agents) descended from the item flow's and the priced starts to
296.9 M for a bound of 272.2 M, where the LP over every account's ways of grouping its items
(solved offline by column generation: 275.4 M) rounds to a plan of 281.8 M that descends to
276.5 M: 20 M of the 25 M gap was the plan's, in where the accounts go (travel 249.7 against
224.8 M), not the bound's.

That LP's account rows are the Lagrangian relaxation's (models.account_relaxation): at the
item flow's prices each account's cheapest grouping of its items is known, and most accounts
keep it at the LP's optimum. Fixing those groups, each group ("block") becomes one divisible
item served whole by one agent, its account's travel to that agent paid once: again a
transportation problem, which the same min-cost flow solves, nearly whole, on fewer pairs
than the items had. On that team: 60,769 blocks, 7.0 million pairs, 8.9 s; rounded 278.3 M,
repaired into the bands 284.6 M, gathered and descended to 281.0 M in 18 s.
"""

from __future__ import annotations

import numpy as np

from models.allocation_flow import flow_choices
from models.instances import AllocationInstance, AllocTerm, summed_terms

#: the block flow's one term
_TERM = "blocks"


def blocks_of(inst: AllocationInstance, choice: np.ndarray) -> np.ndarray:
    """Each item's block: the items of one account that `choice` gives the same agent share
    one; an item it leaves to nobody is a block of its own."""
    account = inst.item_account.astype(np.int64)
    key = np.where(choice >= 0, account * (inst.n_agents + 1) + choice,
                   -(np.arange(inst.n_items, dtype=np.int64) + 1))
    return np.unique(key, return_inverse=True)[1].reshape(-1)


def block_instance(inst: AllocationInstance, names: tuple[str, ...], block: np.ndarray
                   ) -> AllocationInstance:
    """The team with each block of items (`block`, per item) as one item: an agent may take it
    where it may take all of its items (pinned items only to their agent), for their hours and
    costs together and its account's travel once; it is optional where all of its items are,
    and left to nobody costs what they cost there. Travel is in the pairs' costs: the instance
    has no accounts."""
    summed = summed_terms(inst, names)
    pair_cost, travel = summed.pair, summed.travel
    unassigned, deviation, constant = summed.unassigned, summed.deviation, summed.constant
    del summed  # (its pairs' costs go once they are summed by block, below)
    n_blocks = int(block.max()) + 1 if len(block) else 0
    size = np.bincount(block, minlength=n_blocks)
    # each (block, agent) from its pairs, sorted; every per-pair array is dropped once used:
    # on XL's individuals team (12 million pairs) this ran at the solving process's peak
    if inst.fixed_agent is not None:
        pinned = inst.fixed_agent[inst.pair_item]
        kept = np.flatnonzero((pinned < 0) | (pinned == inst.pair_agent))
        del pinned
        key = block[inst.pair_item[kept]].astype(np.int64) * inst.n_agents + inst.pair_agent[kept]
    else:
        kept = None
        key = block[inst.pair_item].astype(np.int64) * inst.n_agents + inst.pair_agent
    order = np.argsort(key, kind="stable")
    key = key[order]
    kept = order if kept is None else kept[order]
    del order
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) \
        else np.zeros(0, dtype=np.int64)
    pair_block, pair_agent = key[starts] // inst.n_agents, key[starts] % inst.n_agents
    whole = np.diff(np.r_[starts, len(key)]) == size[pair_block]
    del key
    weight = np.add.reduceat(inst.pair_weight[kept].astype(np.int64, copy=False), starts)[whole] \
        if len(starts) else np.zeros(0, dtype=np.int64)
    cost = np.add.reduceat(pair_cost[kept], starts)[whole] if len(starts) \
        else np.zeros(0, dtype=np.int64)
    del kept, starts, pair_cost
    pair_block, pair_agent = pair_block[whole], pair_agent[whole]
    if travel is not None:
        account = np.zeros(n_blocks, dtype=np.int64)
        account[block] = inst.item_account
        cost += travel[account[pair_block], pair_agent]
    optional = np.bincount(block, weights=inst.item_optional.astype(float),
                           minlength=n_blocks) == size
    unassigned = np.bincount(block, weights=unassigned.astype(float),
                             minlength=n_blocks).round().astype(np.int64)
    return AllocationInstance(
        agent_lo=inst.agent_lo, agent_hi=inst.agent_hi, pair_item=pair_block,
        pair_agent=pair_agent, pair_weight=weight, item_optional=optional,
        terms={_TERM: AllocTerm(pair=cost, unassigned=unassigned, deviation=deviation,
                                constant=constant)},
        agent_target=inst.agent_target)


def block_flow_plan(inst: AllocationInstance, names: tuple[str, ...], block: np.ndarray,
                    deadline: float | None = None, apart: bool = False) -> np.ndarray | None:
    """The block flow's optimum for the blocks `block` (per item, from `blocks_of`), each item
    to the agent that takes most of its block's hours (-1: nobody), its column generation
    stopped by the `deadline` and solved `apart` as flow_choices says. The bands may not hold:
    it is a start for `repair_allocation`. None when the flow finds no plan placing every
    mandatory block (or there are no accounts)."""
    if inst.item_account is None:
        return None
    flow = flow_choices(block_instance(inst, names, block), (_TERM,), apart=apart,
                        deadline=deadline)
    return None if flow is None else flow.agent[block]


def block_pairs(inst: AllocationInstance, block: np.ndarray) -> int:
    """About how many pairs the block flow of the blocks `block` has (its time's measure): the
    pairs of the items on their own, less those of the items each block adds to its first."""
    per_item = np.bincount(inst.pair_item, minlength=inst.n_items)
    first = np.full(int(block.max()) + 1 if len(block) else 0, -1, dtype=np.int64)
    first[block[::-1]] = np.arange(inst.n_items)[::-1]
    return int(per_item[first].sum())
