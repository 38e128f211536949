"""The joint single-stage model: teams, managers and line allocation decided together.

Only for small instances: it measures what the two-stage decomposition loses, and rescues
small cases where indivisible lines make stage 2 infeasible for the teams stage 1 chose.
Team rules come from the org part (deviation and missing-manager costs too); line costs come
from the allocation part, whose agents are all reps.
"""

from __future__ import annotations

import numpy as np
from ortools.sat.python import cp_model

from models.allocation import add_assignment, evaluate_allocation_term, term_expr
from models.extensions import CUSTOM_TERM, Handles, apply_extensions
from models.cpsat import solve_levels
from models.instances import JointInstance, JointSolution, SolveSettings
from models.org_design import RuleSwitches, add_band, add_deviation, add_team_structure


def solve_joint(inst: JointInstance, settings: SolveSettings) -> JointSolution:
    org, alloc = inst.org, inst.alloc
    model = cp_model.CpModel()
    team = add_team_structure(model, org, RuleSwitches(model))
    v = add_assignment(model, alloc)
    for p, (i, r) in enumerate(zip(alloc.pair_item.tolist(), alloc.pair_agent.tolist())):
        model.add_implication(v.z[p], team.x[r][int(inst.item_team[i])])
    add_band(model, org, v.load, team.is_manager, RuleSwitches(model))
    needs_dev = any(t.deviation is not None and np.any(t.deviation) for t in org.terms.values())
    devs = add_deviation(model, org, v.load, team.is_manager) if needs_dev else None
    terms = {}
    for name in sorted(set(org.terms) | set(alloc.terms)):
        parts = []
        if name in alloc.terms:
            parts.append(term_expr(alloc.terms[name], alloc, v, None))
        o = org.terms.get(name)
        if o is not None and o.deviation is not None and devs is not None:
            parts += [int(c) * d for c, d in zip(o.deviation.tolist(), devs) if c]
        if o is not None and o.missing_manager:
            parts += [int(o.missing_manager) * h for h in team.hired if not isinstance(h, int)]
        terms[name] = cp_model.LinearExpr.sum(parts)
    z = {(int(i), int(a)): var for i, a, var in zip(alloc.pair_item, alloc.pair_agent, v.z)}
    custom = apply_extensions(Handles(model, x=team.x, z=z, item_account=alloc.item_account),
                              org.extensions + alloc.extensions)
    if custom is not None:
        terms[CUSTOM_TERM] = custom

    def capture(solver: cp_model.CpSolver) -> tuple:
        rep_team = np.array([next(t for t in range(org.n_teams) if solver.boolean_value(
            team.x[r][t])) for r in range(org.n_reps)], dtype=np.int64)
        is_mgr = np.array([bool(solver.value(m)) if not isinstance(m, int) else False
                           for m in team.is_manager])
        hired = np.array([solver.value(h) if not isinstance(h, int) else 0 for h in team.hired],
                         dtype=np.int64)
        chosen = np.array([solver.boolean_value(z) for z in v.z], dtype=bool)
        item_agent = np.full(alloc.n_items, -1, dtype=np.int64)
        item_agent[alloc.pair_item[chosen]] = alloc.pair_agent[chosen]
        return rep_team, is_mgr, hired, item_agent

    def evaluate(solution: tuple) -> dict[str, int]:
        """Term values from the plan: allocation costs, deviations at the rep's own target
        (lower for managers), missing managers."""
        _, is_mgr, hired, item_agent = solution
        chosen = item_agent[alloc.pair_item] == alloc.pair_agent
        load = np.bincount(alloc.pair_agent[chosen], weights=alloc.pair_weight[chosen],
                           minlength=org.n_reps)
        target = np.where(is_mgr, org.mgr_target, org.rep_target)
        values = {}
        for name in (n for n in terms if n != CUSTOM_TERM):  # the solver counts custom terms
            value = evaluate_allocation_term(alloc, alloc.terms[name], item_agent) \
                if name in alloc.terms else 0
            o = org.terms.get(name)
            if o is not None and o.deviation is not None:
                value += int(np.rint((o.deviation * np.abs(load - target)).sum()))
            if o is not None and o.missing_manager:
                value += int(o.missing_manager) * int(hired.sum())
            values[name] = value
        return values

    out = solve_levels(model, terms, settings, capture, evaluate)
    if out.solution is None:
        empty = np.zeros(0, dtype=np.int64)
        return JointSolution(out.status, None, None, empty, empty.astype(bool), empty, empty, {},
                             out.seconds)
    rep_team, is_mgr, hired, item_agent = out.solution
    return JointSolution(out.status, out.objective, out.bound, rep_team, is_mgr, hired,
                         item_agent, out.term_values, out.seconds, out.level_bounds)
