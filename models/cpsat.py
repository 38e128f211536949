"""Running CP-SAT the same way for every model: parameters from SolveSettings, progress
reports, cancellation, and weighted or lexicographic objectives over named terms."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

from ortools.sat.python import cp_model

from models.extensions import CUSTOM_TERM
from models.instances import Progress, SolveSettings

T = TypeVar("T")
STATUS_NAMES = {cp_model.OPTIMAL: "OPTIMAL", cp_model.FEASIBLE: "FEASIBLE",
                cp_model.INFEASIBLE: "INFEASIBLE", cp_model.MODEL_INVALID: "MODEL_INVALID",
                cp_model.UNKNOWN: "UNKNOWN"}


@dataclass(frozen=True)
class Outcome:
    """What a (possibly multi-level) solve gives: the status, the captured solution of the last
    level that found one, the objective and bound of the first level, the seconds spent."""

    status: str
    solution: Any
    objective: int | None
    bound: int | None
    term_values: dict[str, int]
    seconds: float
    level_bounds: tuple[int, ...]


def add_hints_at_once(model: cp_model.CpModel, variables: list, values) -> None:
    """Hint many variables (not negated literals; constants are skipped) in one call:
    model.add_hint costs a few microseconds per variable, seconds on large companies."""
    pairs = [(v.index, int(x)) for v, x in zip(variables, values, strict=True)
             if not isinstance(v, int)]  # a constant (a pair ruled out) is no variable
    hint = model.proto.solution_hint
    hint.vars.extend([i for i, _ in pairs])
    hint.values.extend([x for _, x in pairs])


def new_solver(settings: SolveSettings, time_limit: float) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    params = solver.parameters
    params.max_time_in_seconds = max(0.05, time_limit)
    params.num_workers = settings.workers
    params.random_seed = settings.seed
    params.relative_gap_limit = settings.relative_gap_limit
    params.log_search_progress = False
    params.linearization_level = settings.linearization_level
    params.cp_model_presolve = settings.presolve
    if settings.linearization_level >= 2 and settings.workers > 1:
        # in a portfolio, only the "max_lp" worker uses the full linearisation
        params.subsolvers.extend(["max_lp", "default_lp", "quick_restart", "reduced_costs",
                                  "pseudo_costs", "core", "no_lp", "lb_tree_search"])
    return solver


class _Reporter(cp_model.CpSolverSolutionCallback):
    def __init__(self, settings: SolveSettings, start: float):
        super().__init__()
        self._settings = settings
        self._start = start
        self.last_objective: int | None = None
        self.last_improvement = time.monotonic()

    def on_solution_callback(self) -> None:
        self.last_objective = int(round(self.objective_value))
        self.last_improvement = time.monotonic()
        self.report(int(math.floor(self.best_objective_bound + 1e-6)))
        if self._settings.stop is not None and self._settings.stop.is_set():
            self.stop_search()

    def report(self, bound: int | None) -> None:
        if self._settings.progress is not None:
            self._settings.progress(Progress(self._settings.stage, time.monotonic() - self._start,
                                             self.last_objective, bound))


def run(model: cp_model.CpModel, settings: SolveSettings, time_limit: float,
        start: float | None = None) -> tuple[cp_model.CpSolver, int]:
    """Solve once with progress and cancellation; returns the solver and its status."""
    start = time.monotonic() if start is None else start
    solver = new_solver(settings, time_limit)
    reporter = _Reporter(settings, start)
    if settings.progress is not None and model.has_objective():
        solver.best_bound_callback = lambda b: reporter.report(int(math.floor(b + 1e-6)))
    done = threading.Event()
    if settings.stop is not None or settings.stall_seconds is not None:
        def watch() -> None:
            while not done.wait(0.1):
                cancelled = settings.stop is not None and settings.stop.is_set()
                stalled = (settings.stall_seconds is not None
                           and reporter.last_objective is not None
                           and time.monotonic() - reporter.last_improvement
                           > settings.stall_seconds)
                if cancelled or stalled:
                    solver.stop_search()
                    return
        threading.Thread(target=watch, daemon=True).start()
    try:
        status = solver.solve(model, reporter)
    finally:
        done.set()
    return solver, status


def solve_levels(model: cp_model.CpModel, terms: dict[str, cp_model.LinearExprT],
                 settings: SolveSettings, capture: Callable[[cp_model.CpSolver], T],
                 evaluate: Callable[[T], dict[str, int]] | None = None,
                 start: float | None = None) -> Outcome:
    """Minimise the terms by levels (see SolveSettings.levels); between levels each is held
    within `tolerance` of its value and the solution found is the next level's hint.

    `evaluate` recomputes each term's value from a captured solution: after a level is held
    at "<= value", auxiliary variables (deviations, served pairs) of terms outside the current
    objective may sit above their true value, so term values are read from the plan itself.
    Progress times count from `start` (default: now), so that work done before the solve (a
    warm start) is on the same clock."""
    start = time.monotonic() if start is None else start
    names = [n for n in terms]
    levels = settings.levels or (tuple(names),)
    levels = [tuple(n for n in lvl if n in terms) for lvl in levels]
    levels = [lvl for lvl in levels if lvl] or [()]
    if CUSTOM_TERM in terms and not any(CUSTOM_TERM in lvl for lvl in levels):
        levels[0] = levels[0] + (CUSTOM_TERM,)  # custom terms weigh with the first priority
    clock = time.monotonic()
    for name, limit in (settings.term_limits or {}).items():
        if name in terms:
            model.add(terms[name] <= int(limit))
    captured, statuses, first_obj, first_bound = None, [], None, None
    values: dict[str, int] = {}
    level_bounds: list[int] = []
    for i, level in enumerate(levels):
        expr = sum((terms[n] for n in level), 0)
        model.minimize(expr)
        remaining = settings.time_limit - (time.monotonic() - clock)
        budget = remaining / (len(levels) - i)
        if captured is not None and budget <= 0.05:
            break
        solver, status = run(model, settings, budget, start)
        statuses.append(status)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            if i == 0 or status == cp_model.MODEL_INVALID:
                return Outcome(STATUS_NAMES[status], None, None, None, {},
                               time.monotonic() - start, ())
            break
        captured = capture(solver)
        values = {n: int(round(solver.value(terms[n]))) for n in names}
        value = int(round(solver.objective_value))
        bound = int(math.floor(solver.best_objective_bound + 1e-6))
        level_bounds.append(bound)
        if i == 0:
            first_obj, first_bound = value, bound
        if i + 1 < len(levels):
            model.add(expr <= value + int(math.floor(settings.tolerance * abs(value))))
            _hint_solution(model, solver)
        if settings.stop is not None and settings.stop.is_set():
            break
    if captured is None:
        return Outcome("UNKNOWN", None, None, None, {}, time.monotonic() - start, ())
    if evaluate is not None:
        values = {**values, **evaluate(captured)}  # terms it cannot count keep the solver's
    if len(levels) == 1 and levels[0]:
        first_obj = sum(values[n] for n in levels[0])
    optimal = all(s == cp_model.OPTIMAL for s in statuses) and len(statuses) == len(levels)
    return Outcome("OPTIMAL" if optimal else "FEASIBLE", captured, first_obj, first_bound,
                   values, time.monotonic() - start, tuple(level_bounds))


def solve_summed(model: cp_model.CpModel, names: tuple[str, ...], settings: SolveSettings,
                 capture: Callable[[cp_model.CpSolver], T],
                 evaluate: Callable[[T], dict[str, int]]) -> Outcome:
    """`solve_levels` for a model whose objective, the terms `names` summed, it already has
    (written into its proto, without an expression per term: models.allocation_proto): one
    level, each term's value recomputed from the captured solution."""
    start = time.monotonic()
    solver, status = run(model, settings, settings.time_limit, start)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return Outcome(STATUS_NAMES[status], None, None, None, {}, time.monotonic() - start, ())
    captured = capture(solver)
    values = evaluate(captured)
    bound = int(math.floor(solver.best_objective_bound + 1e-6))
    return Outcome(STATUS_NAMES[status], captured, sum(values[n] for n in names), bound, values,
                   time.monotonic() - start, (bound,))


def _hint_solution(model: cp_model.CpModel, solver: cp_model.CpSolver) -> None:
    values = list(solver.response_proto.solution)
    model.clear_hints()
    model.proto.solution_hint.vars.extend(range(len(values)))
    model.proto.solution_hint.values.extend(values)

