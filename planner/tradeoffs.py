"""Trade-offs: how the plan moves when a rule or a weight moves (sweep), and the frontier
between two objective terms (pareto, by the epsilon-constraint method).

Term values here are shares, unweighted: continuity is the share of owned potential lost,
balance the capacity-weighted mean distance from the average utilization, unmet the share of
demand left unmet, and so on (see planner.objective).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from planner.contracts import KPI_KEYS
from planner.data import Company
from planner.errors import InfeasibleError, NoPlanError, ScenarioError
from planner.instance import prepare
from planner.objective import decision_of, evaluate
from planner.plan import Plan
from planner.run import load_data, solve
from planner.scenario import OBJECTIVE_TERMS, Scenario

#: The weight that keeps demand first while two other terms are traded.
UNMET_WEIGHT = 1000.0
#: The weight of the term that only breaks ties.
TIE_WEIGHT = 0.001


def sweep(scenario: Scenario, parameter: str, values: Iterable, company: Company | None = None,
          time_limit: float | None = None,
          progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Solve the scenario once per value of a parameter and return one row of KPIs per value.

    parameter: "rules.<rule>" (dotted for nested rules: "rules.utilization.max"),
    "weights.<term>", or "solver.<setting>". Rows whose scenario cannot be satisfied have
    status INFEASIBLE and the reason in `message`."""
    company = company or load_data(scenario)
    rows = []
    for value in values:
        variant = with_parameter(scenario, parameter, value)
        if progress is not None:
            progress(f"{parameter} = {value}")
        try:
            plan = solve(variant, company, time_limit=time_limit)
        except (InfeasibleError, NoPlanError) as err:
            rows.append({parameter: value, "status": "INFEASIBLE"
                         if isinstance(err, InfeasibleError) else "UNKNOWN", "message": str(err)})
            continue
        rows.append({parameter: value, **_row(plan, company)})
    return pd.DataFrame(rows)


def with_parameter(scenario: Scenario, parameter: str, value: Any) -> Scenario:
    """The scenario with one parameter changed (see sweep)."""
    section, _, path = parameter.partition(".")
    if section == "weights":
        if path not in OBJECTIVE_TERMS:
            raise ScenarioError(f"unknown objective term {path!r}; terms: "
                                f"{', '.join(OBJECTIVE_TERMS)}")
        weights = dict(scenario.objective.resolved_weights)
        weights[path] = float(value)
        return scenario.with_weights(**weights)
    if section == "rules":
        rules = scenario.rules.model_dump()
        keys = path.split(".")
        target = rules
        for key in keys[:-1]:
            if not isinstance(target.get(key), dict):
                raise ScenarioError(f"{parameter!r} does not name a rule")
            target = target[key]
        target[keys[-1]] = value
        return scenario.with_rules(**rules)
    if section == "solver":
        return scenario.with_solver(**{path: value})
    raise ScenarioError(f"{parameter!r}: a parameter is rules.<rule>, weights.<term> or "
                        "solver.<setting>")


def _row(plan: Plan, company: Company) -> dict:
    k = plan.kpis
    shares = term_shares(plan, company)
    return {"status": k["status"], "objective": k["objective"],
            **{key: k[key] for key in KPI_KEYS},
            **{f"term_{name}": value for name, value in shares.items()}}


def term_shares(plan: Plan, company: Company | None = None) -> dict[str, float]:
    """Each objective term's unweighted value (its share) for a plan, counted on its tables."""
    p = prepare(company or load_data(plan.scenario), plan.scenario)
    teams = plan.reps.set_index("rep_id")["team_id"]
    roles = plan.reps.set_index("rep_id")["role"]
    decision = decision_of(p, teams, roles, plan.assignments, plan.hiring)
    return evaluate(p, decision, weighted=False)


@dataclass(frozen=True)
class Frontier:
    """Non-dominated trade-off points between two terms (lower is better for both)."""

    x: str
    y: str
    points: pd.DataFrame  # one row per plan found: x, y, cap, dominated, KPIs
    plans: list[Plan] = field(repr=False)

    @property
    def frontier(self) -> pd.DataFrame:
        return self.points[~self.points["dominated"]].sort_values(self.x).reset_index(drop=True)

    def figure(self):
        from planner.charts import frontier_figure
        return frontier_figure(self.points, self.x, self.y)


def pareto(scenario: Scenario, x: str = "continuity", y: str = "balance", points: int = 5,
           company: Company | None = None, time_limit: float | None = None,
           progress: Callable[[str], None] | None = None, method: str = "auto") -> Frontier:
    """The frontier between terms x and y, unmet demand kept first.

    method "epsilon": minimise y with x capped at `points` levels between its best value and
    its value when y is best (the epsilon-constraint method; exact where the joint model solves
    the company). method "weights": minimise y + w x for `points` weights w from 1/100 to 100
    (the supported points; each solve as fast as a normal one). "auto" takes epsilon for
    companies the joint model solves and weights otherwise. Dominated points are marked."""
    for term in (x, y):
        if term not in OBJECTIVE_TERMS or term == "unmet":
            raise ScenarioError(f"pareto trades two of {', '.join(OBJECTIVE_TERMS[1:])}; got "
                                f"{term!r}")
    if x == y:
        raise ScenarioError("pareto needs two different terms")
    company = company or load_data(scenario)
    if method == "auto":
        method = "epsilon" if solved_exactly(scenario, company) else "weights"
    if method not in ("epsilon", "weights"):
        raise ScenarioError(f"pareto method {method!r}: use epsilon, weights or auto")
    best_y = scenario.with_weights(unmet=UNMET_WEIGHT, **{y: 1.0, x: TIE_WEIGHT})
    best_x = scenario.with_weights(unmet=UNMET_WEIGHT, **{x: 1.0, y: TIE_WEIGHT})
    plans, caps = [], []

    def attempt(variant: Scenario, cap: float | None, label: str) -> None:
        if progress is not None:
            progress(label)
        limits = None if cap is None else {x: cap * TIE_WEIGHT}
        try:
            plans.append(solve(variant, company, time_limit=time_limit, limits=limits))
            caps.append(cap)
        except (InfeasibleError, NoPlanError):
            pass

    attempt(best_x, None, f"best {x}")
    attempt(best_y, None, f"best {y}")
    if len(plans) < 2:
        raise NoPlanError(f"the ends of the {x} / {y} frontier could not be solved")
    if method == "epsilon":
        low, high = (term_shares(plans[0], company).get(x, 0.0),
                     term_shares(plans[1], company).get(x, 0.0))
        for cap in np.linspace(low, high, points)[1:-1]:
            attempt(best_y, float(cap), f"{x} <= {cap:.4f}")
    else:
        for weight in np.logspace(-2, 2, max(points - 2, 0)):
            attempt(scenario.with_weights(unmet=UNMET_WEIGHT, **{y: 1.0, x: float(weight)}),
                    None, f"{y} + {weight:.3g} x {x}")
    records, kept, seen = [], [], set()
    for plan, cap in zip(plans, caps):
        shares = term_shares(plan, company)
        point = (shares.get(x, 0.0), shares.get(y, 0.0), shares.get("unmet", 0.0))
        if tuple(round(v, 9) for v in point) in seen:
            continue  # the same plan found again under a looser cap
        seen.add(tuple(round(v, 9) for v in point))
        records.append({x: point[0], y: point[1], "unmet": point[2], "cap": cap,
                        **{k: plan.kpis[k] for k in KPI_KEYS}})
        kept.append(plan)
    table = pd.DataFrame(records)
    table["dominated"] = dominated(table[x].to_numpy(), table[y].to_numpy(),
                                   table["unmet"].to_numpy())
    return Frontier(x, y, table, kept)


def solved_exactly(scenario: Scenario, company: Company) -> bool:
    """Whether the default method solves this company with the exact joint model."""
    from planner.solve import JOINT_AUTO_PAIRS, joint_pairs
    return joint_pairs(prepare(company, scenario)) <= JOINT_AUTO_PAIRS


def dominated(x: np.ndarray, y: np.ndarray, unmet: np.ndarray | None = None,
              tolerance: float = 1e-9) -> np.ndarray:
    """Whether each point is dominated by another (no worse in every criterion, better in
    one); unmet demand counts as a third criterion when given."""
    criteria = np.column_stack([x, y] + ([unmet] if unmet is not None else []))
    out = np.zeros(len(criteria), dtype=bool)
    for i, point in enumerate(criteria):
        no_worse = np.all(criteria <= point + tolerance, axis=1)
        better = np.any(criteria < point - tolerance, axis=1)
        out[i] = bool(np.any(no_worse & better))
    return out
