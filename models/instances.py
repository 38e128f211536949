"""Instances, settings and solutions of the constraint models: plain integer arrays.

Nothing here knows about files, DataFrames or sales vocabulary beyond names; the planner
builds these from a company and a scenario (scaling hours, fit and potential to integers in
one place) and reads the solutions back.

Objective terms: every model minimises a sum of named terms (`unmet`, `balance`, ...). Each
term's coefficients are integers, already weighted and scaled by the caller. `levels` in
SolveSettings groups term names: one level with every term is a weighted sum; one term per
level is a lexicographic order.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Callable

import numpy as np

#: Bits of `pair_rule`: why an (agent, class) pair is not allowed; 0 = allowed.
RULE_MIN_PROFICIENCY = 1
RULE_KEY_ACCOUNTS_SENIOR = 2


@dataclass(frozen=True)
class Progress:
    """One progress report: the objective of the best plan so far and the best bound."""

    stage: str
    elapsed: float
    objective: int | None
    bound: int | None


@dataclass(frozen=True)
class SolveSettings:
    time_limit: float = 10.0
    workers: int = 1
    seed: int = 0
    relative_gap_limit: float = 0.0
    levels: tuple[tuple[str, ...], ...] | None = None  # None: one level with every term
    tolerance: float = 0.01  # lexicographic: how far a level may degrade for the next ones
    progress: Callable[[Progress], None] | None = None
    stop: threading.Event | None = None  # set it to stop early and keep the best plan
    stage: str = ""
    #: 2 puts exactly-one and other boolean constraints into the LP (a much stronger bound
    #: for assignment models: without it the allocation bound can stay below zero)
    linearization_level: int = 1
    #: upper limits on terms (objective units): the epsilon-constraint of a trade-off curve
    term_limits: dict[str, int] | None = None
    #: stop when no better solution came for this long (the rest of the time goes elsewhere)
    stall_seconds: float | None = None
    #: a local search may end after this long once its plan holds the band minimum (the rest
    #: of the time goes to what comes after it)
    enough_seconds: float | None = None
    #: the solve runs in a thread beside the process's other work (stage 2's team too large
    #: to send to a worker, solved while this process builds and sends the others)
    beside_others: bool = False
    #: a worker another solver holds beside the engine (SCIP), which the engine may claim
    spare_worker: SpareWorker | None = None
    #: whether CP-SAT presolves the model (models.allocation turns it off for its summed model)
    presolve: bool = True


@dataclass(frozen=True)
class SpareWorker:
    """A worker another solver holds beside the engine (SCIP, models.allocation_mip):
    `claim` ends that solver, and `free` is set once it has ended without a proof; the
    neighbourhood search then starts one more search on the worker."""

    free: threading.Event
    claim: Callable[[], None]


@dataclass(frozen=True)
class Coverage:
    """At least `min_reps` of `eligible` reps must be in `team`."""

    key: str
    team: int
    eligible: np.ndarray
    min_reps: int


@dataclass(frozen=True)
class OrgTerm:
    """Coefficients of one objective term on the org-design variables (None = no part)."""

    pair: np.ndarray | None = None  # per unit of hours y[pair]
    unmet: np.ndarray | None = None  # per unit of unmet hours u[class]
    rep_team: np.ndarray | None = None  # (R, T) per x[r, t]
    deviation: np.ndarray | None = None  # (R,) per unit of |load - target|
    shortfall: np.ndarray | None = None  # (R,) per unit below the band's minimum (soft band)
    missing_manager: int = 0  # per manager that must be hired
    constant: int = 0


@dataclass(frozen=True)
class OrgDesignInstance:
    """Stage 1: reps to teams, managers, hours per demand class (divisible)."""

    rep_lo: np.ndarray  # (R,) least load of a member
    rep_hi: np.ndarray  # (R,) most load of a member
    mgr_lo: np.ndarray  # (R,) least load when the rep is a manager
    mgr_hi: np.ndarray  # (R,) most load when the rep is a manager
    rep_target: np.ndarray  # (R,) balanced load of a member
    mgr_target: np.ndarray  # (R,) balanced load of a manager
    can_manage: np.ndarray  # (R,) bool
    n_teams: int
    class_team: np.ndarray  # (K,)
    class_hours: np.ndarray  # (K,)
    pair_rep: np.ndarray  # (P,)
    pair_class: np.ndarray  # (P,)
    terms: dict[str, OrgTerm]
    pair_rule: np.ndarray | None = None  # (P,) RULE_* bits; None = every pair allowed
    allow_unmet: bool = True
    span: int | None = None
    unit_of_team: np.ndarray | None = None  # (T,) management unit of each team
    coverage: tuple[Coverage, ...] = ()
    moved: np.ndarray | None = None  # (R, T) bool: rep counts as moved in that team
    max_moved: int | None = None
    fixed_team: np.ndarray | None = None  # (R,) team a rep is pinned to, -1 = free
    hint_team: np.ndarray | None = None  # (R,) today's team, -1 = none
    hint_manager: np.ndarray | None = None  # (R,) bool: a manager today (a plan re-planned)
    extensions: tuple = ()  # models.extensions.Extension: constraints/terms from outside
    team_grain: np.ndarray | None = None  # (T,) a team's median account hours (its work's grain)

    @property
    def n_reps(self) -> int:
        return len(self.rep_lo)

    @property
    def n_units(self) -> int:
        return 0 if self.unit_of_team is None else int(self.unit_of_team.max(initial=-1)) + 1


@dataclass(frozen=True)
class OrgSolution:
    status: str
    objective: int | None
    bound: int | None
    rep_team: np.ndarray  # (R,) team of each rep
    is_manager: np.ndarray  # (R,) bool
    hired_managers: np.ndarray  # (units,) managers to hire
    hours: np.ndarray  # (P,)
    unmet: np.ndarray  # (K,)
    term_values: dict[str, int]
    seconds: float
    level_bounds: tuple[int, ...] = ()
    band_shortfall: int = 0  # hours below the band minimum (only with a soft band)


@dataclass(frozen=True)
class AllocTerm:
    """Coefficients of one objective term on the allocation variables."""

    pair: np.ndarray | None = None  # per z[pair] (item to agent)
    unassigned: np.ndarray | None = None  # (I,) when the item goes to nobody
    deviation: np.ndarray | None = None  # (A,) per unit of |load - target|
    travel: np.ndarray | None = None  # (accounts, A) per distinct (account, agent) pair
    constant: int = 0


@dataclass(frozen=True)
class FlowChoice:
    """The divisible optimum of an allocation (models.allocation_flow), read item by item."""

    agent: np.ndarray  # (I,) the agent that takes most of the item's hours (-1: nobody)
    split: np.ndarray  # (I,) bool: the item's hours went to more than one place
    #: (A,) what an hour of each agent's load is worth at the optimum (its dual), in objective
    #: units: prices for the Lagrangian relaxation (models.allocation_bound), whose bound at
    #: any prices is valid
    prices: np.ndarray
    #: False where its column generation stopped at its deadline, perhaps short of the optimum
    settled: bool = True


@dataclass(frozen=True)
class AllocationInstance:
    """Stage 2 (and the GAP core): items to agents, one agent per item, with capacities.

    Effort `pair_weight` may depend on the agent (productivity, travel time), as in the
    textbook generalized assignment problem.
    """

    agent_lo: np.ndarray  # (A,)
    agent_hi: np.ndarray  # (A,)
    pair_item: np.ndarray  # (P,)
    pair_agent: np.ndarray  # (P,)
    pair_weight: np.ndarray  # (P,)
    item_optional: np.ndarray  # (I,) bool: the item may go to nobody
    terms: dict[str, AllocTerm]
    agent_target: np.ndarray | None = None  # (A,) for deviation terms
    item_account: np.ndarray | None = None  # (I,) for travel terms
    fixed_agent: np.ndarray | None = None  # (I,) agent an item is pinned to, -1 = free
    hint_agent: np.ndarray | None = None  # (I,) -1 = no hint
    extensions: tuple = ()  # models.extensions.Extension: constraints/terms from outside
    #: the divisible optimum an earlier solve of this very instance computed (its
    #: `AllocSolution.flow`), which a second solve takes instead of computing it again
    hint_flow: FlowChoice | None = None
    #: the bound an earlier solve of this very instance proved, which a second solve of a
    #: team of two reps takes instead of computing its whole-items bound again
    #: (models.load_knapsack)
    hint_bound: int | None = None

    @property
    def n_agents(self) -> int:
        return len(self.agent_lo)

    @property
    def n_items(self) -> int:
        return len(self.item_optional)

    @cached_property
    def by_item(self) -> np.ndarray:
        """The pairs' positions ordered by item (by position within an item): sorted once,
        where the repair, the bounds and the search each sorted 5.9 million pairs again."""
        return np.argsort(self.pair_item, kind="stable")

    @cached_property
    def item_starts(self) -> np.ndarray:
        """Where each item's pairs begin in `by_item` (and the last's end): the repairs, the
        search and the model builder each searched the pairs for them again."""
        return np.searchsorted(self.pair_item[self.by_item], np.arange(self.n_items + 1))

    @cached_property
    def by_item_agent(self) -> np.ndarray:
        """The pairs' positions ordered by (item, agent): `by_item` itself where the pairs come
        agent by agent (the planner's teams), sparing the repair, the descent and the gathering
        each a sort of every pair (0.8 s on XL key-account hybrid's individuals team)."""
        order = self.by_item
        item, agent = self.pair_item[order], self.pair_agent[order]
        if bool(np.all((item[1:] != item[:-1]) | (agent[1:] > agent[:-1]))):
            return order
        return np.lexsort((self.pair_agent, self.pair_item))

    def item_agent_keys(self, pairs: np.ndarray) -> np.ndarray:
        """Each of these pairs' (item, agent) as one int64 key, item x agents + agent: taken in
        `by_item_agent`'s order, the keys ascend, for searching a pair by its item and agent."""
        return self.pair_item[pairs].astype(np.int64) * self.n_agents + self.pair_agent[pairs]

    def with_hint(self, hint_agent: np.ndarray | None) -> "AllocationInstance":
        """The instance with another hint (the same pairs, so their order by item holds)."""
        out = replace(self, hint_agent=hint_agent)
        for name in ("by_item", "by_item_agent", "item_starts"):
            if name in self.__dict__:
                out.__dict__[name] = self.__dict__[name]
        return out


@dataclass(frozen=True)
class SummedTerms:
    """The named objective terms of an allocation added up, by kind of coefficient: what a
    relaxation or a programme of the single objective needs."""

    pair: np.ndarray  # (P,)
    unassigned: np.ndarray  # (I,)
    deviation: np.ndarray  # (A,)
    travel: np.ndarray | None  # (accounts, A); None when no term has travel (or no accounts)
    constant: int


def summed_terms(inst: AllocationInstance, names: tuple[str, ...]) -> SummedTerms:
    """The terms `names` of `inst` summed (see SummedTerms)."""
    pair = np.zeros(len(inst.pair_item), dtype=np.int64)
    unassigned = np.zeros(inst.n_items, dtype=np.int64)
    deviation = np.zeros(inst.n_agents, dtype=np.int64)
    travel, constant = None, 0
    for name in names:
        term = inst.terms[name]
        constant += int(term.constant)
        if term.pair is not None:
            pair += term.pair
        if term.unassigned is not None:
            unassigned += term.unassigned
        if term.deviation is not None:
            deviation += term.deviation
        if term.travel is not None and inst.item_account is not None:
            # (the term's own array where it is the only one: a relaxation keeps it)
            travel = np.asarray(term.travel, dtype=np.int64) if travel is None \
                else travel + term.travel
    return SummedTerms(pair, unassigned, deviation, travel, constant)


@dataclass(frozen=True)
class AllocSolution:
    status: str
    objective: int | None
    bound: int | None
    item_agent: np.ndarray  # (I,) agent of each item, -1 = unassigned
    term_values: dict[str, int]
    seconds: float
    level_bounds: tuple[int, ...] = ()
    #: the divisible optimum the engine computed on the way (None where it did not), for a
    #: second solve of the same instance (`AllocationInstance.hint_flow`)
    flow: FlowChoice | None = None


@dataclass(frozen=True)
class JointInstance:
    """Small instances in one model: the org part decides teams and managers, the allocation
    part (agents = all reps) gives lines to reps; `item_team` ties each item to its team."""

    org: OrgDesignInstance
    alloc: AllocationInstance
    item_team: np.ndarray  # (I,)


@dataclass(frozen=True)
class JointSolution:
    status: str
    objective: int | None
    bound: int | None
    rep_team: np.ndarray
    is_manager: np.ndarray
    hired_managers: np.ndarray
    item_agent: np.ndarray
    term_values: dict[str, int]
    seconds: float
    level_bounds: tuple[int, ...] = field(default=())
