"""The reference KPIs of a plan and the derived columns of its files, each computed one way only.

Everything here works from the plan's tables (teams.csv, reps.csv, assignments.csv as frames,
typed or read as strings) and the company, never from solver output, so that the plan writer,
the comparison of org models and the independent verifier agree by construction. Nothing here
checks rules: a baseline organisation (today's teams, every dimension column empty) is measured
the same way as a solved plan.

Conventions (see DESIGN.md, "Reference KPI definitions"):

- A plan's hours are the `hours` column of assignments.csv; an assignment row is matched to its
  demand line of `company.lines` by (account_id, product, function) and to its rep by rep_id.
  Rows that match no line or no roster rep still count as hours but have no fit, no
  qualification and no owner.
- A rep's capacity is the selling capacity of reps.csv: the input capacity for members, the input
  capacity times `rules.manager_load` for managers (`selling_capacity`). A rep is inside the
  utilization band when ``min * capacity <= assigned <= max * capacity`` (relative tolerance
  1e-9), which also holds for a manager with zero selling capacity and no hours.
- utilization = assigned / capacity; with zero capacity it is 0 for no hours and inf otherwise.
- A line is inside a team's scope when its attributes equal every non-empty dimension value of
  the team's row in teams.csv; a rep is moved when less than half of the hours they own today
  fall inside their new team's scope (a rep who owns nothing today is not moved).
- Percentages are 0-100; a share of nothing is 100.0 (coverage without demand, continuity
  without current owners); fit_mean is 0.0 when no hours are assigned.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planner.contracts import (LINE_KEY, MANAGEMENT_UNIT, MANAGER, MEMBER,
                               REP_COLUMNS)
from planner.data import DIMENSIONS, Company
from planner.scenario import Rules, Scenario
from planner.skills import SkillTable

BAND_TOLERANCE = 1e-9
MOVED_SHARE = 0.5



# --- small conversions -----------------------------------------------------------------------

def ids(values) -> np.ndarray:
    """Identifiers as an object array of str ('' for missing), whatever the dtype."""
    given = (values.to_numpy(dtype=object) if isinstance(values, pd.Series)
             else np.asarray(values, dtype=object))
    if given.ndim == 1 and _all_text(given):
        return given.copy()  # already text: skip pandas' conversion (called for every column)
    if not isinstance(values, pd.Series):
        values = pd.Series(given)
    return values.astype("str").fillna("").to_numpy(dtype=object)


def _all_text(values: np.ndarray) -> bool:
    """Whether every value is a str (None and NaN are not); checked in C, since plans of
    large companies have millions of cells."""
    return pd.api.types.infer_dtype(values, skipna=False) in ("string", "empty")


def numbers(values) -> np.ndarray:
    """Numbers as floats (NaN where a cell is empty or not a number)."""
    return pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=float)


def lookup(keys, queries) -> np.ndarray:
    """Position of each query in `keys` (its first occurrence), -1 where absent.

    Both arguments are arrays of scalars or lists of aligned arrays (a compound key)."""
    if not isinstance(keys, (list, tuple)):
        base = pd.Index(np.asarray(keys, dtype=object))
        if base.is_unique:
            return base.get_indexer(np.asarray(queries, dtype=object)).astype(np.int64)
    key_parts, query_parts = _parts(keys), _parts(queries)
    if all(_all_text(np.asarray(part, dtype=object)) for part in key_parts + query_parts):
        # text keys (ids): one integer per compound key, looked up among the keys' first
        # occurrences (a merge costs more on small data, a dict of tuples on large)
        key_codes, query_codes = _compound_codes(key_parts, query_parts)
        codes, first = np.unique(key_codes, return_index=True)
        if not len(codes):
            return np.full(len(query_codes), -1, dtype=np.int64)
        at = np.minimum(np.searchsorted(codes, query_codes), len(codes) - 1)
        return np.where(codes[at] == query_codes, first[at], -1).astype(np.int64)

    def frame(parts) -> pd.DataFrame:
        parts = parts if isinstance(parts, (list, tuple)) else [parts]
        return pd.DataFrame({f"k{i}": np.asarray(p, dtype=object) for i, p in enumerate(parts)})

    base, wanted = frame(keys), frame(queries)
    base["position"] = np.arange(len(base), dtype=np.int64)
    base = base.drop_duplicates(list(wanted.columns), keep="first")
    found = wanted.merge(base, how="left", on=list(wanted.columns))["position"]
    return found.fillna(-1).to_numpy(dtype=np.int64)


def _compound_codes(key_parts: list[np.ndarray], query_parts: list[np.ndarray]
                    ) -> tuple[np.ndarray, np.ndarray]:
    """One integer per key and per query, equal exactly where every part is equal."""
    combined = np.zeros(len(key_parts[0]) + len(query_parts[0]), dtype=np.int64)
    for key, query in zip(key_parts, query_parts):
        codes, uniques = pd.factorize(np.concatenate([key, query]), use_na_sentinel=False)
        combined = pd.factorize(combined * len(uniques) + codes)[0]
    return combined[:len(key_parts[0])], combined[len(key_parts[0]):]


def _parts(key) -> list[np.ndarray]:
    """A key (one array, or a list of aligned arrays) as a list of object arrays."""
    return [np.asarray(p, dtype=object) for p in (key if isinstance(key, (list, tuple)) else [key])]


def rep_index(company: Company, rep_ids) -> np.ndarray:
    """Roster index of each rep_id, -1 where empty or not on the roster."""
    return lookup(ids(company.reps["rep_id"]), ids(rep_ids))


def line_index(company: Company, assignments: pd.DataFrame) -> np.ndarray:
    """Row of company.lines for each assignment row, -1 where it names no demand line."""
    lines = company.lines
    return lookup([ids(lines[c]) for c in LINE_KEY], [ids(assignments[c]) for c in LINE_KEY])


# --- per rep -----------------------------------------------------------------------------------

def assigned_hours(rep_ids, assignments: pd.DataFrame) -> np.ndarray:
    """Hours of assignments.csv given to each of `rep_ids`."""
    per_rep = (pd.Series(numbers(assignments["hours"]), index=ids(assignments["rep_id"]))
               .groupby(level=0).sum())
    return per_rep.reindex(ids(rep_ids)).fillna(0.0).to_numpy(dtype=float)


def selling_capacity(company: Company, rules: Rules, rep_ids, roles) -> np.ndarray:
    """Input capacity, times rules.manager_load for managers (NaN for reps not on the roster)."""
    idx = rep_index(company, rep_ids)
    given = company.reps["capacity_hours"].to_numpy(dtype=float)
    capacity = np.where(idx >= 0, given[np.maximum(idx, 0)], np.nan)
    return np.where(ids(roles) == MANAGER, capacity * rules.manager_load, capacity)


def utilization(assigned: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """assigned / capacity; 0 for no hours on zero capacity, inf for hours on zero capacity."""
    assigned, capacity = np.asarray(assigned, float), np.asarray(capacity, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = assigned / capacity
    zero = np.where(assigned > 0, np.inf, 0.0)
    return np.where(capacity > 0, ratio, np.where(np.isnan(capacity), np.nan, zero))


def in_band(assigned: np.ndarray, capacity: np.ndarray, rules: Rules) -> np.ndarray:
    """min * capacity <= assigned <= max * capacity, with a relative tolerance of 1e-9."""
    assigned, capacity = np.asarray(assigned, float), np.asarray(capacity, float)
    slack = BAND_TOLERANCE * np.abs(capacity) + 1e-12
    return ((assigned >= rules.utilization.min * capacity - slack)
            & (assigned <= rules.utilization.max * capacity + slack))


def rep_fit(company: Company, rules: Rules, rep_ids, assignments: pd.DataFrame,
            rows: "Rows | None" = None) -> np.ndarray:
    """Each rep's hours-weighted mean fit over their assigned lines (NaN when they have none).
    `rows`: the assignments already resolved (`Rows`)."""
    rows = rows if rows is not None else Rows.of(company, assignments)
    fit = rows.fit(company, SkillTable(company, rules))
    ok = ~np.isnan(fit)
    weighted = pd.DataFrame({"rep": rows.rep_id[ok], "w": rows.hours[ok],
                             "wf": rows.hours[ok] * fit[ok]}).groupby("rep").sum()
    mean = (weighted["wf"] / weighted["w"]).where(weighted["w"] > 0)
    return mean.reindex(ids(rep_ids)).to_numpy(dtype=float)


def moved_reps(company: Company, teams: pd.DataFrame, rep_team: pd.Series) -> np.ndarray:
    """Whether each rep of `rep_team` (team_id indexed by rep_id) is moved, in its order.

    A rep is moved when less than half of the hours of the lines they own today fall inside
    the scope of their team's row in `teams` (a team missing from `teams` has no scope)."""
    lines = company.lines
    rep_ids = ids(pd.Series(rep_team.index))
    owner = lines["owner"].to_numpy()
    owned = np.flatnonzero(owner >= 0)
    pos = lookup(rep_ids, ids(company.reps["rep_id"]))[owner[owned]]
    owned, pos = owned[pos >= 0], pos[pos >= 0]
    team_row = lookup(ids(teams["team_id"]), ids(rep_team))[pos]
    inside = in_scope(teams, team_row, lines.iloc[owned])
    hours = lines["hours"].to_numpy(dtype=float)[owned]
    total = np.bincount(pos, weights=hours, minlength=len(rep_ids))
    kept = np.bincount(pos, weights=np.where(inside, hours, 0.0), minlength=len(rep_ids))
    return (total > 0) & (kept < MOVED_SHARE * total * (1 - 1e-12))


def in_scope(teams: pd.DataFrame, team_row: np.ndarray, work: pd.DataFrame) -> np.ndarray:
    """Whether work row i lies inside the scope of teams row team_row[i] (-1: no team)."""
    team_row = np.asarray(team_row, dtype=np.int64)
    inside = team_row >= 0
    safe = np.maximum(team_row, 0)
    for dim in DIMENSIONS:
        if dim not in teams.columns or len(teams) == 0:
            continue
        need = ids(teams[dim])[safe]
        inside &= (need == "") | (need == ids(work[dim]))
    return inside


def rep_columns(company: Company, scenario: Scenario, teams: pd.DataFrame, rep_team: pd.Series,
                roles: pd.Series | None, assignments: pd.DataFrame,
                rows: "Rows | None" = None) -> pd.DataFrame:
    """The rows of reps.csv for the reps of `rep_team` (team_id indexed by rep_id), in its order.

    roles: "manager" or "member" indexed by rep_id (missing reps, or None, are members).
    capacity_hours is the selling capacity (see selling_capacity); fit is NaN (an empty cell)
    for a rep without assigned lines; moved is recomputed with moved_reps."""
    rep_ids = ids(pd.Series(rep_team.index))
    role = (pd.Series(ids(roles), index=ids(pd.Series(roles.index))).reindex(rep_ids)
            .fillna(MEMBER).to_numpy(dtype=object) if roles is not None
            else np.full(len(rep_ids), MEMBER, dtype=object))
    assigned = assigned_hours(rep_ids, assignments)
    capacity = selling_capacity(company, scenario.rules, rep_ids, role)
    return pd.DataFrame({
        "rep_id": rep_ids, "team_id": ids(rep_team), "role": role,
        "assigned_hours": assigned, "capacity_hours": capacity,
        "utilization": utilization(assigned, capacity),
        "fit": rep_fit(company, scenario.rules, rep_ids, assignments, rows),
        "moved": moved_reps(company, teams, rep_team)}, columns=list(REP_COLUMNS))


# --- per assignment row, per team --------------------------------------------------------------

def kept_owner(company: Company, assignments: pd.DataFrame,
               rows: "Rows | None" = None) -> np.ndarray:
    """Whether each assignment row goes to its line's current owner."""
    rows = rows if rows is not None else Rows.of(company, assignments)
    owner = company.lines["owner"].to_numpy()[np.maximum(rows.line, 0)]
    return (rows.line >= 0) & (rows.rep >= 0) & (rows.rep == owner)


def team_columns(teams: pd.DataFrame, reps: pd.DataFrame,
                 assignments: pd.DataFrame) -> pd.DataFrame:
    """headcount (reps, managers included), demand_hours (hours of its assignment rows,
    assigned or not) and capacity_hours (selling capacity of its reps) for each teams row."""
    team_ids = ids(teams["team_id"])
    rep_team = pd.Series(numbers(reps["capacity_hours"]), index=ids(reps["team_id"]))
    per_team = rep_team.groupby(level=0).agg(["size", "sum"])
    demand = (pd.Series(numbers(assignments["hours"]), index=ids(assignments["team_id"]))
              .groupby(level=0).sum())
    return pd.DataFrame({
        "team_id": team_ids,
        "headcount": per_team["size"].reindex(team_ids).fillna(0).to_numpy(dtype=np.int64),
        "demand_hours": demand.reindex(team_ids).fillna(0.0).to_numpy(dtype=float),
        "capacity_hours": per_team["sum"].reindex(team_ids).fillna(0.0).to_numpy(dtype=float)})


def management_units(teams: pd.DataFrame) -> np.ndarray:
    """Each teams row's management unit: the management_unit column, else the team itself."""
    team_ids = ids(teams["team_id"])
    if MANAGEMENT_UNIT not in teams.columns:
        return team_ids
    unit = ids(teams[MANAGEMENT_UNIT])
    return np.where(unit == "", team_ids, unit)


def unmet_by_cell(assignments: pd.DataFrame) -> pd.DataFrame:
    """Hours of unassigned rows per (team_id, function, product), sorted; the hiring cells."""
    open_rows = ids(assignments["rep_id"]) == ""
    frame = pd.DataFrame({c: ids(assignments[c])[open_rows]
                          for c in ("team_id", "function", "product")})
    frame["unmet_hours"] = numbers(assignments["hours"])[open_rows]
    return (frame.groupby(["team_id", "function", "product"], as_index=False, sort=True)
            ["unmet_hours"].sum())


def max_span(teams: pd.DataFrame, reps: pd.DataFrame) -> int:
    """Over management units with a manager: max of ceil((headcount - managers) / managers).

    A rep whose team is not in `teams` counts in a unit named by their team_id; 0 when no
    rep manages."""
    unit_of = pd.Series(management_units(teams), index=ids(teams["team_id"]))
    unit_of = unit_of[~unit_of.index.duplicated()]
    team_ids = ids(reps["team_id"])
    unit = unit_of.reindex(team_ids).to_numpy(dtype=object)
    unit = np.where(pd.isna(unit), team_ids, unit)
    per_unit = (pd.DataFrame({"unit": unit, "manager": ids(reps["role"]) == MANAGER})
                .groupby("unit")["manager"].agg(["size", "sum"]))
    led = per_unit[per_unit["sum"] > 0]
    if led.empty:
        return 0
    return int(np.max(np.ceil((led["size"] - led["sum"]) / led["sum"])))


# --- the KPIs ----------------------------------------------------------------------------------

def compute_kpis(company: Company, scenario: Scenario, teams: pd.DataFrame, reps: pd.DataFrame,
                 assignments: pd.DataFrame, rows: "Rows | None" = None) -> dict:
    """Every KPI of KPI_KEYS, as plain int / float / None, from the plan's three tables."""
    rules = scenario.rules
    skills = SkillTable(company, rules)
    rows = rows if rows is not None else Rows.of(company, assignments)
    demand = float(company.lines["hours"].sum())
    capacity = numbers(reps["capacity_hours"])
    assigned = assigned_hours(reps["rep_id"], assignments)
    util = utilization(assigned, capacity)
    rep_team = pd.Series(ids(reps["team_id"]), index=ids(reps["rep_id"]))
    return {
        "reps": int(len(reps)),
        "teams": int(len(teams)),
        "demand_hours": demand,
        "capacity_hours": float(np.sum(capacity)),
        **_utilization_kpis(util, in_band(assigned, capacity, rules)),
        "fit_mean": _fit_mean(company, skills, rows),
        "coverage_pct": _coverage_pct(company, skills, rows, demand),
        "unmet_hours": float(rows.hours[~rows.has_rep].sum()),
        **_continuity_kpis(company, rows),
        "reps_moved": int(moved_reps(company, teams, rep_team).sum()),
        "managers": int((ids(reps["role"]) == MANAGER).sum()),
        "max_span": max_span(teams, reps),
        "travel_total": _travel_total(company, rows),
    }


def _utilization_kpis(util: np.ndarray, band: np.ndarray) -> dict:
    if len(util) == 0:
        return {"utilization_min": 0.0, "utilization_max": 0.0, "utilization_mean": 0.0,
                "utilization_std": 0.0, "utilization_in_band_pct": 100.0}
    return {"utilization_min": float(np.min(util)), "utilization_max": float(np.max(util)),
            "utilization_mean": float(np.mean(util)), "utilization_std": float(np.std(util)),
            "utilization_in_band_pct": float(100.0 * np.mean(band))}


def _fit_mean(company: Company, skills: SkillTable, rows: "Rows") -> float:
    fit = rows.fit(company, skills)
    ok = ~np.isnan(fit)
    weight = rows.hours[ok].sum()
    return float((rows.hours[ok] * fit[ok]).sum() / weight) if weight > 0 else 0.0


def _coverage_pct(company: Company, skills: SkillTable, rows: "Rows", demand: float) -> float:
    ok = rows.known()
    qualified = skills.qualified(rows.rep[ok], company.lines.iloc[rows.line[ok]])
    covered = rows.hours[ok][qualified].sum()
    return float(100.0 * covered / demand) if demand > 0 else 100.0


def _continuity_kpis(company: Company, rows: "Rows") -> dict:
    lines = company.lines
    owner = lines["owner"].to_numpy()
    plan_rep = np.full(len(lines), -1, dtype=np.int64)
    valid = rows.line >= 0
    plan_rep[rows.line[valid]] = rows.rep[valid]
    owned = owner >= 0
    kept = owned & (plan_rep == owner)
    potential = lines["potential"].to_numpy(dtype=float)
    owned_potential = potential[owned].sum()
    account = lines["account"].to_numpy(dtype=np.int64)
    n_accounts = len(company.accounts)
    has_owner = np.bincount(account[owned], minlength=n_accounts) > 0
    keeps = np.bincount(account[kept], minlength=n_accounts) > 0
    return {
        "continuity_potential_pct": (float(100.0 * potential[kept].sum() / owned_potential)
                                     if owned_potential > 0 else 100.0),
        "continuity_accounts_pct": (float(100.0 * keeps.sum() / has_owner.sum())
                                    if has_owner.any() else 100.0)}


def _travel_total(company: Company, rows: "Rows") -> float | None:
    if not company.has_travel:
        return None
    ok = rows.known()
    account = company.lines["account"].to_numpy(dtype=np.int64)[rows.line[ok]]
    n_accounts = len(company.accounts)
    pairs = np.unique(rows.rep[ok].astype(np.int64) * n_accounts + account)
    if len(pairs) == 0:
        return 0.0
    return float(company.travel_cost(pairs // n_accounts, pairs % n_accounts).sum())


@dataclass(frozen=True)
class Rows:
    """assignments.csv resolved against the company: line and rep index of every row. A plan
    being built knows them (`in_line_order`); a plan read from files is looked up (`of`)."""

    line: np.ndarray  # row of company.lines, -1 when unknown
    rep: np.ndarray  # roster index, -1 when empty or unknown
    rep_id: np.ndarray  # as written, '' when unassigned
    hours: np.ndarray  # as written

    @classmethod
    def of(cls, company: Company, assignments: pd.DataFrame) -> "Rows":
        rep_id = ids(assignments["rep_id"])
        return cls(line=line_index(company, assignments), rep=rep_index(company, rep_id),
                   rep_id=rep_id, hours=numbers(assignments["hours"]))

    @classmethod
    def in_line_order(cls, company: Company, line_rep: np.ndarray) -> "Rows":
        """The rows of assignments made one per demand line, in company.lines' order, with
        `line_rep` the roster index of each line's rep (-1: unassigned); on XL, looking them
        up took 0.9 s of building a plan's 2.0 s."""
        line_rep = np.asarray(line_rep, dtype=np.int64)
        rep_ids = ids(company.reps["rep_id"])
        return cls(line=np.arange(len(line_rep), dtype=np.int64), rep=line_rep,
                   rep_id=np.where(line_rep >= 0, rep_ids[np.maximum(line_rep, 0)], ""
                                   ).astype(object),
                   hours=numbers(company.lines["hours"]))

    @property
    def has_rep(self) -> np.ndarray:
        return self.rep_id != ""

    def known(self) -> np.ndarray:
        """Rows with a known demand line and a roster rep."""
        return (self.line >= 0) & (self.rep >= 0)

    def fit(self, company: Company, skills: SkillTable) -> np.ndarray:
        """fit of each known row's rep for its line, NaN elsewhere."""
        ok = self.known()
        out = np.full(len(self.line), np.nan)
        out[ok] = skills.fit(self.rep[ok], company.lines.iloc[self.line[ok]])
        return out
