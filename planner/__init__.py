"""Sales team division planner: divide a sales department into teams and its accounts among
reps with an OR-Tools CP-SAT model, verify every plan, compare org models.

The analysts' API, in a few names:

    from planner import load_scenario, solve, compare, evaluate_current
    sc = load_scenario("scenarios/region-x-function.yaml")
    plan = solve(sc.with_rules(min_proficiency=3))
    compare(plan, solve(sc.with_org_model("by-region")))

See the README's "Python API" section.
"""

from planner.compare import compare
from planner.custom import Custom
from planner.errors import InfeasibleError, NoPlanError, PlannerError
from planner.plan import Plan
from planner.run import baseline, load_data, solve
from planner.scenario import Scenario, load_scenario
from planner.tradeoffs import Frontier, pareto, sweep
from planner import whatif


def evaluate_current(scenario: Scenario | str, company=None) -> Plan:
    """Today's organisation as a plan, measured with the scenario's KPIs and objective."""
    return baseline(scenario, "current", company)


__all__ = ["Custom", "Frontier", "InfeasibleError", "NoPlanError", "Plan", "PlannerError",
           "Scenario", "baseline", "compare", "evaluate_current", "load_data", "load_scenario",
           "pareto", "solve", "sweep", "whatif"]
