"""Load and validate a company: reps.csv, accounts.csv and the optional travel.csv.

Every problem found is reported at once, naming file, row and column. The result, a Company,
holds clean typed frames and the demand lines (account x product x function with hours > 0)
that the rest of the planner works on. Input files are only read, never written.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from planner.csvread import ROW_COLUMN, SEPARATOR_ATTR, read_table
from planner.errors import InputError, Problem, did_you_mean

DIMENSIONS = ("function", "region", "segment", "product", "channel")
HOURS_PREFIX = "hours:"
SENIOR_LEVEL = 4
HOME_REGION_PROFICIENCY = 5.0
EARTH_RADIUS_KM = 6371.0

REP_REQUIRED = ("rep_id", "name", "home_region", "level", "capacity_hours", "can_manage")
REP_OPTIONAL = ("current_team", "preferred_function", "lat", "lon")
ACCOUNT_REQUIRED = ("account_id", "account_name", "region", "segment", "channel", "product",
                    "potential")
ACCOUNT_OPTIONAL = ("current_owner", "lat", "lon")
#: `current_owner:<function>` (optional) names the owner of that function's line when it is not
#: the row's current_owner (a service desk owns service, say); blank means current_owner
OWNER_PREFIX = "current_owner:"
ACCOUNT_ATTRIBUTES = ("account_name", "region", "segment", "channel", "lat", "lon")
TRAVEL_REQUIRED = ("rep_id", "account_id", "cost")

_TRUE = {"true", "yes", "y", "1", "t", "是", "x"}
_FALSE = {"false", "no", "n", "0", "f", "否", ""}


@dataclass(frozen=True)
class Company:
    """A validated company.

    reps: one row per rep (position = rep index), columns rep_id, name, home_region, level,
        capacity_hours, can_manage, current_team, preferred_function, lat, lon, row.
    skills: proficiency columns (`dimension:value`), one row per rep, NaN where blank.
    accounts: one row per account (position = account index): account_id, account_name, region,
        segment, channel, lat, lon.
    rows: accounts.csv rows, typed, with `account` (index) and `owner` (rep index or -1).
    lines: demand lines: account, account_id, product, function, hours, region, segment,
        channel, potential (the row's potential spread by hours), owner, row.
    travel: rep, account, cost from travel.csv, or None.
    """

    reps: pd.DataFrame
    skills: pd.DataFrame
    accounts: pd.DataFrame
    rows: pd.DataFrame
    lines: pd.DataFrame
    functions: tuple[str, ...]
    travel: pd.DataFrame | None = None
    sources: dict[str, Path] = field(default_factory=dict)

    @property
    def n_reps(self) -> int:
        return len(self.reps)

    def proficiency(self, dimension: str, value: str) -> np.ndarray:
        """Each rep's proficiency 0-5 in `dimension = value` (0 where no column says more)."""
        column = f"{dimension}:{value}"
        given = (self.skills[column].to_numpy(dtype=float) if column in self.skills
                 else np.full(self.n_reps, np.nan))
        if dimension == "region":
            home = np.where(self.reps["home_region"].to_numpy() == value,
                            HOME_REGION_PROFICIENCY, 0.0)
            return np.where(np.isnan(given), home, given)
        return np.nan_to_num(given, nan=0.0)

    def values(self, dimension: str) -> list[str]:
        """The values a dimension takes in the demand lines, in a stable order."""
        if dimension == "function":
            return [f for f in self.functions if (self.lines["function"] == f).any()]
        return sorted(self.lines[dimension].unique().tolist())

    @property
    def has_coordinates(self) -> bool:
        return bool(self.reps["lat"].notna().any() and self.accounts["lat"].notna().any())

    @property
    def has_travel(self) -> bool:
        return self.travel is not None or self.has_coordinates

    def travel_cost_matrix(self, rep: np.ndarray, account: np.ndarray) -> np.ndarray:
        """travel_cost of every rep x account pair, as a (reps, accounts) matrix. Without
        travel.csv, great-circle distances come from one product of unit vectors (a third of
        the haversine's time on the millions of pairs of a large company)."""
        rep = np.asarray(rep, dtype=np.int64)
        account = np.asarray(account, dtype=np.int64)
        if self.travel is not None:
            return self.travel_cost(np.repeat(rep, len(account)),
                                    np.tile(account, len(rep))).reshape(len(rep), len(account))
        r, a = self._rep_points[rep], self._account_points[account]
        km = np.arccos(np.clip(r @ a.T, -1.0, 1.0))
        km *= EARTH_RADIUS_KM
        # missing coordinates cost nothing; zeroing their rows and columns is much cheaper
        # than a NaN scan of millions of pairs
        km[np.isnan(r[:, 0])] = 0.0
        km[:, np.isnan(a[:, 0])] = 0.0
        return km

    def least_travel_per_hour(self, rep: np.ndarray, account: np.ndarray,
                              hours: np.ndarray) -> np.ndarray:
        """For each rep, the least travel_cost per hour over the accounts (`hours` of each):
        min over a of travel_cost_matrix[r, a] / hours[a], to the last bit. Great-circle arcs
        (arccos) are taken only where an account's chord per hour, which never exceeds its arc
        per hour, is within the arc per hour of the rep's best account by chord (XL's stage 1,
        2,542 classes: 1.5 s against 3.1 s of arccos over the whole matrices)."""
        hours = np.asarray(hours, dtype=float)
        if self.travel is not None or not len(account) or not (hours > 0).all():
            return (self.travel_cost_matrix(rep, account) / hours[None, :]).min(axis=1)
        r = self._rep_points[np.asarray(rep, dtype=np.int64)]
        a = self._account_points[np.asarray(account, dtype=np.int64)]
        if np.isnan(a[:, 0]).any():  # an account without coordinates costs nothing to anyone
            return np.zeros(len(r))
        dot = r @ a.T
        np.clip(dot, -1.0, 1.0, out=dot)  # (as travel_cost_matrix)
        lost = np.isnan(r[:, 0])
        dot[lost] = 1.0  # (a rep without coordinates: no cost)
        # half the chord's square per hour squared orders accounts as the chord per hour does
        chord = np.subtract(1.0, dot)
        chord *= 1.0 / (hours * hours)
        best = chord.argmin(axis=1)
        arc = np.arccos(dot[np.arange(len(r)), best]) * EARTH_RADIUS_KM / hours[best]
        reach = (arc / EARTH_RADIUS_KM) ** 2 / 2 * (1 + 1e-9)  # (rounding)
        rows, cols = np.divmod(np.flatnonzero(chord <= reach[:, None]), len(a))
        cost = np.arccos(dot[rows, cols]) * EARTH_RADIUS_KM / hours[cols]
        out = np.minimum.reduceat(cost, np.flatnonzero(np.diff(rows, prepend=-1)))
        out[lost] = 0.0
        return out

    @cached_property
    def _rep_points(self) -> np.ndarray:
        return _unit_vectors(self.reps["lat"].to_numpy(float), self.reps["lon"].to_numpy(float))

    @cached_property
    def _account_points(self) -> np.ndarray:
        """Computed once: stage 1 asks for the travel of each of thousands of demand classes."""
        return _unit_vectors(self.accounts["lat"].to_numpy(float),
                             self.accounts["lon"].to_numpy(float))

    def travel_cost(self, rep: np.ndarray, account: np.ndarray) -> np.ndarray:
        """Cost of rep[i] serving account[i]: travel.csv where it has the pair, else
        great-circle km where both have coordinates, else 0."""
        rep = np.asarray(rep, dtype=np.int64)
        account = np.asarray(account, dtype=np.int64)
        cost = great_circle_km(self.reps["lat"].to_numpy(float)[rep],
                               self.reps["lon"].to_numpy(float)[rep],
                               self.accounts["lat"].to_numpy(float)[account],
                               self.accounts["lon"].to_numpy(float)[account])
        cost = np.nan_to_num(cost, nan=0.0)
        if self.travel is not None:
            key = rep * len(self.accounts) + account
            table = pd.Series(self.travel["cost"].to_numpy(float),
                              index=self.travel["rep"].to_numpy(np.int64) * len(self.accounts)
                              + self.travel["account"].to_numpy(np.int64))
            given = table.reindex(key).to_numpy()
            cost = np.where(np.isnan(given), cost, given)
        return cost


def _unit_vectors(lat, lon) -> np.ndarray:
    """Points on the unit sphere (NaN rows where a coordinate is missing)."""
    lat, lon = np.radians(np.asarray(lat, dtype=float)), np.radians(np.asarray(lon, dtype=float))
    return np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=1)


def great_circle_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Haversine distance in km (NaN where a coordinate is missing)."""
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(a, dtype=float)) for a in (lat1, lon1, lat2, lon2))
    h = (np.sin((lat2 - lat1) / 2) ** 2
         + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def load_scenario_data(scenario) -> "Company":
    """The company a scenario (planner.scenario.Scenario) plans for: its files, its edits
    applied."""
    return load_company(scenario.reps_path, scenario.accounts_path, scenario.travel_path,
                        scenario.edits, scenario.base_dir)


def load_company(reps_path: Path, accounts_path: Path, travel_path: Path | None = None,
                 edits: tuple = (), edits_base: Path | None = None) -> Company:
    """Read, validate and join the company's files; raise InputError listing every problem.
    `edits` (planner.edits.Edit) change the rows as read, before validation; files are never
    written."""
    reps_path, accounts_path = Path(reps_path), Path(accounts_path)
    company = parse_company(read_table(reps_path, reps_path.name), reps_path.name,
                            read_table(accounts_path, accounts_path.name), accounts_path.name,
                            edits, edits_base)
    if travel_path:
        travel_path = Path(travel_path)
        travel = _parse_travel(read_table(travel_path), company.reps, company.accounts,
                               travel_path.name)
        company = dataclasses.replace(company, travel=travel,
                                      sources={**company.sources, "travel": travel_path})
    return dataclasses.replace(company, sources={**company.sources, "reps": reps_path,
                                                 "accounts": accounts_path})


def load_uploaded_company(reps: bytes, reps_name: str, accounts: bytes,
                          accounts_name: str) -> Company:
    """Validate uploaded files in memory (nothing is written); InputError names the upload's
    file name, row and column like any file."""
    return parse_company(read_table(reps, reps_name), reps_name,
                         read_table(accounts, accounts_name), accounts_name)


def parse_company(reps_raw: pd.DataFrame, reps_label: str, acc_raw: pd.DataFrame,
                  acc_label: str, edits: tuple = (), edits_base: Path | None = None) -> Company:
    """The company from its two tables as read (strings), edits applied first."""
    if edits:
        from planner.edits import apply_edits
        _check_columns_before_edits(reps_raw, reps_label, acc_raw, acc_label)
        reps_raw, acc_raw = apply_edits(reps_raw, acc_raw, tuple(edits), edits_base)
    reps, skills = _parse_reps(reps_raw, reps_label)
    functions = _functions(acc_raw, acc_label)
    _check_preferred_functions(reps, functions, reps_label)
    rows, accounts = _parse_accounts(acc_raw, reps, functions, acc_label)
    lines = _demand_lines(rows, functions)
    return Company(reps=reps, skills=skills, accounts=accounts, rows=rows, lines=lines,
                   functions=functions, travel=None,
                   sources={"reps": Path(reps_label), "accounts": Path(acc_label)})


def _check_columns_before_edits(reps_raw: pd.DataFrame, reps_label: str, acc_raw: pd.DataFrame,
                                acc_label: str) -> None:
    """Edits find rows by rep_id, account_id, product...: a required column that is missing is
    reported before they run, with the same message as without edits (not as a crash)."""
    _require_columns(reps_raw, REP_REQUIRED, REP_OPTIONAL, reps_label, skill_columns=True)
    hours_cols = tuple(c for c in acc_raw.columns if c.startswith(HOURS_PREFIX))
    _require_columns(acc_raw, ACCOUNT_REQUIRED, ACCOUNT_OPTIONAL + hours_cols, acc_label,
                     skill_columns=False)


# --- reps.csv -------------------------------------------------------------------------------

def _parse_reps(raw: pd.DataFrame, label: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    _require_columns(raw, REP_REQUIRED, REP_OPTIONAL, label, skill_columns=True)
    problems: list[Problem] = []
    _check_ids(raw, "rep_id", label, problems)
    level = _numbers(raw, "level", label, problems, low=1, high=5, integer=True)
    capacity = _numbers(raw, "capacity_hours", label, problems, low=0, low_open=True)
    can_manage = _booleans(raw, "can_manage", label, problems)
    lat, lon = _coordinates(raw, label, problems)
    for col in ("name", "home_region"):
        _non_blank(raw, col, label, problems)
    skill_cols = [c for c in raw.columns if ":" in c]
    skills = pd.DataFrame({c: _numbers(raw, c, label, problems, low=0, high=5, blank=np.nan)
                           for c in skill_cols}, index=raw.index)
    _raise(problems)
    reps = pd.DataFrame({
        "rep_id": raw["rep_id"], "name": raw["name"], "home_region": raw["home_region"],
        "level": level.astype(int), "capacity_hours": capacity, "can_manage": can_manage,
        "current_team": raw.get("current_team", pd.Series("", index=raw.index)),
        "preferred_function": raw.get("preferred_function", pd.Series("", index=raw.index)),
        "lat": lat, "lon": lon, "row": raw[ROW_COLUMN]})
    extra = [c for c in raw.columns
             if c not in reps.columns and c not in skill_cols and c != ROW_COLUMN]
    reps = pd.concat([reps, raw[extra]], axis=1).reset_index(drop=True)
    return reps, skills.reset_index(drop=True)


def _check_preferred_functions(reps: pd.DataFrame, functions: tuple[str, ...], label: str) -> None:
    bad = reps[(reps["preferred_function"] != "") & ~reps["preferred_function"].isin(functions)]
    _raise([Problem(f"{v!r} is not a function of accounts.csv (its hours columns give "
                    f"{', '.join(functions)}){did_you_mean(v, functions)}", label, int(r),
                    "preferred_function") for v, r in zip(bad["preferred_function"], bad["row"])])


# --- accounts.csv ---------------------------------------------------------------------------

def _functions(raw: pd.DataFrame, label: str) -> tuple[str, ...]:
    functions = tuple(c[len(HOURS_PREFIX):].strip() for c in raw.columns
                      if c.startswith(HOURS_PREFIX))
    if not functions:
        look_alike = [c for c in raw.columns if c.lower().startswith("hours") and len(c) > 6]
        hint = (f" (did you mean {'hours:' + look_alike[0][6:].strip()!r} for "
                f"{look_alike[0]!r}?)" if look_alike else "")
        raise InputError(Problem("there is no hours column: add one `hours:<function>` column per "
                                 f"function, e.g. hours:hunting{hint}", file=label, row=1,
                                 column=look_alike[0] if look_alike else None))
    if any(not f for f in functions):
        raise InputError(Problem("an hours column has no function name after 'hours:'",
                                 file=label, row=1))
    return functions


def _parse_accounts(raw: pd.DataFrame, reps: pd.DataFrame, functions: tuple[str, ...],
                    label: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    hours_cols = [HOURS_PREFIX + f for f in functions]
    _require_columns(raw, ACCOUNT_REQUIRED, ACCOUNT_OPTIONAL + tuple(hours_cols), label,
                     skill_columns=False)
    problems: list[Problem] = []
    for col in ("account_id", "region", "segment", "channel", "product"):
        _non_blank(raw, col, label, problems)
    potential = _numbers(raw, "potential", label, problems, low=0)
    hours = {f: _numbers(raw, HOURS_PREFIX + f, label, problems, low=0) for f in functions}
    lat, lon = _coordinates(raw, label, problems)
    owner = _owners(raw, reps, label, problems)
    function_owner = {}
    for f in functions:
        if OWNER_PREFIX + f in raw:
            own = _owners(raw, reps, label, problems, OWNER_PREFIX + f)
            function_owner[OWNER_PREFIX + f] = np.where(raw[OWNER_PREFIX + f] == "", owner, own)
    _unknown_owner_functions(raw, functions, label, problems)
    dup = raw.duplicated(["account_id", "product"], keep="first") & (raw["account_id"] != "")
    for r, a, p in zip(raw.loc[dup, ROW_COLUMN], raw.loc[dup, "account_id"], raw.loc[dup, "product"]):
        problems.append(Problem(f"account {a!r} has product {p!r} on an earlier row too; "
                                "give each account x product one row", label, int(r), "product"))
    _raise(problems)
    rows = pd.DataFrame({"account_id": raw["account_id"], "account_name": raw["account_name"],
                         "region": raw["region"], "segment": raw["segment"],
                         "channel": raw["channel"], "product": raw["product"],
                         "potential": potential, "owner": owner, "lat": lat, "lon": lon,
                         **{HOURS_PREFIX + f: h for f, h in hours.items()},
                         "row": raw[ROW_COLUMN]})
    for f in functions:
        rows["owner:" + f] = function_owner.get(OWNER_PREFIX + f, owner)
    extra = [c for c in raw.columns
             if c not in rows.columns and c not in ("current_owner", ROW_COLUMN)
             and not c.startswith(OWNER_PREFIX)]
    rows = pd.concat([rows, raw[extra]], axis=1).reset_index(drop=True)
    rows["current_owner"] = raw.get("current_owner", pd.Series("", index=raw.index)).to_numpy()
    _check_consistent_accounts(rows, label)
    accounts = (rows.drop_duplicates("account_id")[["account_id", *ACCOUNT_ATTRIBUTES]]
                .reset_index(drop=True))
    index = pd.Series(np.arange(len(accounts)), index=accounts["account_id"])
    rows["account"] = index.reindex(rows["account_id"]).to_numpy()
    return rows, accounts


def _owners(raw: pd.DataFrame, reps: pd.DataFrame, label: str, problems: list[Problem],
            col: str = "current_owner") -> np.ndarray:
    if col not in raw:
        return np.full(len(raw), -1, dtype=np.int64)
    index = pd.Series(np.arange(len(reps)), index=reps["rep_id"])
    owner = index.reindex(raw[col]).to_numpy()
    unknown = np.isnan(owner) & (raw[col] != "").to_numpy()
    by_name = dict(zip(reps["name"], reps["rep_id"]))
    for r, v in zip(raw.loc[unknown, ROW_COLUMN], raw.loc[unknown, col]):
        hint = (f" (it is the name of rep {by_name[v]}: use the rep_id {by_name[v]!r})"
                if v in by_name else did_you_mean(v, reps["rep_id"]))
        problems.append(Problem(f"{col} {v!r} is not a rep_id in reps.csv{hint}", label,
                                int(r), col))
    return np.nan_to_num(owner, nan=-1).astype(np.int64)


def _unknown_owner_functions(raw: pd.DataFrame, functions: tuple[str, ...], label: str,
                             problems: list[Problem]) -> None:
    """A `current_owner:<function>` column needs an `hours:<function>` column of that name."""
    for col in [c for c in raw.columns if c.startswith(OWNER_PREFIX)]:
        f = col[len(OWNER_PREFIX):].strip()
        if f not in functions:
            problems.append(Problem(f"there is no function {f!r} (the hours columns give "
                                    f"{', '.join(functions)}){did_you_mean(f, functions)}",
                                    label, 1, col))


def _check_consistent_accounts(rows: pd.DataFrame, label: str) -> None:
    problems = []
    for col in ACCOUNT_ATTRIBUTES:
        values = rows[col].astype("string").fillna("")
        first = values.groupby(rows["account_id"]).transform("first")
        for r, a, v, f in zip(rows.loc[values != first, "row"], rows.loc[values != first, "account_id"],
                              values[values != first], first[values != first]):
            problems.append(Problem(f"account {a!r} has {col} {v!r} here but {f!r} on its first "
                                    "row; the rows of one account must agree", label, int(r), col))
    _raise(problems)


def _demand_lines(rows: pd.DataFrame, functions: tuple[str, ...]) -> pd.DataFrame:
    """One line per (account, product, function) with hours > 0; potential spread by hours."""
    hours = rows[[HOURS_PREFIX + f for f in functions]].to_numpy(dtype=float)
    row_total = hours.sum(axis=1)
    r_idx, f_idx = np.nonzero(hours > 0)
    base = rows.iloc[r_idx]
    share = hours[r_idx, f_idx] / row_total[r_idx]
    owners = rows[["owner:" + f for f in functions]].to_numpy(dtype=np.int64)
    return pd.DataFrame({
        "account": base["account"].to_numpy(), "account_id": base["account_id"].to_numpy(),
        "product": base["product"].to_numpy(), "function": np.asarray(functions, dtype=object)[f_idx],
        "hours": hours[r_idx, f_idx], "region": base["region"].to_numpy(),
        "segment": base["segment"].to_numpy(), "channel": base["channel"].to_numpy(),
        "potential": base["potential"].to_numpy() * share, "owner": owners[r_idx, f_idx],
        "row": base["row"].to_numpy()}).astype({"function": "str"})


# --- travel.csv -----------------------------------------------------------------------------

def _parse_travel(raw: pd.DataFrame, reps: pd.DataFrame, accounts: pd.DataFrame,
                  label: str) -> pd.DataFrame:
    _require_columns(raw, TRAVEL_REQUIRED, (), label, skill_columns=False)
    problems: list[Problem] = []
    cost = _numbers(raw, "cost", label, problems, low=0)
    rep = pd.Series(np.arange(len(reps)), index=reps["rep_id"]).reindex(raw["rep_id"]).to_numpy()
    acc = pd.Series(np.arange(len(accounts)),
                    index=accounts["account_id"]).reindex(raw["account_id"]).to_numpy()
    for r, v in zip(raw.loc[np.isnan(rep), ROW_COLUMN], raw.loc[np.isnan(rep), "rep_id"]):
        problems.append(Problem(f"rep {v!r} is not in reps.csv", label, int(r), "rep_id"))
    for r, v in zip(raw.loc[np.isnan(acc), ROW_COLUMN], raw.loc[np.isnan(acc), "account_id"]):
        problems.append(Problem(f"account {v!r} is not in accounts.csv", label, int(r), "account_id"))
    dup = raw.duplicated(["rep_id", "account_id"])
    first = raw.drop_duplicates(["rep_id", "account_id"]).set_index(["rep_id", "account_id"])
    for r, rep, acc in zip(raw.loc[dup, ROW_COLUMN], raw.loc[dup, "rep_id"],
                           raw.loc[dup, "account_id"]):
        problems.append(Problem(f"the pair {rep!r} x {acc!r} is on an earlier row too (row "
                                f"{first.at[(rep, acc), ROW_COLUMN]}); give each pair one row",
                                label, int(r), "account_id"))
    _raise(problems)
    return pd.DataFrame({"rep": rep.astype(np.int64), "account": acc.astype(np.int64), "cost": cost})


# --- column helpers ---------------------------------------------------------------------------

def _require_columns(raw: pd.DataFrame, required: tuple[str, ...], optional: tuple[str, ...],
                     label: str, skill_columns: bool) -> None:
    present = set(raw.columns) - {ROW_COLUMN}
    known = set(required) | set(optional)
    problems = []
    for col in required:
        if col not in present:
            unknown = [c for c in present if c not in known and ":" not in c]
            problems.append(Problem(f"required column is missing{did_you_mean(col, unknown)}",
                                    label, 1, col))
    if skill_columns:
        for col in present:
            if ":" in col:
                dim, _, value = col.partition(":")
                if not dim.strip() or not value.strip():
                    problems.append(Problem("a proficiency column is named <dimension>:<value>, "
                                            "e.g. function:hunting", label, 1, col))
    _raise(problems)


def _check_ids(raw: pd.DataFrame, col: str, label: str, problems: list[Problem]) -> None:
    _non_blank(raw, col, label, problems)
    dup = raw.duplicated(col, keep="first") & (raw[col] != "")
    first_row = raw.drop_duplicates(col).set_index(col)[ROW_COLUMN]
    for r, v in zip(raw.loc[dup, ROW_COLUMN], raw.loc[dup, col]):
        problems.append(Problem(f"{col} {v!r} is used twice (first on row {first_row[v]})",
                                label, int(r), col))


def _non_blank(raw: pd.DataFrame, col: str, label: str, problems: list[Problem]) -> None:
    for r in raw.loc[raw[col] == "", ROW_COLUMN]:
        problems.append(Problem("this cell is empty; it needs a value", label, int(r), col))


def _numbers(raw: pd.DataFrame, col: str, label: str, problems: list[Problem], *,
             low: float | None = None, high: float | None = None, low_open: bool = False,
             integer: bool = False, blank: float | None = None) -> np.ndarray:
    """The column as floats; wrong cells become problems. Blank cells are `blank` if given
    (else an error)."""
    # a few whole-column calls each (it adds up on the many small companies of the tests)
    cells = raw[col]
    rows = raw[ROW_COLUMN].to_numpy()
    values = _floats(_numeric_text(raw, col))
    is_blank = (cells == "").to_numpy(dtype=bool)
    for i in np.flatnonzero(np.isnan(values) & ~is_blank):
        problems.append(Problem(f"{cells.iloc[i]!r} is not a number", label, int(rows[i]), col))
    if blank is None:
        for i in np.flatnonzero(is_blank):
            problems.append(Problem("this cell is empty; it needs a number", label, int(rows[i]),
                                    col))
    else:
        values = np.where(is_blank, blank, values)
    ok = ~np.isnan(values)
    bad = np.isinf(values)
    if low is not None:
        bad |= ok & ((values <= low) if low_open else (values < low))
    if high is not None:
        bad |= ok & (values > high)
    if integer:
        bad |= ok & (values != np.round(values))
    if bad.any():
        rule = _range_text(low, high, low_open, integer)
        for i in np.flatnonzero(bad):
            problems.append(Problem(f"{cells.iloc[i]!r} is not allowed here: it must be {rule}",
                                    label, int(rows[i]), col))
    return values


def _floats(text: pd.Series) -> np.ndarray:
    """The cells as numbers, NaN where a cell is not one. Arrow's parse where every cell is a
    plain number (XL's accounts, 150,000 rows: 6 ms a column against to_numeric's 90 ms, the
    same floats); to_numeric's where one is not (or the strings are not Arrow's)."""
    try:
        return text.astype("float64[pyarrow]").to_numpy(dtype=float, na_value=np.nan)
    except (ValueError, TypeError, ImportError):
        return pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)


_THOUSANDS = r"^-?\d{1,3}(,\d{3})+(\.\d+)?$"
_DECIMAL_COMMA = r"^-?\d*,\d+$"


def _numeric_text(raw: pd.DataFrame, col: str) -> pd.Series:
    """Numbers as written by spreadsheets: "1,600" (a quoted thousands separator) in comma
    files, "37,5" (a decimal comma) in semicolon files, as European Excel writes them."""
    text = raw[col]
    if not text.str.contains(",", regex=False).any():
        return text
    if raw.attrs.get(SEPARATOR_ATTR) == ";":
        return text.where(~text.str.match(_DECIMAL_COMMA), text.str.replace(",", ".", regex=False))
    return text.where(~text.str.match(_THOUSANDS), text.str.replace(",", "", regex=False))


def _range_text(low, high, low_open: bool, integer: bool) -> str:
    kind = "a whole number" if integer else "a number"
    if low is not None and high is not None:
        return f"{kind} from {low:g} to {high:g}"
    if low is not None:
        return f"{kind} {'above' if low_open else 'of at least'} {low:g}"
    return f"{kind} of at most {high:g}"


def _booleans(raw: pd.DataFrame, col: str, label: str, problems: list[Problem]) -> np.ndarray:
    lower = raw[col].str.lower()
    bad = ~lower.isin(_TRUE | _FALSE)
    for r, v in zip(raw.loc[bad, ROW_COLUMN], raw.loc[bad, col]):
        problems.append(Problem(f"{v!r} is not true or false", label, int(r), col))
    return lower.isin(_TRUE).to_numpy()


def _coordinates(raw: pd.DataFrame, label: str, problems: list[Problem]) -> tuple[np.ndarray, np.ndarray]:
    if "lat" not in raw and "lon" not in raw:
        nan = np.full(len(raw), np.nan)
        return nan, nan.copy()
    for col in ("lat", "lon"):
        if col not in raw:
            problems.append(Problem("lat and lon come together; this one is missing", label, 1, col))
            nan = np.full(len(raw), np.nan)
            return nan, nan.copy()
    lat = _numbers(raw, "lat", label, problems, low=-90, high=90, blank=np.nan)
    lon = _numbers(raw, "lon", label, problems, low=-180, high=180, blank=np.nan)
    half = np.isnan(lat) != np.isnan(lon)
    for r in raw.loc[half, ROW_COLUMN]:
        problems.append(Problem("give both lat and lon, or neither", label, int(r), "lat"))
    return lat, lon


def _raise(problems: list[Problem]) -> None:
    if problems:
        raise InputError(problems)
