"""Compare org models on the same company: today's organisation first, CRM round-robin for each
org model, then each scenario's plan, in one KPI table. Solved plans are kept in a runs folder
and reused while the scenario and its data are unchanged."""

from __future__ import annotations

import hashlib
import os
import json
import shutil
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from planner.excelsafe import quote_frame
from planner.files import as_if_created_normally
from planner.errors import InfeasibleError, NoPlanError, UsageError
from planner.plan import Plan, read_kpis
from planner.run import baseline, load_data, solve
from planner.scenario import Scenario, load_scenario

TABLE_COLUMNS = ("name", "kind", "org_model", "status", "gap", "allocation_gap", "solve_seconds",
                 "objective",
                 "teams", "reps", "managers", "utilization_min", "utilization_max",
                 "utilization_std", "utilization_in_band_pct", "fit_mean", "coverage_pct",
                 "unmet_hours", "continuity_potential_pct", "continuity_accounts_pct",
                 "reps_moved", "max_span", "travel_total")
CACHE_VERSION = "1"
MAX_CELL = 24


def compare_scenarios(paths: list[Path], runs_dir: Path, time_limit: float | None = None,
                      resolve: bool = False,
                      progress_for: Callable[[str, float], object] | None = None) -> pd.DataFrame:
    """One row per organisation: current (once per data set), round-robin (once per org
    model), then every scenario's plan, solved or read from runs_dir."""
    scenarios = [load_scenario(p) for p in paths]
    rows, seen_data, seen_models = [], set(), set()
    companies = {}
    for sc in scenarios:
        data_key = (sc.reps_path, sc.accounts_path, sc.travel_path)
        if data_key not in companies:
            companies[data_key] = load_data(sc)
        if data_key not in seen_data:
            seen_data.add(data_key)
            rows.append(_row("current organisation", "current",
                             baseline(sc, "current", companies[data_key]).kpis))
    for sc in scenarios:
        data_key = (sc.reps_path, sc.accounts_path, sc.travel_path)
        if (data_key, sc.org_model) not in seen_models:
            seen_models.add((data_key, sc.org_model))
            label = sc.org_model if sc.org_is_preset else sc.name
            rows.append(_row(f"round-robin ({label})", "round-robin",
                             baseline(sc, "round-robin", companies[data_key]).kpis))
    for sc, path in zip(scenarios, paths):
        data_key = (sc.reps_path, sc.accounts_path, sc.travel_path)
        rows.append(_row(sc.name, "plan", _solved_kpis(sc, Path(path), runs_dir, time_limit,
                                                        resolve, companies[data_key],
                                                        progress_for)))
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def compare(*items, company=None, round_robin: bool = False,
            time_limit: float | None = None) -> pd.DataFrame:
    """One KPI table for plans and scenarios (scenarios are solved), today's organisation
    first (and CRM round-robin for each org model with `round_robin`): the notebook form of
    `planner compare`."""
    if not items:
        raise UsageError("compare needs at least one plan or scenario")
    plans = [item if isinstance(item, Plan) else solve(item, company, time_limit=time_limit)
             for item in items]
    first = plans[0].scenario
    company = company or load_data(first)
    rows = [_row("current organisation", "current", baseline(first, "current", company).kpis)]
    if round_robin:
        seen = set()
        for plan in plans:
            if plan.scenario.org_model not in seen:
                seen.add(plan.scenario.org_model)
                label = plan.scenario.org_model if plan.scenario.org_is_preset else plan.scenario.name
                rows.append(_row(f"round-robin ({label})", "round-robin",
                                 baseline(plan.scenario, "round-robin", company).kpis))
    rows += [_row(plan.scenario.name, "plan", plan.kpis) for plan in plans]
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def _solved_kpis(sc: Scenario, path: Path, runs_dir: Path, time_limit: float | None,
                 resolve: bool, company, progress_for) -> dict:
    out_dir = runs_dir / path.stem
    fingerprint = scenario_fingerprint(sc, path, time_limit)
    if not resolve and (out_dir / "kpis.json").is_file():
        kpis = read_kpis(out_dir)
        if kpis.get("fingerprint") == fingerprint:
            return kpis
    limit = time_limit or sc.solver.time_limit
    bar = progress_for(sc.name, limit) if progress_for else None
    try:
        plan = solve(sc, company, progress=bar, time_limit=time_limit)
    except (InfeasibleError, NoPlanError) as err:
        return {"org_model": sc.org_model, "status": "INFEASIBLE"
                if isinstance(err, InfeasibleError) else "UNKNOWN", "message": str(err)}
    finally:
        if bar is not None:
            bar.close()
    plan.kpis["fingerprint"] = fingerprint
    plan.to_csv(out_dir, force=True)
    return plan.kpis


def write_table(table: pd.DataFrame, out_file: Path) -> None:
    """Write the comparison as CSV, whole or not at all and safe to open in Excel (a name
    such as "=cmd" gets a leading quote, as in the plan files)."""
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_file.with_name(f".{out_file.name}.part")
    try:
        quote_frame(table).to_csv(tmp, index=False, encoding="utf-8")
        as_if_created_normally(tmp)
        os.replace(tmp, out_file)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def scenario_fingerprint(sc: Scenario, path: Path, time_limit: float | None) -> str:
    """Changes whenever the scenario file, its data or the time limit override change."""
    digest = hashlib.sha256(CACHE_VERSION.encode())
    for file in (path, sc.reps_path, sc.accounts_path, sc.travel_path):
        if file is not None:
            digest.update(Path(file).read_bytes())
    digest.update(json.dumps(time_limit).encode())
    return digest.hexdigest()


def _row(name: str, kind: str, kpis: dict) -> dict:
    values = {k: kpis.get(k) for k in TABLE_COLUMNS[2:]}
    values["allocation_gap"] = (kpis.get("stage2") or {}).get("gap")
    return {"name": name, "kind": kind, **values}


def format_table(table: pd.DataFrame, width: int | None = None) -> str:
    """KPIs as rows, organisations as columns (current first), numbers rounded for reading,
    wrapped into blocks that fit the terminal."""
    shown = table.set_index("name").drop(columns=["kind"]).T
    width = width or shutil.get_terminal_size((120, 24)).columns
    return shown.map(_cell).to_string(line_width=width)


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    text = str(value)
    return text if len(text) <= MAX_CELL else text[:MAX_CELL - 3] + "..."


MARKDOWN_COLUMNS = (("name", "organisation"), ("teams", "teams"), ("managers", "managers"),
                    ("utilization_min", "util. min"), ("utilization_max", "util. max"),
                    ("utilization_std", "util. std"), ("utilization_in_band_pct", "in band %"),
                    ("coverage_pct", "coverage %"), ("unmet_hours", "unmet h"),
                    ("fit_mean", "fit"), ("continuity_potential_pct", "continuity %"),
                    ("reps_moved", "moved"), ("allocation_gap", "alloc. gap"),
                    ("solve_seconds", "seconds"))


def markdown_table(table: pd.DataFrame) -> str:
    """The comparison as a Markdown table, one organisation per row (for reports)."""
    head = "| " + " | ".join(label for _, label in MARKDOWN_COLUMNS) + " |"
    rule = "|" + "---|" * len(MARKDOWN_COLUMNS)
    rows = ["| " + " | ".join(_cell(row[col]) if col != "name" else str(row[col])
                              for col, _ in MARKDOWN_COLUMNS) + " |"
            for _, row in table.iterrows()]
    return "\n".join([head, rule, *rows])


#: Which way is better for each KPI the comparison marks (True: higher is better).
HIGHER_IS_BETTER = {"utilization_std": False, "utilization_in_band_pct": True, "fit_mean": True,
                    "coverage_pct": True, "unmet_hours": False, "continuity_potential_pct": True,
                    "continuity_accounts_pct": True, "reps_moved": False, "travel_total": False}


def best_rows(table: pd.DataFrame, kinds: tuple[str, ...] = ("plan",)) -> dict[str, list[int]]:
    """For each KPI of HIGHER_IS_BETTER, the row positions holding its best value among rows
    of the given kinds (by default solved plans, not the baselines): what the app marks."""
    out: dict[str, list[int]] = {}
    eligible = table["kind"].isin(kinds).to_numpy()
    for kpi, higher in HIGHER_IS_BETTER.items():
        values = pd.to_numeric(table[kpi], errors="coerce").to_numpy(dtype=float)
        values = np.where(eligible, values, np.nan)
        if np.isnan(values).all():
            continue
        best = np.nanmax(values) if higher else np.nanmin(values)
        out[kpi] = np.flatnonzero(np.isclose(values, best, rtol=1e-9, atol=1e-9)).tolist()
    return out
