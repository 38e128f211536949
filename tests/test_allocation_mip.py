"""SCIP beside the engine (models.allocation_mip): the program it is given, solved in its own
process, on the hand-computed instances of tests/test_models_allocation.py (each optimum is
worked out there), and the way `solve_allocation` combines the two solvers' answers."""

from __future__ import annotations

import threading
from dataclasses import replace

import numpy as np
import pytest

import models.allocation as allocation
import models.allocation_mip as allocation_mip
from models.allocation import allocation_is_feasible, evaluate_allocation_term, solve_allocation
from models.allocation_bound import lagrangian_bound
from models.allocation_mip import MIP_MAX_PAIRS, MIP_MIN_SECONDS, MipSolve, mip_applies
from models.instances import AllocSolution, AllocTerm, SolveSettings
from tests.test_models_allocation import TRAVEL_CASES, gap, i64, make_alloc, travel_instance

SECONDS = 20.0  # SCIP's limit; each instance here is proved optimal in well under a second


def scip(inst, names=None, hint=None):
    """SCIP's plan, bound and proof on `inst` (every term by default)."""
    return MipSolve(inst, tuple(names or inst.terms), SECONDS, hint).result(SECONDS + 10)


def test_the_textbook_gap_is_proved_optimal():
    plan, bound, proved = scip(gap())
    assert plan.tolist() == [0, 1, 0] and bound == 9 and proved


def test_an_infeasible_instance_gives_no_plan():
    plan, _, proved = scip(gap(hi=(4, 4)))
    assert plan is None and not proved


# Textbook GAP (weights: item 0 (3, 2), item 1 (4, 3), item 2 (2, 4); capacity 5 each). Item
# 2 pinned to agent 1 leaves it 1 hour: neither item 0 (2) nor item 1 (3) fits there, and
# both on agent 0 need 7 > 5: no plan. Item 0 pinned to agent 0, where the optimum has it: 9.
def test_a_pin_is_honoured():
    plan, _, _ = scip(gap(fixed_agent=i64([-1, -1, 1])))
    assert plan is None
    plan, bound, proved = scip(gap(fixed_agent=i64([0, -1, -1])))
    assert plan.tolist() == [0, 1, 0] and bound == 9 and proved


@pytest.mark.parametrize("costs, objective, item_agent", [([10, 6], 6, [0, -1]),
                                                          ([2, 6], 2, [-1, 0])])
def test_optional_items_left_out_at_their_cost(costs, objective, item_agent):
    inst = make_alloc([0], [5], [(0, 0, 3), (1, 0, 4)], 2,
                      {"unmet": AllocTerm(unassigned=i64(costs))}, optional=[True, True])
    plan, bound, _ = scip(inst)
    assert plan.tolist() == item_agent and bound == objective


@pytest.mark.parametrize("lo1, loads", [(0, [2, 0]), (1, [1, 1])])
def test_band_minimum(lo1, loads):
    inst = make_alloc([0, lo1], [2, 2], [(0, 0, 1), (0, 1, 1), (1, 0, 1), (1, 1, 1)], 2,
                      {"cost": AllocTerm(pair=i64([1, 5, 1, 5]))})
    plan, bound, _ = scip(inst)
    chosen = plan[inst.pair_item] == inst.pair_agent
    assert np.bincount(inst.pair_agent[chosen], minlength=2).tolist() == loads
    assert bound == (2 if lo1 == 0 else 6)


def test_deviation_from_target():
    pairs = [(i, a, w) for i, w in enumerate([2, 3, 5]) for a in range(2)]
    inst = make_alloc([0, 0], [10, 10], pairs, 3, {"balance": AllocTerm(deviation=i64([1, 1]))},
                      agent_target=i64([4, 6]))
    plan, bound, proved = scip(inst)
    assert bound == 2 and proved
    assert evaluate_allocation_term(inst, inst.terms["balance"], plan) == 2


@pytest.mark.parametrize("hi, objective, item_agent", TRAVEL_CASES)
def test_travel_counted_once_per_account_and_agent(hi, objective, item_agent):
    plan, bound, proved = scip(travel_instance(hi))
    assert plan.tolist() == item_agent and bound == objective and proved


def test_a_terms_constant_counts():
    # the textbook GAP (optimum 9) with a constant of -4 in its term: 5, the same plan
    inst = replace(gap(), terms={"cost": replace(gap().terms["cost"], constant=-4)})
    plan, bound, proved = scip(inst)
    assert plan.tolist() == [0, 1, 0] and bound == 5 and proved


def test_only_the_named_terms_count():
    # the textbook GAP with a second term that would favour agent 1 for item 0 (-10): left
    # out of `names`, the optimum stays 9 with [0, 1, 0]
    inst = replace(gap(), terms={"cost": gap().terms["cost"],
                                 "other": AllocTerm(pair=i64([0, -10, 0, 0, 0, 0]))})
    plan, bound, _ = scip(inst, names=("cost",))
    assert plan.tolist() == [0, 1, 0] and bound == 9


def pairs_instance(n_pairs: int):
    """Items of two pairs each (the last of one, if odd): `n_pairs` pairs in all."""
    pairs = [(p // 2, p % 2, 1) for p in range(n_pairs)]
    n = (n_pairs + 1) // 2
    return make_alloc([0, 0], [n, n], pairs, n, {"cost": AllocTerm(pair=i64([1] * n_pairs))})


def test_when_scip_runs_beside_the_engine():
    big = SolveSettings(time_limit=MIP_MIN_SECONDS, workers=2)
    assert mip_applies(gap(), big)
    assert not mip_applies(gap(), replace(big, workers=1))
    assert not mip_applies(gap(), replace(big, time_limit=MIP_MIN_SECONDS - 0.1))
    assert not mip_applies(gap(), replace(big, levels=(("cost",), ("other",))))
    assert not mip_applies(gap(), replace(big, term_limits={"cost": 10}))
    assert not mip_applies(gap(extensions=("a rule",)), big)
    assert mip_applies(pairs_instance(MIP_MAX_PAIRS), big)
    assert not mip_applies(pairs_instance(MIP_MAX_PAIRS + 1), big)


def _engine_with(plan, seen_stop: list):
    """An engine that returns `plan` (FEASIBLE, no bound) once it is told to stop, or after
    its time; `seen_stop` records whether it was told."""
    def engine(inst, settings):
        stopped = settings.stop.wait(settings.time_limit)
        seen_stop.append(stopped)
        values = {n: evaluate_allocation_term(inst, t, plan) for n, t in inst.terms.items()}
        return AllocSolution("FEASIBLE", sum(values.values()), None, plan, values, 0.0)
    return engine


def test_scips_plan_wins_and_its_proof_stops_the_engine(monkeypatch):
    # the engine would answer [1, 1, 0] (loads 2 and 2 + 3 = 5, cost 4 + 3 + 5 = 12: feasible,
    # not optimal); SCIP proves 9 and the engine is told to stop before its time is up
    seen: list = []
    monkeypatch.setattr(allocation, "_engine", _engine_with(i64([1, 1, 0]), seen))
    sol = solve_allocation(gap(), SolveSettings(time_limit=MIP_MIN_SECONDS, workers=2, seed=0))
    assert seen == [True]
    assert sol.status == "OPTIMAL" and sol.objective == 9 and sol.bound == 9
    assert sol.item_agent.tolist() == [0, 1, 0]
    assert allocation_is_feasible(gap(), sol.item_agent)


def test_the_engine_gets_one_worker_less(monkeypatch):
    workers: list = []

    def engine(inst, settings):
        workers.append(settings.workers)
        return _engine_with(i64([0, 1, 0]), [])(inst, settings)
    monkeypatch.setattr(allocation, "_engine", engine)
    sol = solve_allocation(gap(), SolveSettings(time_limit=MIP_MIN_SECONDS, workers=3))
    assert workers == [2] and sol.objective == 9


class _UnprovedMip:
    """SCIP that finds nothing and ends unproved when cancelled (or at once if `ends`)."""
    ends = False

    def __init__(self, inst, names, seconds, hint=None, seed=0):
        self.done = threading.Event()
        if self.ends:
            self.done.set()

    def proved(self):
        return False

    def result(self, timeout):
        return None, None, False

    def cancel(self):
        self.done.set()


@pytest.mark.parametrize("claimed", [False, True])
def test_scips_worker_goes_to_the_engine_once_scip_ends_unproved(monkeypatch, claimed):
    # SCIP ends without a proof (at its limit, or because the engine claims its worker):
    # the engine is told the worker is free, and its own plan is the answer
    freed: list = []

    def engine(inst, settings):
        if claimed:
            settings.spare_worker.claim()
        freed.append(settings.spare_worker.free.wait(5.0))
        return _engine_with(i64([1, 1, 0]), [])(inst, replace(settings, time_limit=0.0))
    monkeypatch.setattr(_UnprovedMip, "ends", not claimed)
    monkeypatch.setattr(allocation, "MipSolve", _UnprovedMip)
    monkeypatch.setattr(allocation, "_engine", engine)
    sol = solve_allocation(gap(), SolveSettings(time_limit=20.0, workers=2))
    assert freed == [True] and sol.objective == 12  # (SCIP found nothing)


def test_a_proof_keeps_the_worker_from_the_engine(monkeypatch):
    seen, freed = [], []

    def engine(inst, settings):
        freed.append(settings.spare_worker.free.wait(1.0))
        return _engine_with(i64([1, 1, 0]), seen)(inst, settings)
    monkeypatch.setattr(allocation, "_engine", engine)
    sol = solve_allocation(gap(), SolveSettings(time_limit=MIP_MIN_SECONDS, workers=2))
    assert freed == [False] and seen == [True] and sol.objective == 9


def _two_by_two():
    """Two items, two agents of room 1 each; item k costs 1 on agent k, 100 on the other.
    The optimum [0, 1] costs 2, and so does the relaxation (its bound is 2)."""
    pairs = [(0, 0, 1), (0, 1, 1), (1, 0, 1), (1, 1, 1)]
    return make_alloc([0, 0], [1, 1], pairs, 2, {"cost": AllocTerm(pair=i64([1, 100, 100, 1]))})


@pytest.mark.parametrize("plan, claims", [([0, 1], False), ([1, 0], True)])
def test_the_engine_claims_scips_worker_where_fixing_rules_out_nothing(plan, claims):
    # from the optimum (2, the bound) every other pair is ruled out: SCIP keeps its worker;
    # from [1, 0] (200) every pair could be in a cheaper plan: the search takes it
    inst = _two_by_two()
    relaxed = lagrangian_bound(inst, ("cost",), 5.0, max_iterations=500)
    assert relaxed.bound == 2
    assert allocation._claims_spare_worker(inst, ("cost",), relaxed, i64(plan)) is claims


def test_a_cancel_stops_both(monkeypatch):
    seen: list = []
    monkeypatch.setattr(allocation, "_engine", _engine_with(i64([1, 1, 0]), seen))
    stop = threading.Event()
    stop.set()
    sol = solve_allocation(gap(), SolveSettings(time_limit=MIP_MIN_SECONDS, workers=2,
                                                stop=stop))
    assert seen == [True] and sol.item_agent.tolist() == [1, 1, 0]  # the engine's, as it was


def test_a_proof_that_no_plan_exists_ends_scip(monkeypatch):
    # capacity 4 each: no plan (tests/test_models_allocation.py); the engine proves it and
    # SCIP is ended rather than waited for
    cancelled: list = []
    real_cancel = MipSolve.cancel

    def cancel(self):
        cancelled.append(True)
        real_cancel(self)
    monkeypatch.setattr(MipSolve, "cancel", cancel)
    sol = solve_allocation(gap(hi=(4, 4)), SolveSettings(time_limit=MIP_MIN_SECONDS, workers=2))
    assert sol.status == "INFEASIBLE" and cancelled == [True]


def test_without_a_process_the_engine_keeps_every_worker(monkeypatch):
    def no_process(*args, **kwargs):
        raise OSError("no processes here")
    monkeypatch.setattr(allocation_mip.subprocess, "Popen", no_process)
    workers: list = []
    real_engine = allocation._engine

    def engine(inst, settings):
        workers.append(settings.workers)
        return real_engine(inst, settings)
    monkeypatch.setattr(allocation, "_engine", engine)
    sol = solve_allocation(gap(), SolveSettings(time_limit=MIP_MIN_SECONDS, workers=2))
    assert workers == [2] and sol.status == "OPTIMAL" and sol.objective == 9
