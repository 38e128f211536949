"""An allocation's CP-SAT model written into its proto straight from the instance's arrays.

The large-neighbourhood search (models.allocation_lns) builds a model for every neighbourhood
it frees, thousands a team. Through cp_model's Python objects (a variable object and an
expression term per pair) that took about 3.5e-5 s a pair, 0.3 s for a neighbourhood of 12 of
M's agents, and often longer than CP-SAT's solve of it; a team short of reps, whose
neighbourhoods hold every unassigned item they could take, took 0.7-1.9 s a model and ended
its solve seconds late. Here the variables, the rows and the objective go into the proto as
index arrays, a few calls per item and agent. A team's whole model is built here too where one
summed objective says everything (`models.allocation.solve_with_cpsat`).

The model is `models.allocation.build_allocation`'s with the named terms summed as its
objective (`summed_terms`); outside constraints (extensions) are not modelled, and serving
variables exist only where travel costs something.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model
from ortools.sat.python import cp_model_helper as cmh

from models.arrays import distinct
from models.instances import AllocationInstance, summed_terms

_TOP = (1 << 63) - 1  # CP-SAT's unbounded side of a row


@dataclass(frozen=True)
class SummedModel:
    """The model, and where its variables are: the pairs' first (in the pairs' order), then
    each optional item's nobody-flag, the serving variables of `served` (account, agent,
    variable rows, a pair's own variable where it serves alone), the deviations of
    `dev_agents` from `first_dev` on."""

    model: cp_model.CpModel
    n_pairs: int
    none_vars: np.ndarray
    served: np.ndarray
    dev_agents: np.ndarray
    first_dev: int
    target: np.ndarray

    def item_agent(self, inst: AllocationInstance, solver: cp_model.CpSolver) -> np.ndarray:
        """The agent of each item in the solver's solution (-1: unassigned)."""
        chosen = np.fromiter(solver.response_proto.solution, dtype=np.int64,
                             count=self.n_pairs) > 0
        out = np.full(inst.n_items, -1, dtype=np.int64)
        out[inst.pair_item[chosen]] = inst.pair_agent[chosen]
        return out

    def hint(self, inst: AllocationInstance, item_agent: np.ndarray) -> None:
        """Hint a plan (an agent per item, -1: none) on every variable: pairs, nobody-flags,
        serving, deviations, so that CP-SAT can take it as its first solution."""
        chosen = item_agent[inst.pair_item] == inst.pair_agent
        optional = np.flatnonzero(inst.item_optional.astype(bool))
        shared = self.served[:, 2] >= self.n_pairs + len(optional)  # (not a pair's own)
        serving = np.zeros(0, dtype=bool)
        if shared.any():
            items = np.flatnonzero(item_agent >= 0)
            on = distinct(inst.item_account[items].astype(np.int64) * inst.n_agents
                           + item_agent[items])
            keys = self.served[shared, 0] * inst.n_agents + self.served[shared, 1]
            serving = np.isin(keys, on)
        load = np.bincount(inst.pair_agent[chosen], weights=inst.pair_weight[chosen],
                           minlength=inst.n_agents)
        hinted = self.model.proto.solution_hint
        hinted.vars.extend(range(self.n_pairs))
        hinted.values.extend(chosen.astype(np.int64).tolist())
        hinted.vars.extend(self.none_vars.tolist())
        hinted.values.extend((item_agent[optional] < 0).astype(np.int64).tolist())
        hinted.vars.extend(self.served[shared, 2].tolist())
        hinted.values.extend(serving.astype(np.int64).tolist())
        hinted.vars.extend(range(self.first_dev, self.first_dev + len(self.dev_agents)))
        hinted.values.extend(np.abs(load - self.target)[self.dev_agents].astype(np.int64).tolist())


def summed_model(inst: AllocationInstance, names: tuple[str, ...],
                 hint: np.ndarray | None = None) -> SummedModel:
    """Minimise the terms `names` summed, every item to one agent of its pairs (or to none
    where optional), pins held, each agent's load within its band; `hint` (an agent per item)
    hinted on every variable (`SummedModel.hint`)."""
    if inst.extensions:
        raise ValueError("summed_model does not model outside constraints")
    summed = summed_terms(inst, names)
    model = cp_model.CpModel()
    proto = model.proto
    n_pairs = len(inst.pair_item)
    optional = np.flatnonzero(inst.item_optional.astype(bool))
    none_var = np.full(inst.n_items, -1, dtype=np.int64)
    none_var[optional] = n_pairs + np.arange(len(optional))
    served, serving = _serving(inst, summed.travel, n_pairs + len(optional))
    # (a serving variable of its own only where several pairs serve the account: `_serving`)
    first_dev = n_pairs + len(optional) + int(np.count_nonzero(served[:, 2] >= n_pairs
                                                                + len(optional)))
    dev_agents = np.flatnonzero(summed.deviation)
    target = inst.agent_target if inst.agent_target is not None \
        else np.zeros(inst.n_agents, dtype=np.int64)
    _add_variables(proto, inst, first_dev, np.maximum(inst.agent_hi, target)[dev_agents])
    _add_items(proto, inst, none_var)
    _add_agents(proto, inst, dev_agents, first_dev, target)
    for z, s in zip(serving[0].tolist(), serving[1].tolist()):  # z implies its serving var
        row = proto.constraints.add()
        row.enforcement_literal.append(z)
        row.bool_and.literals.append(s)
    _set_objective(proto, summed, [
        (np.arange(n_pairs), summed.pair), (none_var[optional], summed.unassigned[optional]),
        (served[:, 2], summed.travel[served[:, 0], served[:, 1]] if len(served) else
         np.zeros(0, np.int64)),
        (first_dev + np.arange(len(dev_agents)), summed.deviation[dev_agents])])
    built = SummedModel(model, n_pairs, none_var[optional], served, dev_agents, first_dev, target)
    if hint is not None:
        built.hint(inst, hint)
    return built


def _set_objective(proto, summed, parts: list[tuple[np.ndarray, np.ndarray]]) -> None:
    """The objective: each (variables, coefficients) part, and the terms' constant."""
    # (a pair's variable may also say its agent serves the account: one coefficient)
    var, at = np.unique(np.concatenate([v for v, _ in parts]).astype(np.int64),
                        return_inverse=True)
    coef = np.zeros(len(var), dtype=np.int64)
    np.add.at(coef, at, np.concatenate([c for _, c in parts]).astype(np.int64))
    keep = coef != 0
    proto.objective.vars.extend(var[keep].tolist())
    proto.objective.coeffs.extend(coef[keep].tolist())
    proto.objective.offset = float(summed.constant)
    proto.objective.scaling_factor = 1.0


def _serving(inst: AllocationInstance, travel: np.ndarray | None, first: int
             ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """The (account, agent) pairs whose travel costs something, each with the variable that
    says the agent serves the account (rows: account, agent, variable): the pair's own where
    the account has one item with that agent, else a new one (from `first` on), with the
    (pair, new variable) implications that force it on."""
    if travel is None or inst.item_account is None or not len(inst.pair_item):
        return np.zeros((0, 3), dtype=np.int64), (np.zeros(0, np.int64),) * 2
    account = inst.item_account[inst.pair_item].astype(np.int64)
    cost = travel[account, inst.pair_agent]
    pairs = np.flatnonzero(cost)
    key = account[pairs] * inst.n_agents + inst.pair_agent[pairs]
    keys, count = np.unique(key, return_counts=True)
    order = np.argsort(key, kind="stable")
    variable = np.where(count == 1, pairs[order][np.cumsum(count) - count], 0)
    shared = np.flatnonzero(count > 1)
    variable[shared] = first + np.arange(len(shared))
    rows = np.column_stack([keys // inst.n_agents, keys % inst.n_agents, variable])
    of_key = np.repeat(np.arange(len(keys)), count)  # each sorted pair's key
    many = count[of_key] > 1
    return rows, (pairs[order][many], variable[of_key][many])


def _add_variables(proto, inst: AllocationInstance, first_dev: int, dev_hi: np.ndarray) -> None:
    """Booleans up to `first_dev` (pairs, nobody-flags, serving), pinned pairs fixed; then a
    deviation per agent that has one, from 0 to `dev_hi`. (One variable copied n times:
    a tenth of the time of n variables written out, or of n parsed from text.)"""
    domains = {}

    def variable(lo: int, hi: int):
        if (lo, hi) not in domains:
            domains[lo, hi] = cmh.IntegerVariableProto()
            domains[lo, hi].domain.extend([lo, hi])
        return domains[lo, hi]
    out = [variable(0, 1)] * first_dev
    if inst.fixed_agent is not None:
        pinned = np.flatnonzero(inst.fixed_agent[inst.pair_item] >= 0)
        held = inst.fixed_agent[inst.pair_item[pinned]] == inst.pair_agent[pinned]
        for p, v in zip(pinned.tolist(), held.astype(int).tolist()):
            out[p] = variable(v, v)
    out += [variable(0, int(h)) for h in dev_hi.tolist()]
    proto.variables.extend(out)


def _add_items(proto, inst: AllocationInstance, none_var: np.ndarray) -> None:
    """Each item to exactly one of its pairs, or to its nobody-flag where optional."""
    order = inst.by_item
    bounds = inst.item_starts
    pairs = order.tolist()
    for i, (a, b) in enumerate(zip(bounds[:-1].tolist(), bounds[1:].tolist())):
        row = proto.constraints.add()
        literals = row.exactly_one.literals
        literals.extend(pairs[a:b])
        if none_var[i] >= 0:
            literals.append(int(none_var[i]))


def _add_agents(proto, inst: AllocationInstance, dev_agents: np.ndarray, first_dev: int,
                target: np.ndarray) -> None:
    """Each agent's load within its band, and its deviation at least |load - target|."""
    order = np.argsort(inst.pair_agent, kind="stable")
    bounds = np.searchsorted(inst.pair_agent[order], np.arange(inst.n_agents + 1))
    weight = inst.pair_weight.astype(np.int64)
    dev_of = dict(zip(dev_agents.tolist(), range(first_dev, first_dev + len(dev_agents))))
    for a in range(inst.n_agents):
        pairs = order[bounds[a]:bounds[a + 1]]
        vars_, coeffs = pairs.tolist(), weight[pairs].tolist()
        row = proto.constraints.add().linear
        row.vars.extend(vars_)
        row.coeffs.extend(coeffs)
        row.domain.extend([int(inst.agent_lo[a]), int(inst.agent_hi[a])])
        if a in dev_of:
            t = int(target[a])
            for sign in (1, -1):  # dev - sign * load >= -sign * target
                row = proto.constraints.add().linear
                row.vars.extend([dev_of[a]] + vars_)
                row.coeffs.extend([1] + [-sign * c for c in coeffs])
                row.domain.extend([-sign * t, _TOP])
