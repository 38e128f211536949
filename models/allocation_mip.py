"""The allocation as a mixed-integer program, solved by SCIP (bundled with OR-Tools) in a
process of its own beside the planner's own engine.

On small tight instances a branch-and-cut with knapsack cover cuts proves what CP-SAT and the
neighbourhood search do not: the GAP benchmark's e20100 (20 agents, 100 jobs) at 8,436 in
16-19 s on one core, where the engine ended at 8,441-8,456 in 60 s on two. On the loose ones
(d20100) its plans are far behind, so it only ever runs beside the engine, never instead,
and the engine ends it and takes its worker where its relaxation is found loose
(models.allocation: `_claims_spare_worker`).
pywraplp holds the interpreter while SCIP runs, which would stop the engine's Python half:
hence the process (a plain `python -c`, fed the model over a pipe, like planner.team_pool's).
"""

from __future__ import annotations

import math
import subprocess
import sys
import threading

import numpy as np
from google.protobuf.message import DecodeError

from models.instances import AllocationInstance, SolveSettings, summed_terms

#: the largest instance (item x agent pairs) given to SCIP: the GAP benchmark's 100- and
#: 200-job ones (up to 20 agents). Alone on one core for 59 s it proved e20200 (22,379) in
#: 55 s and c20200 in 24 s, but ended d20200 at 12,351 (the engine: 12,272); on larger ones
#: its branch-and-cut gets too few nodes in a minute to matter, and the engine would lose one
#: of its two cores for nothing
MIP_MAX_PAIRS = 4_000
#: the shortest time limit for which it starts (starting the process and its root take about
#: a second; a team in a company-wide solve gets far less and keeps both cores)
MIP_MIN_SECONDS = 10.0
#: SCIP's time limit is this much shorter than the solve's (starting, reading the answer)
MIP_MARGIN_SECONDS = 1.0


def mip_applies(inst: AllocationInstance, settings: SolveSettings) -> bool:
    """Whether SCIP runs beside the engine: two workers or more (it takes one), a time limit
    of MIP_MIN_SECONDS or more, at most MIP_MAX_PAIRS pairs, and nothing the program does not
    model (outside constraints, caps on terms, priorities)."""
    return (settings.workers >= 2 and settings.time_limit >= MIP_MIN_SECONDS
            and 0 < len(inst.pair_item) <= MIP_MAX_PAIRS and not inst.extensions
            and not settings.term_limits and (not settings.levels or len(settings.levels) == 1))


def mip_request(inst: AllocationInstance, names: tuple[str, ...], seconds: float,
                hint: np.ndarray | None = None, seed: int = 0):
    """The program (an MPModelRequest for SCIP): a 0-1 variable per pair and per optional item
    left out, one per (account, agent) a travel cost counts once for, a deviation per agent;
    the same objective as the engine's (the terms `names` sum). SCIP stops at a proved optimum
    only (no gap allowed), its constraints permuted by `seed` + 1 (SCIP's 0 keeps the
    model's order, which on e20100 took more than 59 s where seeds 1, 2, 3 took 16, 16, 19 s)."""
    from ortools.linear_solver import linear_solver_pb2 as pb
    model = pb.MPModelProto()
    n_pairs = len(inst.pair_item)
    summed = summed_terms(inst, names)
    pair_cost, none_cost, dev_cost = summed.pair, summed.unassigned, summed.deviation
    model.objective_offset = float(summed.constant)
    for p in range(n_pairs):
        model.variable.add(lower_bound=0, upper_bound=1, is_integer=True,
                           objective_coefficient=float(pair_cost[p]))
    if inst.fixed_agent is not None:
        pinned = inst.fixed_agent[inst.pair_item] >= 0
        for p in np.nonzero(pinned & (inst.fixed_agent[inst.pair_item] != inst.pair_agent))[0]:
            model.variable[int(p)].upper_bound = 0
    by_item = _group(inst.pair_item, inst.n_items)
    for i, pairs in enumerate(by_item):
        row = model.constraint.add(lower_bound=1, upper_bound=1)
        row.var_index.extend(pairs)
        row.coefficient.extend([1.0] * len(pairs))
        if inst.item_optional[i]:
            row.var_index.append(len(model.variable))
            row.coefficient.append(1.0)
            model.variable.add(lower_bound=0, upper_bound=1, is_integer=True,
                               objective_coefficient=float(none_cost[i]))
    target = inst.agent_target if inst.agent_target is not None else np.zeros(inst.n_agents)
    for a, pairs in enumerate(_group(inst.pair_agent, inst.n_agents)):
        weights = inst.pair_weight[pairs].astype(float).tolist()
        row = model.constraint.add(lower_bound=float(inst.agent_lo[a]),
                                   upper_bound=float(inst.agent_hi[a]))
        row.var_index.extend(pairs)
        row.coefficient.extend(weights)
        if dev_cost[a]:
            dev = len(model.variable)
            model.variable.add(lower_bound=0, upper_bound=math.inf,
                               objective_coefficient=float(dev_cost[a]))
            for sign in (1.0, -1.0):  # dev >= sign * (load - target)
                row = model.constraint.add(lower_bound=-sign * float(target[a]),
                                           upper_bound=math.inf)
                row.var_index.extend([dev] + pairs)
                row.coefficient.extend([1.0] + [-sign * w for w in weights])
    if summed.travel is not None and np.any(summed.travel):
        _add_travel(model, inst, summed.travel)
    if hint is not None:
        chosen = np.nonzero(hint[inst.pair_item] == inst.pair_agent)[0]
        model.solution_hint.var_index.extend(chosen.tolist())
        model.solution_hint.var_value.extend([1.0] * len(chosen))
    return pb.MPModelRequest(
        model=model, solver_type=pb.MPModelRequest.SCIP_MIXED_INTEGER_PROGRAMMING,
        solver_time_limit_seconds=max(0.1, seconds),
        solver_specific_parameters=f"limits/gap = 0\nlimits/absgap = 0\n"
                                   f"randomization/permutationseed = {seed + 1}\n")


def _group(keys: np.ndarray, n: int) -> list[list[int]]:
    """The positions of each key 0..n-1 (pairs by item, or by agent)."""
    order = np.argsort(keys, kind="stable")
    starts = np.searchsorted(keys[order], np.arange(n + 1))
    return [order[starts[k]:starts[k + 1]].tolist() for k in range(n)]


def _add_travel(model, inst: AllocationInstance, travel: np.ndarray) -> None:
    """A travel cost counts once per (account, agent) served: on the pair itself where the
    account has one item, else on a 0-1 variable each of its pairs with that agent forces on."""
    account = inst.item_account[inst.pair_item]
    keys, inverse = np.unique(account * inst.n_agents + inst.pair_agent, return_inverse=True)
    for k, pairs in zip(keys.tolist(), _group(inverse, len(keys))):
        cost = float(travel[k // inst.n_agents, k % inst.n_agents])
        if not cost:
            continue
        if len(pairs) == 1:
            model.variable[pairs[0]].objective_coefficient += cost
            continue
        served = len(model.variable)
        model.variable.add(lower_bound=0, upper_bound=1, is_integer=True,
                           objective_coefficient=cost)
        for p in pairs:  # served >= pair
            row = model.constraint.add(lower_bound=0, upper_bound=math.inf)
            row.var_index.extend([served, p])
            row.coefficient.extend([1.0, -1.0])


class MipSolve:
    """SCIP on one allocation in a process of its own; `result` waits for its answer."""

    def __init__(self, inst: AllocationInstance, names: tuple[str, ...], seconds: float,
                 hint: np.ndarray | None = None, seed: int = 0):
        self.inst = inst
        request = mip_request(inst, names, seconds, hint, seed).SerializeToString()
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from models.allocation_mip import serve; serve()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        #: SCIP's plan, bound and proof, once it has answered
        self.found: tuple[np.ndarray | None, int | None, bool] = (None, None, False)
        self.done = threading.Event()
        threading.Thread(target=self._talk, args=(request,), daemon=True).start()

    def _talk(self, request: bytes) -> None:
        try:
            answer, _ = self.process.communicate(request)
            self.found = self._read(answer)
        except (OSError, ValueError, DecodeError):  # (ended before it answered in full)
            pass
        finally:
            self.done.set()

    def proved(self) -> bool:
        """Whether SCIP has ended with its plan proved optimal."""
        return self.done.is_set() and self.found[2]

    def result(self, timeout: float) -> tuple[np.ndarray | None, int | None, bool]:
        """SCIP's plan (None if it found none), its lower bound and whether the plan is proved
        optimal; the process is ended if it has not answered within `timeout` seconds."""
        if not self.done.wait(max(0.0, timeout)):
            self.cancel()
            self.done.wait(5.0)
        return self.found

    def cancel(self) -> None:
        if self.process.poll() is None:
            self.process.kill()

    def _read(self, answer: bytes) -> tuple[np.ndarray | None, int | None, bool]:
        from ortools.linear_solver import linear_solver_pb2 as pb
        if not answer:
            return None, None, False
        response = pb.MPSolutionResponse.FromString(answer)
        if response.status not in (pb.MPSOLVER_OPTIMAL, pb.MPSOLVER_FEASIBLE):
            return None, None, False
        bound = None
        if math.isfinite(response.best_objective_bound):
            bound = int(math.floor(response.best_objective_bound + 1e-6))
        x = np.asarray(response.variable_value[:len(self.inst.pair_item)]) > 0.5
        plan = np.full(self.inst.n_items, -1, dtype=np.int64)
        plan[self.inst.pair_item[x]] = self.inst.pair_agent[x]
        return plan, bound, response.status == pb.MPSOLVER_OPTIMAL


def serve() -> None:
    """The child process: one MPModelRequest on stdin, its MPSolutionResponse on stdout."""
    from ortools.linear_solver import linear_solver_pb2 as pb
    from ortools.linear_solver import pywraplp
    request = pb.MPModelRequest.FromString(sys.stdin.buffer.read())
    response = pb.MPSolutionResponse()
    pywraplp.Solver.SolveWithProto(request, response)
    sys.stdout.buffer.write(response.SerializeToString())
    sys.stdout.buffer.flush()
