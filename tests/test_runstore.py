"""The app's run store (SQLite) and background solves: what is stored comes back equal, the
fingerprint changes exactly when the scenario or its data change, and a cancelled solve keeps
the best plan found."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from planner.jobs import CANCELLED_KEY, SolveJob
from planner.run import solve
from planner.runstore import RunStore, default_store_path, run_fingerprint
from planner.scenario import load_scenario
from planner.solve import CANCELLED_TEAM_SECONDS, stage_budget
from tests.test_moves import ACCOUNTS, REPS
from tests.helpers import write_scenario

DEMO = Path(__file__).resolve().parents[1] / "scenarios" / "region-x-function.yaml"
RULES = {"utilization": {"min": 0, "max": 1.0}}
WEIGHTS = {"weights": {"unmet": 100, "continuity": 1}}


@pytest.fixture
def scenario(tmp_path):
    return load_scenario(write_scenario(tmp_path / "data", REPS, ACCOUNTS, org_model="by-region",
                                        rules=RULES, objective=WEIGHTS, name="tiny"))


def test_store_location_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PLANNER_STORE", str(tmp_path / "x.sqlite"))
    assert default_store_path() == tmp_path / "x.sqlite"
    monkeypatch.delenv("PLANNER_STORE")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_store_path() == tmp_path / "data" / "sales-planner" / "planner.sqlite"


def test_a_saved_scenario_reads_back_the_same(tmp_path, scenario):
    store = RunStore(tmp_path / "s.sqlite")
    store.save_scenario(scenario.with_name("mine").with_rules(min_proficiency=3))
    back = RunStore(tmp_path / "s.sqlite").scenario("mine")  # survives a restart
    assert back.rules.min_proficiency == 3 and back.org_model == "by-region"
    assert back.reps_path == scenario.reps_path
    assert store.scenario_names() == ["mine"]
    store.delete_scenario("mine")
    assert store.scenario_names() == []


def test_a_stored_run_comes_back_equal(tmp_path, scenario):
    store = RunStore(tmp_path / "s.sqlite")
    plan = solve(scenario)
    key = run_fingerprint(scenario)
    store.put_run(key, plan)
    back = store.get_run(key, scenario)
    for name in ("teams", "reps", "assignments", "hiring"):
        pd.testing.assert_frame_equal(getattr(back, name).reset_index(drop=True),
                                      getattr(plan, name).reset_index(drop=True),
                                      check_dtype=False)
    assert back.kpis["coverage_pct"] == pytest.approx(plan.kpis["coverage_pct"])
    assert back.verify() == []
    [(run, listed)] = store.plans()
    assert run.name == "tiny" and listed.kpis["teams"] == plan.kpis["teams"]
    assert store.get_run("no such run", scenario) is None


def test_fingerprint_changes_with_the_scenario_and_its_data(tmp_path, scenario):
    key = run_fingerprint(scenario)
    assert run_fingerprint(scenario.with_name("other name")) == key
    assert run_fingerprint(scenario.with_rules(min_proficiency=3)) != key
    assert run_fingerprint(scenario.with_solver(time_limit=5)) != key
    assert run_fingerprint(scenario.with_rules(pins={"reps": {"R1": "West"}})) != key
    scenario.accounts_path.write_text(ACCOUNTS.replace("A5,Echo", "A5,Echo Ltd"),
                                      encoding="utf-8")
    assert run_fingerprint(scenario) != key


def test_runs_whose_data_is_gone_are_skipped(tmp_path, scenario):
    store = RunStore(tmp_path / "s.sqlite")
    store.put_run(run_fingerprint(scenario), solve(scenario))
    scenario.reps_path.unlink()
    assert store.plans() == [] and len(store.runs()) == 1


def test_uploads_are_kept_by_content(tmp_path):
    store = RunStore(tmp_path / "s.sqlite")
    first = store.keep_upload({"reps.csv": REPS.encode(), "accounts.csv": ACCOUNTS.encode()})
    again = store.keep_upload({"reps.csv": REPS.encode(), "accounts.csv": ACCOUNTS.encode()})
    other = store.keep_upload({"reps.csv": REPS.encode(), "accounts.csv": b"x"})
    assert first == again != other
    assert (first / "reps.csv").read_text() == REPS
    assert not list(first.glob(".*"))


def test_a_background_solve_reports_progress_and_a_verified_plan(scenario):
    job = SolveJob(scenario.with_solver(workers=1)).start()
    assert job.wait(60) and job.error is None
    assert job.plan.verify() == [] and CANCELLED_KEY not in job.plan.kpis
    assert job.fraction() == 1.0 and job.status_line().startswith("done in")
    history = job.history()
    assert list(history.columns) == ["seconds", "stage", "objective", "bound"]
    assert len(history) >= 1 and history["seconds"].is_monotonic_increasing


def test_a_cancelled_solve_keeps_the_best_plan_found():
    sc = load_scenario(DEMO).with_solver(time_limit=20, workers=1)
    job = SolveJob(sc).start()
    deadline = time.monotonic() + 60
    while not any(e.stage.startswith("stage 2") for e in list(job.events)):
        assert time.monotonic() < deadline and not job.done
        time.sleep(0.1)
    job.cancel()
    assert job.wait(60), "the solve did not stop after the cancel"
    assert job.error is None and job.plan.kpis[CANCELLED_KEY] is True
    assert job.plan.kpis["method"] == "two-stage"
    assert job.plan.verify() == []


def test_a_solve_cancelled_at_once_says_no_plan_was_found():
    sc = load_scenario(DEMO).with_solver(time_limit=120, workers=1)
    job = SolveJob(sc)
    job.cancel()
    job.start()
    assert job.wait(60) and job.plan is None
    assert str(job.error) == ("the solve was cancelled before a complete plan was found; solve "
                              "again and cancel later, or let it run")


def test_a_failing_solve_reports_the_planners_error(tmp_path):
    path = write_scenario(tmp_path, REPS, ACCOUNTS, org_model="by-region",
                          rules={"utilization": {"min": 0.99, "max": 1.0}, "allow_unmet": False})
    job = SolveJob(load_scenario(path)).start()
    assert job.wait(120) and job.plan is None
    assert "cannot be satisfied" in str(job.error)


def test_after_a_cancel_stage_2_allocates_the_teams_left_in_a_hurry():
    stop = threading.Event()
    assert stage_budget("stage 2: East", 7.5, stop) == (7.5, stop)
    stop.set()
    assert stage_budget("stage 2: East", 7.5, stop) == (CANCELLED_TEAM_SECONDS, None)
    assert stage_budget("stage 2: East", 7.5, stop, hurry=False) == (7.5, None)
    assert stage_budget("stage 1: team design", 7.5, stop) == (7.5, stop)
    assert CANCELLED_TEAM_SECONDS <= 0.5
