"""Solve a scenario: stage 1 (org design), then stage 2 (account allocation) team by team.
When indivisible lines make a team's stage 2 infeasible, stage 1 is asked for another design
(a few times), and the joint model is the last rescue on small instances. Reports progress,
honours a stop event, and returns a Decision with the figures that say how good it is
(status, objective, best bound, gap).

Only the joint model proves a bound for the whole scenario. A two-stage plan reports no best
bound (stage 1 plans each account's work with reps qualified for all its products, so it is no
relaxation of the whole problem); its stage figures are reported instead: stage 1's objective,
bound and gap for the team design, and stage 2's gap, which says how far the account allocation
is from the best one for those teams. What the decomposition loses against the joint model is
measured on small instances (bench/decomposition_loss.py, README).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Callable

import numpy as np
import pandas as pd

from models.allocation import first_level_start, flow_least_seconds, solve_allocation
from models.allocation_flow import flow_applies
from models.instances import AllocationInstance, Progress, SolveSettings
from models.joint import solve_joint
from models.org_design import designs_alone, mend_band, reshape_design, solve_org_design
from planner.errors import InfeasibleError, NoPlanError, UsageError
from planner.explain import RELAXATIONS, below_band, explain, indivisible, precheck
from planner.instance import (SHORTFALL, Problemset, allocation_instance, joint_instance,
                              keeps_owners_first, line_reps, org_design_instance)
from planner.objective import Decision
from planner.team_pool import borrow, give_back, warm_up

STAGE1_SHARE = 0.5  # at most; stage 1 hands on early when CP-SAT stops improving its plan
STAGE1_STALL_SHARE = 0.15
#: ... and where stage 2's teams have more pairs than all go to the workers (POOL_MAX_PAIRS),
#: stage 1 ends earlier once its design holds the band minimum (`stage1_enough`), so that stage
#: 2 has about this long per team, besides building them (TEAM_FIXED_SECONDS_PER_PAIR): short of
#: that, stage 2 gives every team its 0.2 s minimum and solves them one after another past its
#: time (XL key-account hybrid at a 30 s limit: 11 s left for its 21 teams, which took 13.5 s;
#: the solve ended at 32.5 s). Region x function (15 teams) took 10.3 s of its 10.6 s.
STAGE2_SECONDS_PER_TEAM = 0.45
#: what is left of the time limit for the solve itself, after what came before it (reading
#: and preparing the data) and what comes after (building the plan), is at least this share
MIN_SOLVE_SHARE = 0.5
JOINT_MAX_PAIRS = 20_000  # z variables; above this the joint model is not tried
#: With method "auto", companies whose joint model has at most this many rep x account pairs
#: are solved exactly in one model; larger ones in two stages.
JOINT_AUTO_PAIRS = 2_000
METHODS = ("auto", "two-stage", "joint")
MIN_TEAM_SECONDS = 0.2
#: ... but less where the time left cannot give every team still to start that long (`_Lanes`),
#: down to this, which is also what a team gets after a cancel: a team's start repaired into
#: its bands and what a short search makes of it
HURRIED_TEAM_SECONDS = 0.05
#: Each team's share of stage 2's time counts, besides its pairs, this share of the mean
#: team's pairs: a solve has costs that do not shrink with its team (its relaxation's first
#: steps, its first neighbourhoods), and in proportion to pairs alone XL key-account hybrid's
#: key-account teams got 0.2-0.9 s and ended 9-40 % above their bounds, with no time left to
#: polish them. XL at 120 s with it (and polishing on the local lane, `_Run.make_room`):
#: key-account hybrid's stage-2 gap 3.33 / 3.69 % -> 1.14 / 1.53 %, region x function
#: 1.56 % -> 1.32 / 3.80 % (the last run's East service team, of a weaker stage-1 design, held
#: 41 of its 61); M and L within their run-to-run spread (M 0.45 / 0.45 / 0.45 / 0.53 ->
#: 0.35 / 0.44 / 0.46 / 0.46 % and 0.16 four times -> 0.15-0.20 %; L key-account hybrid
#: 0.26 / 0.72 / 0.82 -> 0.72 / 0.79 / 0.79 %, region x function 0.26 -> 0.22 %)
TEAM_BASE_SHARE = 0.25
#: Building a team's stage-2 instance and repairing its start take about this long per line x
#: member, outside the time its solve is given (measured on XL: 7 s for 43 million; on
#: 2026-12-01, building XL region x function's 15 teams at 30 s alone, 6.4 s for 27 million,
#: 2.35e-7, and with 1.6e-7 its solves ended at 29.2-32.9 s in eight runs: stage 1, which
#: ends by this estimate at 30 s, took the time they needed); the teams' shares of the time
#: left are what remains after them. It is where the charge starts: once teams are solved,
#: what they took beyond their shares, per pair, is charged instead when it is more (`_Charge`)
TEAM_FIXED_SECONDS_PER_PAIR = 2.4e-7
#: the smallest team (line x member pairs) whose overrun says what a pair costs
CHARGE_MIN_PAIRS = 1_000_000
#: Stage 2's teams go to worker processes (planner.team_pool) when their line x member pairs
#: total at most this many. Above, the solving process's own share (building each team's
#: instance, sending it) keeps the workers waiting: XL key-account hybrid at 30 s, its
#: individuals team (7.8 million pairs) took 11 s to build and send while the other worker
#: idled; a plan after 44.7 s instead of about 33 s, and 1.6 GB more at the peak.
POOL_MAX_PAIRS = 20_000_000
#: ... or more, when sending every team takes at most this share of the time left
#: (POOL_SECONDS_PER_PAIR) and at most one team has more pairs than POOL_MAX_TEAM_PAIRS: XL
#: region x function at 120 s (31 million pairs, 11 s to send of 57 s left), its stage-2 gap
#: 22-30 % -> 4.7-6.3 % and its plan's objective 18.3-19.2 -> 14.6-14.8 with the pool
POOL_SEND_SHARE = 0.25
#: a worker solving a team holds about 200 bytes a pair at its peak, and two run at once
POOL_MAX_TEAM_PAIRS = 8_000_000
#: Sending a team to a worker and its plan back takes about this long per rep x item pair
#: (L key-account hybrid's individuals team, 2.7 million pairs: 1.0 s past its time, besides
#: building its instance)
POOL_SECONDS_PER_PAIR = 3.5e-7
#: A team solved on the pool's lane in this process (too large to send) ends this long per pair
#: past its time limit (its last evaluation; XL key-account hybrid's individuals team, 11.3
#: million pairs: 0.2-0.4 s at 8-25 s, which took the solve 0.35 s past 120 s), so it is
#: given that much less
LOCAL_END_SECONDS_PER_PAIR = 4e-8
#: the share of its time a polishable team gets at first (the rest: see `_polish`) ...
FIRST_PASS_SHARE = 0.6
#: ... and a team of up to SMALL_TEAM_PAIRS pairs, where every team of the company may be
#: polished: its second solve starts again at little cost (its relaxation takes milliseconds).
#: M's teams, against 0.6: stage-2 gap 0.35-0.75 % (seven runs) -> 0.37-0.56 % (seven;
#: key-account hybrid), 1.70-1.94 % (four) -> 1.11-1.58 % (seven; region x function); S's,
#: whose teams CP-SAT mostly proves in their first pass, 0.15-0.24 -> 0.17-0.25 % (key-account
#: hybrid, three runs each). Not where a team too large to polish holds a lane: L key-account
#: hybrid (its individuals team, 2.7 million pairs) went 1.70-2.13 -> 2.36-2.88 % with it
FIRST_PASS_SHARE_SMALL = 0.3
SMALL_TEAM_PAIRS = 100_000
#: A team of more than LARGEST_TEAM_FROM pairs (rep x item pairs of its instance) gets
#: LARGEST_TEAM_SHARE of its share of the time, taken from the teams after it: its relaxation
#: takes about 3 microseconds a pair whatever its time, and what is left of it gains far more
#: than the same time on the smaller teams. XL key-account hybrid's individuals team (12
#: million pairs, 46 s at 120 s): its relaxation took 40 s in a whole run, its descent 0.3 s,
#: and it ended 55 M above its bound of 261 M, where the next three teams held 25 M of the gap.
#: There it starts about 64 s into the solve, after stage 1, and the time left cuts 1.4 times
#: its share (65-67 s) to 52-54 s: a factor of 1.7 gave the same
LARGEST_TEAM_FROM = 8_000_000
LARGEST_TEAM_SHARE = 1.4
#: the largest team (rep x item pairs of its instance) solved a second time (its relaxation
#: starts again from nothing: about a second on a million pairs; its flow, several seconds on
#: such a team, does not: see `_polish`). XL key-account hybrid, stage 1's design kept:
#: stage-2 gaps 1.14-1.38 % at 1 million (four whole runs), 1.01-1.31 % at 2 million (five; the
#: teams of 1.2-1.3 million pairs first get 0.6 of their share, and their small gaps leave the
#: rest to the key-account teams); before the flow was kept, 1.53 / 1.58 % at 2 million against
#: 1.42-1.79 % (whole runs, stage 1 free)
POLISH_MAX_PAIRS = 2_000_000
#: a polishable team's instance of more pairs than this is not kept for its second solve but
#: built again (about 0.5 s a million pairs): kept, XL key-account hybrid's teams of 1.2-1.3
#: million pairs took its peak memory from 3.66-3.91 GB (two runs) to 4.03-4.07 GB (two)
POLISH_KEEP_PAIRS = 1_000_000
#: a second solve shorter than this is not started (but see `polish_least`) ...
POLISH_MIN_SECONDS = 0.3
#: ... nor ever one shorter than this
POLISH_LEAST_SECONDS = 0.1
#: a first pass is raised to the time its team's flow needs (`flow_floor`) with this margin
#: (the worker's time is its budget less the sending's estimate, which must not cut it short)
FLOW_FLOOR_MARGIN = 1.05
#: ... where that is at most this many times the first pass (and within the team's share): the
#: teams that missed their flows by a little at 120 s (a flow estimated at 1.00 s where 0.8 of
#: the team's 1.23 s was 0.98 s); raised by up to their shares, XL key-account hybrid's plans
#: at 30 s were 203.4 / 209.0 against 185.8-194.6 (the raises took the polish's time)
FLOW_FLOOR_REACH = 1.25
#: After a cancel, each team left in stage 2 gets at most this long (a plan is still needed).
#: At 0.2 s S's 15-21 teams took 1.3-1.7 s after a cancel, longer than a whole solve's stage 2;
#: at 0.05 s, 0.7 s.
CANCELLED_TEAM_SECONDS = HURRIED_TEAM_SECONDS
#: When a team design cannot become a plan, stage 1 is asked for another one up to this many
#: times, each for at least REDESIGN_SECONDS (a plan is needed even when the time limit has
#: passed; see _stage2_with_redesigns).
MAX_REDESIGNS = 6
REDESIGN_SECONDS = 2.0
#: ... and until the solve has taken at most this many times its time limit
REDESIGN_OVERTIME = 3.0
REDESIGN = "stage 1: teams (redesign)"
EXPLAIN_SECONDS = 15.0
RESCUE = "joint model (rescue)"


@dataclass(frozen=True)
class SolveProgress:
    """What a progress display shows: stage, time, best objective and bound (normalised)."""

    stage: str
    elapsed: float
    time_limit: float
    objective: float | None
    bound: float | None


@dataclass(frozen=True)
class SolveReport:
    status: str
    objective: float | None
    best_bound: float | None
    gap: float | None
    seconds: float
    method: str  # "two-stage" or "joint"
    stage1: dict = field(default_factory=dict)
    stage2: dict = field(default_factory=dict)
    term_values: dict = field(default_factory=dict)


ProgressFn = Callable[[SolveProgress], None]


def stage_budget(stage: str, budget: float, stop: threading.Event | None,
                 hurry: bool = True) -> tuple[float, threading.Event | None]:
    """The time a model gets and the stop event it watches.

    After a cancel, stage 2 still has to turn the team design into a plan: each team left gets
    at most CANCELLED_TEAM_SECONDS (unless `hurry` is off) and no longer watches the stop event.
    A redesign of stage 1 (see MAX_REDESIGNS) does watch it: after a cancel, a design that
    cannot become a plan ends the solve with "cancelled before a complete plan was found"."""
    if stop is not None and stop.is_set() and stage.startswith("stage 2"):
        return (min(budget, CANCELLED_TEAM_SECONDS) if hurry else budget), None
    return budget, stop


def solve_problem(p: Problemset, progress: ProgressFn | None = None,
                  stop: threading.Event | None = None, method: str = "auto",
                  limits: dict[str, float] | None = None, began: float | None = None,
                  finish_seconds: float = 0.0, **overrides) -> tuple[Decision, SolveReport]:
    """Solve; InfeasibleError explains conflicting rules, NoPlanError says no plan was found.

    method: "two-stage" (org design, then account allocation per team), "joint" (one exact
    model, small companies only) or "auto" (joint when the company is small enough, else two
    stages). `limits` caps objective terms (objective units, as reported in objective_terms):
    the epsilon-constraint of a trade-off curve. With limits, stage 2 allocates all teams in
    one model, since a cap holds for the whole plan. The time limit counts from `began` (the
    caller's start: reading and preparing the data count) and leaves `finish_seconds` for what
    comes after (building the plan), so that the whole solve ends near it."""
    if method not in METHODS:
        raise UsageError(f"unknown method {method!r}; use one of {', '.join(METHODS)}")
    settings = p.scenario.solver.model_copy(update={k: v for k, v in overrides.items()
                                                    if v is not None})
    start = time.monotonic() if began is None else began
    asked, before = settings.time_limit, time.monotonic() - start
    # the time limit from here on counts from `start`; what is left for the solve itself is
    # at least MIN_SOLVE_SHARE of it (a short re-plan of a large company: reading the files
    # and building the plan may take longer than the whole limit)
    own = max(asked * MIN_SOLVE_SHARE, asked - finish_seconds - before)
    settings = settings.model_copy(update={"time_limit": before + own})

    def left() -> float:
        return max(0.0, settings.time_limit - (time.monotonic() - start))
    precheck(p)

    def model_settings(stage: str, budget: float, offsets: tuple[int, int] = (0, 0),
                       levels=p.levels, stall: float | None = None,
                       hurry: bool = True) -> SolveSettings:
        budget, stop_here = stage_budget(stage, budget, stop, hurry)
        def relay(ev: Progress) -> None:
            if progress is not None:
                # every objective term is >= 0: a bound below 0 is not yet a bound
                bound = None if ev.bound is None else max(ev.bound, 0)
                progress(SolveProgress(ev.stage, time.monotonic() - start, asked,
                                       _norm(p, ev.objective, offsets[0]),
                                       _norm(p, bound, offsets[1])))
        return SolveSettings(time_limit=budget, workers=settings.workers, seed=settings.seed,
                             relative_gap_limit=settings.relative_gap_limit, levels=levels,
                             tolerance=p.scenario.objective.tolerance, progress=relay,
                             stop=stop_here, stage=stage, linearization_level=2,
                             term_limits=caps, stall_seconds=stall)

    caps = {name: int(value * p.obj_scale) for name, value in (limits or {}).items()} or None

    if method == "auto" and joint_pairs(p) <= JOINT_AUTO_PAIRS:
        try:
            return _solve_joint(p, model_settings("joint model", left()), start)
        except NoPlanError:
            pass  # the two stages, with their warm starts, will find one
    if method == "joint":
        return _solve_joint(p, model_settings("joint model", left()), start)
    if settings.workers > 1 and not caps:
        # stage 2's workers, ready when stage 1 is done; above POOL_MAX_PAIRS one fewer, a
        # team too large to send taking a lane in this process (`_pools`). Started at stage 2
        # there, XL key-account hybrid's worker was still importing when its first team came,
        # which was then solved here (8.4 s, 2 million pairs) before the team too large to
        # send could start; two started at stage 1 held 450 MB more at the peak.
        warm_up(settings.workers - int(team_pairs(p) > POOL_MAX_PAIRS))
    stage1_levels = ((SHORTFALL,),) + p.levels if p.levels else None
    shared = left()  # (between the stages; building stage 1's instance is stage 1's time)
    inst1 = org_design_instance(p)
    built = shared - left()
    stage1_budget = max(MIN_TEAM_SECONDS, shared * STAGE1_SHARE - built)
    enough = stage1_enough(p, shared)
    s1 = solve_org_design(inst1, replace(
        model_settings("stage 1: teams", stage1_budget, levels=stage1_levels,
                       stall=max(1.0, stage1_budget * STAGE1_STALL_SHARE)),
        enough_seconds=None if enough is None else max(0.0, enough - built)))
    if s1.status == "INFEASIBLE":
        raise explain(p, _explain_settings(settings)) or InfeasibleError(
            ["the rules conflict, but the conflict could not be narrowed down within the time "
             "limit"], RELAXATIONS.values())
    if s1.objective is None:
        raise NoPlanError(f"no team design was found within {stage1_budget:.0f}"
                          " s (stage 1); raise the time limit (--time-limit)")
    if caps:
        line_rep, stage2, failed = _solve_all_teams_at_once(p, s1, start, settings.time_limit,
                                                            model_settings)
    else:
        line_rep, stage2, failed, s1 = _stage2_with_redesigns(p, inst1, s1, start, settings,
                                                              model_settings, stage1_levels, stop)
    if failed is not None or s1.band_shortfall > 0:
        return _rescue(p, failed, start, settings.time_limit, model_settings,
                       None if failed is not None else (inst1.pair_rep, s1))
    decision = Decision(s1.rep_team, s1.is_manager, s1.hired_managers, line_rep)
    missing = _missing_manager_value(p, s1.hired_managers)
    in_objective = p.levels is None or "unmet" in p.levels[0]
    objective_int = stage2["objective"] + (missing if in_objective else 0)
    term_values = {k: v / p.obj_scale for k, v in stage2["terms"].items()}
    term_values["unmet"] = term_values.get("unmet", 0.0) + missing / p.obj_scale
    allocation_bound = stage2["bound"] + (missing if in_objective else 0)
    report = _report(p, objective_int, None, start, "two-stage",
                     stage1={"status": s1.status, "objective": _norm(p, s1.objective),
                             "bound": _norm(p, s1.bound), "gap": _gap(s1.objective, s1.bound),
                             "seconds": round(s1.seconds, 3),
                             "band_shortfall_hours": s1.band_shortfall / p.hour_scale},
                     stage2={"status": stage2["status"], "objective": _norm(p, objective_int),
                             "bound": _norm(p, allocation_bound),
                             "gap": _gap(objective_int, allocation_bound),
                             "seconds": round(stage2["seconds"], 3), "teams": p.org.n_teams},
                     term_values=term_values)
    return decision, report


def stage1_enough(p: Problemset, left: float) -> float | None:
    """After how long stage 1 (of the `left` seconds of both stages) may end once its design
    holds the band minimum: where stage 2's teams have more pairs than all go to the workers
    (POOL_MAX_PAIRS) and need more than the other half of `left` (STAGE2_SECONDS_PER_TEAM),
    what they leave; None (no earlier end) elsewhere."""
    pairs = team_pairs(p)
    if pairs <= POOL_MAX_PAIRS:
        return None
    rest = left - p.org.n_teams * STAGE2_SECONDS_PER_TEAM - pairs * TEAM_FIXED_SECONDS_PER_PAIR
    return max(0.0, rest) if rest < STAGE1_SHARE * left else None


def team_pairs(p: Problemset) -> float:
    """Stage 2's line x member pairs, estimated before the teams are known: lines x reps /
    teams."""
    return len(p.lines) * p.n_reps / max(1, p.org.n_teams)


def _explain_settings(settings) -> SolveSettings:
    """The whole explanation's time, after the solve's own: half the time limit, at least
    EXPLAIN_SECONDS (a conflict is worth the wait, but not an open-ended one)."""
    return SolveSettings(time_limit=max(EXPLAIN_SECONDS, settings.time_limit / 2),
                         workers=settings.workers, seed=settings.seed)


def joint_pairs(p: Problemset) -> int:
    """Rep x item pairs of the joint model: items times the reps qualified for some of their
    lines (what the joint model's assignment variables number). Above JOINT_MAX_PAIRS the
    count is a lower bound (the joint model is not tried then, and counting exactly would take
    seconds on a large company)."""
    item_cells = p.lines[["item", "cell"]].drop_duplicates()
    per_cell = p.cell_qualified.sum(axis=0)
    at_least = int(pd.Series(per_cell[item_cells["cell"].to_numpy()])
                   .groupby(item_cells["item"].to_numpy()).max().sum())
    if at_least > JOINT_MAX_PAIRS:
        return at_least
    any_qualified = np.zeros((p.n_reps, p.lines["item"].max() + 1 if len(p.lines) else 0), bool)
    for cell, items in item_cells.groupby("cell")["item"]:
        any_qualified[:, items.to_numpy()] |= p.cell_qualified[:, [cell]]
    return int(any_qualified.sum())


def _missing_manager_value(p: Problemset, hired: np.ndarray) -> int:
    return int(hired.sum()) * int(p.coef("unmet", [p.missing_manager_hours])[0])


def _stage2_with_redesigns(p: Problemset, inst1, s1, start: float, settings, model_settings,
                           stage1_levels, stop: threading.Event | None
                           ) -> tuple[np.ndarray, dict, int | None, object]:
    """Stage 2 for the team design; when a design cannot become a plan, stage 1 is asked for
    another one, up to MAX_REDESIGNS times, past the time limit if need be (a plan is needed)
    up to REDESIGN_OVERTIME times it, but not after a cancel:
    - a design that leaves some rep below the band minimum (stage 1 stopped before its soft
      band minimum was met) is searched for again, for twice as long each time (where the
      local search designs alone, on from that design, until the band holds); a design of the
      local search's is first searched on from once, for half that time (`mend_band`);
    - a team whose accounts cannot be split among its members within the band loses a member
      or gains one, where the local search designs alone (`reshape_design`: a move, priced by
      flows); elsewhere, or when no move will do, it may not have exactly those members again.
    Returns line reps, stage-2 totals, the team that failed (None when all are allocated) and
    the design used (its seconds: stage 1's in all)."""
    done: dict = {}
    line_rep, stage2, failed = np.full(len(p.lines), -1, dtype=np.int64), {}, None
    mended = False  # a local-search design below the band has been searched on from
    for attempt in range(MAX_REDESIGNS + 1):
        cut: tuple = ()
        if s1.band_shortfall == 0:
            line_rep, stage2, failed = _solve_teams(p, s1, start, settings.time_limit,
                                                    model_settings, done, settings.workers, stop)
            if failed is None:
                break
            cut = (exclude_members(int(failed), np.nonzero(s1.rep_team == failed)[0]),)
        overtime = REDESIGN_OVERTIME * settings.time_limit - (time.monotonic() - start)
        if attempt == MAX_REDESIGNS or (stop is not None and stop.is_set()) \
                or overtime < REDESIGN_SECONDS:
            break
        # below the band minimum, stage 1 needs a longer run (a restart loses CP-SAT's
        # progress, so each gets twice the time of the last); a cut needs a short one
        budget = min(overtime, max(REDESIGN_SECONDS, 0.1 * settings.time_limit if cut
                                   else STAGE1_SHARE * settings.time_limit * 2 ** (attempt + 1)))
        redesign = model_settings(REDESIGN, budget, levels=stage1_levels, stall=budget / 2)
        if not cut and not mended and not designs_alone(inst1, redesign) and s1.bound is None:
            # the local search's design (it has no bound): on from it, once, before afresh
            mended = True
            again = mend_band(inst1, s1.rep_team, replace(redesign, time_limit=budget / 2))
            if again is not None and again.band_shortfall < s1.band_shortfall:
                s1 = _after(s1, again)
            continue
        if cut and designs_alone(inst1, redesign):
            # the local search's design: one rep out of the team or into it (CP-SAT's model
            # with the cut, on so large a company, found nothing in the time: XL key-account
            # hybrid at 30 s, 2 runs of 5)
            reshaped = reshape_design(inst1, s1.rep_team, int(failed), redesign)
            if reshaped is not None:
                s1 = _after(s1, reshaped)
                continue
        if cut:  # start from this design, less that team; else afresh, for longer (going on
            # from a design below the band led to worse ones: demo company, min_proficiency 3,
            # 10 s: 772 h short against 276 h)
            inst1 = replace(inst1, hint_team=s1.rep_team, extensions=inst1.extensions + cut)
        if not cut and designs_alone(inst1, redesign):
            # afresh, the local search would retrace its steps (XL region x function at 30 s:
            # its 6 s band pass again); it goes on from this design instead, and hands on once
            # the band holds, since the time is already past stage 1's
            inst1 = replace(inst1, hint_team=s1.rep_team)
            redesign = replace(redesign, enough_seconds=0.0)
        again = solve_org_design(inst1, redesign)
        if again.objective is None or (not cut and again.band_shortfall >= s1.band_shortfall):
            break  # nothing found, or the band minimum is no nearer: more of the same won't help
        s1 = _after(s1, again)
    return line_rep, stage2, failed, s1


def _after(design, again):
    """Stage 1's design `again`, its seconds counting those of the `design` before it (a
    report's stage-1 time is the whole of it: S key-account hybrid's mended design alone took
    0.02-0.05 s of 0.7 s)."""
    return replace(again, seconds=design.seconds + again.seconds)


def exclude_members(team: int, members: np.ndarray) -> Callable:
    """A stage-1 extension: `team` may not have exactly these members again."""
    inside = set(members.tolist())

    def cut(h) -> None:
        others = [row[team] for r, row in enumerate(h.x) if r not in inside]
        h.model.add(sum(h.x[r][team] for r in inside) - sum(others) <= len(inside) - 1)
    return cut


def _solve_teams(p: Problemset, s1, start: float, time_limit: float,
                 model_settings, done: dict | None = None, lanes: int = 1,
                 stop: threading.Event | None = None) -> tuple[np.ndarray, dict, int | None]:
    """Stage 2 for every team, steered by stage 1's hours; returns line reps, totals, and the
    first team found infeasible. `done` keeps each (team, members) allocation already solved,
    so that a redesign re-solves only the teams whose members changed. With several `lanes`
    the teams are solved that many at a time in worker processes (planner.team_pool), the
    largest first, each with one CP-SAT worker; a team with constraints from outside (custom
    Python rules) is solved here, and so is every team when the pool does not pay
    (`_pools`); a team too large to send is solved in a thread here, on a lane of its own.
    Teams that may be polished (`_Run.polishable`) get `first_pass_share` of their share of the
    time at first; what is left then goes to them again in proportion to their gaps
    (`_polish`)."""
    done = {} if done is None else done
    rep_team, is_manager = s1.rep_team, s1.is_manager
    quotas = np.zeros((p.n_reps, len(p.classes)))
    inst1_pairs = np.nonzero(p.qualified)
    np.add.at(quotas, inst1_pairs, s1.hours)
    team_lines = p.lines.groupby("team").indices
    sizes = {t: len(idx) * max(1, int((rep_team == t).sum())) for t, idx in team_lines.items()}
    number = {team: n + 1 for n, team in enumerate(sorted(team_lines))}
    counts = qualified_pairs(p, team_lines, rep_team)
    here = _pools(counts, lanes, start + time_limit - time.monotonic())  # (positions)
    all_polishable = max(counts, default=0) <= POLISH_MAX_PAIRS
    pool = borrow(lanes, local=bool(here)) if here is not None else None
    solved_here = {list(team_lines)[i] for i in here} if pool and here else set()
    order = team_order(sizes, bool(pool), solved_here)
    run = _Run(p, model_settings, done, pool,
               _Lanes(start + time_limit, float(sum(sizes.values())), pool.lanes if pool else 1,
                      len(sizes)),
               stop, solved_here)
    try:
        for team in order:
            if team not in solved_here:  # (its lane is its own)
                run.make_room()
            if run.failed is not None:
                break
            agents = np.nonzero(rep_team == team)[0]
            key = (int(team), tuple(agents.tolist()), tuple(is_manager[agents].tolist()))
            if key in done:
                run.clock.skip(sizes[team])
                run.take(team, *done[key])
                continue
            began = time.monotonic()  # (what the team takes beyond its share, building its
            # instance included, is charged: `_Charge`)
            build = partial(team_instance, p, team_lines[team], agents, is_manager[agents],
                            quotas[agents], run.model_settings("stage 2", 1.0))
            inst, items = build()
            job = _Job(team, key, sizes[team], 0.0, began=began, inst=inst, items=items,
                       label=f"stage 2: team {number[team]}/{p.org.n_teams} "
                             f"({p.org.teams[team].team_id})", build=build)
            polishable = run.polishable(job)
            factor = first_pass_share(len(inst.pair_item), all_polishable) \
                if polishable else largest_team_share(len(inst.pair_item))
            job.budget = run.clock.budget(sizes[team], time.monotonic(), factor,
                                          flow_floor(inst, pool is not None) if polishable
                                          else 0.0)
            run.start(job)
        _polish(run)
        run.finish_running()
    finally:
        if pool is not None:
            give_back(pool)
    line_rep = np.full(len(p.lines), -1, dtype=np.int64)
    for team, (sol, items) in run.results.items():
        line_rep[team_lines[team]] = line_reps(items, sol.item_agent)
    return line_rep, _totals(run.results.values()), run.failed


def team_instance(p: Problemset, lines: np.ndarray, agents: np.ndarray, is_manager: np.ndarray,
                  quotas: np.ndarray, settings: SolveSettings) -> tuple:
    """A team's stage-2 instance and items. In a re-plan that keeps relationships first
    (`keeps_owners_first`), built with each item's cheapest continuity choices when a start
    proves that level on them (the start becomes its hint), else whole: XL key-account
    hybrid's repair built its 21 teams (13 million pairs) in 5.9 s, the whole of its stage 2
    7.2 s against 1.2 s of solving."""
    if keeps_owners_first(p):
        inst, items = allocation_instance(p, lines, agents, is_manager, quotas=quotas,
                                          cheapest_kept=True)
        start = first_level_start(inst, settings)
        if start is not None:
            return inst.with_hint(start), items
    return allocation_instance(p, lines, agents, is_manager, quotas=quotas)


def team_order(sizes: dict, pooled: bool, solved_here: set) -> list:
    """The order stage 2 builds and starts its teams in: by id without a pool; with one, the
    largest first, but a team solved here after the largest one sent: built first, it kept
    the worker waiting (XL key-account hybrid's individuals team, 11.3 million pairs: 5.7 s)."""
    if not pooled:
        return sorted(sizes)
    order = sorted(sizes, key=lambda t: (-sizes[t], t))
    sent = [t for t in order if t not in solved_here]
    if sent and order[0] in solved_here:
        order.remove(sent[0])
        order.insert(0, sent[0])
    return order


def first_pass_share(pairs: int, all_polishable: bool) -> float:
    """The share of its time a polishable team of `pairs` pairs gets before polishing:
    FIRST_PASS_SHARE_SMALL for a team of up to SMALL_TEAM_PAIRS where no team of the company is
    too large to polish (`all_polishable`), else FIRST_PASS_SHARE."""
    if all_polishable and pairs <= SMALL_TEAM_PAIRS:
        return FIRST_PASS_SHARE_SMALL
    return FIRST_PASS_SHARE


def flow_floor(inst: AllocationInstance, pooled: bool) -> float:
    """The least first pass of a polishable team whose flow applies: FLOW_FLOOR_MARGIN times
    what its flow needs (models.allocation.flow_least_seconds) and, where it goes to a worker,
    what sending it takes (`_Run.start`); 0 where no flow applies. Short of it the team goes
    without its flow, and its start is far worse: XL key-account hybrid's teams of 0.36 and
    0.67 million pairs, given 0.6 of their shares (1.46 s for the latter, where its flow needed
    1.25 s and sending it 0.23 s), ended 61-75 M above their bounds in two whole runs (the
    latter, with its flow at its polish, 0.11-0.27 M), and the polish, in proportion to those
    gaps, gave it 6-8 s and the key-account teams little."""
    if not flow_applies(inst):
        return 0.0
    pairs = len(inst.pair_item)
    sending = sending_seconds(pairs, here=False) if pooled else 0.0
    return FLOW_FLOOR_MARGIN * (flow_least_seconds(pairs) + sending)


def sending_seconds(pairs: int, here: bool) -> float:
    """What handing a team of `pairs` pairs to its lane takes, about: to a worker, or (`here`)
    to the lane in this process, whose solve ends that much earlier instead."""
    return (LOCAL_END_SECONDS_PER_PAIR if here else POOL_SECONDS_PER_PAIR) * pairs


def largest_team_share(pairs: int) -> float:
    """The share of its time a team that is not polished gets: LARGEST_TEAM_SHARE above
    LARGEST_TEAM_FROM pairs, else all of it."""
    return LARGEST_TEAM_SHARE if pairs > LARGEST_TEAM_FROM else 1.0


def qualified_pairs(p: Problemset, team_lines: dict, rep_team: np.ndarray) -> list[int]:
    """Each team's line x member pairs where the member qualifies for the line: about as many
    as its stage-2 instance will have (an item of several lines has fewer), known before any
    is built."""
    cells = p.lines["cell"].to_numpy()
    n_cells = p.cell_qualified.shape[1]
    counts = []
    for team, idx in team_lines.items():
        lines_per_cell = np.bincount(cells[idx], minlength=n_cells)
        members_per_cell = p.cell_qualified[rep_team == team].sum(axis=0)
        counts.append(int(lines_per_cell @ members_per_cell))
    return counts


def _pools(pairs: list[int], lanes: int, seconds_left: float) -> set[int] | None:
    """Whether stage 2's teams (their `qualified_pairs`) go to worker processes, and which one
    (by position) is then solved in this process instead, on a lane of its own: None (no pool)
    when building and sending them would keep the workers waiting (POOL_MAX_PAIRS,
    POOL_SEND_SHARE), or when two teams are too large to solve beside another
    (POOL_MAX_TEAM_PAIRS); the one team that is, is the one solved here."""
    if lanes < 2 or len(pairs) < 2:
        return None
    total = sum(pairs)
    if total <= POOL_MAX_PAIRS:
        return set()
    large = {i for i, n in enumerate(pairs) if n > POOL_MAX_TEAM_PAIRS}
    sent = total - sum(pairs[i] for i in large)
    if len(large) > 1 or sent * POOL_SECONDS_PER_PAIR > POOL_SEND_SHARE * seconds_left:
        return None
    return large


def _polish(run: "_Run") -> None:
    """The time left once every team has started goes to the polishable teams that have plans
    not proved optimal, the largest gap (objective - bound) first, in proportion to their gaps
    (`polish_budget`), whenever a lane is free: each is solved again from its plan and the
    divisible optimum its first solve computed (`AllocSolution.flow`: XL key-account hybrid,
    stage 1's design kept, stage-2 gaps 1.34-1.47 % in three whole runs -> 1.14-1.38 % in
    four, where the flow took 0.5-0.9 s of a key-account team's 1.2-4 s again), and keeps the
    better plan and the higher bound. (M key-account hybrid: its key-account teams, at 0.2 s
    each, held 38 M of the 45 M gap, and its individuals team 0.6 M in its 4 s. L key-account
    hybrid: one lane idled 10 s while the other finished the individuals team, when polishing
    waited for it.)"""
    polished: set[int] = set()
    while not run.stopped():
        run.make_room(anywhere=True)
        if run.failed is not None:
            break
        gaps = _gaps_to_polish(run, polished)
        team = min(gaps, key=lambda t: (-gaps[t], t)) if gaps else None
        now = time.monotonic()
        room = run.clock.room(now)
        least = polish_least(room, len(gaps))
        budget = 0.0 if team is None else polish_budget(
            room, run.clock.deadline - now, gaps[team] / sum(gaps.values()), least)
        if budget < least:
            if not run.running:
                break
            run.wait_one()  # a team still running may yet need polishing, or free time
            continue
        polished.add(team)
        job = run.jobs[team]
        first = run.results[team][0]
        inst = job.inst if job.inst is not None else job.build()[0]
        again = replace(job, budget=budget, began=now, polish=True,
                        inst=replace(inst, hint_agent=first.item_agent, hint_flow=first.flow,
                                     hint_bound=first.bound))
        run.start(again)


def polish_budget(room: float, left: float, share: float,
                  least: float = POLISH_MIN_SECONDS) -> float:
    """A polish's time: `share` (its team's of the gaps) of the lane-seconds in `room`, but at
    least `least` (`polish_least`), and at most the `left` of a free lane. Without that least
    time S key-account hybrid's stage 2 ended 0.35 s early with five gaps whose largest, 9.4 of
    27.2 M, was worth 0.26 s; with it (six runs each) its gaps 0.151-0.160 % -> 0.114-0.145 %."""
    return min(left, max(least, room * share))


def polish_least(room: float, waiting: int) -> float:
    """The least time a polish is started with: POLISH_MIN_SECONDS, or less where the
    lane-seconds in `room` would not give each of the `waiting` teams that much (their even
    share of it), down to POLISH_LEAST_SECONDS. At 0.3 s S key-account hybrid's two lanes
    polished two of its three hard teams and then idled, 0.07-0.12 s left, the third's 4.5 M
    gap unpolished."""
    return max(POLISH_LEAST_SECONDS, min(POLISH_MIN_SECONDS, room / max(1, waiting)))


def _gaps_to_polish(run: "_Run", polished: set[int]) -> dict[int, int]:
    """Objective - bound of each polishable team with a plan not proved optimal, not running
    and not polished yet."""
    skip = polished | {job.team for job in run.running.values()}
    gaps = {}
    for team in run.jobs.keys() - skip:
        sol = run.results[team][0]
        gap = sol.objective - (sol.bound or 0)
        if sol.status == "FEASIBLE" and gap > 0:
            gaps[team] = gap
    return gaps


def _better(old, new):
    """Of two solutions of one team, the cheaper plan with the higher of the two bounds."""
    if new.status not in ("OPTIMAL", "FEASIBLE"):
        return old
    best = new if new.objective < old.objective else old
    bound = max(b for b in (old.bound, new.bound, -1 << 62) if b is not None)
    status = "OPTIMAL" if best.objective <= bound else "FEASIBLE"
    return replace(best, status=status, bound=bound, seconds=old.seconds + new.seconds)


def _totals(solved) -> dict:
    """Stage 2's objective, bound, terms, status and seconds over the teams' solutions."""
    totals = {"objective": 0, "bound": 0, "terms": {}, "status": "OPTIMAL", "seconds": 0.0}
    for sol, _ in solved:
        totals["objective"] += sol.objective
        # every objective term is >= 0, so a negative (not yet improved) bound is 0
        totals["bound"] += max(0, sol.bound or 0)
        totals["seconds"] += sol.seconds
        for k, v in sol.term_values.items():
            totals["terms"][k] = totals["terms"].get(k, 0) + v
        if sol.status != "OPTIMAL":
            totals["status"] = "FEASIBLE"
    return totals


class _Run:
    """One stage 2's teams in flight: where each is solved (a worker or here), their results,
    the first team found infeasible."""

    def __init__(self, p: Problemset, model_settings, done: dict, pool, clock: "_Lanes",
                 stop: threading.Event | None = None, here: set | None = None) -> None:
        self.p, self.model_settings, self.done, self.pool, self.clock, self.stop = \
            p, model_settings, done, pool, clock, stop
        self.here = here or set()  # teams solved on the pool's lane in this process
        self.levels = model_settings("stage 2", 1.0).levels
        self.results: dict[int, tuple] = {}  # team -> (solution, items)
        self.jobs: dict[int, _Job] = {}  # the polishable teams
        self.running: dict[int, _Job] = {}  # tag -> the team a worker solves
        self.failed: int | None = None

    def polishable(self, job: "_Job") -> bool:
        """Whether a team may get a second solve: up to POLISH_MAX_PAIRS pairs (a larger one's
        relaxation would start again from nothing), no outside constraints (they are solved
        here, not in a worker), one objective level (plans compare by objective)."""
        return (len(job.inst.pair_item) <= POLISH_MAX_PAIRS and not job.inst.extensions
                and (not self.levels or len(self.levels) == 1))

    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()

    def offsets(self) -> tuple[int, int]:
        """What the teams solved so far add to a team's objective and bound in progress."""
        return (sum(sol.objective for sol, _ in self.results.values()),
                sum(max(0, sol.bound or 0) for sol, _ in self.results.values()))

    def start(self, job: "_Job") -> None:
        """Solve a team in a worker (on the pool's lane in this process for a team too large to
        send: `here`), or here and now (no pool, outside constraints, no worker free). A
        worker's solve is shorter than the team's time by what sending it takes."""
        job.settings = self.model_settings(job.label, job.budget, self.offsets())
        if job.settings.progress is not None:  # say which team is being worked on
            job.settings.progress(Progress(job.label, 0.0, None, None))
        tag = None
        if self.pool is not None and not job.inst.extensions:  # (custom rules stay here)
            here = job.team in self.here
            sending = sending_seconds(len(job.inst.pair_item), here)
            tag = self.pool.submit(job.inst, replace(
                job.settings, workers=1, time_limit=sent_seconds(job.settings.time_limit, sending),
                beside_others=here), here, anywhere=job.polish)
        if tag is None:
            self.end(job, solve_allocation(job.inst, job.settings))
        else:
            self.running[tag] = job
            self.clock.started(job)

    def end(self, job: "_Job", sol) -> None:
        """Record a team's solution (solved here when its worker failed)."""
        if sol is None:
            sol = solve_allocation(job.inst, job.settings)
        if job.polish:
            self.clock.finished(job, time.monotonic())
            sol = _better(self.results[job.team][0], sol)
        else:
            if sol.status == "UNKNOWN":
                sol = solve_allocation(job.inst, self.model_settings(
                    job.label, max(job.budget, 5.0), self.offsets(), hurry=False))
            self.clock.finished(job, time.monotonic())
            if self.polishable(job):
                self.jobs[job.team] = job if len(job.inst.pair_item) <= POLISH_KEEP_PAIRS \
                    else replace(job, inst=None)
        self.done[job.key] = (sol, job.items)
        self.take(job.team, sol, job.items)

    def take(self, team: int, sol, items) -> None:
        """Keep a team's allocation; a team without one (none exists, or none was found even
        given more time) fails the design: another one is sought (`_stage2_with_redesigns`)."""
        if sol.status in ("INFEASIBLE", "UNKNOWN"):
            self.failed = int(team) if self.failed is None else self.failed
            if self.running:
                self.pool.abort()
            return
        self.results[int(team)] = (sol, items)

    def make_room(self, anywhere: bool = False) -> None:
        """Wait until a worker is free (when every one is busy), or any lane, the one in this
        process included, when `anywhere` (polishing: every team has been built and sent)."""
        while self.pool is not None and self.running and not self.pool.idle(anywhere):
            self._collect()

    def wait_one(self) -> None:
        """Wait until a running team ends."""
        if self.running:
            self._collect()

    def finish_running(self) -> None:
        while self.running:
            self._collect()

    def _collect(self) -> None:
        for tag, sol in self.pool.wait():
            self.end(self.running.pop(tag), sol)


def sent_seconds(budget: float, sending: float) -> float:
    """The time a team sent to a worker solves for: its `budget` less what `sending` it takes,
    but at least MIN_TEAM_SECONDS, or the budget itself when that is shorter (a team hurried
    after a cancel)."""
    return max(min(MIN_TEAM_SECONDS, budget), budget - sending)


@dataclass(eq=False)
class _Job:
    """A team being solved: what its time share was computed from, and its instance."""

    team: int
    key: tuple
    pairs: float
    budget: float
    began: float = field(default_factory=time.monotonic)
    inst: object = None
    items: object = None
    label: str = ""
    settings: object = None
    polish: bool = False  # a second solve, from the team's plan
    #: builds the instance again (`team_instance`): a polishable team's of more than
    #: POLISH_KEEP_PAIRS pairs is not kept until it is polished
    build: Callable[[], tuple] | None = None


class _Lanes:
    """Each team's share of stage 2's time: the time left on every lane, less what the running
    teams still have of theirs and the charge for the teams to come (`_Charge`), in proportion
    to the team's size (line x member pairs) plus a base the same for every team of the
    `teams` (TEAM_BASE_SHARE); at least `floor`."""

    def __init__(self, deadline: float, pairs: float, lanes: int, teams: int = 0) -> None:
        self.deadline, self.remaining, self.lanes = deadline, pairs, lanes
        self.teams_left = teams
        self.base = TEAM_BASE_SHARE * pairs / teams if teams else 0.0
        self.weights = pairs + self.base * teams
        self.charge = _Charge()
        self.running: set[_Job] = set()
        self.reserved = 0.0  # lane-seconds kept for polishing (`_polish`)

    def room(self, now: float) -> float:
        """The lane-seconds left, less what the running teams still have of theirs."""
        committed = sum(max(0.0, job.began + job.budget - now) for job in self.running)
        return self.lanes * (self.deadline - now) - committed

    def budget(self, pairs: float, now: float, factor: float = 1.0, least: float = 0.0) -> float:
        """The team's share; it gets `factor` of it now, or `least` where that is more by at
        most FLOW_FLOOR_REACH times and within the share (a first pass its flow fits in:
        `flow_floor`), and the rest is kept for later. Where the lanes can give every team
        MIN_TEAM_SECONDS, its least time is cut by the same factor, down to
        HURRIED_TEAM_SECONDS: a team that may be polished gets its time back there if its gap
        asks for it. (M key-account hybrid's 20 key-account teams each took
        the 0.2 s floor at first, nearly half of stage 2's lane-seconds, and polishing reached
        one or two of the four teams holding most of the gap: stage-2 gaps 0.55-0.76 %, six
        fresh runs, against 0.41-0.70 % with the floor cut to 0.06 s. Where the floor is
        already less, S's, the time a cut frees is too short to polish with: S region x
        function's solves ended at 1.76-1.90 s of their 2 s, their gaps 0.81-1.00 %.)"""
        left = self.deadline - now
        room = self.room(now) - self.reserved - self.remaining * self.charge.per_pair
        share = room * (pairs + self.base) / max(self.weights, 1.0)
        floor = self.floor(now)
        if floor >= MIN_TEAM_SECONDS:
            floor = max(HURRIED_TEAM_SECONDS, floor * factor)
        self.skip(pairs)
        part = share * factor
        if part < least <= min(share, FLOW_FLOOR_REACH * part):
            part = least
        self.reserved += max(0.0, share - part)
        return max(floor, min(left, part) if self.lanes > 1 else part)

    def floor(self, now: float) -> float:
        """A team's least time: MIN_TEAM_SECONDS, or what the lanes have left for each team
        still to start, less their charge, when that is less, down to HURRIED_TEAM_SECONDS
        (S's 15-21 teams at 0.2 s each ended stage 2 0.3-0.6 s after the time limit; XL region
        x function at 30 s, its teams built here, 8 of 15 at 0.2 s while their building
        alone took what was left: the solve ended at 30.8-31.4 s)."""
        if self.teams_left <= 0:
            return MIN_TEAM_SECONDS
        room = self.room(now) - self.remaining * self.charge.per_pair
        return min(MIN_TEAM_SECONDS, max(HURRIED_TEAM_SECONDS, room / self.teams_left))

    def skip(self, pairs: float) -> None:
        self.teams_left -= 1
        self.remaining -= pairs
        self.weights -= pairs + self.base

    def started(self, job: _Job) -> None:
        self.running.add(job)

    def finished(self, job: _Job, now: float) -> None:
        self.running.discard(job)
        self.charge.add(job.pairs, now - job.began - job.budget)


class _Charge:
    """The seconds each team's pair costs beyond the team's share (building its instance,
    repairing its start, the model's own set-up): TEAM_FIXED_SECONDS_PER_PAIR until solved
    teams show more (a slower machine, teams short of reps whose repairs take long), so that
    the teams still to come leave room for it and stage 2 ends near the time limit. Only teams
    of at least CHARGE_MIN_PAIRS count: a small team's overrun is its solve's set-up, a tenth
    of a second whatever its size, and charged per pair it would starve the large teams."""

    def __init__(self) -> None:
        self.pairs, self.seconds = 0.0, 0.0

    def add(self, pairs: float, beyond_share: float) -> None:
        if pairs >= CHARGE_MIN_PAIRS:
            self.pairs += pairs
            self.seconds += beyond_share

    @property
    def per_pair(self) -> float:
        seen = self.seconds / self.pairs if self.pairs else 0.0
        return max(TEAM_FIXED_SECONDS_PER_PAIR, seen)


def _solve_all_teams_at_once(p: Problemset, s1, start: float, time_limit: float,
                             model_settings) -> tuple[np.ndarray, dict, int | None]:
    """Stage 2 as one model over every team (each account only to reps of its team), so that
    caps on objective terms hold for the whole plan."""
    quotas = np.zeros((p.n_reps, len(p.classes)))
    np.add.at(quotas, np.nonzero(p.qualified), s1.hours)
    agents = np.arange(p.n_reps)
    inst, items = allocation_instance(p, np.arange(len(p.lines)), agents, s1.is_manager,
                                      quotas=quotas, agent_team=s1.rep_team)
    left = max(MIN_TEAM_SECONDS, time_limit - (time.monotonic() - start))
    sol = solve_allocation(inst, model_settings("stage 2: all teams", left))
    if sol.status == "INFEASIBLE":
        raise InfeasibleError(["no allocation of the accounts meets the caps on "
                               f"{', '.join(sorted(model_settings('', 0).term_limits or {}))} "
                               "for the teams stage 1 designed"],
                              ["raise the cap", "raise the time limit"])
    if sol.status == "UNKNOWN":
        raise NoPlanError("no allocation was found within the time limit; raise the time limit")
    totals = {"objective": sol.objective, "bound": max(0, sol.bound or 0),
              "terms": dict(sol.term_values), "status": sol.status, "seconds": sol.seconds}
    return line_reps(items, sol.item_agent), totals, None


def _rescue(p: Problemset, team: int | None, start: float, time_limit: float,
            model_settings, short_design: tuple | None = None) -> tuple[Decision, SolveReport]:
    """A team's lines could not be split among its reps within the band, or stage 1's best
    design (`short_design`: pair reps and the design) leaves reps below the band: try the
    joint model on small instances, else explain which team, or which reps, and why."""
    joint = joint_pairs(p) <= JOINT_MAX_PAIRS
    if joint:
        left = max(5.0, time_limit - (time.monotonic() - start))
        try:
            return _solve_joint(p, model_settings(RESCUE, left), start)
        except NoPlanError:
            if short_design is None:
                raise
    rules = p.scenario.rules
    if team is None:
        raise below_band(p, *short_design, joint_tried=joint)
    # not proven infeasible: another team design may well work, so this is "no plan in time"
    raise NoPlanError(
        f"no plan was found within the time limit: the team design found so far gives team "
        f"{p.org.teams[team].team_id!r} reps whose accounts cannot be divided so that each lands "
        f"between {rules.utilization.min:.0%} and {rules.utilization.max:.0%} of capacity "
        "(accounts are indivisible, one rep per account and function). Raise the time limit "
        "(--time-limit) so that stage 1 finds another team design, or widen rules.utilization"
        + ("" if rules.allow_unmet else ", or allow unmet demand (rules.allow_unmet: true)"))


def _solve_joint(p: Problemset, settings: SolveSettings, start: float) -> tuple[Decision, SolveReport]:
    inst, items = joint_instance(p)
    sol = solve_joint(inst, settings)
    if sol.status == "INFEASIBLE":
        raise explain(p, _explain_settings(settings)) or indivisible(p)
    if sol.objective is None:
        raise NoPlanError("the joint model found no plan within the time limit")
    decision = Decision(sol.rep_team, sol.is_manager, sol.hired_managers,
                        line_reps(items, sol.item_agent))
    report = _report(p, sol.objective, sol.bound, start, "joint", stage1={},
                     stage2={"status": sol.status},
                     term_values={k: v / p.obj_scale for k, v in sol.term_values.items()})
    return decision, report


def _report(p: Problemset, objective_int: int, bound_int: int | None, start: float, method: str,
            stage1: dict, stage2: dict, term_values: dict) -> SolveReport:
    """The plan's figures. Only the joint model proves a bound for the whole scenario; a
    two-stage plan is FEASIBLE with no best bound, and its `stage2` figures say how far the
    account allocation is from the best one for the teams stage 1 designed."""
    gap = _gap(objective_int, bound_int)
    status = "OPTIMAL" if method == "joint" and stage2.get("status") == "OPTIMAL" else "FEASIBLE"
    return SolveReport(status, _norm(p, objective_int), _norm(p, bound_int), gap,
                       round(time.monotonic() - start, 3), method, stage1, stage2, term_values)


def _gap(objective: int | None, bound: int | None) -> float | None:
    if objective is None or bound is None:
        return None
    if objective <= bound:
        return 0.0
    return (objective - bound) / max(abs(objective), 1)


def _norm(p: Problemset, value: int | None, offset: float = 0.0) -> float | None:
    return None if value is None else (value + offset) / p.obj_scale
