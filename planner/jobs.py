"""A solve running in a background thread, so a user interface stays responsive: it records
progress (objective and bound over time) and can be cancelled, keeping the best plan found.

CP-SAT releases the GIL while it searches, so a thread is enough; the stop event reaches the
solver through planner.run.solve.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import pandas as pd

from planner.data import Company
from planner.errors import InfeasibleError, NoPlanError, PlannerError
from planner.plan import Plan
from planner.run import solve
from planner.scenario import Scenario
from planner.solve import SolveProgress

#: kpis.json key marking a plan whose solve was cancelled (the best plan found by then).
CANCELLED_KEY = "cancelled"


@dataclass
class SolveJob:
    """One scenario being solved; read `events`, `plan` and `error` from any thread."""

    scenario: Scenario
    company: Company | None = None
    time_limit: float | None = None
    events: list[SolveProgress] = field(default_factory=list)
    plan: Plan | None = None
    error: PlannerError | None = None
    started_at: float = 0.0
    finished_at: float | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> "SolveJob":
        self.started_at = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=f"solve {self.scenario.name}",
                                        daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            plan = solve(self.scenario, self.company, progress=self.events.append,
                         stop=self._stop, time_limit=self.time_limit)
            if self._stop.is_set():
                plan.kpis[CANCELLED_KEY] = True
            self.plan = plan
        except PlannerError as err:
            self.error = err
            if self._stop.is_set() and isinstance(err, (InfeasibleError, NoPlanError)):
                # stopped in stage 1: its team design so far could not be turned into a plan
                self.error = NoPlanError("the solve was cancelled before a complete plan was "
                                         "found; solve again and cancel later, or let it run")
        except Exception as err:  # a bug: shown, not swallowed, and the UI keeps running
            self.error = PlannerError(f"the solve failed unexpectedly: {type(err).__name__}: "
                                      f"{err}")
        finally:
            self.finished_at = time.monotonic()

    def cancel(self) -> None:
        """Stop the search; the best plan found so far becomes the result."""
        self._stop.set()

    @property
    def cancelled(self) -> bool:
        return self._stop.is_set()

    @property
    def done(self) -> bool:
        return self.finished_at is not None

    def wait(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.done

    @property
    def limit(self) -> float:
        return float(self.time_limit or self.scenario.solver.time_limit)

    def fraction(self) -> float:
        """Share of the time limit used (the progress bar), 1.0 when done."""
        if self.done:
            return 1.0
        return min(0.99, (time.monotonic() - self.started_at) / max(self.limit, 1e-9))

    def history(self) -> pd.DataFrame:
        """Objective and bound over time (normalised as the solver reports them)."""
        rows = [{"seconds": e.elapsed, "stage": e.stage, "objective": e.objective,
                 "bound": e.bound} for e in list(self.events)]
        return pd.DataFrame(rows, columns=["seconds", "stage", "objective", "bound"])

    def status_line(self) -> str:
        """One sentence for the progress bar."""
        if self.done:
            seconds = (self.finished_at or 0) - self.started_at
            return f"done in {seconds:.1f} s" if self.error is None else "stopped with an error"
        last = self.events[-1] if self.events else None
        if last is None:
            return "preparing the model"
        shown = f"{last.stage}, {last.elapsed:.0f} of {self.limit:.0f} s"
        if last.objective is not None:
            shown += f", best objective {last.objective:,.4g}"
        if last.bound is not None:
            shown += f", bound {last.bound:,.4g}"
        return shown
