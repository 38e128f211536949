"""The neighbourhood model written into its proto (models.allocation_proto) is the model
cp_model's objects build (models.allocation.build_allocation) with its terms summed."""

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from ortools.sat.python import cp_model

from models.allocation import allocation_is_feasible, build_allocation
from models.allocation_lns import plan_cost
from models.allocation_proto import summed_model
from models.instances import AllocationInstance, AllocTerm

i64 = lambda xs: np.asarray(xs, dtype=np.int64)  # noqa: E731


def _solve(model: cp_model.CpModel, fix_hint: bool = False) -> tuple[cp_model.CpSolver, str]:
    """The model solved to optimality (or proved infeasible), and which of the two."""
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    solver.parameters.max_time_in_seconds = 30
    solver.parameters.fix_variables_to_their_hinted_value = fix_hint
    status = solver.solve(model)
    assert status in (cp_model.OPTIMAL, cp_model.INFEASIBLE), solver.status_name(status)
    return solver, solver.status_name(status)


def _two_agents(fixed_agent=None) -> AllocationInstance:
    """Items 0 and 1 (2 hours, account 0, travel 3 for either agent) and item 2 (3 hours,
    account 1, no travel, optional: 10 when left out) for agents 0 and 1 (bands 0-5 hours,
    target 3, 1 per hour off it); pair costs 1 / 4, 1 / 4, 5 / 1."""
    return AllocationInstance(
        agent_lo=i64([0, 0]), agent_hi=i64([5, 5]),
        pair_item=i64([0, 0, 1, 1, 2, 2]), pair_agent=i64([0, 1, 0, 1, 0, 1]),
        pair_weight=i64([2, 2, 2, 2, 3, 3]), item_optional=np.array([False, False, True]),
        terms={"fit": AllocTerm(pair=i64([1, 4, 1, 4, 5, 1]), constant=2),
               "unmet": AllocTerm(unassigned=i64([0, 0, 10])),
               "balance": AllocTerm(deviation=i64([1, 1])),
               "travel": AllocTerm(travel=i64([[3, 3], [0, 0]]))},
        agent_target=i64([3, 3]), item_account=i64([0, 0, 1]), fixed_agent=fixed_agent)


# Items 0 and 1 to agent 0 (pairs 1 + 1, load 4: 1 off), item 2 to agent 1 (pair 1, load 3),
# account 0 travelled to once (3), and the constant 2: 9. Leaving item 2 out costs 10 more
# than it saves; any split of account 0 pays its travel twice.
def test_the_cheapest_plan_by_hand():
    inst = _two_agents()
    built = summed_model(inst, tuple(inst.terms))
    solver, _ = _solve(built.model)
    assert solver.objective_value == 9
    assert built.item_agent(inst, solver).tolist() == [0, 0, 1]


# Item 2 pinned to agent 0 (load 3): items 0 and 1 cannot both join it (7 > 5); both to agent 1
# costs 5 + 4 + 4 = 13, travel 3, deviation 0 + 1, constant 2: 19; split, 5 + 1 + 4 = 10,
# travel 6, deviation 2 + 1, constant 2: 21.
def test_a_pinned_item_stays_and_the_rest_make_room():
    inst = _two_agents(fixed_agent=i64([-1, -1, 0]))
    built = summed_model(inst, tuple(inst.terms))
    solver, _ = _solve(built.model)
    assert solver.objective_value == 19
    assert built.item_agent(inst, solver).tolist() == [1, 1, 0]


# Pair costs alone: items 0 and 1 to agent 0 (1 + 1), item 2 left out at no cost, constant 2.
def test_only_the_named_terms_are_minimised():
    inst = _two_agents()
    built = summed_model(inst, ("fit",))
    solver, _ = _solve(built.model)
    assert solver.objective_value == 4
    assert built.item_agent(inst, solver).tolist() == [0, 0, -1]


def test_outside_constraints_are_refused():
    inst = _two_agents()
    with_rule = replace(inst, extensions=(lambda handles: None,))
    with pytest.raises(ValueError, match="outside constraints"):
        summed_model(with_rule, tuple(inst.terms))


@st.composite
def instances(draw):
    """Up to 4 agents and 7 items over 3 accounts, some pairs missing, optional items, pins,
    travel, deviations, bands that some plans break; and a plan (an agent of its pairs or
    none per item)."""
    n_agents = draw(st.integers(2, 4))
    n_items = draw(st.integers(1, 7))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    allowed = rng.random((n_items, n_agents)) < 0.8
    allowed[np.arange(n_items), rng.integers(0, n_agents, n_items)] = True
    item, agent = np.nonzero(allowed)
    optional = rng.random(n_items) < 0.4
    fixed = np.full(n_items, -1)
    for i in np.flatnonzero(rng.random(n_items) < 0.2):
        fixed[i] = agent[item == i][0]
    hi = rng.integers(4, 15, n_agents)
    inst = AllocationInstance(
        agent_lo=np.where(rng.random(n_agents) < 0.3, rng.integers(0, 4, n_agents), 0),
        agent_hi=hi, pair_item=item, pair_agent=agent,
        pair_weight=rng.integers(1, 6, len(item)), item_optional=optional,
        terms={"fit": AllocTerm(pair=rng.integers(0, 9, len(item)), constant=3),
               "unmet": AllocTerm(unassigned=rng.integers(0, 20, n_items)),
               "balance": AllocTerm(deviation=rng.integers(0, 3, n_agents)),
               "travel": AllocTerm(travel=rng.integers(0, 5, (3, n_agents)))},
        agent_target=rng.integers(0, 12, n_agents), item_account=rng.integers(0, 3, n_items),
        fixed_agent=fixed if (fixed >= 0).any() else None)
    plan = np.array([rng.choice(agent[item == i]) for i in range(n_items)])
    plan[optional & (rng.random(n_items) < 0.3)] = -1
    names = tuple(draw(st.sets(st.sampled_from(sorted(inst.terms)), min_size=1)))
    return inst, plan, names


@settings(max_examples=60, deadline=None, derandomize=True, database=None)
@given(instances())
def test_the_same_optimum_as_the_objects_model(case):
    """Both models have the same optimum (or none); the proto's plan holds every constraint
    and costs its objective; a hinted plan that holds them is the proto model's solution when
    its hint is fixed, at the plan's cost."""
    inst, plan, names = case
    built = summed_model(inst, names, plan)
    model, _, terms, _ = build_allocation(inst)
    model.minimize(sum((terms[n] for n in names), 0))
    (fast, fast_status), (slow, slow_status) = _solve(built.model), _solve(model)
    assert fast_status == slow_status
    if slow_status == "INFEASIBLE":
        return
    # (CP-SAT gives the objects' model's value in floating point: 3.999999999999999 for 4)
    assert round(fast.objective_value) == round(slow.objective_value)
    found = built.item_agent(inst, fast)
    assert allocation_is_feasible(inst, found)
    assert plan_cost(inst, found, names) == round(fast.objective_value)
    if allocation_is_feasible(inst, plan):
        hinted, _ = _solve(built.model, fix_hint=True)
        assert round(hinted.objective_value) == plan_cost(inst, plan, names)
        assert built.item_agent(inst, hinted).tolist() == plan.tolist()
