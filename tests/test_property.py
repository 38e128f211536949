"""Property: on random small companies and scenarios, every plan the planner returns passes the
independent verifier; where it returns no plan, it says why in words (never a bare status)."""

from __future__ import annotations

from pathlib import Path

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from planner.errors import InfeasibleError, NoPlanError
from planner.generate import generate_company, write_company
from planner.orgmodel import PRESETS
from planner.run import solve
from planner.verify import verify_plan_dir

PRESET_NAMES = sorted(PRESETS)


@st.composite
def companies_and_scenarios(draw) -> dict:
    """A random small company (from the generator, then reshaped into degenerate cases) and a
    random scenario over it."""
    n_reps = draw(st.integers(1, 7))
    n_accounts = draw(st.integers(1, 4 * n_reps + 4))
    seed = draw(st.integers(0, 10_000))
    functions = draw(st.sampled_from(["classic", "stages"]))
    reps, accounts = generate_company(n_reps, n_accounts, seed=seed, functions=functions)
    if draw(st.booleans()):  # everyone and everything in one region
        reps["home_region"] = "East"
        accounts["region"] = "East"
    if draw(st.booleans()):  # no key accounts
        accounts["segment"] = accounts["segment"].replace("key_account", "smb")
    low = draw(st.sampled_from([0.0, 0.0, 0.2, 0.4, 0.8]))
    rules = {
        "utilization": {"min": low, "max": draw(st.sampled_from([1.0, 1.1, 1.5, 3.0]))},
        "min_proficiency": draw(st.sampled_from([0, 1, 2, 3])),
        "key_accounts_senior": draw(st.booleans()),
        "allow_unmet": draw(st.sampled_from([True, True, True, False])),
        "span_of_control": draw(st.sampled_from([None, 2, 3, 8])),
        "manager_load": draw(st.sampled_from([0.0, 0.5, 1.0])),
    }
    if draw(st.booleans()):
        rules["max_reps_moved"] = draw(st.integers(0, n_reps))
    objective = draw(st.sampled_from([
        None, {"weights": {"unmet": 1000, "balance": 10, "continuity": 5, "travel": 1}},
        {"priorities": ["unmet", "continuity", "balance"], "tolerance": 0.05}]))
    return {"reps": reps, "accounts": accounts, "rules": rules, "objective": objective,
            "org_model": draw(st.sampled_from(PRESET_NAMES)),
            "method": draw(st.sampled_from(["auto", "two-stage"]))}


def _write(folder: Path, case: dict) -> Path:
    write_company(folder, case["reps"], case["accounts"])
    doc = {"name": "random", "data": {"reps": "reps.csv", "accounts": "accounts.csv"},
           "org_model": case["org_model"], "rules": case["rules"],
           "solver": {"time_limit": 5, "workers": 1, "seed": 0}}
    if case["objective"]:
        doc["objective"] = case["objective"]
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


@settings(max_examples=100, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=companies_and_scenarios())
def test_every_returned_plan_verifies(case, tmp_path_factory):
    folder = tmp_path_factory.mktemp("random")
    scenario = _write(folder, case)
    try:
        plan = solve(scenario, method=case["method"])
    except InfeasibleError as err:
        event("infeasible: " + (err.problems[0].message[:60] if err.problems else "?"))
        assert err.problems and "cannot be satisfied" in str(err)
        return
    except NoPlanError as err:
        event("no plan in time")
        assert "time limit" in str(err)
        return
    event(f"plan ({plan.kpis['method']})")
    out = plan.to_csv(folder / "plan")
    violations = verify_plan_dir(plan.scenario, out)
    assert violations == [], "\n".join(map(str, violations))
    assert plan.kpis["status"] in ("OPTIMAL", "FEASIBLE")
