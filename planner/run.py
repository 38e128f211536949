"""Run a scenario end to end: load its data, solve it (or lay out a baseline organisation), and
return the plan. The one entry point the CLI, the app and notebooks share."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np

from planner.baseline import STRATEGIES, current_organisation, round_robin
from planner.contracts import MANAGEMENT_UNIT
from planner.data import Company, load_scenario_data
from planner.errors import UsageError
from planner.instance import Problemset, prepare
from planner.objective import Decision, evaluate, total
from planner.plan import Plan, build_plan
from planner.scenario import Scenario, load_scenario
from planner.solve import ProgressFn, solve_problem

#: How today's organisation is labelled: its teams are the reps' current_team, not an org model.
CURRENT_ORG_MODEL = "today's teams (current_team)"
#: Building a plan and its KPIs took about PLAN_SECONDS + this per demand line (2026-11-30: 1.8 s
#: on XL's 277,000 lines, 0.13 s on M's 27,600, 0.03 s on S's 2,800); the solve leaves it that
#: much of its time limit. Since the plan passes its rows to the KPIs (`kpis.Rows`), XL's takes
#: 0.9-1.0 s: the rest is kept as a margin (stage 2 may end a little past its time). On
#: 2026-12-01 XL's plan took 1.3-2.1 s and stage 2 ended 0.15-0.2 s past its time, and 4 of 10
#: solves at 30 s took 30.08-30.23 s with 6.5e-6 (1.8 s on XL): now 2.5 s
PLAN_SECONDS_PER_LINE = 9e-6
#: ... and this whatever the size (2026-12-01: S's plans took 0.08-0.16 s, median 0.11 s of
#: 12, against the 0.046 s left for them with 0.02; M's 0.26-0.29 s against 0.27 s)
PLAN_SECONDS = 0.08


def load_data(scenario: Scenario) -> Company:
    """The scenario's company, its data edits applied."""
    return load_scenario_data(scenario)


def solve(scenario: Scenario | str | Path, company: Company | None = None,
          progress: ProgressFn | None = None, stop: threading.Event | None = None,
          time_limit: float | None = None, seed: int | None = None,
          workers: int | None = None, method: str = "auto",
          limits: dict[str, float] | None = None) -> Plan:
    """Solve a scenario into a plan; InfeasibleError explains conflicting rules. `limits`
    caps objective terms (see planner.solve.solve_problem). The time limit is the whole
    call's: reading the data (when `company` is not given), solving, building the plan."""
    began = time.monotonic()
    scenario = _scenario(scenario)
    company = company or load_data(scenario)
    p = prepare(company, scenario)
    decision, report = solve_problem(p, progress, stop, method=method, limits=limits,
                                     began=began, finish_seconds=plan_seconds(p),
                                     time_limit=time_limit, seed=seed, workers=workers)
    solver = {"status": report.status, "objective": report.objective,
              "best_bound": report.best_bound, "gap": report.gap,
              "solve_seconds": report.seconds, "method": report.method,
              "objective_terms": report.term_values, "stage1": report.stage1,
              "stage2": report.stage2}
    return _org_plan(p, decision, solver)


def baseline(scenario: Scenario | str | Path, strategy: str = "current",
             company: Company | None = None) -> Plan:
    """Today's organisation ("current") or CRM-style round-robin ("round-robin"), measured with
    the scenario's KPIs and objective."""
    if strategy not in STRATEGIES:
        raise UsageError(f"unknown baseline strategy {strategy!r}; use {' or '.join(STRATEGIES)}")
    scenario = _scenario(scenario)
    company = company or load_data(scenario)
    p = prepare(company, scenario)
    none = np.zeros(company.n_reps, dtype=bool)
    if strategy == "current":
        teams, rep_team, line_rep = current_organisation(company)
        owner_team = np.where(line_rep >= 0, rep_team[np.maximum(line_rep, 0)], "")
        decision = Decision(np.zeros(company.n_reps, dtype=np.int64), none,
                            np.zeros(0, dtype=np.int64), line_rep)
        solver = {**_baseline_solver(p, decision, "current organisation"),
                  "org_model": CURRENT_ORG_MODEL}
        return build_plan(company, scenario, teams, rep_team, none, owner_team, line_rep, {},
                          solver)
    rep_team, line_rep = round_robin(p)
    decision = Decision(rep_team, none, np.zeros(p.org.n_teams, dtype=np.int64), line_rep)
    return _org_plan(p, decision, _baseline_solver(p, decision, "round-robin"))


def _org_plan(p: Problemset, d: Decision, solver: dict) -> Plan:
    """A plan whose teams are the scenario's org model."""
    teams = p.org.teams_frame()
    teams[MANAGEMENT_UNIT] = np.asarray(p.org.units, dtype=object)[p.org.unit_of_team]
    team_ids = teams["team_id"].to_numpy()
    first_team_of_unit = {}
    for t, u in enumerate(p.org.unit_of_team.tolist()):
        first_team_of_unit.setdefault(u, team_ids[t])
    hired = {first_team_of_unit[u]: int(n) for u, n in enumerate(d.hired_managers.tolist()) if n}
    return build_plan(p.company, p.scenario, teams, team_ids[d.rep_team], d.is_manager,
                      team_ids[p.org.line_team], d.line_rep, hired, solver)


def plan_seconds(p: Problemset) -> float:
    """About how long building the plan and its KPIs takes after the solve."""
    return PLAN_SECONDS + PLAN_SECONDS_PER_LINE * len(p.lines)


def _baseline_solver(p: Problemset, d: Decision, method: str) -> dict:
    """Baselines are not solved: their objective is the scenario's objective evaluated on them."""
    terms = evaluate(p, d)
    return {"status": "FEASIBLE", "objective": total(p, terms), "best_bound": None, "gap": None,
            "solve_seconds": 0.0, "method": method, "objective_terms": terms}


def _scenario(scenario: Scenario | str | Path) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
