"""The Streamlit app driven page by page with AppTest: the demo loads, a bad upload shows the
planner's error, a scenario is designed, solved and compared with today first, a stored run
is reused, a pin is honoured after a minimal-disruption re-solve, and exports are whole.

Solves run on a tiny uploaded company (one worker, fixed seed) so each takes well under a
second of search; the app's run store is a fresh SQLite file per test."""

from __future__ import annotations

import io
import json
import time
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from planner.contracts import KPIS_FILE, PLAN_FILES
from planner.generate import generate_company
from planner.plan import plan_zip
from planner.runstore import RunStore

APP = Path(__file__).resolve().parents[1] / "app.py"
TIMEOUT = 60
SOLVE_WAIT = 90


@pytest.fixture
def store_path(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "store" / "planner.sqlite"
    monkeypatch.setenv("PLANNER_STORE", str(path))
    return path


@pytest.fixture
def app(store_path) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def tiny_company() -> tuple[bytes, bytes]:
    reps, accounts = generate_company(8, 40, seed=3)
    return (reps.to_csv(index=False).encode("utf-8"),
            accounts.to_csv(index=False).encode("utf-8"))


def go(at: AppTest, page: str) -> AppTest:
    at.sidebar.radio(key="page").set_value(page).run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown]


def upload_tiny(at: AppTest) -> None:
    reps, accounts = tiny_company()
    go(at, "Data")
    at.get("file_uploader")[0].upload("reps.csv", reps, "text/csv").run()
    at.get("file_uploader")[1].upload("accounts.csv", accounts, "text/csv").run()
    assert not at.exception and not at.error, [e.value for e in at.error]


def design(at: AppTest, name: str, preset: str) -> None:
    go(at, "Design")
    at.selectbox(key="design_preset").set_value(preset).run()
    at.slider(key="design_band").set_value((0.3, 1.3)).run()  # 2 reps a team: loads are lumpy
    at.number_input(key="design_workers").set_value(1).run()
    at.text_input(key="design_name").set_value(name).run()
    at.button(key="design_save").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]


def solve(at: AppTest, names: list[str], button: str = "solve_start") -> list[str]:
    """Click Solve for `names` and poll (as the browser's fragment does) until every one is
    logged as finished; return the log lines."""
    if button == "solve_start":
        go(at, "Solve")
        at.multiselect(key="solve_chosen").set_value(names).run()
        at.slider(key="solve_limit").set_value(5).run()
    at.button(key=button).click().run()
    deadline = time.monotonic() + SOLVE_WAIT
    while time.monotonic() < deadline:
        assert not at.exception, at.exception
        done = [t for t in texts(at) if "verifier:" in t or "reused" in t or "⚠" in t]
        if len(done) >= len(names) and at.session_state["job"] is None:
            return texts(at)
        time.sleep(0.3)
        at.run()
    raise AssertionError(f"the solve did not finish: {texts(at)}")


def test_demo_company_loads_with_its_figures(app):
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Reps"] == "120" and metrics["Accounts"] == "3,000"
    assert "The files are valid: 120 reps" in app.success[0].value
    chart = json.loads(app.get("plotly_chart")[0].proto.spec)
    assert "region" in json.dumps(chart["layout"]["title"]).lower()
    solve_page = go(app, "Solve")
    assert solve_page.multiselect(key="solve_chosen").value == ["Key-account hybrid",
                                                                 "Region x function"]


def test_a_bad_upload_shows_the_error_and_keeps_the_demo(app):
    reps, accounts = tiny_company()
    broken = reps.replace(b"capacity_hours", b"capacity", 1)
    app.get("file_uploader")[0].upload("reps.csv", broken, "text/csv").run()
    app.get("file_uploader")[1].upload("accounts.csv", accounts, "text/csv").run()
    errors = [e.value for e in app.error]
    assert len(errors) == 1
    assert "reps.csv" in errors[0] and "capacity_hours" in errors[0]
    assert "demo company" in app.sidebar.caption[0].value


def test_design_solve_compare_and_reuse(app, store_path):
    upload_tiny(app)
    assert "uploaded company" in app.sidebar.caption[0].value
    design(app, "Tiny by region", "by-region")
    assert "org_model: by-region" in app.code[0].value
    assert RunStore(store_path).scenario_names() == ["Tiny by region"]
    design(app, "Tiny by function", "by-function")

    log = solve(app, ["Tiny by region", "Tiny by function"])
    assert sum("verifier: every rule holds" in t for t in log) == 2, log

    go(app, "Compare")
    table = app.dataframe[0].value
    assert table["name"].tolist()[0] == "current organisation"
    assert table["kind"].tolist()[0] == "current"
    assert set(table.loc[table["kind"] == "plan", "name"]) == {"Tiny by region", "Tiny by function"}
    assert (table["kind"] == "round-robin").sum() == 2
    titles = [json.loads(c.proto.spec)["layout"].get("title", {}) for c in app.get("plotly_chart")]
    assert any("tilization" in json.dumps(t) for t in titles)

    log = solve(app, ["Tiny by region"])
    assert any("unchanged since it was solved; the stored plan is reused" in t for t in log)
    assert len(RunStore(store_path).runs()) == 2


def test_a_pinned_rep_stays_in_the_chosen_team_after_a_re_solve(app, store_path):
    upload_tiny(app)
    design(app, "Tiny by region", "by-region")
    solve(app, ["Tiny by region"])
    base = dict(RunStore(store_path).plans()[0][1].reps[["rep_id", "team_id"]].values)
    rep = next(iter(base))
    other = next(t for t in sorted(set(base.values())) if t != base[rep])

    go(app, "Adjust")
    app.selectbox(key="adjust_pin_rep").set_value(rep).run()
    app.selectbox(key="adjust_pin_team").set_value(other).run()
    log = solve(app, ["adjusted"], button="adjust_solve")
    assert any("adjusted" in t and "verifier: every rule holds" in t for t in log), log

    plans = {run.name: plan for run, plan in RunStore(store_path).plans()}
    adjusted = next(p for n, p in plans.items() if "adjusted" in n)
    after = dict(adjusted.reps[["rep_id", "team_id"]].values)
    assert after[rep] == other
    assert adjusted.verify() == []
    moved = sum(after[r] != base[r] for r in base)
    assert moved <= 2  # minimal disruption: the pinned rep and at most one swap partner


def test_plan_and_export_pages_show_the_solved_plan(app, store_path):
    upload_tiny(app)
    design(app, "Tiny by region", "by-region")
    solve(app, ["Tiny by region"])
    go(app, "Plan")
    teams, members, causes, moves, hiring = (d.value for d in app.dataframe)
    kpis = RunStore(store_path).runs()[0].kpis
    assert len(teams) == kpis["teams"] and teams["team_id"].is_unique
    assert len(members) == teams["headcount"].iloc[0]
    assert set(members["team_id"]) <= {teams["team_id"].iloc[0]}
    assert causes["lines"].sum() == len(moves)
    assert set(moves["cause"]) <= {"pin", "min_proficiency", "key_accounts_senior", "org model",
                                   "unmet", "utilization band", "fit", "balance"}
    go(app, "Export")
    labels = [b.label for b in app.get("download_button")]
    assert labels[0] == "All plan files (zip)"
    assert set(PLAN_FILES.values()) | {KPIS_FILE} <= set(labels)


def test_the_zip_download_holds_the_five_plan_files(store_path):
    import yaml
    from planner import load_scenario, solve as solve_plan
    from tests.helpers import write_scenario
    reps, accounts = tiny_company()
    folder = store_path.parent / "data"
    path = write_scenario(folder, reps.decode(), accounts.decode(), org_model="by-function",
                          rules={"utilization": {"min": 0.3, "max": 1.3}})
    plan = solve_plan(load_scenario(path))
    archive = zipfile.ZipFile(io.BytesIO(plan_zip(plan, "tiny")))
    assert sorted(archive.namelist()) == sorted(f"tiny/{f}" for f in
                                                (*PLAN_FILES.values(), KPIS_FILE))
    kpis = json.loads(archive.read(f"tiny/{KPIS_FILE}"))
    assert kpis["reps"] == 8 and kpis["status"] in ("OPTIMAL", "FEASIBLE")
    assignments = pd.read_csv(archive.open("tiny/assignments.csv"))
    assert len(assignments) == len(plan.assignments)
    assert yaml.safe_load(path.read_text())["org_model"] == "by-function"


def test_a_hybrid_tree_built_with_widgets_is_saved_as_yaml_the_cli_reads(app, store_path):
    import yaml
    from planner.scenario import load_scenario
    go(app, "Design")
    app.radio(key="design_kind").set_value("A hybrid tree").run()
    app.selectbox(key="design_first").set_value("segment").run()
    app.multiselect(key="design_branch_key_account").set_value(["product"]).run()
    app.multiselect(key="design_branch_smb").set_value(["region", "function"]).run()
    app.radio(key="design_objective").set_value("A priority order").run()
    app.multiselect(key="design_priorities").set_value(["unmet", "continuity", "balance"]).run()
    app.text_input(key="design_name").set_value("Hybrid by hand").run()
    app.button(key="design_save").click().run()
    assert not app.exception and not app.error
    doc = yaml.safe_load(app.code[0].value)
    assert doc["org_model"] == {"levels": ["segment"], "branches": {
        "segment=key_account": {"levels": ["product"]},
        "segment=smb": {"levels": ["region", "function"]},
        "segment=individual": {"levels": []}}}
    assert doc["objective"]["priorities"] == ["unmet", "continuity", "balance"]
    path = store_path.parent / "hybrid.yaml"
    path.write_text(app.code[0].value, encoding="utf-8")
    sc = load_scenario(path)  # the command line reads what the app saved
    assert sc.name == "Hybrid by hand" and not sc.org_is_preset
    assert RunStore(store_path).scenario("Hybrid by hand").org_spec == sc.org_spec


def test_a_solve_finishes_and_is_stored_while_the_user_is_on_another_page(app, store_path):
    upload_tiny(app)
    design(app, "Tiny by region", "by-region")
    go(app, "Solve")
    app.multiselect(key="solve_chosen").set_value(["Tiny by region"]).run()
    app.slider(key="solve_limit").set_value(5).run()
    app.button(key="solve_start").click().run()
    go(app, "Compare")
    deadline = time.monotonic() + SOLVE_WAIT
    while app.session_state["job"] is not None:
        assert time.monotonic() < deadline and not app.exception
        time.sleep(0.3)
        app.run()
    assert [run.name for run in RunStore(store_path).runs()] == ["Tiny by region"]
    app.run()
    assert "Tiny by region" in app.dataframe[0].value["name"].tolist()
