"""Strong starting plans handed to CP-SAT as complete hints: stage 1's team design by local
search over min-cost flows, and stage 2's allocation repaired into its bands.

CP-SAT's own first-solution search stalls on stage 1 (every rep must reach a minimum load,
and moving one rep means re-routing many hours), so we search the team assignment ourselves:
for fixed members a team's best hours are a min-cost flow (classes -> qualified reps, with the
band and the balance as piecewise costs on each rep's arc to the sink, and an unmet bypass);
a local search moves reps between teams while the total cost falls. CP-SAT then polishes the
result and proves the bound. Where the search designs alone (a large company), it leaves each
team room above its members' band minimums for whole accounts (_Search.room_pass), and a team
stage 2 still cannot split loses or gains one member (reshape_team).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

import numpy as np
from ortools.graph.python import min_cost_flow

from models.band_repair import pairs_by_agent
from models.instances import AllocationInstance, OrgDesignInstance

CACHE_SIZE = 500_000
#: the most recent evaluations `TeamOracle.cost` made, kept whole for the move that takes one
#: (`TeamOracle.result`): the move pass evaluated each team it moved a rep between twice, once
#: to price the move and once to take it (XL key-account hybrid's first pass: 1,466 of its
#: 4,197 evaluations, 12.7 ms each). At least a rep's pricings in every team.
RESULTS_KEPT = 32
#: From this many rep x class pairs on, where the start leaves more than FAR_START_UNMET of
#: the work unmet, the search first moves reps below the band by a cheap screen (see
#: _Search.band_pass), and its first move pass prices each rep in MOVE_SCREEN teams only:
#: from a start that far from the org model's teams (M key-account hybrid from today's
#: regional teams: 47 % of the work unmet, 1,419 G) a full first pass spent its ~4 s on the
#: obvious moves, one rep after another, and the designs cost 29.3-50.2 (whole plans
#: 31.6-54.2, depending on how far a second pass got); the band pass takes that start to 28 G
#: in 0.03 s, and the screened pass on from it leaves the full passes after it 1-2 s: plans
#: 23.1-24.9. From a nearer start (M region x function: 35 % unmet) the full passes alone
#: gave better designs: plans 17.20 in five fresh runs, against 17.45-18.14 the other way. On
#: smaller companies the band pass led to worse designs than the move pass alone (demo
#: company, min_proficiency 3: 389 h short after a 60 s stage 1, against 151 h).
BAND_PASS_PAIRS = 100_000
FAR_START_UNMET = 0.4
#: ... and from this many on, wherever the start is, the band pass runs and every move pass is
#: screened: a full one (every rep tried in every team, two flows each) takes minutes
SCREEN_ALL_PAIRS = 200_000
#: The band pass confirms its moves this many at a time (see _Search._take_batch).
BAND_BATCH = 64
#: On a large company the move pass prices each rep in this many teams (_Search._screened);
#: from a far start (FAR_START_UNMET) in fewer where the pass would not reach its last rep in
#: the time left (_Search._screen_width): each team priced is a flow (7-16 ms for XL
#: key-account hybrid's largest teams), and that company's pass over 2,000 reps in 4 teams
#: each needs about 90 s. Its stage 1 alone at 55 s, the pass cut off part way: designs 40.0
#: with 4 teams, 15.1 with 2, 15.9 with 1 (at 35 s: 72.0, 53.8, 29.4), 14.6-15.0 with the
#: width fitted to the time; whole plans at 120 s 43.6-47.0 -> 20.4. From a nearer start the
#: screen's breadth counts for more: XL region x function (32 % of the work unmet at the
#: start, against 44 %) 10.84 with 4 teams, 11.47 with 2, 12.3 with the width fitted
MOVE_SCREEN = 4
#: the pricings a move pass asks for before its own pace, not the oracle's, sets the width
PACE_MIN_PRICINGS = 200
#: Cost per missing unit of a coverage requirement, in units of the band penalty.
COVERAGE_PENALTY_FACTOR = 10_000
#: Where a unit of several teams shares its managers (one per `span` of its headcount), the
#: search prices its teams without them, and they are chosen once it ends, one at a time where
#: the unit's cost rises least; in each team this many candidates, the first by manager_rank,
#: are priced (a flow each). By manager_rank alone they landed in teams short of hours: M
#: region x function's design after 3 / 4 / 6 s of search cost 1.88 / 2.23 / 2.02e9 (0.60-0.96e9
#: of it unmet work); priced, 1.43 / 1.49 / 1.33e9 (1.42 / 1.62 / 1.29e9 with two candidates,
#: 1.29 / 1.38 / 1.31e9 with four). In whole 10 s solves, stage 1's designs cost 12.8-13.8
#: with two (six runs) against 12.9-15.0 with one (four), stage 2's gaps 0.12-0.25 % against
#: 0.12-0.66 %. XL region x function after 25 s of search: 3.53e9 -> 2.26e9 with one (232
#: flows, 3.2 s).
MANAGER_CANDIDATES = 2
#: ... but one where pricing two would take more than this share of the search's time (XL
#: region x function at 30 s: two took its stage 1 from 4.4 to 6.4-7.2 s, and the solve to
#: 30.7 s once)
MANAGER_SHARE = 0.25
#: The search leaves this many times the estimated time of that choice (`manager_seconds`)
MANAGER_RESERVE = 1.5


@dataclass(frozen=True)
class OrgStart:
    rep_team: np.ndarray
    is_manager: np.ndarray
    hired: np.ndarray  # per unit
    hours: np.ndarray  # per pair
    unmet: np.ndarray  # per class
    cost: int  # the heuristic's own total (band shortfalls penalised)
    band_shortfall: int  # scaled hours below the band, summed over reps (0 = band holds)


@dataclass
class _TeamResult:
    cost: int
    shortfall: int
    pairs: np.ndarray
    pair_flow: np.ndarray
    classes: np.ndarray
    unmet: np.ndarray
    managers: np.ndarray
    hired: int
    team: int
    members: np.ndarray


class TeamOracle:
    """The best hours of one team for given members (and its cost), by min-cost flow. Each
    team's class arcs and each pair's arc data are laid out once, here: an evaluation takes its
    members' share of them (stage 1's search then evaluated 5-6 % more teams in its 4.3 s on M
    key-account hybrid, 11-28 % more in 0.85 s on S region x function; the same results)."""

    def __init__(self, inst: OrgDesignInstance):
        self.inst = inst
        n_t = inst.n_teams
        self.pair_cost = _sum_terms(inst, "pair", len(inst.pair_rep))
        self.unmet_cost = _sum_terms(inst, "unmet", len(inst.class_hours))
        self.dev_cost = _sum_terms(inst, "deviation", inst.n_reps)
        self.rep_team_cost = np.zeros((inst.n_reps, n_t), dtype=np.int64)
        for term in inst.terms.values():
            if term.rep_team is not None:
                self.rep_team_cost += term.rep_team.astype(np.int64)
        self.missing_manager_cost = sum(int(t.missing_manager) for t in inst.terms.values())
        natural = int(self.unmet_cost.max(initial=0) + self.pair_cost.max(initial=0)
                      + 2 * self.dev_cost.max(initial=0) + 1)
        shortfall = _sum_terms(inst, "shortfall", inst.n_reps)
        self.big = max(natural, int(shortfall.max(initial=0)))
        self.classes_of = [np.nonzero(inst.class_team == t)[0] for t in range(n_t)]
        key = inst.pair_rep.astype(np.int64) * n_t + inst.class_team[inst.pair_class]
        order = np.argsort(key, kind="stable")
        self._pair_order, self._pair_key = order, key[order]
        # a team's pairs in (rep, pair) order, for gathering its members' pairs at once
        pair_team = inst.class_team[inst.pair_class]
        self._team_pairs = [order[pair_team[order] == t] for t in range(n_t)]
        self._team_pair_reps = [inst.pair_rep[p].astype(np.int64) for p in self._team_pairs]
        self._class_position = np.zeros(len(inst.class_hours), dtype=np.int64)
        for classes in self.classes_of:
            self._class_position[classes] = np.arange(len(classes))
        self._class_arcs = [self._team_class_arcs(classes) for classes in self.classes_of]
        # each pair's arc: its class's node within its team's flow, and that class's hours
        self._pair_node = 2 + self._class_position[inst.pair_class]
        self._pair_hours = inst.class_hours[inst.pair_class].astype(np.int64)
        self._qualified = np.bincount(key, weights=inst.class_hours[inst.pair_class],
                                      minlength=inst.n_reps * n_t
                                      ).astype(np.int64).reshape(inst.n_reps, n_t)
        self.manager_per_team = inst.span is not None and inst.unit_of_team is not None and \
            len(np.unique(inst.unit_of_team)) == n_t
        self.coverage_of = [[c for c in inst.coverage if c.team == t] for t in range(n_t)]
        self.eligible = [set(c.eligible.tolist()) for c in inst.coverage]
        self.coverage_index = {id(c): i for i, c in enumerate(inst.coverage)}
        self._costs: dict[tuple, int] = {}
        self._kept: OrderedDict[tuple, _TeamResult] = OrderedDict()  # (RESULTS_KEPT)
        self.evaluations, self.evaluating = 0, 0.0  # how many, and the seconds they took

    def seconds_per_evaluation(self) -> float:
        return self.evaluating / self.evaluations if self.evaluations else 0.0

    def cost(self, t: int, members: np.ndarray) -> int:
        """The team's cost, remembered per member set (local search revisits many)."""
        listed = np.asarray(members).tolist()
        key = (t, tuple(sorted(listed)))
        cached = self._costs.get(key)
        if cached is None:
            if len(self._costs) > CACHE_SIZE:
                self._costs.clear()
            result = self.evaluate(t, members)
            self._kept[(t, tuple(listed))] = result
            if len(self._kept) > max(RESULTS_KEPT, self.inst.n_teams + 1):
                self._kept.popitem(last=False)
            cached = self._costs[key] = result.cost
        return cached

    def kept(self, t: int, members: np.ndarray) -> "_TeamResult | None":
        """The evaluation `cost` made of these members in this order, if still kept; it is
        handed over (not kept any longer)."""
        return self._kept.pop((t, tuple(np.asarray(members).tolist())), None)

    def result(self, t: int, members: np.ndarray) -> "_TeamResult":
        """The team's evaluation (as `evaluate` with its managers chosen), the one `cost` made
        where it is still kept."""
        found = self.kept(t, members)
        return found if found is not None else self.evaluate(t, members)

    def pairs_of_rep(self, r: int) -> np.ndarray:
        n_t = self.inst.n_teams
        lo, hi = np.searchsorted(self._pair_key, [r * n_t, (r + 1) * n_t])
        return self._pair_order[lo:hi]

    def reach(self, r: int, unmet: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per team, the `unmet` hours of classes rep r is qualified for, and whether r has
        any pair there: where moving r could serve work left over."""
        classes = self.inst.pair_class[self.pairs_of_rep(r)]
        teams = self.inst.class_team[classes]
        n_t = self.inst.n_teams
        return (np.bincount(teams, weights=unmet[classes], minlength=n_t),
                np.bincount(teams, minlength=n_t) > 0)

    def qualified_hours(self, r: int, t: int) -> int:
        return int(self._qualified[r, t])

    def _team_class_arcs(self, classes: np.ndarray) -> tuple[np.ndarray, ...]:
        """A team's class arcs (source -> class, class -> sink as unmet work): tails, heads,
        capacities, costs, the same whoever its members."""
        n_c, hours = len(classes), self.inst.class_hours[classes].astype(np.int64)
        return (np.concatenate([np.zeros(n_c, dtype=np.int64), 2 + np.arange(n_c)]),
                np.concatenate([2 + np.arange(n_c), np.ones(n_c, dtype=np.int64)]),
                np.concatenate([hours, hours]),
                np.concatenate([np.zeros(n_c, dtype=np.int64), self.unmet_cost[classes]]))

    def member_pairs(self, t: int, members: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The team's pairs of these members, member by member, and each pair's member
        position."""
        reps = self._team_pair_reps[t]
        first = np.searchsorted(reps, members, side="left")
        counts = np.searchsorted(reps, members, side="right") - first
        total = int(counts.sum())
        ends = np.cumsum(counts)
        index = np.repeat(first - (ends - counts), counts) + np.arange(total)
        return self._team_pairs[t][index], np.repeat(np.arange(len(members)), counts)

    def manager_rank(self, r: int, t: int) -> tuple[bool, int, int]:
        """Who manages first in team t: the least useful sellers among those qualified for at
        least their managers' band minimum there; a manager qualified for less is below the
        band whatever the team's hours (XL key-account hybrid's start: 91 of 254 managers,
        chosen for the fewest hours, were below it, most of them qualified for none)."""
        hours = self.qualified_hours(r, t)
        return hours < self.inst.mgr_lo[r], hours, r

    def choose_managers(self, t: int, members: np.ndarray) -> tuple[np.ndarray, int]:
        """Managers of a team that is its own unit (see manager_rank); the rest are hires."""
        if not self.manager_per_team or not len(members):
            return np.zeros(0, dtype=np.int64), 0
        need = math.ceil(len(members) / self.inst.span)
        able = [int(r) for r in members if self.inst.can_manage[r]]
        able.sort(key=lambda r: self.manager_rank(r, t))
        return np.array(able[:need], dtype=np.int64), max(0, need - len(able))

    def evaluate(self, t: int, members: np.ndarray, managers: np.ndarray | None = None
                 ) -> _TeamResult:
        """The team's cost and hours; managers are chosen here unless given."""
        began = time.monotonic()
        inst = self.inst
        members = np.asarray(members, dtype=np.int64)
        if managers is None:
            managers, hired = self.choose_managers(t, members)
        else:
            hired = 0
        managers = np.asarray(managers, dtype=np.int64)
        # (np.isin took 80 microseconds a call on M's teams, three times adding the flow's arcs)
        is_mgr = (members[:, None] == managers[None, :]).any(axis=1)  # (none: all False)
        classes = self.classes_of[t]
        n_c, n_m = len(classes), len(members)
        pairs, pair_member = self.member_pairs(t, members)
        lo = np.where(is_mgr, inst.mgr_lo[members], inst.rep_lo[members]).astype(np.int64)
        hi = np.where(is_mgr, inst.mgr_hi[members], inst.rep_hi[members]).astype(np.int64)
        target = np.clip(np.where(is_mgr, inst.mgr_target[members], inst.rep_target[members]),
                         lo, hi).astype(np.int64)
        b = self.dev_cost[members]
        rep_node = 2 + n_c + np.arange(n_m)
        ones = np.ones(n_m, dtype=np.int64)
        class_tail, class_head, class_cap, class_cost = self._class_arcs[t]
        flow = min_cost_flow.SimpleMinCostFlow()
        arcs = flow.add_arcs_with_capacity_and_unit_cost(
            np.concatenate([class_tail, self._pair_node[pairs], rep_node, rep_node, rep_node]),
            np.concatenate([class_head, rep_node[pair_member], ones, ones, ones]),
            np.concatenate([class_cap, self._pair_hours[pairs], lo, target - lo, hi - target]),
            np.concatenate([class_cost, self.pair_cost[pairs], np.full(n_m, -self.big), -b, b]))
        total = int(inst.class_hours[classes].sum())
        flow.set_nodes_supplies(np.array([0, 1]), np.array([total, -total]))
        if flow.solve() != flow.OPTIMAL:
            raise RuntimeError("min-cost flow failed on a team evaluation")
        flows = flow.flows(arcs)
        unmet = flows[n_c:2 * n_c]
        pair_flow = flows[2 * n_c:2 * n_c + len(pairs)]
        seg0 = flows[2 * n_c + len(pairs):2 * n_c + len(pairs) + n_m]
        shortfall = int((lo - seg0).sum())
        cost = (int(flow.optimal_cost()) + int((self.big * lo + b * (target - lo)).sum())
                + int(self.rep_team_cost[members, t].sum()) + hired * self.missing_manager_cost
                + self._coverage_penalty(t, members))
        self.evaluations += 1
        self.evaluating += time.monotonic() - began
        return _TeamResult(cost, shortfall, pairs, pair_flow, classes, unmet, managers, hired,
                           t, members)

    def _coverage_penalty(self, t: int, members: np.ndarray) -> int:
        penalty = 0
        for cov in self.coverage_of[t]:
            have = len(self.eligible[self.coverage_index[id(cov)]].intersection(members.tolist()))
            penalty += max(0, cov.min_reps - have) * self.big * COVERAGE_PENALTY_FACTOR
        return penalty


def _sum_terms(inst: OrgDesignInstance, part: str, size: int) -> np.ndarray:
    total = np.zeros(size, dtype=np.int64)
    for term in inst.terms.values():
        values = getattr(term, part)
        if values is not None:
            total += values.astype(np.int64)
    return total


class TeamRuleChecker(Protocol):
    """Rules the local search cannot price (constraints added from outside): `closest`
    mends an assignment (None if impossible), `holds` says whether one keeps them."""

    def closest(self, team: np.ndarray) -> np.ndarray | None: ...

    def holds(self, team: np.ndarray) -> bool: ...

    def involves(self, rep: int) -> bool: ...


def improve_org(inst: OrgDesignInstance, time_budget: float = 5.0,
                report: Callable[[int], None] | None = None,
                rules: TeamRuleChecker | None = None,
                stop: threading.Event | None = None,
                enough: float | None = None, alone: bool = False) -> OrgStart | None:
    """Local search over rep -> team from today's teams (moves, then swaps); see the module
    docstring. `report` receives the total cost after the start and after each pass. With
    `rules`, the start is mended to hold them and only moves that keep them are taken; None
    when no assignment holds them. A set `stop` (a cancelled solve) ends the search at once, or,
    where the search `alone` designs the teams (no CP-SAT after it), as soon as no rep is below
    the band minimum; so does `enough` seconds' search."""
    now = time.monotonic()
    search = _Search(inst, now + time_budget, rules, stop,
                     None if enough is None else now + enough, alone)
    if rules is not None:
        mended = rules.closest(search.team)
        if mended is None:
            return None
        search.reset(mended)
    if report is not None:
        report(search.total())
    while not search.out_of_time():
        improved = ((search.large() or search.far_start()) and search.band_pass()) \
            or search.move_pass() or search.swap_pass()
        if report is not None:
            report(search.total())
        if not improved:
            break
    if alone:
        search.room_pass()
    return _start_from(inst, search.oracle, search.team, search.results,
                       search.managers_deadline(), search.manager_candidates())


class _Pace:
    """The seconds a move pass takes per pricing it asked for (a rep without it, the rep in a
    team), from what it took so far once PACE_MIN_PRICINGS were asked for (some are
    remembered, and a rep may qualify for fewer teams than asked), until then the oracle's
    time per evaluation."""

    def __init__(self, oracle: TeamOracle) -> None:
        self.oracle, self.began, self.asked = oracle, time.monotonic(), 0

    def priced(self, pricings: int) -> None:
        self.asked += pricings

    def per_unit(self) -> float:
        if self.asked < PACE_MIN_PRICINGS:
            return self.oracle.seconds_per_evaluation()
        return (time.monotonic() - self.began) / self.asked


class _Search:
    """The local search state: current teams, each team's evaluation, moved-rep count."""

    def __init__(self, inst: OrgDesignInstance, deadline: float,
                 rules: TeamRuleChecker | None = None, stop: threading.Event | None = None,
                 enough: float | None = None, alone: bool = False):
        self.inst = inst
        self.began = time.monotonic()
        self.deadline, self.enough, self.alone = deadline, enough, alone
        self.stop = stop
        self.rules = rules
        self.oracle = TeamOracle(inst)
        self.fixed = inst.fixed_team if inst.fixed_team is not None else np.full(inst.n_reps, -1)
        self.ranked: dict[int, list[int]] = {}
        self.passes = 0  # move passes so far
        self.reset(initial_teams(inst, self.oracle))

    def reset(self, team: np.ndarray) -> None:
        self.team = np.asarray(team, dtype=np.int64).copy()
        self.moved_now = moved_count(self.inst, self.team)
        self.results = {t: self.oracle.evaluate(t, self.members(t))
                        for t in range(self.inst.n_teams)}
        unmet = _team_state(self.inst, self.results)[2].sum()
        self.far = unmet > FAR_START_UNMET * max(1, self.inst.class_hours.sum())

    def large(self) -> bool:
        """SCREEN_ALL_PAIRS rep x class pairs or more: the band pass and screened move passes."""
        return len(self.inst.pair_rep) >= SCREEN_ALL_PAIRS

    def far_start(self) -> bool:
        """BAND_PASS_PAIRS or more and a start that leaves more than FAR_START_UNMET of the
        work unmet: the band pass and a screened first move pass."""
        return len(self.inst.pair_rep) >= BAND_PASS_PAIRS and self.far

    def keeps_rules(self, changes: list[tuple[int, int, int]]) -> bool:
        """Whether the outside rules still hold after the changes (checked only for moves
        about to be taken: each check is a small CP-SAT call)."""
        if self.rules is None or not any(self.rules.involves(r) for r, _, _ in changes):
            return True
        team = self.team.copy()
        for r, _, b in changes:
            team[r] = b
        return self.rules.holds(team)

    def total(self) -> int:
        return sum(r.cost for r in self.results.values())

    def out_of_time(self) -> bool:
        """Past the deadline; cancelled; past `enough` with no rep below the band minimum;
        both less room for choosing the units' managers afterwards (MANAGER_RESERVE).
        When the search designs `alone`, a cancel too waits for the band: a design below it
        cannot become a plan, and a large company cancelled early got none at all."""
        now = time.monotonic() + MANAGER_RESERVE * manager_seconds(
            self.inst, self.oracle, self.manager_candidates())
        cancelled = self.stop is not None and self.stop.is_set()
        early = (cancelled and self.alone) or (self.enough is not None and now >= self.enough)
        return now >= self.deadline or (cancelled and not self.alone) or (
            early and not any(r.shortfall > 0 for r in self.results.values()))

    def managers_deadline(self) -> float:
        """When the units' managers must be chosen by (`_unit_managers`): the search's end,
        `enough` or its deadline; at once when cancelled."""
        if self.stop is not None and self.stop.is_set():
            return -math.inf
        return self.end()

    def end(self) -> float:
        """When the search ends at the latest, cancels aside: `enough` or its deadline."""
        return self.deadline if self.enough is None else min(self.deadline, self.enough)

    def manager_candidates(self) -> int:
        """Candidates priced per team for the units' managers, for the search's time."""
        return manager_candidates(self.inst, self.oracle, self.managers_deadline() - self.began)

    def members(self, t: int) -> np.ndarray:
        return np.nonzero(self.team == t)[0]

    def movable(self) -> list[int]:
        return [r for r in _candidates(self.inst, self.team, self.results, self.oracle)
                if self.fixed[r] < 0]

    def allowed(self, changes: list[tuple[int, int, int]]) -> bool:
        if self.inst.max_moved is None or self.inst.moved is None:
            return True
        delta = sum(_moved_delta(self.inst, r, a, b) for r, a, b in changes)
        return self.moved_now + delta <= self.inst.max_moved

    def apply(self, changes: list[tuple[int, int, int]], new_results: dict) -> None:
        for r, a, b in changes:
            self.moved_now += _moved_delta(self.inst, r, a, b)
            self.team[r] = b
        self.results.update(new_results)

    def band_pass(self) -> bool:
        """Move reps below the band minimum to a team where work they are qualified for lies
        unmet, more than they now have: they take it, and the team they leave shares theirs
        among the rest, so the shortfall falls. A cheap screen (unmet hours per team, less the
        minimums of reps already headed there) picks the team; the moves are confirmed
        BAND_BATCH at a time (see _take_batch). On a large company a full move pass tries every
        team for every rep and does not get past the first few reps in a short time limit."""
        inst, improved = self.inst, False
        load, short, unmet, is_mgr = _team_state(inst, self.results)
        lo = np.where(is_mgr, inst.mgr_lo, inst.rep_lo)
        batch: list[tuple[int, int, int]] = []
        taken = np.zeros(inst.n_teams)
        for r in np.argsort(-short, kind="stable"):
            r = int(r)
            if short[r] <= 0 or self.out_of_time():
                break
            if self.fixed[r] >= 0 or is_mgr[r]:
                continue
            free = self.oracle.reach(r, unmet)[0] - taken
            old = int(self.team[r])
            free[old] = 0
            t = int(np.argmax(free))
            move = [(r, old, t)]
            if free[t] <= load[r] or not self.allowed(batch + move) \
                    or not self.keeps_rules(batch + move):
                continue
            batch += move
            taken[t] += lo[r]
            if len(batch) == BAND_BATCH:
                improved = self._take_batch(batch, unmet) or improved
                batch, taken = [], np.zeros(inst.n_teams)
        return (bool(batch) and self._take_batch(batch, unmet)) or improved

    def _take_batch(self, batch: list[tuple[int, int, int]], unmet: np.ndarray) -> bool:
        """Take the band pass's moves together where that lowers the cost, every team they
        touch evaluated once (two flows per move were nearly all of the pass: XL key-account
        hybrid's first, 387 moves, 5.8 s); else move by move, each where it lowers the cost.
        `unmet` follows the teams taken."""
        team = self.team.copy()
        for r, _, b in batch:
            team[r] = b
        touched = sorted({a for _, a, _ in batch} | {b for _, _, b in batch})
        new = {u: self.oracle.evaluate(u, np.nonzero(team == u)[0]) for u in touched}
        if sum(new[u].cost for u in touched) < sum(self.results[u].cost for u in touched):
            self._apply_evaluated(batch, new, unmet)
            return True
        if len(batch) == 1:
            return False
        improved = False
        for r, old, t in batch:
            without = self.members(old)[self.members(old) != r]
            single = {old: self.oracle.evaluate(old, without),
                      t: self.oracle.evaluate(t, np.append(self.members(t), r))}
            if single[old].cost + single[t].cost < self.results[old].cost + self.results[t].cost:
                self._apply_evaluated([(r, old, t)], single, unmet)
                improved = True
        return improved

    def _apply_evaluated(self, changes: list[tuple[int, int, int]], new: dict,
                         unmet: np.ndarray) -> None:
        self.apply(changes, new)
        for res in new.values():
            unmet[res.classes] = res.unmet

    def room_pass(self) -> None:
        """Teams with less room above their members' band minimums than whole accounts need
        (room_needed) give up members, at most ROOM_MOVES each, by the cheapest moves that keep
        everyone within the band; only where the search designs alone (CP-SAT, after it,
        would not keep the room)."""
        for t in range(self.inst.n_teams):
            for _ in range(ROOM_MOVES):
                res = self.results[t]
                if res.shortfall > 0 or \
                        room_above_minimums(self.inst, res) >= room_needed(self.inst, res):
                    break
                move = _cheapest_move(self.inst, self.oracle, self.team, self.results, t, True)
                if move is None:
                    break
                r, b, changed = move
                self.apply([(r, t, b)], changed)

    def move_pass(self) -> bool:
        """Move single reps to the team where the total cost falls most. Each rep is priced in
        MOVE_SCREEN teams only (see _screened) in every pass on a `large` company (every team,
        two flows each, took L key-account hybrid's first pass past its 25 s) and in the first
        from a `far_start`; from a far start in fewer where the time left asks for it
        (`_screen_width`)."""
        improved = False
        screen = self.large() or (self.far_start() and not self.passes)
        self.passes += 1
        unmet = _team_state(self.inst, self.results)[2]
        movable = self.movable()
        pace = _Pace(self.oracle)
        for done, r in enumerate(movable):
            if self.out_of_time():
                break
            old = int(self.team[r])
            without = self.members(old)[self.members(old) != r]
            base = self.results[old].cost - self.oracle.cost(old, without)
            gains = []
            teams = range(self.inst.n_teams)
            if screen:
                width = self._screen_width(len(movable) - done, pace.per_unit()) \
                    if self.far else MOVE_SCREEN
                pace.priced(1 + width)
                teams = self._screened(r, old, unmet, width)
            for t in teams:
                if t == old or self.oracle.qualified_hours(r, t) == 0 or \
                        not self.allowed([(r, old, t)]):
                    continue
                with_r = np.append(self.members(t), r)
                gains.append((base + self.results[t].cost - self.oracle.cost(t, with_r), t))
            gains.sort(key=lambda g: -g[0])
            self.ranked[r] = [t for _, t in gains[:3]]
            t = next((t for gain, t in gains if gain > 0 and self.keeps_rules([(r, old, t)])),
                     None)
            if t is not None:
                self._apply_evaluated([(r, old, t)], {
                    old: self.oracle.result(old, without),
                    t: self.oracle.result(t, np.append(self.members(t), r))}, unmet)
                improved = True
        return improved

    def _screened(self, r: int, old: int, unmet: np.ndarray, width: int) -> list[int]:
        """The `width` teams other than `old` where rep r can do the most unmet work, then
        where it is qualified for the most hours."""
        free = self.oracle.reach(r, unmet)[0]
        qualified = self.oracle._qualified[r]
        order = np.lexsort((-qualified, -free))
        return [int(t) for t in order if t != old and qualified[t] > 0][:width]

    def _screen_width(self, reps_left: int, per: float) -> int:
        """How many teams the screened move pass prices a rep in: MOVE_SCREEN, or as many as
        let it reach its last rep before the search ends (`out_of_time`: its deadline, or
        `enough` where set) at `per` seconds a pricing (each rep: one without it, one per
        team; see _Pace), but at least one."""
        if per <= 0 or reps_left <= 0:
            return MOVE_SCREEN
        left = self.end() - time.monotonic() - MANAGER_RESERVE * manager_seconds(
            self.inst, self.oracle, self.manager_candidates())
        return int(max(1, min(MOVE_SCREEN, left / (reps_left * per) - 1)))

    def swap_pass(self) -> bool:
        """Swap two reps of different teams where that lowers the total cost."""
        improved = False
        for r in self.movable():
            a = int(self.team[r])
            best = None
            for b in self.ranked.get(r, []):
                for s in self.members(b).tolist():
                    if self.out_of_time():
                        return improved
                    if self.fixed[s] >= 0 or self.oracle.qualified_hours(s, a) == 0:
                        continue
                    changes = [(r, a, b), (s, b, a)]
                    if not self.allowed(changes):
                        continue
                    ma, mb = self.members(a), self.members(b)
                    new_a, new_b = np.append(ma[ma != r], s), np.append(mb[mb != s], r)
                    gain = (self.results[a].cost + self.results[b].cost
                            - self.oracle.cost(a, new_a) - self.oracle.cost(b, new_b))
                    if gain > 0 and (best is None or gain > best[0]):
                        best = (gain, changes, {a: (new_a, self.oracle.kept(a, new_a)),
                                                b: (new_b, self.oracle.kept(b, new_b))})
            if best is not None and self.keeps_rules(best[1]):
                self.apply(best[1], {t: res if res is not None else self.oracle.evaluate(t, m)
                                     for t, (m, res) in best[2].items()})
                improved = True
        return improved


def start_for_teams(inst: OrgDesignInstance, team: np.ndarray) -> OrgStart:
    """The best hours (min-cost flows) for a given rep -> team assignment."""
    oracle = TeamOracle(inst)
    team = np.asarray(team, dtype=np.int64).copy()
    results = {t: oracle.evaluate(t, np.nonzero(team == t)[0]) for t in range(inst.n_teams)}
    return _start_from(inst, oracle, team, results)


#: Moves a team that stage 2 could not allocate may make (one rep out or in) are screened
#: cheaply and this many of the most promising are priced (two flows each) before the
#: cheapest is taken.
RESHAPE_TRIES = 8
#: A team the local search designs alone keeps at least this share of its work's grain (its
#: median account's hours) per member above its members' band minimums, or gives up members
#: (_Search.room_pass): the flow splits hours, stage 2 whole accounts. XL key-account hybrid's
#: 'smb / West / farming' (136 reps, median account 266 scaled hours) had 8 scaled hours per
#: member above them and stage 2 found no split; with the minimums lowered, the repair alone
#: found one from 33 per member. A team of 212 reps (median 247) failed at 0.3 per member;
#: the repair found a split from 50.
ROOM_SHARE = 0.25
#: At most this many members leave one team in the room pass.
ROOM_MOVES = 3


def reshape_team(inst: OrgDesignInstance, team_of_rep: np.ndarray, t: int,
                 deadline: float = math.inf) -> OrgStart | None:
    """The design with one rep moved out of team t, or into it, for a team whose accounts
    could not be split among its members within the band although its hours fit: indivisible
    accounts need room that a flow over hours does not see (XL key-account hybrid: a team's
    work 70 scaled hours above its 212 members' band minimums, no split found). Where the
    members' loads sit nearer their minimums than their maximums, a member leaves; else a rep
    qualified for the team's work joins. The move taken raises the cost least among those
    that leave nobody below the band and keep pins and the moved-rep limit; None when there
    is none; the units' managers are chosen by `deadline` (`_unit_managers`). Cheaper than a
    CP-SAT redesign with the team's members cut off, which on a large company finds nothing
    in the time."""
    oracle = TeamOracle(inst)
    team = np.asarray(team_of_rep, dtype=np.int64).copy()
    results = {u: oracle.evaluate(u, np.nonzero(team == u)[0]) for u in range(inst.n_teams)}
    res = results[t]
    out = room_above_minimums(inst, res) <= spare_hours(inst, res)
    move = _cheapest_move(inst, oracle, team, results, t, out)
    if move is None:
        return None
    r, b, changed = move
    team[r] = b
    results.update(changed)
    return _start_from(inst, oracle, team, results, deadline)


def _cheapest_move(inst: OrgDesignInstance, oracle: TeamOracle, team: np.ndarray,
                   results: dict, t: int, out: bool
                   ) -> tuple[int, int, dict[int, _TeamResult]] | None:
    """One rep out of team t (or into it, `out` False) by the move that raises the cost least
    while nobody falls below the band, pins and the moved-rep limit hold, and a team taking
    the rep keeps its room (`room_needed`); the rep, its new team and the two teams' new
    evaluations, or None."""
    _, below, unmet, is_mgr = _team_state(inst, results)
    fixed = inst.fixed_team if inst.fixed_team is not None else np.full(inst.n_reps, -1)
    moves = _moves_out(inst, oracle, team, t, below, unmet, is_mgr, fixed) if out \
        else _moves_in(inst, oracle, team, t, is_mgr, fixed)
    moved_now = moved_count(inst, team)
    best = None
    for r, a, b in moves[:RESHAPE_TRIES]:
        if inst.max_moved is not None and inst.moved is not None and \
                moved_now + _moved_delta(inst, r, a, b) > inst.max_moved:
            continue
        without = np.nonzero(team == a)[0]
        new_a = oracle.evaluate(a, without[without != r])
        new_b = oracle.evaluate(b, np.append(np.nonzero(team == b)[0], r))
        if new_a.shortfall > 0 or new_b.shortfall > 0 or \
                (out and room_above_minimums(inst, new_b) < room_needed(inst, new_b)):
            continue
        rise = new_a.cost + new_b.cost - results[a].cost - results[b].cost
        if best is None or rise < best[0]:
            best = (rise, r, b, {a: new_a, b: new_b})
    return None if best is None else best[1:]


def room_above_minimums(inst: OrgDesignInstance, res: _TeamResult) -> int:
    """Hours a team's members serve above their band minimums, together (negative below)."""
    return int(res.pair_flow.sum()) - int(_band(inst, res)[0].sum())


def spare_hours(inst: OrgDesignInstance, res: _TeamResult) -> int:
    """Hours a team's members could still take, together: their band maximums (managers'
    their own) less what they serve."""
    return int(_band(inst, res)[1].sum()) - int(res.pair_flow.sum())


def _band(inst: OrgDesignInstance, res: _TeamResult) -> tuple[np.ndarray, np.ndarray]:
    """The band (minimums, maximums) of a team's members, managers' their own."""
    is_mgr = np.isin(res.members, res.managers)
    return (np.where(is_mgr, inst.mgr_lo[res.members], inst.rep_lo[res.members]),
            np.where(is_mgr, inst.mgr_hi[res.members], inst.rep_hi[res.members]))


def room_needed(inst: OrgDesignInstance, res: _TeamResult) -> float:
    """The room above its members' minimums a team needs for its accounts to be split whole
    (ROOM_SHARE of its grain per member); none without a grain."""
    if inst.team_grain is None or not len(res.members):
        return 0.0
    return ROOM_SHARE * float(inst.team_grain[res.team]) * len(res.members)


def _moves_out(inst: OrgDesignInstance, oracle: TeamOracle, team: np.ndarray, t: int,
               below: np.ndarray, unmet: np.ndarray, is_mgr: np.ndarray, fixed: np.ndarray
               ) -> list[tuple[int, int, int]]:
    """Members of t (not pinned, not managing) with the teams they are qualified in, the most
    room first: work there unmet or above its members' minimums, less the rep's own minimum."""
    spare = np.bincount(team, weights=np.maximum(-below, 0), minlength=inst.n_teams)
    lo = np.where(is_mgr, inst.mgr_lo, inst.rep_lo)
    moves = []
    for r in np.nonzero(team == t)[0].tolist():
        if fixed[r] >= 0 or is_mgr[r]:
            continue
        room, qualified = oracle.reach(r, unmet)
        room = room + spare - lo[r]
        moves += [(room[u], r, u) for u in np.nonzero(qualified)[0].tolist() if u != t]
    moves.sort(key=lambda m: -m[0])
    return [(r, t, u) for _, r, u in moves]


def _moves_in(inst: OrgDesignInstance, oracle: TeamOracle, team: np.ndarray, t: int,
              is_mgr: np.ndarray, fixed: np.ndarray) -> list[tuple[int, int, int]]:
    """Reps of other teams (not pinned, not managing) qualified for t's work, the most hours
    first."""
    reps = [r for r in range(inst.n_reps)
            if team[r] != t and fixed[r] < 0 and not is_mgr[r] and oracle.qualified_hours(r, t)]
    reps.sort(key=lambda r: -oracle.qualified_hours(r, t))
    return [(r, int(team[r]), t) for r in reps]


def initial_teams(inst: OrgDesignInstance, oracle: TeamOracle | None = None) -> np.ndarray:
    """Pinned reps in their pins, the others in today's team, or else where they are
    qualified for the most hours."""
    oracle = TeamOracle(inst) if oracle is None else oracle
    team = np.full(inst.n_reps, -1, dtype=np.int64)
    for r in range(inst.n_reps):
        if inst.fixed_team is not None and inst.fixed_team[r] >= 0:
            team[r] = inst.fixed_team[r]
        elif inst.hint_team is not None and inst.hint_team[r] >= 0:
            team[r] = inst.hint_team[r]
        else:
            team[r] = int(np.argmax([oracle.qualified_hours(r, t) for t in range(inst.n_teams)]))
    return team


def _candidates(inst: OrgDesignInstance, team: np.ndarray, results: dict, oracle: TeamOracle
                ) -> list[int]:
    """Reps worth trying to move: those below their band, then those qualified for work that
    is left unmet elsewhere, then everyone else (most promising first)."""
    _, below, unmet, _ = _team_state(inst, results)
    short_reps = np.nonzero(below > 0)[0]
    short = short_reps[np.argsort(team[short_reps], kind="stable")].tolist()  # team by team
    helpful = []
    unmet_classes = np.nonzero(unmet > 0)[0]
    if len(unmet_classes):
        mask = np.isin(inst.pair_class, unmet_classes)
        helpful = list(dict.fromkeys(int(r) for r in inst.pair_rep[mask]))
    rest = [r for r in range(inst.n_reps) if r not in set(short) | set(helpful)]
    return list(dict.fromkeys(short + helpful + rest))


def _team_state(inst: OrgDesignInstance, results: dict):
    """From the teams' evaluations: each rep's load, how far it falls below its band minimum
    (<= 0 where it does not), each class's unmet hours, and who manages."""
    unmet = np.zeros(len(inst.class_hours), dtype=np.int64)
    load = np.zeros(inst.n_reps)
    is_mgr = np.zeros(inst.n_reps, dtype=bool)
    for res in results.values():
        unmet[res.classes] = res.unmet
        load += np.bincount(inst.pair_rep[res.pairs], weights=res.pair_flow,
                            minlength=inst.n_reps)
        is_mgr[res.managers] = True
    return load, np.where(is_mgr, inst.mgr_lo, inst.rep_lo) - load, unmet, is_mgr


def moved_count(inst: OrgDesignInstance, team: np.ndarray) -> int:
    if inst.moved is None:
        return 0
    return int(inst.moved[np.arange(inst.n_reps), team].sum())


def _moved_delta(inst: OrgDesignInstance, r: int, old: int, new: int) -> int:
    if inst.moved is None:
        return 0
    return int(inst.moved[r, new]) - int(inst.moved[r, old])


def _start_from(inst: OrgDesignInstance, oracle: TeamOracle, team: np.ndarray,
                results: dict, deadline: float = math.inf,
                candidates: int = MANAGER_CANDIDATES) -> OrgStart:
    """The design's start: its hours, unmet work, managers (per unit: see `_unit_managers`)
    and cost."""
    hours = np.zeros(len(inst.pair_rep), dtype=np.int64)
    unmet = inst.class_hours.astype(np.int64).copy()
    is_manager = np.zeros(inst.n_reps, dtype=bool)
    hired = np.zeros(inst.n_units, dtype=np.int64)
    if unit_managers_apply(inst, oracle):
        is_manager, hired, results = _unit_managers(inst, oracle, team, deadline, candidates)
    cost, shortfall = 0, 0
    for t, res in results.items():
        hours[res.pairs] = res.pair_flow
        unmet[res.classes] = res.unmet
        is_manager[res.managers] = True
        if oracle.manager_per_team:
            hired[inst.unit_of_team[t]] += res.hired
        cost += res.cost
        shortfall += res.shortfall
    return OrgStart(team.copy(), is_manager, hired, hours, unmet, cost, shortfall)


def unit_managers_apply(inst: OrgDesignInstance, oracle: TeamOracle) -> bool:
    """Whether managers are counted per unit of several teams: the search prices its teams
    without them, and they are chosen once it ends (`_unit_managers`)."""
    return inst.span is not None and inst.unit_of_team is not None \
        and not oracle.manager_per_team


def _unit_managers(inst: OrgDesignInstance, oracle: TeamOracle, team: np.ndarray,
                   deadline: float = math.inf, candidates: int = MANAGER_CANDIDATES
                   ) -> tuple[np.ndarray, np.ndarray, dict[int, _TeamResult]]:
    """Managers per multi-team unit, ceil(headcount / span) among those who can manage (the
    rest are hires): today's first where the instance says who manages (`hint_manager`: a
    re-plan from a plan keeps its managers, or their bands, and the lines they hold, would
    change), the others where they cost least (`_cheapest_managers`, by `deadline`); with each
    team's evaluation under them."""
    is_manager = np.zeros(inst.n_reps, dtype=bool)
    hired = np.zeros(inst.n_units, dtype=np.int64)
    results: dict[int, _TeamResult] = {}
    unit_of_rep = inst.unit_of_team[team]
    for u in range(inst.n_units):
        members = np.nonzero(unit_of_rep == u)[0]
        need = math.ceil(len(members) / inst.span)
        able = [int(r) for r in members if inst.can_manage[r]]
        hired[u] = max(0, need - len(able))
        today = [] if inst.hint_manager is None else \
            sorted((r for r in able if inst.hint_manager[r]),
                   key=lambda r: oracle.manager_rank(r, int(team[r])))[:need]
        results.update(_cheapest_managers(oracle, team, np.nonzero(inst.unit_of_team == u)[0],
                                          able, min(need, len(able)), deadline,
                                          candidates, today))
    for res in results.values():
        is_manager[res.managers] = True
    return is_manager, hired, results


def _cheapest_managers(oracle: TeamOracle, team: np.ndarray, teams: np.ndarray,
                       able: list[int], count: int, deadline: float = math.inf,
                       candidates: int = MANAGER_CANDIDATES, kept: Sequence[int] = ()
                       ) -> dict[int, _TeamResult]:
    """A unit's teams evaluated with `count` managers among `able`: those `kept`, then the
    others added one at a time where the unit's cost rises least: in each team its
    `candidates` next by manager_rank are priced (a flow each) with the team's managers so far.
    Past `deadline`, the rest go where the members' spare hours most exceed what the next
    candidate would give up (no flows: on M region x function 1.51-1.63e9 against 1.23-1.43e9
    priced)."""
    members = {int(t): np.nonzero(team == t)[0] for t in teams}
    queue = {t: sorted((r for r in able if team[r] == t and r not in kept),
                       key=lambda r: oracle.manager_rank(r, t)) for t in members}
    now = {t: oracle.evaluate(t, members[t], np.array([r for r in kept if team[r] == t],
                                                      dtype=np.int64)) for t in members}
    count -= len(kept)

    def priced(t: int) -> _TeamResult | None:
        options = [oracle.evaluate(t, members[t], np.append(now[t].managers, r))
                   for r in queue[t][:candidates]]
        return min(options, key=lambda res: res.cost) if options else None  # (ties: by rank)

    after = {t: priced(t) for t in members}
    while count > 0 and time.monotonic() < deadline:
        t = min((t for t in members if after[t] is not None),
                key=lambda t: (after[t].cost - now[t].cost, t))
        now[t] = after[t]
        queue[t].remove(int(now[t].managers[-1]))
        after[t] = priced(t)
        count -= 1
    if count > 0:
        now.update(_managers_by_spare(oracle, members, queue, now, count))
    return now


def _managers_by_spare(oracle: TeamOracle, members: dict, queue: dict, now: dict,
                       count: int) -> dict[int, _TeamResult]:
    """`count` more managers, each in the team whose members' spare hours (their maxima less
    their loads) best cover what its next candidate would give up (member maximum less manager
    maximum); the changed teams evaluated once with them."""
    inst = oracle.inst
    spare = {t: float(spare_hours(inst, res)) for t, res in now.items()}
    added: dict[int, list[int]] = {}
    for _ in range(count):
        def short(t: int) -> tuple[float, float, int]:
            r = queue[t][0]
            return max(0.0, float(inst.rep_hi[r] - inst.mgr_hi[r]) - spare[t]), -spare[t], t
        t = min((t for t in members if queue[t]), key=short)
        r = queue[t].pop(0)
        added.setdefault(t, []).append(r)
        spare[t] -= float(inst.rep_hi[r] - inst.mgr_hi[r])
    return {t: oracle.evaluate(t, members[t], np.append(now[t].managers, reps))
            for t, reps in added.items()}


def manager_seconds(inst: OrgDesignInstance, oracle: TeamOracle,
                    candidates: int = MANAGER_CANDIDATES) -> float:
    """About how long choosing the units' managers takes (`_cheapest_managers`), pricing
    `candidates` per team, at the oracle's time per evaluation so far; 0 where managers are
    not chosen per unit."""
    if not unit_managers_apply(inst, oracle):
        return 0.0
    managers = inst.n_reps / inst.span + inst.n_units
    evaluations = inst.n_teams * (1 + candidates) + managers * candidates
    return evaluations * oracle.seconds_per_evaluation()


def manager_candidates(inst: OrgDesignInstance, oracle: TeamOracle, window: float) -> int:
    """Candidates priced per team (MANAGER_CANDIDATES, or one: MANAGER_SHARE of a search's
    `window` seconds)."""
    fits = manager_seconds(inst, oracle) <= MANAGER_SHARE * window
    return MANAGER_CANDIDATES if fits else 1


def repair_allocation(inst: AllocationInstance) -> np.ndarray:
    """A complete stage-2 assignment near the hint that respects every agent's band where the
    greedy manages it: hinted items on impossible pairs are dropped, mandatory items placed,
    overloaded agents hand items on (or leave optional ones unassigned) and underloaded agents
    take unassigned items, then items from colleagues above their minimum. Items still
    unassigned go to whoever has room (the most hours served first)."""
    n_items = inst.n_items
    weight = _PairWeights(inst)
    order = inst.by_item
    starts = inst.item_starts.tolist()
    fixed = inst.fixed_agent if inst.fixed_agent is not None else np.full(n_items, -1)
    hint = inst.hint_agent if inst.hint_agent is not None else np.full(n_items, -1)
    item_agent = np.where(weight.of(hint) >= 0, hint, -1).astype(np.int64)
    item_agent = np.where(fixed >= 0, fixed, item_agent)
    lo, hi = inst.agent_lo.astype(np.int64), inst.agent_hi.astype(np.int64)
    placed = item_agent >= 0
    load = np.bincount(item_agent[placed], weights=weight.of(item_agent)[placed],
                       minlength=inst.n_agents).astype(np.int64)

    def place(i: int, a: int) -> None:
        old = item_agent[i]
        if old >= 0:
            load[old] -= weight[i, old]
        item_agent[i] = a
        if a >= 0:
            load[a] += weight[i, a]

    pair_agents, pair_weights = inst.pair_agent[order], weight.in_order(order)

    def roomiest(i: int, other_than: int, least: np.ndarray) -> int:
        """The agent (not `other_than`) with room for item i that it weighs most, then the
        furthest above `least` (the first such in pair order); -1 when nobody has room."""
        agent = pair_agents[starts[i]:starts[i + 1]]
        w = pair_weights[starts[i]:starts[i + 1]]
        fits = (load[agent] + w <= hi[agent]) & (agent != other_than)
        if not fits.any():
            return -1
        agent, w = agent[fits], w[fits]
        agent = agent[w == w.max()]
        return int(agent[np.argmax(least[agent] - load[agent])])

    for i in np.nonzero((item_agent < 0) & ~inst.item_optional)[0].tolist():
        if starts[i + 1] > starts[i]:
            agent = pair_agents[starts[i]:starts[i + 1]]
            place(i, int(agent[np.argmax(hi[agent] - load[agent])]))
    largest = np.zeros(n_items, dtype=np.int64)  # an item's weight with its dearest agent
    np.maximum.at(largest, inst.pair_item, inst.pair_weight.astype(np.int64, copy=False))
    by_size = np.argsort(-largest, kind="stable")
    full = largest.tolist()
    # an agent above its maximum receives nothing before its turn: its items (smallest first)
    # are those it has now
    smallest_first = by_size[::-1]
    owners = item_agent[smallest_first]
    overloaded = np.nonzero(load > hi)[0]
    mine = np.isin(owners, overloaded) & (fixed[smallest_first] < 0)
    items_of = _group(smallest_first[mine], owners[mine])
    for a in overloaded.tolist():
        for i in items_of.get(a, []):
            if load[a] <= hi[a]:
                break
            b = roomiest(i, a, lo)
            if b >= 0:
                place(i, b)
            elif inst.item_optional[i]:
                place(i, -1)
    lightest = np.full(n_items, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(lightest, inst.pair_item, inst.pair_weight.astype(np.int64, copy=False))
    lightest = lightest.tolist()
    most_room = int((hi - load).max(initial=0))  # only falls in this pass: loads only grow
    for i in by_size.tolist():
        if item_agent[i] >= 0 or fixed[i] >= 0 or lightest[i] > most_room:
            continue  # (the last: no agent has room for it, as on a re-plan's many unowned)
        b = roomiest(i, -1, hi)
        if b >= 0:
            place(i, b)
            most_room = int((hi - load).max(initial=0))
    rank = np.empty(n_items, dtype=np.int64)
    rank[by_size] = np.arange(n_items)
    by_agent = pairs_by_agent(inst.pair_agent)
    bounds = np.searchsorted(inst.pair_agent if by_agent is None else inst.pair_agent[by_agent],
                             np.arange(inst.n_agents + 1))

    def candidates(a: int) -> list[int]:
        """The items agent a can take, largest first."""
        span = slice(bounds[a], bounds[a + 1])
        items = inst.pair_item[span] if by_agent is None else inst.pair_item[by_agent[span]]
        return items[np.argsort(rank[items], kind="stable")].tolist()

    for whole_only in (True, False):
        for a in np.nonzero(load < lo)[0].tolist():
            for i in candidates(a):
                if load[a] >= lo[a]:
                    break
                if fixed[i] >= 0 or load[a] + weight[i, a] > hi[a] \
                        or (whole_only and weight[i, a] < full[i]):
                    continue
                owner = item_agent[i]
                if owner < 0 or (owner != a and load[owner] - weight[i, owner] >= lo[owner]):
                    place(i, a)
    return item_agent


def serve_unassigned(inst: AllocationInstance, item_agent: np.ndarray, seconds: float
                     ) -> np.ndarray:
    """The plan with unassigned items served where chains of two moves make room for them at a
    lower cost (`_chain_pass`), as long as that finds any within `seconds`."""
    if not (item_agent < 0).any():
        return item_agent
    deadline = time.monotonic() + seconds
    state = _Allocation(inst, item_agent)
    agents_of = [sorted(d) for d in state.pair_of]
    while time.monotonic() < deadline and _chain_pass(state, agents_of, deadline):
        pass
    return state.item_agent


def _chain_pass(state: _Allocation, agents_of: list[list[int]], deadline: float) -> bool:
    """Each unassigned item goes, where that lowers the cost most, to an agent without room
    for it while one of that agent's items, heavy enough to make the room, moves on to an
    agent with room for it. The move and swap passes cannot do this where every agent is
    full: M region x function's East hunting team (1,712 accounts, 16 reps) kept 7 accounts
    unserved after them, 68.6 M of unmet work; two such chains served 2 of them, 53.0 M.
    Whether anything changed."""
    inst, weight, hi = state.inst, state.inst.pair_weight, state.inst.agent_hi
    pair_of, load = state.pair_of, state.load
    by_agent: dict[int, list[int]] = {}
    for j, a in enumerate(state.item_agent.tolist()):
        if a >= 0 and state.fixed[j] < 0:
            by_agent.setdefault(a, []).append(j)
    changed = False
    for i in np.nonzero(state.item_agent < 0)[0].tolist():
        if time.monotonic() >= deadline:
            break
        best, best_delta = None, 0
        for b in agents_of[i]:
            need = load[b] + weight[pair_of[i][b]] - hi[b]
            if need <= 0:
                continue  # (the move pass's)
            for j in by_agent.get(b, []):
                if weight[pair_of[j][b]] < need:
                    continue
                for c in agents_of[j]:
                    if c != b and load[c] + weight[pair_of[j][c]] <= hi[c]:
                        delta = state.chain_delta(i, b, j, c)
                        if delta is not None and delta < best_delta:
                            best, best_delta = (b, j, c), delta
        if best is not None:
            b, j, c = best
            state.move(j, c)
            state.move(i, b)
            by_agent[b][by_agent[b].index(j)] = i
            by_agent.setdefault(c, []).append(j)
            changed = True
    return changed


def _group(values: np.ndarray, keys: np.ndarray) -> dict[int, list[int]]:
    """The values of each key, in their order."""
    order = np.argsort(keys, kind="stable")
    keys, values = keys[order], values[order]
    cuts = np.nonzero(np.diff(keys))[0] + 1
    return {int(group_keys[0]): group.tolist()
            for group_keys, group in zip(np.split(keys, cuts), np.split(values, cuts))
            if len(group)}


#: Items x agents up to which _PairWeights keeps a dense table (8 bytes each)
DENSE_PAIR_TABLE = 20_000_000


class _PairWeights:
    """weight[i, a] and the weights of many pairs at once for the pairs of an instance: from
    a dense table, or, where the table would be too big (every team in one model, the
    individuals team of a large company), from the pairs sorted by (item, agent): 16 bytes a
    pair, where a dict of them took 140 (1.6 GB on 11 million pairs)."""

    def __init__(self, inst: AllocationInstance):
        self.table = self.order = None
        self.n_agents, self.pair_weight = inst.n_agents, inst.pair_weight
        if inst.n_items * inst.n_agents <= DENSE_PAIR_TABLE:
            self.table = np.full((inst.n_items, inst.n_agents), -1, dtype=np.int64)
            self.table[inst.pair_item, inst.pair_agent] = inst.pair_weight
        else:
            order = inst.by_item_agent
            self.keys = inst.item_agent_keys(order)
            self.weights = inst.pair_weight[order].astype(np.int64, copy=False)
            self.order = order

    def __getitem__(self, key: tuple[int, int]) -> int:
        if self.table is not None:
            return int(self.table[key])
        found = self._lookup(np.array([key[0] * self.n_agents + key[1]]))[0]
        if found < 0:
            raise KeyError(key)
        return int(found)

    def of(self, agent_of_item: np.ndarray) -> np.ndarray:
        """The weight of each item with its agent; -1 where it has none or no such pair."""
        if self.table is not None:
            if not self.table.shape[1]:  # no agents
                return np.full(len(agent_of_item), -1, dtype=np.int64)
            found = self.table[np.arange(len(agent_of_item)), np.maximum(agent_of_item, 0)]
            return np.where(agent_of_item >= 0, found, -1)
        agent_of_item = np.asarray(agent_of_item, dtype=np.int64)
        keys = np.arange(len(agent_of_item), dtype=np.int64) * self.n_agents + agent_of_item
        return np.where(agent_of_item >= 0, self._lookup(keys), -1)

    def _lookup(self, keys: np.ndarray) -> np.ndarray:
        """The weight of each (item, agent) key; -1 where there is no such pair."""
        if not len(self.keys):
            return np.full(len(keys), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        return np.where(self.keys[at] == keys, self.weights[at], -1)

    def in_order(self, order: np.ndarray) -> np.ndarray:
        """The weights (int64) of the pairs at `order`: the sparse form's own array where it
        holds them in that order (the teams' pairs by item, which come by (item, agent) too),
        not a second copy."""
        if self.order is order:
            return self.weights
        return self.pair_weight[order].astype(np.int64, copy=False)


class _Allocation:
    """A stage-2 assignment with its loads and the cost pieces a move changes, kept up to date
    so that each candidate move is priced in constant time."""

    def __init__(self, inst: AllocationInstance, item_agent: np.ndarray):
        self.inst = inst
        self.item_agent = np.asarray(item_agent, dtype=np.int64).copy()
        terms = inst.terms.values()
        n_pairs = len(inst.pair_item)
        self.pair_cost = sum((t.pair.astype(np.int64, copy=False) for t in terms
                              if t.pair is not None),
                             np.zeros(n_pairs, dtype=np.int64))
        self.none_cost = sum((t.unassigned.astype(np.int64) for t in terms
                              if t.unassigned is not None), np.zeros(inst.n_items, dtype=np.int64))
        self.dev_coef = sum((t.deviation.astype(np.int64) for t in terms
                             if t.deviation is not None), np.zeros(inst.n_agents, dtype=np.int64))
        travel = [t.travel for t in terms if t.travel is not None]
        self.travel = sum(travel) if travel and inst.item_account is not None else None
        self.target = (inst.agent_target if inst.agent_target is not None
                       else np.zeros(inst.n_agents)).astype(np.int64)
        self.pair_of: list[dict[int, int]] = [{} for _ in range(inst.n_items)]
        for p, (i, a) in enumerate(zip(inst.pair_item.tolist(), inst.pair_agent.tolist())):
            self.pair_of[i][a] = p
        self.load = np.zeros(inst.n_agents, dtype=np.int64)
        self.serving: dict[tuple[int, int], int] = {}
        for i, a in enumerate(self.item_agent.tolist()):
            if a >= 0:
                self._add(i, a)
        self.fixed = inst.fixed_agent if inst.fixed_agent is not None else \
            np.full(inst.n_items, -1)

    def _add(self, i: int, a: int) -> None:
        self.load[a] += self.inst.pair_weight[self.pair_of[i][a]]
        if self.travel is not None:
            key = (int(self.inst.item_account[i]), a)
            self.serving[key] = self.serving.get(key, 0) + 1

    def _remove(self, i: int, a: int) -> None:
        self.load[a] -= self.inst.pair_weight[self.pair_of[i][a]]
        if self.travel is not None:
            key = (int(self.inst.item_account[i]), a)
            self.serving[key] -= 1

    def _dev(self, a: int, load: int) -> int:
        return int(self.dev_coef[a]) * abs(int(load) - int(self.target[a]))

    def _cost_of(self, i: int, a: int) -> int:
        return int(self.pair_cost[self.pair_of[i][a]]) if a >= 0 else int(self.none_cost[i])

    def _travel_delta(self, i: int, a: int, b: int) -> int:
        """Travel change when item i leaves agent a for agent b (a pair costs once)."""
        if self.travel is None:
            return 0
        account = int(self.inst.item_account[i])
        delta = 0
        if a >= 0 and self.serving.get((account, a), 0) == 1:
            delta -= int(self.travel[account, a])
        if b >= 0 and self.serving.get((account, b), 0) == 0:
            delta += int(self.travel[account, b])
        return delta

    def move_delta(self, i: int, b: int) -> int | None:
        """Cost change of giving item i to agent b (-1: nobody); None when not allowed."""
        a = int(self.item_agent[i])
        inst = self.inst
        if b == a or self.fixed[i] >= 0 or (b < 0 and not inst.item_optional[i]):
            return None
        delta = self._cost_of(i, b) - self._cost_of(i, a) + self._travel_delta(i, a, b)
        if a >= 0:
            new = self.load[a] - inst.pair_weight[self.pair_of[i][a]]
            if new < inst.agent_lo[a]:
                return None
            delta += self._dev(a, new) - self._dev(a, self.load[a])
        if b >= 0:
            new = self.load[b] + inst.pair_weight[self.pair_of[i][b]]
            if new > inst.agent_hi[b]:
                return None
            delta += self._dev(b, new) - self._dev(b, self.load[b])
        return delta

    def move(self, i: int, b: int) -> None:
        a = int(self.item_agent[i])
        if a >= 0:
            self._remove(i, a)
        self.item_agent[i] = b
        if b >= 0:
            self._add(i, b)

    def swap_delta(self, i: int, j: int) -> int | None:
        """Cost change of items i and j trading their (different) agents; None if not allowed."""
        a, b = int(self.item_agent[i]), int(self.item_agent[j])
        if a == b or a < 0 or b < 0 or self.fixed[i] >= 0 or self.fixed[j] >= 0:
            return None
        if b not in self.pair_of[i] or a not in self.pair_of[j]:
            return None
        w = self.inst.pair_weight
        load_a = self.load[a] - w[self.pair_of[i][a]] + w[self.pair_of[j][a]]
        load_b = self.load[b] - w[self.pair_of[j][b]] + w[self.pair_of[i][b]]
        inst = self.inst
        if not (inst.agent_lo[a] <= load_a <= inst.agent_hi[a]
                and inst.agent_lo[b] <= load_b <= inst.agent_hi[b]):
            return None
        delta = (self._cost_of(i, b) + self._cost_of(j, a) - self._cost_of(i, a)
                 - self._cost_of(j, b))
        delta += self._dev(a, load_a) - self._dev(a, self.load[a])
        delta += self._dev(b, load_b) - self._dev(b, self.load[b])
        if self.travel is not None:
            self.move(i, b)
            delta += self._travel_delta(j, b, a)
            self.move(i, a)
            delta += self._travel_delta(i, a, b)
        return delta

    def chain_delta(self, i: int, b: int, j: int, c: int) -> int | None:
        """Cost change of unassigned item i going to agent b while b's item j makes room by
        going to agent c; None if not allowed."""
        first = self.move_delta(j, c)
        if first is None:
            return None
        self.move(j, c)
        second = self.move_delta(i, b)
        self.move(j, b)
        return None if second is None else first + second


def improve_allocation(inst: AllocationInstance, item_agent: np.ndarray,
                       time_budget: float, stop: threading.Event | None = None) -> np.ndarray:
    """Local search on a stage-2 assignment that holds the bands: give items to the agent
    (or nobody) that lowers the total cost most, then give unassigned items to full agents
    whose items make room by moving on (`_chain_pass`), then swap pairs of items between
    agents, while anything improves and time is left. Bands and pins stay as they are."""
    deadline = time.monotonic() + time_budget
    state = _Allocation(inst, item_agent)
    agents_of = [sorted(d) for d in state.pair_of]
    improved = True
    if stop is not None and stop.is_set():
        deadline = 0.0  # cancelled: the repaired start is the answer
    while improved and time.monotonic() < deadline:
        improved = False
        for i in range(inst.n_items):
            options = agents_of[i] + ([-1] if inst.item_optional[i] else [])
            best, best_delta = None, 0
            for b in options:
                delta = state.move_delta(i, b)
                if delta is not None and delta < best_delta:
                    best, best_delta = b, delta
            if best is not None:
                state.move(i, best)
                improved = True
        if improved or time.monotonic() >= deadline:
            continue
        improved = _chain_pass(state, agents_of, deadline)
        if improved or time.monotonic() >= deadline:
            continue
        by_agent: dict[int, list[int]] = {}
        for i, a in enumerate(state.item_agent.tolist()):
            if a >= 0:
                by_agent.setdefault(a, []).append(i)
        for i in range(inst.n_items):
            if time.monotonic() >= deadline:
                break
            a = int(state.item_agent[i])
            if a < 0:
                continue
            for b in agents_of[i]:
                if b == a:
                    continue
                for j in by_agent.get(b, []):
                    if state.item_agent[j] != b:
                        continue
                    delta = state.swap_delta(i, j)
                    if delta is not None and delta < 0:
                        state.move(i, b)
                        state.move(j, a)
                        improved = True
                        break
                if state.item_agent[i] != a:
                    break
    return state.item_agent
