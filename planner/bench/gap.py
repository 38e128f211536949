"""OR-Library generalized assignment instances: read one, solve it with the planner's stage-2
allocation engine or with HiGHS, and check any answer independently.

An instance file is one stream of integers: m n, then m rows of costs c[i][j], m rows of
weights w[i][j], then the m capacities b[i]. Job j goes to exactly one agent i; each agent's
weights stay within its capacity; the cost is minimised (the 17 benchmark instances are
minimisation problems; `maximise` turns gap1-gap12 into OR-Library's profit sense).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import highspy
import numpy as np

from models.allocation import solve_allocation
from models.highs import quiet_highs
from models.instances import AllocationInstance, AllocTerm, SolveSettings
from planner.errors import InputError, Problem


@dataclass(frozen=True)
class GapInstance:
    name: str
    cost: np.ndarray  # (m, n)
    weight: np.ndarray  # (m, n)
    capacity: np.ndarray  # (m,)

    @property
    def agents(self) -> int:
        return self.cost.shape[0]

    @property
    def jobs(self) -> int:
        return self.cost.shape[1]


@dataclass(frozen=True)
class GapResult:
    """One solver's answer, in the shape `gap FILE --json` prints."""

    instance: str
    solver: str
    objective: int | None
    bound: float | None
    seconds: float
    assignment: list[int] | None  # agent (0-based) of each job
    optimal: bool = False

    def as_json(self) -> dict:
        return {"instance": self.instance, "objective": self.objective, "bound": self.bound,
                "seconds": round(self.seconds, 3), "assignment": self.assignment}


def read_gap(path: Path) -> GapInstance:
    """Read one instance; InputError names the file and what is wrong with it."""
    try:
        tokens = path.read_text(encoding="ascii").split()
    except FileNotFoundError:
        raise InputError(Problem("no such file", file=str(path))) from None
    except (UnicodeDecodeError, IsADirectoryError):
        raise InputError(Problem("not a generalized assignment instance (whitespace-separated "
                                 "integers)", file=str(path))) from None
    try:
        values = np.array([int(t) for t in tokens], dtype=np.int64)
    except ValueError as exc:
        raise InputError(Problem(f"every value must be a whole number ({exc})",
                                 file=str(path))) from None
    if len(values) < 2 or values[0] < 1 or values[1] < 1:
        raise InputError(Problem("the file must start with the number of agents and of jobs",
                                 file=str(path)))
    m, n = int(values[0]), int(values[1])
    expected = 2 + 2 * m * n + m
    if len(values) != expected:
        raise InputError(Problem(f"{m} agents and {n} jobs need {expected} numbers, the file "
                                 f"has {len(values)}", file=str(path)))
    cost = values[2:2 + m * n].reshape(m, n)
    weight = values[2 + m * n:2 + 2 * m * n].reshape(m, n)
    capacity = values[2 + 2 * m * n:]
    if np.any(weight < 0) or np.any(capacity < 0):
        raise InputError(Problem("weights and capacities cannot be negative", file=str(path)))
    return GapInstance(path.name, cost, weight, capacity)


def as_allocation(gap: GapInstance, maximise: bool = False) -> AllocationInstance:
    """The instance as a stage-2 allocation: jobs are items, agents are reps with a band of
    0 to capacity; a pair whose weight alone exceeds the capacity gets no variable."""
    agent, job = np.nonzero(gap.weight <= gap.capacity[:, None])
    order = np.lexsort((agent, job))
    agent, job = agent[order], job[order]
    cost = gap.cost[agent, job]
    return AllocationInstance(
        agent_lo=np.zeros(gap.agents, dtype=np.int64), agent_hi=gap.capacity.copy(),
        pair_item=job, pair_agent=agent, pair_weight=gap.weight[agent, job],
        item_optional=np.zeros(gap.jobs, dtype=bool),
        terms={"cost": AllocTerm(pair=-cost if maximise else cost)})


def check(gap: GapInstance, assignment: list[int] | np.ndarray) -> int:
    """The cost of an assignment, recomputed from the instance; raises when it breaks a rule."""
    a = np.asarray(assignment, dtype=np.int64)
    if a.shape != (gap.jobs,) or np.any(a < 0) or np.any(a >= gap.agents):
        raise ValueError("every job needs one agent in 0..m-1")
    jobs = np.arange(gap.jobs)
    load = np.bincount(a, weights=gap.weight[a, jobs], minlength=gap.agents)
    if np.any(load > gap.capacity):
        over = int(np.argmax(load - gap.capacity))
        raise ValueError(f"agent {over} is over its capacity ({load[over]:.0f} > "
                         f"{gap.capacity[over]})")
    return int(gap.cost[a, jobs].sum())


def solve_with_planner(gap: GapInstance, time_limit: float, workers: int = 2, seed: int = 0,
                       maximise: bool = False) -> GapResult:
    """Solve with the stage-2 allocation engine (models.allocation.solve_allocation)."""
    began = time.monotonic()
    inst = as_allocation(gap, maximise)
    settings = SolveSettings(time_limit=time_limit, workers=workers, seed=seed,
                             linearization_level=2)
    sol = solve_allocation(inst, settings)
    seconds = time.monotonic() - began
    if sol.status not in ("OPTIMAL", "FEASIBLE"):
        return GapResult(gap.name, "planner", None, None, seconds, None)
    sign = -1 if maximise else 1
    assignment = [int(a) for a in sol.item_agent]
    bound = None if sol.bound is None else float(sign * sol.bound)
    return GapResult(gap.name, "planner", check(gap, assignment), bound, seconds, assignment,
                     sol.status == "OPTIMAL")


def solve_with_highs(gap: GapInstance, time_limit: float, threads: int = 2,
                     maximise: bool = False) -> GapResult:
    """Solve the plain 0-1 model with HiGHS (one of the project's dependencies)."""
    began = time.monotonic()
    inst = as_allocation(gap, maximise)
    n_pairs = len(inst.pair_item)
    h = quiet_highs()
    h.setOptionValue("time_limit", float(time_limit))
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("threads", int(threads))
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n_pairs, gap.jobs + gap.agents
    lp.col_cost_ = inst.terms["cost"].pair.astype(float)
    lp.col_lower_, lp.col_upper_ = np.zeros(n_pairs), np.ones(n_pairs)
    lp.row_lower_ = np.concatenate([np.ones(gap.jobs), np.full(gap.agents, -highspy.kHighsInf)])
    lp.row_upper_ = np.concatenate([np.ones(gap.jobs), gap.capacity.astype(float)])
    # column-wise: pair p sits in its job's row and its agent's row
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.arange(0, 2 * n_pairs + 1, 2, dtype=np.int32)
    rows = np.empty(2 * n_pairs, dtype=np.int32)
    rows[0::2], rows[1::2] = inst.pair_item, gap.jobs + inst.pair_agent
    values = np.empty(2 * n_pairs)
    values[0::2], values[1::2] = 1.0, inst.pair_weight
    lp.a_matrix_.index_, lp.a_matrix_.value_ = rows, values
    lp.integrality_ = [highspy.HighsVarType.kInteger] * n_pairs
    h.passModel(lp)
    h.run()
    seconds = time.monotonic() - began
    info = h.getInfo()
    if info.primal_solution_status != 2:  # kSolutionStatusFeasible
        return GapResult(gap.name, "HiGHS", None, None, seconds, None)
    x = np.asarray(h.getSolution().col_value) > 0.5
    assignment = np.full(gap.jobs, -1, dtype=np.int64)
    assignment[inst.pair_item[x]] = inst.pair_agent[x]
    sign = -1 if maximise else 1
    optimal = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    return GapResult(gap.name, "HiGHS", check(gap, assignment),
                     float(sign * info.mip_dual_bound), seconds,
                     [int(a) for a in assignment], optimal)
