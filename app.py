"""Sales team division planner: the Streamlit front end where sales leadership compares org
splits side by side, today's organisation first.

Thin by design: it calls `planner` and draws. Pages: Data, Design, Solve, Compare, Plan,
Adjust, Export. Solved runs live in an SQLite file (planner.runstore; $PLANNER_STORE) so
comparisons survive a restart. Run it with `streamlit run app.py`.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import streamlit as st

from planner import charts, whatif
from planner.compare import best_rows, compare
from planner.contracts import PLAN_FILES, KPIS_FILE
from planner.data import Company, load_company, load_uploaded_company
from planner.errors import PlannerError
from planner.jobs import CANCELLED_KEY, SolveJob
from planner.moves import cause_counts, owner_changes
from planner.orgmodel import PRESETS
from planner.plan import Plan, plan_files, plan_zip
from planner.run import baseline, load_data
from planner.runstore import RunStore, default_store_path, run_fingerprint
from planner.scenario import OBJECTIVE_TERMS, Scenario, load_scenario, scenario_to_yaml

HERE = Path(__file__).resolve().parent
DEMO_SCENARIOS = HERE / "scenarios"
DEMO_DATA = DEMO_SCENARIOS / "demo"
PAGES = ("Data", "Design", "Solve", "Compare", "Plan", "Adjust", "Export")
#: The two demo scenarios the Solve page offers first: a new user compares them in a minute.
FIRST_SCENARIOS = ("region-x-function", "key-account-hybrid")
DEFAULT_TIME_LIMIT = 20
MAX_UPLOAD_BYTES = 50_000_000
DIMENSIONS = ("region", "segment", "product", "channel", "function")
POLL_SECONDS = 1.0


# --- state ---------------------------------------------------------------------------------

def _store() -> RunStore:
    return _open_store(str(default_store_path()))


@st.cache_resource
def _open_store(path: str) -> RunStore:
    return RunStore(path)


@st.cache_resource(show_spinner="Reading the company's files ...", max_entries=8)
def _company(reps: str, accounts: str, stamp: tuple) -> Company:
    return load_company(Path(reps), Path(accounts))


def company_of(sc: Scenario) -> Company:
    """The scenario's company: cached for plain data; with edits (what-ifs, adjustments) read
    with them applied, as the solver sees it."""
    if sc.edits or sc.travel_path:
        return load_data(sc)
    stamp = tuple(p.stat().st_mtime_ns for p in (sc.reps_path, sc.accounts_path))
    return _company(str(sc.reps_path), str(sc.accounts_path), stamp)


def _data() -> dict:
    """The active company's files: the demo until the user uploads their own."""
    if "data" not in st.session_state:
        st.session_state["data"] = {"label": "demo company", "reps": DEMO_DATA / "reps.csv",
                                    "accounts": DEMO_DATA / "accounts.csv"}
    return st.session_state["data"]


def _on_active_data(sc: Scenario) -> bool:
    data = _data()
    return sc.reps_path == Path(data["reps"]) and sc.accounts_path == Path(data["accounts"])


def scenarios() -> dict[str, Scenario]:
    """Every scenario on the active data: the demo YAML files (for the demo company) and the
    saved ones, by name."""
    found: dict[str, Scenario] = {}
    for path in sorted(DEMO_SCENARIOS.glob("*.yaml")):
        sc = load_scenario(path)
        if _on_active_data(sc):
            found[sc.name] = sc
    store = _store()
    for name in store.scenario_names():
        try:
            sc = store.scenario(name)
        except PlannerError:
            continue  # its data files are gone
        if _on_active_data(sc):
            found[name] = sc
    return found


def stored_plans() -> dict[str, Plan]:
    """The latest solved plan of each scenario on the active data, by scenario name."""
    plans: dict[str, Plan] = {}
    for run, plan in _store().plans():
        if _on_active_data(plan.scenario):
            plans[run.name] = plan
    return plans


def _reference(sc: Scenario) -> Plan:
    """Today's organisation measured with the scenario's KPIs."""
    return baseline(sc, "current", company_of(sc))


def _error(err: PlannerError) -> None:
    st.error(str(err), icon="⚠️")


# --- Data ----------------------------------------------------------------------------------

def page_data() -> None:
    st.header("Data: who we have, and where the work is")
    data = _data()
    st.caption(f"Planning for the **{data['label']}**.")
    if "flash" in st.session_state:
        st.success(st.session_state.pop("flash"))
    with st.expander("Upload your own reps.csv and accounts.csv", expanded=False):
        st.write("UTF-8 or GBK (Excel on Chinese Windows), comma or semicolon separated; "
                 "the columns are listed in the README. Files are checked in memory first.")
        reps = st.file_uploader("reps.csv", type=["csv", "txt"], key="upload_reps")
        accounts = st.file_uploader("accounts.csv", type=["csv", "txt"], key="upload_accounts")
        if reps is not None and accounts is not None:
            _take_upload(reps.name, reps.getvalue(), accounts.name, accounts.getvalue())
        if data["label"] != "demo company" and st.button("Back to the demo company"):
            st.session_state.pop("data")
            st.rerun()
    sc = _any_scenario()
    try:
        company = company_of(sc) if sc is not None else load_company(data["reps"],
                                                                     data["accounts"])
    except PlannerError as err:
        _error(err)
        return
    _company_summary(company)


def _take_upload(reps_name: str, reps: bytes, accounts_name: str, accounts: bytes) -> None:
    """Validate an upload in memory; keep it and make it the active company if it is sound."""
    for name, content in ((reps_name, reps), (accounts_name, accounts)):
        if len(content) > MAX_UPLOAD_BYTES:
            st.error(f"{name}: the file is {len(content) / 1e6:,.0f} MB; uploads are limited "
                     f"to {MAX_UPLOAD_BYTES / 1e6:,.0f} MB (use the planner command for larger "
                     "files)")
            return
    try:
        load_uploaded_company(reps, reps_name, accounts, accounts_name)
    except PlannerError as err:
        _error(err)
        return
    folder = _store().keep_upload({"reps.csv": reps, "accounts.csv": accounts})
    new = {"label": f"uploaded company ({reps_name}, {accounts_name})",
           "reps": folder / "reps.csv", "accounts": folder / "accounts.csv"}
    if st.session_state.get("data") != new:
        st.session_state["data"] = new
        st.session_state["flash"] = ("The uploaded files are valid and now the company you "
                                     "plan for. Build a scenario for them on the Design page.")
        st.rerun()


def _any_scenario() -> Scenario | None:
    found = scenarios()
    return next(iter(found.values()), None)


def _company_summary(company: Company) -> None:
    reps, lines = company.reps, company.lines
    demand, capacity = float(lines["hours"].sum()), float(reps["capacity_hours"].sum())
    cols = st.columns(5)
    cols[0].metric("Reps", f"{len(reps):,}")
    cols[1].metric("Accounts", f"{len(company.accounts):,}")
    cols[2].metric("Demand lines", f"{len(lines):,}")
    cols[3].metric("Demand", f"{demand:,.0f} h")
    cols[4].metric("Capacity", f"{capacity:,.0f} h", f"{capacity - demand:+,.0f} h")
    st.success(f"The files are valid: {len(reps):,} reps, {len(company.accounts):,} accounts, "
               f"{len(lines):,} account x product x function lines.")
    dimension = st.selectbox("Demand and capacity by", DIMENSIONS, key="data_dimension")
    st.plotly_chart(charts.demand_capacity_by(company, dimension), key="data_chart")
    table = charts.demand_capacity_table(company, dimension)
    st.dataframe(table, hide_index=True)


# --- Design --------------------------------------------------------------------------------

def page_design() -> None:
    st.header("Design: an org model, its rules and what matters most")
    found = scenarios()
    if not found:
        st.info("No scenario yet for these data: start from a preset below.")
    start_name = st.selectbox("Start from", list(found) or ["(a new scenario)"],
                              key="design_start")
    start = found.get(start_name) or _blank_scenario()
    org = _org_widgets(start)
    rules = _rule_widgets(start)
    objective = _objective_widgets(start)
    solver = _solver_widgets(start)
    name = st.text_input("Scenario name", value=f"{start.name} (edited)", key="design_name")
    if st.button("Save scenario", type="primary", key="design_save"):
        try:
            sc = _designed(start, name, org, rules, objective).with_solver(**solver)
        except PlannerError as err:
            _error(err)
            return
        text = _store().save_scenario(sc)
        st.success(f"Saved {sc.name!r}. Solve it on the Solve page; the YAML below runs with "
                   "`planner solve` too.")
        st.code(text, language="yaml")
        st.download_button("Download the scenario (YAML)", text, f"{_slug(sc.name)}.yaml",
                           key="design_download")


def _blank_scenario() -> Scenario:
    data = _data()
    sc = load_scenario(DEMO_SCENARIOS / "region-x-function.yaml")
    return sc.model_copy(update={"reps_path": Path(data["reps"]),
                                 "accounts_path": Path(data["accounts"]),
                                 "name": "New scenario"})


def _org_widgets(start: Scenario) -> str | dict:
    st.subheader("Org model")
    kind = st.radio("How to divide", ["A preset", "A hybrid tree"], horizontal=True,
                    key="design_kind")
    if kind == "A preset":
        names = list(PRESETS)
        default = names.index(start.org_model) if start.org_model in names else 0
        preset = st.selectbox("Preset", names, index=default, key="design_preset",
                              format_func=lambda n: f"{n}: {PRESETS[n][1]}")
        return preset
    first = st.selectbox("First split by", DIMENSIONS, index=1, key="design_first")
    company = company_of(start)
    branches = {}
    for value in company.values(first):
        below = st.multiselect(f"{first} = {value}: then split by",
                               [d for d in DIMENSIONS if d != first], key=f"design_branch_{value}")
        branches[f"{first}={value}"] = {"levels": below}
    return {"levels": [first], "branches": branches}


def _rule_widgets(start: Scenario) -> dict:
    st.subheader("Rules (hard limits)")
    r = start.rules
    c1, c2 = st.columns(2)
    band = c1.slider("Utilization band (assigned hours / capacity)", 0.0, 1.5,
                     (float(r.utilization.min), float(r.utilization.max)), 0.05,
                     key="design_band")
    minimum = c2.slider("Minimum proficiency for work (0-5)", 0, 5, int(r.min_proficiency),
                        key="design_min_prof")
    span = c1.number_input("Span of control (0: no managers)", 0, 50,
                           int(r.span_of_control or 0), key="design_span")
    seniors = c2.checkbox("Key accounts only to senior reps", r.key_accounts_senior,
                          key="design_seniors")
    unmet = c2.checkbox("Allow unmet demand (it becomes hiring needs)", r.allow_unmet,
                        key="design_unmet")
    return {"utilization": {"min": band[0], "max": band[1]}, "min_proficiency": minimum,
            "span_of_control": int(span) or None, "key_accounts_senior": seniors,
            "allow_unmet": unmet}


def _objective_widgets(start: Scenario) -> dict:
    st.subheader("Objective")
    form = st.radio("Trade the goals off by", ["Weights", "A priority order"], horizontal=True,
                    key="design_objective")
    if form == "A priority order":
        order = st.multiselect("Priorities, most important first", list(OBJECTIVE_TERMS),
                               default=["unmet", "continuity", "balance", "fit"],
                               key="design_priorities")
        return {"priorities": order}
    weights = start.objective.resolved_weights
    cols = st.columns(len(OBJECTIVE_TERMS))
    return {"weights": {t: cols[i].number_input(t, 0.0, 10_000.0, float(weights.get(t, 0.0)),
                                                key=f"design_w_{t}")
                        for i, t in enumerate(OBJECTIVE_TERMS)}}


def _solver_widgets(start: Scenario) -> dict:
    with st.expander("Solver settings"):
        c1, c2 = st.columns(2)
        workers = c1.number_input(
            "Search workers", 1, 16, int(start.solver.workers), key="design_workers",
            help="With 1 worker and a seed, a search that ends before its time limit gives the "
                 "same plan every time; one the limit cuts short may end elsewhere.")
        seed = c2.number_input("Seed", 0, 10_000, int(start.solver.seed), key="design_seed")
    return {"workers": int(workers), "seed": int(seed)}


def _designed(start: Scenario, name: str, org, rules: dict, objective: dict) -> Scenario:
    sc = start.with_org_model(org)
    if sc.rules.manager_level not in sc.org_spec.dimensions() | {"team"}:
        rules = {**rules, "manager_level": "team"}  # the new tree has no such level
    sc = sc.with_rules(**rules).with_name(name.strip() or "Unnamed")
    if "priorities" in objective:
        return sc.with_priorities(*objective["priorities"])
    return sc.with_weights(**objective["weights"])


def _slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-") or "scenario"


# --- Solve ---------------------------------------------------------------------------------

def page_solve() -> None:
    st.header("Solve: turn scenarios into plans")
    found = scenarios()
    default = [n for n in found if any(_slug(n) == s for s in FIRST_SCENARIOS)] or list(found)[:2]
    chosen = st.multiselect("Scenarios to solve", list(found), default=default,
                            key="solve_chosen")
    limit = st.slider("Time limit per scenario (seconds)", 5, 120, DEFAULT_TIME_LIMIT, 5,
                      key="solve_limit")
    busy = _job() is not None and not _job().done
    if st.button("Solve", type="primary", disabled=busy or not chosen, key="solve_start"):
        queue = [found[n].with_solver(time_limit=limit) for n in chosen]
        st.session_state["queue"] = queue
        st.session_state["solve_log"] = []
        st.session_state["log_page"] = "Solve"
        _next_job()
    if _log_page() == "Solve":
        _progress()


def _job() -> SolveJob | None:
    return st.session_state.get("job")


def _next_job() -> None:
    """Start the next queued scenario, reusing a stored run of the identical scenario."""
    queue: list[Scenario] = st.session_state.get("queue", [])
    log: list[str] = st.session_state.setdefault("solve_log", [])
    while queue:
        sc = queue.pop(0)
        stored = _store().get_run(run_fingerprint(sc), sc)
        if stored is not None:
            log.append(f"{sc.name}: unchanged since it was solved; the stored plan is reused.")
            continue
        st.session_state["job"] = SolveJob(sc, company_of(sc)).start()
        return
    st.session_state["job"] = None


def _log_page() -> str:
    """The page whose button started the current work: it shows the log and the progress."""
    return st.session_state.get("log_page", "Solve")


@st.fragment(run_every=POLL_SECONDS)
def _progress(full: bool = True) -> None:
    """The running solve: in full on the page that started it, else one line in the sidebar.
    Wherever it is drawn, it stores finished plans and starts the next queued scenario."""
    job = _job()
    if full:
        for line in st.session_state.get("solve_log", []):
            st.write(line)
    if job is None:
        return
    if full:
        st.progress(job.fraction(), text=f"{job.scenario.name}: {job.status_line()}")
        history = job.history()
        if len(history.dropna(subset=["objective"])):
            st.line_chart(history.set_index("seconds")[["objective", "bound"]], height=220)
    elif not job.done:
        st.caption(f"Solving {job.scenario.name}: {job.status_line()} (see {_log_page()})")
    if not job.done:
        if full and st.button("Cancel (keep the best plan found)", key="solve_cancel"):
            job.cancel()
            st.session_state["queue"] = []
        return
    _finish(job)
    _next_job()
    st.rerun()


def _finish(job: SolveJob) -> None:
    log = st.session_state.setdefault("solve_log", [])
    if job.error is not None:
        log.append(f"⚠ {job.scenario.name}: {job.error}")
        return
    plan = job.plan
    key = run_fingerprint(job.scenario)
    if plan.kpis.get(CANCELLED_KEY):
        key += f"-cancelled-{time.time():.0f}"  # kept for comparison, never reused
    problems = plan.verify()
    _store().put_run(key, plan)
    k = plan.kpis
    log.append(f"{job.scenario.name}: {k['status']}{' (cancelled)' if k.get(CANCELLED_KEY) else ''}"
               f" in {k['solve_seconds']:.1f} s; utilization {k['utilization_min']:.0%}-"
               f"{k['utilization_max']:.0%}, coverage {k['coverage_pct']:.1f}%, "
               f"verifier: {'every rule holds' if not problems else f'{len(problems)} violations'}")


# --- Compare -------------------------------------------------------------------------------

def page_compare() -> None:
    st.header("Compare: today's organisation, round-robin, then every solved scenario")
    plans = stored_plans()
    if not plans:
        st.info("No solved scenario yet: solve two on the Solve page, then come back.")
        return
    shown = st.multiselect("Scenarios", list(plans), default=list(plans), key="compare_chosen")
    if not shown:
        return
    chosen = [plans[n] for n in shown]
    first = chosen[0].scenario
    table = compare(*chosen, company=company_of(first), round_robin=True)
    st.dataframe(_marked(table), hide_index=True, key="compare_table",
                 column_config={c: st.column_config.Column(
                     SHORT_LABELS[c], help=charts.KPI_LABELS.get(c, c))
                     for c in SHOWN_COLUMNS if c != "name"})
    st.caption("Green: the best value per KPI among the solved scenarios. Today's organisation "
               "and CRM round-robin rules are measured with the same KPIs.")
    current = _reference(first)
    company = company_of(first)
    st.plotly_chart(charts.utilization_distribution({"today": current, **dict(zip(shown, chosen))}),
                    key="compare_utilization")
    one = st.selectbox("Look closer at", shown, key="compare_one")
    plan = plans[one]
    tabs = st.tabs(["Demand vs capacity", "Skill fit", "Coverage", "Org chart",
                    "Flow from today", "Hiring"])
    with tabs[0]:
        st.plotly_chart(charts.demand_vs_capacity_by_team(plan), key="compare_teams")
    with tabs[1]:
        st.plotly_chart(charts.skill_fit_heatmap(company, plan), key="compare_fit")
    with tabs[2]:
        st.plotly_chart(charts.coverage_heatmap(company, plan), key="compare_coverage")
    with tabs[3]:
        st.plotly_chart(charts.org_sunburst(plan), key="compare_org")
    with tabs[4]:
        what = st.radio("Flow of", ["reps", "accounts"], horizontal=True, key="compare_flow")
        st.plotly_chart(charts.flow_sankey(current, plan, what), key="compare_sankey")
    with tabs[5]:
        st.plotly_chart(charts.hiring_bars(plan), key="compare_hiring")


#: The comparison's columns as shown, the KPIs a leader reads first leading.
SHOWN_COLUMNS = ("name", "teams", "managers", "utilization_std", "utilization_in_band_pct",
                 "utilization_min", "utilization_max", "coverage_pct", "unmet_hours", "fit_mean",
                 "continuity_potential_pct", "continuity_accounts_pct", "reps_moved",
                 "travel_total", "status", "allocation_gap", "solve_seconds", "kind", "org_model")


SHORT_LABELS = {"teams": "teams", "managers": "managers", "utilization_std": "util. std",
                "utilization_in_band_pct": "in band %", "utilization_min": "util. min",
                "utilization_max": "util. max", "coverage_pct": "coverage %",
                "unmet_hours": "unmet h", "fit_mean": "fit", "continuity_potential_pct":
                "continuity %", "continuity_accounts_pct": "accounts kept %",
                "reps_moved": "reps moved", "travel_total": "travel", "status": "status",
                "allocation_gap": "alloc. gap", "solve_seconds": "seconds", "kind": "kind",
                "org_model": "org model"}


def _marked(table: pd.DataFrame):
    """The KPI table, key KPIs first, each KPI's best value among the plans highlighted."""
    best = best_rows(table)
    shown = table[[c for c in SHOWN_COLUMNS if c in table.columns]]

    def style(column: pd.Series) -> list[str]:
        rows = set(best.get(column.name, []))
        return ["background-color: #c8e6c9; font-weight: bold" if i in rows else ""
                for i in range(len(column))]

    return shown.style.apply(style).format(precision=3, na_rep="-", thousands=",")


# --- Plan ----------------------------------------------------------------------------------

def page_plan() -> None:
    st.header("Plan: teams, people and the accounts that change hands")
    plans = stored_plans()
    if not plans:
        st.info("No solved scenario yet: solve one on the Solve page.")
        return
    plan = plans[st.selectbox("Scenario", list(plans), key="plan_chosen")]
    k = plan.kpis
    st.write(f"**{k['status']}**, {k['teams']} teams, {k['reps']} reps, {k['managers']} "
             f"managers; utilization {k['utilization_min']:.0%}-{k['utilization_max']:.0%}, "
             f"coverage {k['coverage_pct']:.1f}%, unmet {k['unmet_hours']:,.0f} h, "
             f"{k['reps_moved']} reps moved.")
    st.subheader("Teams")
    st.dataframe(plan.teams, hide_index=True, key="plan_teams")
    team = st.selectbox("Members of", plan.teams["team_id"].tolist(), key="plan_team")
    members = plan.reps[plan.reps["team_id"] == team]
    st.dataframe(members, hide_index=True, key="plan_members")
    st.subheader("Accounts that change owner, and why")
    company = company_of(plan.scenario)
    moves = owner_changes(company, plan)
    st.dataframe(cause_counts(moves), hide_index=True, key="plan_causes")
    st.dataframe(moves, hide_index=True, key="plan_moves")
    st.subheader("Hiring needs")
    st.dataframe(plan.hiring, hide_index=True, key="plan_hiring")


# --- Adjust --------------------------------------------------------------------------------

def page_adjust() -> None:
    st.header("Adjust: pin, remove or add people, and re-solve with minimal disruption")
    plans = stored_plans()
    if not plans:
        st.info("No solved scenario yet: solve one on the Solve page.")
        return
    base_name = st.selectbox("Start from the plan of", list(plans), key="adjust_base")
    base = plans[base_name]
    reps = base.reps["rep_id"].tolist()
    teams = base.teams["team_id"].tolist()
    st.subheader("Pins")
    c1, c2 = st.columns(2)
    pin_rep = c1.selectbox("Rep", ["(none)"] + reps, key="adjust_pin_rep")
    pin_team = c2.selectbox("stays in team", teams, key="adjust_pin_team")
    accounts = sorted(base.assignments["account_id"].unique().tolist())
    pin_account = c1.selectbox("Account", ["(none)"] + accounts, key="adjust_pin_account")
    pin_owner = c2.selectbox("is served by", reps, key="adjust_pin_owner")
    st.subheader("People")
    leaving = st.multiselect("Reps who leave", reps, key="adjust_leaving")
    c3, c4 = st.columns(2)
    hires = c3.number_input("Open headcount to add", 0, 20, 0, key="adjust_hires")
    company = company_of(base.scenario)
    region = c4.selectbox("in region", company.values("region"), key="adjust_region")
    if st.button("Re-solve with minimal disruption", type="primary", key="adjust_solve"):
        try:
            sc = _adjusted(base, pin_rep, pin_team, pin_account, pin_owner, leaving,
                           int(hires), region)
        except PlannerError as err:
            _error(err)
            return
        st.session_state["queue"] = [sc]
        st.session_state["log_page"] = "Adjust"
        st.session_state["solve_log"] = [f"Re-solving {sc.name!r} from {base_name!r}: only "
                                         "what must change moves."]
        _next_job()
    if _log_page() == "Adjust":
        _progress()


def _adjusted(base: Plan, pin_rep: str, pin_team: str, pin_account: str, pin_owner: str,
              leaving: list[str], hires: int, region: str) -> Scenario:
    """The base plan's scenario re-planned from the base plan itself, with the adjustments."""
    folder = _store().path.parent / "plans" / run_fingerprint(base.scenario)[:16]
    base.to_csv(folder, force=True)
    sc = base.scenario
    pins = sc.rules.pins.model_dump()
    changes = []
    if pin_rep != "(none)":
        pins["reps"][pin_rep] = pin_team
        changes.append(f"{pin_rep} in {pin_team}")
    if pin_account != "(none)":
        pins["accounts"][pin_account] = pin_owner
        changes.append(f"{pin_account} with {pin_owner}")
    sc = whatif.minimal_disruption(sc.with_rules(pins=pins), folder)
    if leaving:
        sc = whatif.rep_leaves(sc, *leaving)
        changes.append(f"without {', '.join(leaving)}")
    if hires:
        sc = whatif.hire(sc, hires, home_region=region)
        changes.append(f"+{hires} in {region}")
    return sc.with_name(f"{base.scenario.name}, adjusted ({'; '.join(changes) or 'as is'})")


# --- Export --------------------------------------------------------------------------------

def page_export() -> None:
    st.header("Export: the plan files for the CRM")
    plans = stored_plans()
    if not plans:
        st.info("No solved scenario yet: solve one on the Solve page.")
        return
    name = st.selectbox("Scenario", list(plans), key="export_chosen")
    plan = plans[name]
    slug = _slug(name)
    st.download_button("All plan files (zip)", plan_zip(plan, slug), f"{slug}.zip",
                       "application/zip", type="primary", key="export_zip")
    files = plan_files(plan)
    for file in (*PLAN_FILES.values(), KPIS_FILE):
        st.download_button(file, files[file], f"{slug}-{file}", key=f"export_{file}")
    st.download_button("The scenario (YAML)", scenario_to_yaml(plan.scenario), f"{slug}.yaml",
                       key="export_yaml")
    st.caption("CSV cells that a spreadsheet would run as a formula (=, +, -, @) are prefixed "
               "with a quote; ids and Chinese text are kept as they are.")


# --- main ----------------------------------------------------------------------------------

def main() -> None:
    st.set_page_config(page_title="Sales team division planner", page_icon="🧭", layout="wide")
    st.sidebar.title("Sales team division planner")
    page = st.sidebar.radio("Page", PAGES, key="page")
    st.sidebar.caption(f"Data: {_data()['label']}")
    st.sidebar.caption(f"Runs are kept in {_store().path}")
    if page != _log_page() and _job() is not None:
        with st.sidebar:
            _progress(full=False)
    {"Data": page_data, "Design": page_design, "Solve": page_solve, "Compare": page_compare,
     "Plan": page_plan, "Adjust": page_adjust, "Export": page_export}[page]()


main()
