"""Every demo scenario solves, passes the verifier, and spreads utilization more evenly than
both today's organisation and CRM round-robin rules on the same org model."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner.data import load_company
from planner.run import baseline, solve
from planner.scenario import load_scenario
from planner.verify import verify_plan_dir

SCENARIOS = sorted((Path(__file__).parent.parent / "scenarios").glob("*.yaml"))
#: Shorter than the scenarios' own limit, to keep the suite fast; the plans are still good.
TEST_TIME_LIMIT = 9


def test_there_are_at_least_five_demo_scenarios():
    names = {load_scenario(p).org_model for p in SCENARIOS}
    assert len(SCENARIOS) >= 5
    assert {"by-region", "by-function", "region-x-function", "product-x-region"} <= names
    assert any(name.startswith("custom: segment") for name in names)  # the key-account hybrid


@pytest.fixture(scope="module")
def company():
    first = load_scenario(SCENARIOS[0])
    return load_company(first.reps_path, first.accounts_path)


def test_demo_company_has_the_promised_shape(company):
    assert 100 <= company.n_reps <= 140
    assert 2_500 <= len(company.accounts) <= 3_500
    assert set(company.values("segment")) == {"key_account", "smb", "individual"}
    assert set(company.values("channel")) == {"direct", "online", "partner"}


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_demo_scenario_solves_verifies_and_beats_the_baselines(path, company, tmp_path):
    scenario = load_scenario(path)
    plan = solve(scenario, company, time_limit=TEST_TIME_LIMIT)
    out = plan.to_csv(tmp_path / "plan")
    assert verify_plan_dir(scenario, out) == []
    spread = plan.kpis["utilization_std"]
    for strategy in ("current", "round-robin"):
        other = baseline(scenario, strategy, company).kpis
        assert spread < other["utilization_std"], strategy
        assert plan.kpis["utilization_in_band_pct"] > other["utilization_in_band_pct"], strategy
    assert plan.kpis["utilization_in_band_pct"] == 100.0
    assert plan.kpis["coverage_pct"] > 90.0
