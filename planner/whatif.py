"""What-if helpers: each returns a new scenario whose data is edited on load (planner.edits);
the files stay as they are.

    from planner import whatif
    bigger_east = whatif.grow_demand(sc, 1.25, region="East")
    without_li = whatif.rep_leaves(sc, "R017")
    with_hires = whatif.hire(sc, 2, home_region="South", like="R042")
    with_ai = whatif.add_product(sc, "AI Copilot", like="Analytics")
    steady = whatif.minimal_disruption(sc, "runs/region-x-function")
"""

from __future__ import annotations

from pathlib import Path

from planner.data import load_scenario_data
from planner.errors import ScenarioError, did_you_mean
from planner.scenario import Scenario

#: Priorities of a re-solve that should move only what must move.
DISRUPTION_PRIORITIES = ("continuity", "unmet", "balance", "fit")


def grow_demand(scenario: Scenario, factor: float, **where: str) -> Scenario:
    """Demand times `factor` in the cell `where` (region="East", function="hunting", ...)."""
    cell = ", ".join(f"{k} {v}" for k, v in where.items()) or "everywhere"
    return scenario.with_edits({"scale_demand": {"where": where, "factor": factor}}).with_name(
        f"{scenario.name}, demand x{factor:g} ({cell})")


def rep_leaves(scenario: Scenario, *rep_ids: str) -> Scenario:
    """Reps leave: they are off the roster and their accounts have no owner."""
    return scenario.with_edits({"remove_reps": list(rep_ids)}).with_name(
        f"{scenario.name}, without {', '.join(rep_ids)}")


def hire(scenario: Scenario, count: int, home_region: str, like: str | None = None,
         level: int = 3, capacity_hours: float | None = None,
         skills: dict[str, float] | None = None, prefix: str = "HIRE") -> Scenario:
    """`count` hires join in `home_region`: with the skills of rep `like` (a profile to hire
    for), or the given skills; capacity of `like`, else the median rep's."""
    company = load_scenario_data(scenario)
    reps = company.reps
    template = None
    if like is not None:
        if like not in set(reps["rep_id"]):
            raise ScenarioError(f"hire: no rep {like!r} to copy{did_you_mean(like, reps['rep_id'])}")
        template = company.skills.iloc[int(reps.index[reps["rep_id"] == like][0])]
    profile = dict(skills or {})
    if template is not None:
        profile = {**{k: float(v) for k, v in template.dropna().items()}, **profile}
    capacity = capacity_hours or (float(reps.loc[reps["rep_id"] == like, "capacity_hours"].iloc[0])
                                  if like else float(reps["capacity_hours"].median()))
    taken = set(reps["rep_id"])
    ids, n = [], 1
    while len(ids) < count:
        candidate = f"{prefix}-{n}"
        if candidate not in taken:
            ids.append(candidate)
        n += 1
    new = [{"rep_id": rid, "name": f"New hire {i + 1} ({home_region})", "home_region": home_region,
            "level": level, "capacity_hours": capacity, "skills": profile}
           for i, rid in enumerate(ids)]
    return scenario.with_edits({"add_reps": new}).with_name(
        f"{scenario.name}, +{count} hire{'s' if count > 1 else ''} in {home_region}")


def add_product(scenario: Scenario, product: str, like: str, accounts_share: float = 0.5,
                hours_factor: float = 0.5, proficiency_change: float = -1.0) -> Scenario:
    """A new product line sold to a share of the accounts that buy `like`."""
    return scenario.with_edits({"add_product": {
        "product": product, "like": like, "accounts_share": accounts_share,
        "hours_factor": hours_factor, "proficiency_change": proficiency_change}}).with_name(
        f"{scenario.name}, + {product}")


def minimal_disruption(scenario: Scenario, plan_dir: str | Path) -> Scenario:
    """Re-plan from a previous plan rather than from today: its owners and teams become the
    current ones, and the objective keeps those relationships first, then meets what demand
    it can: only what must change moves."""
    assignments = Path(plan_dir) / "assignments.csv"
    if not assignments.is_file():
        raise ScenarioError(f"{plan_dir} holds no assignments.csv (a plan folder is expected)")
    return (scenario.with_edits({"owners_from": str(assignments.resolve())})
            .with_priorities(*DISRUPTION_PRIORITIES, tolerance=0.0)
            .with_name(f"{scenario.name}, from {Path(plan_dir).name}"))
