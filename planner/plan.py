"""A plan as the files of the contract: teams, reps, assignments, hiring needs and KPIs, built
from a decision (who goes where) and written whole or not at all."""

from __future__ import annotations

import io
import json
import math
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from planner.contracts import (ASSIGNMENTS_COLUMNS, HIRING_COLUMNS, HIRING_EXTRA_COLUMNS,
                               KPIS_FILE, MANAGEMENT_UNIT, MANAGER,
                               MANAGER_HIRING, MANAGER_SEPARATOR, MEMBER, PLAN_FILES,
                               TEAMS_COLUMNS)
from planner.data import Company
from planner.errors import UsageError
from planner.excelsafe import quote_frame, unquote_frame
from planner.files import as_if_created_normally
from planner.kpis import (Rows, compute_kpis, kept_owner, rep_columns, team_columns,
                          unmet_by_cell)
from planner.scenario import Scenario

#: An unmet cell is worth a hire from this many full-time equivalents up (0.5: round half up).
HIRE_FROM_FTE = 0.5


@dataclass(frozen=True)
class Plan:
    """A plan's tables and KPIs (the kpis.json content), ready to write or compare."""

    scenario: Scenario
    teams: pd.DataFrame
    reps: pd.DataFrame
    assignments: pd.DataFrame
    hiring: pd.DataFrame
    kpis: dict

    def to_csv(self, out_dir: str | Path, force: bool = False) -> Path:
        """Write the plan's files into out_dir (see write_plan)."""
        return write_plan(self, Path(out_dir), force)

    def verify(self) -> list:
        """The independent verifier's violations of this plan (an empty list: it holds)."""
        from planner.verify import PlanTables, verify_tables
        from planner.data import load_scenario_data
        tables = PlanTables(self.teams, self.reps, self.assignments, self.hiring,
                            _json_ready(self.kpis))
        return verify_tables(load_scenario_data(self.scenario), self.scenario, tables)


def build_plan(company: Company, scenario: Scenario, teams: pd.DataFrame, rep_team: np.ndarray,
               is_manager: np.ndarray, line_team: np.ndarray, line_rep: np.ndarray,
               hired_managers: dict[str, int], solver: dict) -> Plan:
    """The plan's tables from a decision.

    teams: team_id, the dimension columns and management_unit, one row per team.
    rep_team / line_team: team_id per rep / per demand line; line_rep: rep index or -1.
    hired_managers: managers to hire per team_id. solver: status, objective, best_bound, gap,
    solve_seconds and any extra figures for kpis.json."""
    rep_ids = company.reps["rep_id"].to_numpy()
    lines = company.lines
    rows = Rows.in_line_order(company, line_rep)
    assignments = pd.DataFrame({
        "account_id": lines["account_id"].to_numpy(), "product": lines["product"].to_numpy(),
        "function": lines["function"].to_numpy(), "hours": lines["hours"].to_numpy(),
        "team_id": np.asarray(line_team, dtype=object), "rep_id": rows.rep_id})
    assignments["kept_owner"] = kept_owner(company, assignments, rows)
    roles = pd.Series(np.where(is_manager, MANAGER, MEMBER), index=rep_ids)
    reps = rep_columns(company, scenario, teams, pd.Series(np.asarray(rep_team, dtype=object),
                                                           index=rep_ids), roles, assignments, rows)
    teams_out = _teams_table(teams, reps, assignments)
    hiring = _hiring_table(company, assignments, hired_managers)
    kpis = {"scenario": scenario.name, "org_model": scenario.org_model, **solver}
    # a baseline may name its own organisation (today's teams are not the scenario's org model)
    kpis.update(compute_kpis(company, scenario, teams_out, reps, assignments, rows))
    return Plan(scenario, teams_out, reps, assignments[list(ASSIGNMENTS_COLUMNS)], hiring, kpis)


def _teams_table(teams: pd.DataFrame, reps: pd.DataFrame,
                 assignments: pd.DataFrame) -> pd.DataFrame:
    managers = (reps[reps["role"] == MANAGER].groupby("team_id")["rep_id"]
                .agg(lambda ids: MANAGER_SEPARATOR.join(ids)))
    out = teams.copy()
    out["manager_rep_id"] = managers.reindex(out["team_id"]).fillna("").to_numpy()
    derived = team_columns(out, reps, assignments)
    for col in ("headcount", "demand_hours", "capacity_hours"):
        out[col] = derived[col].to_numpy()
    return out[list(TEAMS_COLUMNS) + [c for c in out.columns if c not in TEAMS_COLUMNS]]


def _hiring_table(company: Company, assignments: pd.DataFrame,
                  hired_managers: dict[str, int]) -> pd.DataFrame:
    """Unmet hours per team, function and product, in full-time equivalents of a median rep
    and as whole hires (from half an FTE up); then the managers to hire."""
    typical = float(np.median(company.reps["capacity_hours"]))
    cells = unmet_by_cell(assignments)
    cells["fte"] = (cells["unmet_hours"] / typical).round(2)
    cells["suggested_hires"] = np.floor(cells["unmet_hours"] / typical + HIRE_FROM_FTE).astype(int)
    managers = pd.DataFrame([{"team_id": team, "function": MANAGER_HIRING, "product": "",
                              "unmet_hours": 0.0, "fte": float(n), "suggested_hires": int(n)}
                             for team, n in hired_managers.items() if n > 0])
    out = pd.concat([cells, managers], ignore_index=True) if len(managers) else cells
    return out[list(HIRING_COLUMNS) + list(HIRING_EXTRA_COLUMNS)]


def write_plan(plan: Plan, out_dir: Path, force: bool = False) -> Path:
    """Write the five files into out_dir, all or nothing: they are written in a temporary
    folder beside it and moved into place at the end. An existing non-empty folder is replaced
    only with `force`."""
    out_dir = Path(out_dir)
    check_output_dir(out_dir, force)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    as_if_created_normally(tmp)
    try:
        for file, content in plan_files(plan).items():
            (tmp / file).write_bytes(content)
        _replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def plan_files(plan: Plan, excel_safe: bool = True) -> dict[str, bytes]:
    """The five plan files' contents by file name (UTF-8 CSV and kpis.json), as written.

    With `excel_safe` (the default: files a user opens in a spreadsheet) a text cell that a
    spreadsheet would run as a formula gets a leading quote (planner.excelsafe);
    `excel_safe=False` keeps cells exactly as they are (the app's run store)."""
    files = {}
    for name, frame in (("teams", plan.teams), ("reps", plan.reps),
                        ("assignments", plan.assignments), ("hiring", plan.hiring)):
        table = _csv_ready(frame)
        if excel_safe:
            table = quote_frame(table)
        files[PLAN_FILES[name]] = table.to_csv(index=False).encode("utf-8")
    files[KPIS_FILE] = json.dumps(_json_ready(plan.kpis), indent=2,
                                  ensure_ascii=False).encode("utf-8")
    return files


def plan_zip(plan: Plan, folder: str = "") -> bytes:
    """All plan files in one zip (under `folder` if given): the app's download."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file, content in plan_files(plan).items():
            archive.writestr(f"{folder}/{file}" if folder else file, content)
    return buffer.getvalue()


def plan_from_files(scenario: Scenario, files: dict[str, bytes],
                    excel_safe: bool = False) -> Plan:
    """A plan read back from its files (a stored run): numbers and true/false typed again.
    `excel_safe` says the files were written Excel-safe (plan_files' default, the files of
    write_plan): the quotes put in front of formula-like cells are then removed."""
    frames = {}
    for name, file in PLAN_FILES.items():
        table = pd.read_csv(io.BytesIO(files[file]), dtype=str, keep_default_na=False)
        frames[name] = _typed(unquote_frame(table) if excel_safe else table)
    return Plan(scenario, frames["teams"], frames["reps"], frames["assignments"],
                frames["hiring"], json.loads(files[KPIS_FILE].decode("utf-8")))


#: Plan-file columns that hold text even when every value looks like a number.
_TEXT_COLUMNS = frozenset({"team_id", "rep_id", "account_id", "product", "function", "role",
                           "manager_rep_id", "region", "segment", "channel", MANAGEMENT_UNIT})


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for col in out.columns:
        if col in _TEXT_COLUMNS:
            continue
        values = out[col]
        if len(values) and values.isin(["true", "false"]).all():
            out[col] = values == "true"
            continue
        numbers = pd.to_numeric(values, errors="coerce")
        if numbers.notna().all() or (values == "").all():
            out[col] = numbers
    return out


def _csv_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """Booleans as true/false, as in the input files."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == bool:
            out[col] = np.where(out[col], "true", "false")
    return out


def check_output_dir(out_dir: Path, force: bool) -> None:
    """Refuse to replace a non-empty folder unless forced (checked before any long work)."""
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())) and not force:
        raise UsageError(f"{out_dir} already exists and is not empty; choose another folder or "
                         "use --force to replace it")


def _replace_dir(new: Path, target: Path) -> None:
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
        old.rmdir()
        os.replace(target, old)
        os.replace(new, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new, target)


def _json_ready(value):
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def read_kpis(plan_dir: Path) -> dict:
    return json.loads((Path(plan_dir) / KPIS_FILE).read_text(encoding="utf-8"))
