"""The independent verifier: re-read a plan's files, check every hard rule, recompute every KPI.

It knows nothing of the solver (no models/, no ortools): the plan is judged from teams.csv,
reps.csv, assignments.csv, hiring.csv and kpis.json against the company's input files and the
scenario, with the reference definitions of planner.skills (fit, qualification), planner.orgmodel
(teams and the team of each line) and planner.kpis (KPIs and derived columns).

Each violation carries one of these check names (stable strings; the CLI and tests rely on them):

- ``files``: a plan table lacks a column of its contract (the other checks are then skipped).
- ``reps_once``: every roster rep is in reps.csv exactly once, and nobody else is.
- ``lines_once``: every demand line (account_id, product, function) is in assignments.csv exactly
  once with its hours (tolerance 1e-6); no row names a line that does not exist.
- ``teams``: teams.csv holds exactly the org model's teams with their dimension values and
  management unit (a missing management_unit column means each team is its own unit); every
  team_id used in reps.csv and assignments.csv is in teams.csv.
- ``scope``: each line sits in the team the org model maps it to.
- ``rep_in_team``: an assigned line's rep is on the roster, in reps.csv, and in the line's team.
- ``one_face``: inside a team, all assigned lines of one account and function have one rep.
- ``band``: each rep's hours are within the scenario's utilization band of their capacity; a
  manager's capacity is reduced by rules.manager_load (relative tolerance 1e-9).
- ``capacity``: reps.csv capacity_hours is the input capacity (members) or the input capacity
  times manager_load (managers), within 1e-6.
- ``qualification``: each assigned line's rep is qualified (planner.skills.SkillTable).
- ``unmet``: with rules.allow_unmet false, no line is unassigned and no manager is to be hired.
- ``managers``: roles are manager or member; managers can manage; without span_of_control there
  are no managers and no manager hires; with it, each management unit has managers + hired
  managers == ceil(headcount / span); teams.csv manager_rep_id lists exactly each team's managers.
- ``coverage``: every rules.coverage rule holds in every team with demand in its cell.
- ``max_reps_moved``: the recomputed number of moved reps is within rules.max_reps_moved.
- ``pins``: a pinned rep is in their team; a pinned account's lines in its rep's team go to
  that rep (or stay unmet where the rep is not qualified for them).
- ``hiring``: hiring.csv unmet_hours per (team_id, function, product) equals the hours of the
  unassigned lines of assignments.csv (rows of 0 may be absent; manager rows are not counted).
- ``derived``: reps.csv assigned_hours / utilization / fit / moved, assignments.csv kept_owner
  and teams.csv headcount / demand_hours / capacity_hours equal their recomputation.
- ``kpis``: kpis.json has every key of the contract, a known status, and every KPI equal to
  planner.kpis.compute_kpis (abs 1e-6 + rel 1e-6; counts exactly; null equals only null).

Rule checks look at each roster rep's first row in reps.csv and each demand line's first row in
assignments.csv, so a duplicated or unknown row is reported once, by reps_once or lines_once, and
does not ripple through the other checks. Hours in rule checks are the input's hours; the
derived columns and KPIs are recomputed from the files as written.

Reading: read_plan raises planner.errors.VerificationError (exit code 5), naming the file, when a
plan file is missing or unreadable; a missing column is a ``files`` violation. Plan files are
written Excel-safe (planner.excelsafe): the quote in front of a cell such as '=HYPERLINK(...) or
'-42 is removed on reading, so ids are compared as the input files give them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np
import pandas as pd

from planner.contracts import (ASSIGNMENTS_COLUMNS, HIRING_COLUMNS, INTEGER_KPIS, KPIS_FILE,
                               KPIS_JSON_KEYS, MANAGEMENT_UNIT, MANAGER, MANAGER_HIRING,
                               MANAGER_SEPARATOR, MEMBER, PLAN_FILES, REP_COLUMNS, STATUSES,
                               TEAMS_COLUMNS)
from planner.data import DIMENSIONS, Company, load_scenario_data
from planner.errors import Problem, VerificationError
from planner.excelsafe import unquote_frame
from planner.kpis import (assigned_hours,
                          compute_kpis, ids, in_band, kept_owner, line_index, lookup,
                          management_units, moved_reps, numbers, rep_fit, selling_capacity,
                          team_columns, unmet_by_cell, utilization)
from planner.orgmodel import Org, org_for
from planner.scenario import CoverageRule, Scenario
from planner.skills import SkillTable


HOURS_TOLERANCE = 1e-6
KPI_ABS_TOLERANCE = 1e-6
KPI_REL_TOLERANCE = 1e-6
#: At most this many messages per check; the rest are summed up in one more message.
MAX_PER_CHECK = 25


@dataclass(frozen=True)
class Violation:
    """One rule that does not hold: the check's stable name and a sentence naming the culprit."""

    check: str
    message: str

    def __str__(self) -> str:
        return f"[{self.check}] {self.message}"


@dataclass(frozen=True)
class PlanTables:
    """A plan's files as read: string frames (ids kept as written) and the kpis.json object."""

    teams: pd.DataFrame
    reps: pd.DataFrame
    assignments: pd.DataFrame
    hiring: pd.DataFrame
    kpis: dict


# --- reading -----------------------------------------------------------------------------------

def read_plan(plan_dir: Path) -> PlanTables:
    """Read the five plan files of `plan_dir` as strings; VerificationError names each file that
    is missing or unreadable."""
    plan_dir = Path(plan_dir)
    problems: list[Problem] = []
    frames: dict[str, pd.DataFrame] = {}
    for name, file in PLAN_FILES.items():
        frame = _read_csv(plan_dir / file, problems)
        if frame is not None:
            frames[name] = frame
    kpis = _read_json(plan_dir / KPIS_FILE, problems)
    if problems:
        raise VerificationError(problems)
    return PlanTables(kpis=kpis, **frames)


def _read_csv(path: Path, problems: list[Problem]) -> pd.DataFrame | None:
    if not path.is_file():
        problems.append(Problem("the plan file is missing", file=str(path)))
        return None
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        problems.append(Problem(f"the plan file is not a readable CSV table ({err})",
                                file=str(path)))
        return None
    frame.columns = [str(c).strip() for c in frame.columns]
    return unquote_frame(frame)  # plan files are written Excel-safe: '=x is the id =x


def _read_json(path: Path, problems: list[Problem]) -> dict:
    if not path.is_file():
        problems.append(Problem("the plan file is missing", file=str(path)))
        return {}
    try:
        value = json.loads(path.read_text(encoding="utf-8-sig"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        problems.append(Problem(f"the file is not valid JSON ({err})", file=str(path)))
        return {}
    if not isinstance(value, dict):
        problems.append(Problem("kpis.json must hold one JSON object", file=str(path)))
        return {}
    return value


# --- entry points ------------------------------------------------------------------------------

def verify_plan_dir(scenario: Scenario, plan_dir: Path) -> list[Violation]:
    """Load the scenario's company and the plan in `plan_dir`, and verify it."""
    company = load_scenario_data(scenario)
    return verify_tables(company, scenario, read_plan(plan_dir))


def verify_tables(company: Company, scenario: Scenario, tables: PlanTables,
                  limit: int | None = MAX_PER_CHECK) -> list[Violation]:
    """Every violation of the plan, check by check (at most `limit` messages per check plus
    one that counts the rest; None lists all). An empty list means the plan holds."""
    missing = list(_missing_columns(tables))
    if missing:
        return [Violation("files", m) for m in missing]
    plan = _Plan(company, scenario, tables)
    violations: list[Violation] = []
    for name, check in CHECKS:
        violations += _capped(name, check(plan), limit)
    return violations


@dataclass(frozen=True)
class _Each:
    """One violation per item; a message is built only for the items that are shown, so a
    plan broken on every line costs vectorised work plus `limit` sentences."""

    items: Sequence
    message: Callable[[Any], str]


Finding = str | _Each


def _capped(name: str, findings: Iterator[Finding], limit: int | None) -> list[Violation]:
    shown: list[Violation] = []
    hidden = 0
    for finding in findings:
        group = finding if isinstance(finding, _Each) else _Each([finding], str)
        room = len(group.items) if limit is None else max(limit - len(shown), 0)
        shown += [Violation(name, group.message(x)) for x in group.items[:room]]
        hidden += len(group.items) - min(room, len(group.items))
    if hidden:
        shown.append(Violation(name, f"... and {hidden} more {name} violations like these"))
    return shown


def _missing_columns(tables: PlanTables) -> Iterator[str]:
    contract = {"teams": TEAMS_COLUMNS, "reps": REP_COLUMNS,
                "assignments": ASSIGNMENTS_COLUMNS, "hiring": HIRING_COLUMNS}
    for name, columns in contract.items():
        frame = getattr(tables, name)
        for column in columns:
            if column not in frame.columns:
                yield f"{PLAN_FILES[name]} has no column {column!r}"


# --- the plan resolved against the company -----------------------------------------------------

class _Plan:
    """The plan's tables resolved against the company and the org model, computed once.

    Per roster rep (arrays of length n_reps): whether it is in reps.csv, and its team, role and
    capacity from its first row. Per assignments row: its demand line and rep (-1 when unknown)
    and whether it is the line's first row (`valid`); rule checks use only valid rows."""

    def __init__(self, company: Company, scenario: Scenario, tables: PlanTables):
        self.company, self.scenario, self.tables = company, scenario, tables
        self.rules = scenario.rules
        self.org: Org = org_for(company, scenario)
        self.skills = SkillTable(company, scenario.rules)
        self.lines = company.lines
        self.roster = ids(company.reps["rep_id"])
        self.team_of_org = np.array([t.team_id for t in self.org.teams], dtype=object)
        self._resolve_reps(tables.reps)
        self._resolve_assignments(tables.assignments)

    def _resolve_reps(self, reps: pd.DataFrame) -> None:
        self.rep_ids = ids(reps["rep_id"])
        row = lookup(self.rep_ids, self.roster)
        self.in_plan = row >= 0

        def pick(values: np.ndarray, missing) -> np.ndarray:
            out = np.full(len(row), missing, dtype=values.dtype)
            out[self.in_plan] = values[row[self.in_plan]]
            return out

        self.rep_team = pick(ids(reps["team_id"]), "")
        self.rep_role = pick(ids(reps["role"]), "")
        self.rep_capacity = pick(numbers(reps["capacity_hours"]), np.nan)
        self.is_manager = self.rep_role == MANAGER

    def _resolve_assignments(self, assignments: pd.DataFrame) -> None:
        self.line = line_index(self.company, assignments)
        first = ~pd.Series(self.line).duplicated().to_numpy()
        self.valid = (self.line >= 0) & first
        self.a_rep_id = ids(assignments["rep_id"])
        self.a_rep = lookup(self.roster, self.a_rep_id)
        self.a_team = ids(assignments["team_id"])
        self.a_hours = numbers(assignments["hours"])

    @property
    def expected_capacity(self) -> np.ndarray:
        """Selling capacity of each roster rep by the role reps.csv gives them."""
        return selling_capacity(self.company, self.rules, self.roster, self.rep_role)

    @property
    def line_hours(self) -> np.ndarray:
        return self.lines["hours"].to_numpy(dtype=float)

    def assigned(self) -> np.ndarray:
        """Input hours of the valid rows given to each roster rep."""
        ok = self.valid & (self.a_rep >= 0)
        return np.bincount(self.a_rep[ok], weights=self.line_hours[self.line[ok]],
                           minlength=len(self.roster))

    def line_label(self, i: int) -> str:
        row = self.lines.iloc[int(i)]
        return f"line {row['account_id']} x {row['product']} x {row['function']}"

    def rep_label(self, r: int) -> str:
        team = self.rep_team[r]
        return f"{self.roster[r]} (team {team!r})" if team else str(self.roster[r])


# --- the checks --------------------------------------------------------------------------------

def _check_reps_once(p: _Plan) -> Iterator[Finding]:
    source = p.company.sources.get("reps", Path("reps.csv")).name
    yield _Each(p.roster[~p.in_plan],
                lambda rep: f"rep {rep} of the roster ({source}) is missing from reps.csv")
    counts = pd.Series(p.rep_ids).value_counts(sort=False)
    twice = counts[(counts > 1) & counts.index.isin(p.roster)]
    yield _Each(list(twice.items()), lambda item: (
        f"rep {item[0]} appears {item[1]} times in reps.csv; each rep has one row"))
    yield _Each(pd.unique(p.rep_ids[~np.isin(p.rep_ids, p.roster)]),
                lambda rep: (f"reps.csv has rep {rep!r}, who is not on the roster ({source})"
                             if rep else "reps.csv has a row without rep_id"))


def _check_lines_once(p: _Plan) -> Iterator[Finding]:
    known = p.line >= 0
    count = np.bincount(p.line[known], minlength=len(p.lines))
    yield _Each(np.flatnonzero(count == 0), lambda i: (
        f"{p.line_label(i)} ({p.line_hours[i]:g} h) is missing from assignments.csv"))
    yield _Each(np.flatnonzero(count > 1), lambda i: (
        f"{p.line_label(i)} appears {count[i]} times in assignments.csv; each line has one row"))
    rows = p.tables.assignments
    yield _Each(np.flatnonzero(~known), lambda k: (
        f"assignments.csv row {k + 2} names account {rows['account_id'].iloc[k]!r}, product "
        f"{rows['product'].iloc[k]!r}, function {rows['function'].iloc[k]!r}: no such demand "
        "line in the accounts file"))
    valid = np.flatnonzero(p.valid)
    wrong = ~(np.abs(p.a_hours[valid] - p.line_hours[p.line[valid]]) <= HOURS_TOLERANCE)
    yield _Each(valid[wrong], lambda k: (
        f"{p.line_label(p.line[k])} has {p.a_hours[k]:g} h in assignments.csv but "
        f"{p.line_hours[p.line[k]]:g} h in the accounts file"))


def _check_teams(p: _Plan) -> Iterator[Finding]:
    given = ids(p.tables.teams["team_id"])
    counts = pd.Series(given).value_counts(sort=False)
    yield _Each(list(counts[counts > 1].items()),
                lambda item: f"team {item[0]!r} appears {item[1]} times in teams.csv")
    yield _Each(p.team_of_org[~np.isin(p.team_of_org, given)], lambda team: (
        f"team {team!r} of org model {p.org.name!r} is missing from teams.csv"))
    yield _Each(pd.unique(given[~np.isin(given, p.team_of_org)]), lambda team: (
        f"teams.csv has team {team!r}, which org model {p.org.name!r} does not have"))
    yield from _team_values(p)
    yield from _unknown_teams_used(p, given)


def _team_values(p: _Plan) -> Iterator[str]:
    teams = p.tables.teams
    expected = p.org.teams_frame()
    expected[MANAGEMENT_UNIT] = [p.org.units[u] for u in p.org.unit_of_team]
    row = lookup(ids(teams["team_id"]), ids(expected["team_id"]))
    got = {c: ids(teams[c]) for c in DIMENSIONS}
    got[MANAGEMENT_UNIT] = management_units(teams)
    for t in np.flatnonzero(row >= 0):
        team = expected["team_id"].iloc[t]
        for column in (*DIMENSIONS, MANAGEMENT_UNIT):
            have, want = got[column][row[t]], expected[column].iloc[t]
            if have != want:
                yield (f"team {team!r} has {column} {have!r} in teams.csv but the org model "
                       f"gives {want!r}")


def _unknown_teams_used(p: _Plan, known: np.ndarray) -> Iterator[Finding]:
    rep_team = ids(p.tables.reps["team_id"])
    yield _Each(np.flatnonzero(~np.isin(rep_team, known)), lambda k: (
        f"rep {p.rep_ids[k]} is in team {rep_team[k]!r}, which is not in teams.csv"
        if rep_team[k] else f"rep {p.rep_ids[k]} has no team_id in reps.csv"))
    unknown = pd.Series(p.a_team[~np.isin(p.a_team, known)]).value_counts(sort=False)
    yield _Each(list(unknown.items()), lambda item: (
        f"{item[1]} row(s) of assignments.csv are in team {item[0]!r}, which is not in teams.csv"
        if item[0] else f"{item[1]} row(s) of assignments.csv have no team_id"))


def _check_scope(p: _Plan) -> Iterator[Finding]:
    rows = np.flatnonzero(p.valid)
    expected = p.team_of_org[p.org.line_team[p.line]]

    def message(k: int) -> str:
        line = p.lines.iloc[p.line[k]]
        attributes = ", ".join(f"{d} {line[d]}" for d in ("region", "segment", "channel"))
        return (f"{p.line_label(p.line[k])} ({attributes}) is in team {p.a_team[k]!r} but the "
                f"org model puts it in team {expected[k]!r}")

    yield _Each(rows[p.a_team[rows] != expected[rows]], message)


def _check_rep_in_team(p: _Plan) -> Iterator[Finding]:
    rows = np.flatnonzero(p.valid & (p.a_rep_id != ""))
    rep = p.a_rep[rows]
    yield _Each(rows[rep < 0], lambda k: (
        f"{p.line_label(p.line[k])} goes to rep {p.a_rep_id[k]!r}, who is not on the roster"))
    rows, rep = rows[rep >= 0], rep[rep >= 0]
    yield _Each(rows[~p.in_plan[rep]], lambda k: (
        f"{p.line_label(p.line[k])} goes to rep {p.a_rep_id[k]}, who is not in reps.csv"))
    elsewhere = p.in_plan[rep] & (p.rep_team[rep] != p.a_team[rows])
    yield _Each(rows[elsewhere], lambda k: (
        f"{p.line_label(p.line[k])} of team {p.a_team[k]!r} goes to rep {p.a_rep_id[k]}, who "
        f"is in team {p.rep_team[p.a_rep[k]]!r}"))


def _check_one_face(p: _Plan) -> Iterator[Finding]:
    ok = p.valid & (p.a_rep_id != "")
    rows = pd.DataFrame({"team": p.a_team[ok],
                         "account": p.lines["account_id"].to_numpy()[p.line[ok]],
                         "function": p.lines["function"].to_numpy()[p.line[ok]],
                         "rep": p.a_rep_id[ok]})
    keys = ["team", "account", "function"]
    faces = rows.groupby(keys, sort=True)["rep"].nunique()
    several = rows.merge(faces[faces > 1].reset_index()[keys], on=keys)
    reps = several.groupby(keys, sort=True)["rep"].unique()
    yield _Each(list(reps.items()), lambda item: (
        f"account {item[0][1]} sees {len(item[1])} reps ({', '.join(sorted(item[1]))}) for "
        f"{item[0][2]} in team {item[0][0]!r}; one rep serves all its {item[0][2]} lines in a "
        "team"))


def _check_band(p: _Plan) -> Iterator[Finding]:
    assigned, capacity = p.assigned(), p.expected_capacity
    low, high = p.rules.utilization.min, p.rules.utilization.max
    share = utilization(assigned, capacity)

    def message(r: int) -> str:
        side = (f"above the {high:.0%} band" if assigned[r] > high * capacity[r]
                else f"below the {low:.0%} band")
        who, of = (("manager", "their reduced capacity") if p.is_manager[r]
                   else ("rep", "capacity"))
        return (f"{who} {p.rep_label(r)} is at {share[r]:.1%} of {of} "
                f"({assigned[r]:g} of {capacity[r]:g} h), {side}")

    yield _Each(np.flatnonzero(p.in_plan & ~in_band(assigned, capacity, p.rules)), message)


def _check_capacity(p: _Plan) -> Iterator[Finding]:
    expected, given = p.expected_capacity, p.rep_capacity
    bad = p.in_plan & ~(np.abs(given - expected) <= HOURS_TOLERANCE + 1e-9 * np.abs(expected))
    base = p.company.reps["capacity_hours"].to_numpy(dtype=float)

    def message(r: int) -> str:
        if p.is_manager[r]:
            return (f"manager {p.roster[r]} has capacity_hours {given[r]:g} in reps.csv, but a "
                    f"manager sells {p.rules.manager_load:.0%} of {base[r]:g} h = "
                    f"{expected[r]:g} h")
        return (f"rep {p.roster[r]} has capacity_hours {given[r]:g} in reps.csv, but the input "
                f"gives {expected[r]:g} h")

    yield _Each(np.flatnonzero(bad), message)


def _check_qualification(p: _Plan) -> Iterator[Finding]:
    rows = np.flatnonzero(p.valid & (p.a_rep >= 0))
    bad = ~p.skills.qualified(p.a_rep[rows], p.lines.iloc[p.line[rows]])
    yield _Each(rows[bad], lambda k: (
        f"{p.line_label(p.line[k])} goes to rep {p.roster[p.a_rep[k]]}, who is not qualified: "
        f"{_why_unqualified(p, p.a_rep[k], p.lines.iloc[[p.line[k]]])}"))


def _why_unqualified(p: _Plan, rep: int, work: pd.DataFrame) -> str:
    minimum, reasons = p.rules.min_proficiency, []
    for dim in ("function", "product"):
        value = work[dim].iloc[0]
        level = p.skills.proficiency(dim, [rep], [value])[0]
        if level < minimum:
            reasons.append(f"{dim} {value} proficiency {level:g} is below {minimum:g}")
    if p.skills.needs_senior(work)[0] and p.skills.level[rep] < p.rules.senior_level:
        reasons.append(f"a key-account line needs level {p.rules.senior_level}, the rep has "
                       f"level {p.skills.level[rep]}")
    return "; ".join(reasons)


def _check_unmet(p: _Plan) -> Iterator[Finding]:
    if p.rules.allow_unmet:
        return
    yield _Each(np.flatnonzero(p.valid & (p.a_rep_id == "")), lambda k: (
        f"{p.line_label(p.line[k])} ({p.line_hours[p.line[k]]:g} h, team {p.a_team[k]!r}) is "
        "unassigned, but the scenario does not allow unmet demand (allow_unmet: false)"))
    hiring = p.tables.hiring
    yield _Each(ids(hiring["team_id"])[ids(hiring["function"]) == MANAGER_HIRING], lambda team: (
        f"hiring.csv asks for managers for team {team!r}, but the scenario does not allow unmet "
        "demand (allow_unmet: false)"))


def _check_managers(p: _Plan) -> Iterator[Finding]:
    can_manage = p.company.reps["can_manage"].to_numpy(dtype=bool)
    yield _Each(np.flatnonzero(p.in_plan & ~np.isin(p.rep_role, (MANAGER, MEMBER))), lambda r: (
        f"rep {p.roster[r]} has role {p.rep_role[r]!r}; a role is manager or member"))
    yield _Each(np.flatnonzero(p.is_manager & ~can_manage), lambda r: (
        f"rep {p.rep_label(r)} is a manager but cannot manage (can_manage is false)"))
    hiring = p.tables.hiring
    hire_rows = ids(hiring["function"]) == MANAGER_HIRING
    hire_team = ids(hiring["team_id"])[hire_rows]
    hires = numbers(hiring["suggested_hires"])[hire_rows]
    if p.rules.span_of_control is None:
        yield _Each(np.flatnonzero(p.is_manager), lambda r: (
            f"rep {p.rep_label(r)} is a manager, but the scenario plans no managers "
            "(span_of_control is not set)"))
        yield _Each(hire_team, lambda team: (
            f"hiring.csv asks for managers for team {team!r}, but the scenario plans no managers "
            "(span_of_control is not set)"))
    else:
        yield from _unit_managers(p, hire_team, hires)
    yield from _listed_managers(p)


def _unit_managers(p: _Plan, hire_team: np.ndarray, hires: np.ndarray) -> Iterator[Finding]:
    span = p.rules.span_of_control
    org_team = lookup(p.team_of_org, hire_team)
    odd = (org_team < 0) | ~(hires >= 0) | (hires != np.round(hires))
    yield _Each(np.flatnonzero(odd), lambda k: (
        f"hiring.csv asks for {hires[k]:g} manager(s) for team {hire_team[k]!r}; hires are a "
        "whole number for a team of the org model"))
    ok = ~odd
    n_units = len(p.org.units)
    hired = np.bincount(p.org.unit_of_team[org_team[ok]], weights=hires[ok], minlength=n_units)
    rep_org_team = lookup(p.team_of_org, p.rep_team)
    placed = p.in_plan & (rep_org_team >= 0)
    unit = np.full(len(p.roster), -1, dtype=np.int64)
    unit[placed] = p.org.unit_of_team[rep_org_team[placed]]
    head = np.bincount(unit[placed], minlength=n_units)
    leads = np.bincount(unit[placed], weights=p.is_manager[placed].astype(float),
                        minlength=n_units)
    need = -(-head // span)

    def message(u: int) -> str:
        names = sorted(p.roster[(unit == u) & p.is_manager])
        return (f"management unit {p.org.units[u]!r} has {head[u]} reps, {int(leads[u])} "
                f"manager(s) ({', '.join(names) or 'none'}) and {hired[u]:g} to hire; a span of "
                f"control of {span} needs exactly {need[u]}")

    yield _Each(np.flatnonzero(leads + hired != need), message)


def _listed_managers(p: _Plan) -> Iterator[Finding]:
    team_ids = ids(p.tables.teams["team_id"])
    first = np.flatnonzero(~pd.Series(team_ids).duplicated().to_numpy())
    listed = ids(p.tables.teams["manager_rep_id"])
    managers = pd.Series(p.roster[p.is_manager]).groupby(p.rep_team[p.is_manager]).agg(set)

    def names(text: str) -> set[str]:
        return {m.strip() for m in text.split(MANAGER_SEPARATOR) if m.strip()}

    def actual(team: str) -> set[str]:
        return managers.get(team, set())

    wrong = [t for t in first if names(listed[t]) != actual(team_ids[t])]
    yield _Each(wrong, lambda t: (
        f"teams.csv lists manager(s) {', '.join(sorted(names(listed[t]))) or 'none'} for team "
        f"{team_ids[t]!r}, but reps.csv makes {', '.join(sorted(actual(team_ids[t]))) or 'nobody'}"
        " its manager(s)"))


def _check_coverage(p: _Plan) -> Iterator[str]:
    for rule in p.rules.coverage:
        eligible = p.in_plan & _eligible(p, rule)
        mask = np.ones(len(p.lines), dtype=bool)
        for dim, value in rule.where.items():
            mask &= p.lines[dim].to_numpy() == value
        for t in np.unique(p.org.line_team[mask]):
            team = p.team_of_org[t]
            count = int((eligible & (p.rep_team == team)).sum())
            if count < rule.min_reps:
                yield (f"team {team!r} has {count} qualifying rep(s), but the coverage rule "
                       f"'{rule.describe()}' needs {rule.min_reps}")


def _eligible(p: _Plan, rule: CoverageRule) -> np.ndarray:
    """Roster reps whose profile meets the rule's skill and level."""
    ok = p.company.reps["level"].to_numpy() >= rule.min_level
    if rule.skill is not None:
        dim, _, value = rule.skill.partition(":")
        if dim in DIMENSIONS:
            skill = p.company.proficiency(dim, value)
        elif rule.skill in p.company.skills:
            skill = np.nan_to_num(p.company.skills[rule.skill].to_numpy(dtype=float), nan=0.0)
        else:
            skill = np.zeros(len(p.roster))
        ok &= skill >= rule.min_proficiency
    return ok


def _check_max_reps_moved(p: _Plan) -> Iterator[str]:
    limit = p.rules.max_reps_moved
    if limit is None:
        return
    placed = np.flatnonzero(p.in_plan)
    rep_team = pd.Series(p.rep_team[placed], index=p.roster[placed])
    moved = p.roster[placed][moved_reps(p.company, p.tables.teams, rep_team)]
    if len(moved) > limit:
        shown = ", ".join(moved[:10]) + (", ..." if len(moved) > 10 else "")
        yield (f"{len(moved)} reps are moved ({shown}), more than the limit of {limit} "
               "(max_reps_moved)")


def _check_pins(p: _Plan) -> Iterator[str]:
    """A pinned rep is in their team; a pinned account's lines in the pinned rep's team go to
    that rep (or stay unmet where the rep is not qualified for them)."""
    pins = p.rules.pins
    team_of = dict(zip(p.roster, p.rep_team))
    for rep, team in pins.reps.items():
        if team_of.get(rep, "") != team:
            yield f"rep {rep} is pinned to team {team!r} but is in {team_of.get(rep, '')!r}"
    rows = np.flatnonzero(p.valid)
    accounts = p.lines["account_id"].to_numpy()[p.line[rows]]
    for account, rep in pins.accounts.items():
        team = team_of.get(rep, "")
        mine = rows[(accounts == account) & (p.a_team[rows] == team)]
        if not len(mine):
            yield (f"account {account} is pinned to {rep}, but {rep}'s team {team!r} holds "
                   "none of its work")
            continue
        rep_index = int(np.flatnonzero(p.roster == rep)[0])
        qualified = p.skills.qualified(np.full(len(mine), rep_index),
                                       p.lines.iloc[p.line[mine]])
        wrong = (p.a_rep_id[mine] != rep) & ~((p.a_rep_id[mine] == "") & ~qualified)
        for k in mine[wrong]:
            yield (f"account {account} is pinned to {rep}, but its {p.line_label(p.line[k])} "
                   f"in team {team!r} goes to {p.a_rep_id[k] or 'nobody'}")


def _check_hiring(p: _Plan) -> Iterator[Finding]:
    hiring = p.tables.hiring
    rows = np.flatnonzero(ids(hiring["function"]) != MANAGER_HIRING)
    hours = numbers(hiring["unmet_hours"])[rows]
    yield _Each(rows[np.isnan(hours)], lambda k: (
        f"hiring.csv row {k + 2} has unmet_hours {hiring['unmet_hours'].iloc[k]!r}, not a number"))
    keys = ["team_id", "function", "product"]
    given = (pd.DataFrame({c: ids(hiring[c])[rows] for c in keys}).assign(given=hours)
             .groupby(keys)["given"].sum())
    expected = unmet_by_cell(p.tables.assignments).set_index(keys)["unmet_hours"]
    both = pd.concat([given, expected.rename("expected")], axis=1).fillna(0.0)
    bad = both[~(np.abs(both["given"] - both["expected"]) <= HOURS_TOLERANCE)]
    yield _Each(list(bad.itertuples()), lambda row: (
        f"hiring.csv gives {row.given:g} unmet hours for team {row.Index[0]!r}, function "
        f"{row.Index[1]}, product {row.Index[2]}, but {row.expected:g} h of those lines are "
        "unassigned in assignments.csv"))


def _check_derived(p: _Plan) -> Iterator[Finding]:
    yield from _derived_reps(p)
    yield from _derived_assignments(p)
    yield from _derived_teams(p)


def _derived_reps(p: _Plan) -> Iterator[Finding]:
    reps, assignments = p.tables.reps, p.tables.assignments
    assigned = assigned_hours(reps["rep_id"], assignments)
    expected = {"assigned_hours": assigned,
                "utilization": utilization(assigned, numbers(reps["capacity_hours"])),
                "fit": rep_fit(p.company, p.rules, reps["rep_id"], assignments)}
    for column, want in expected.items():
        got = numbers(reps[column])
        yield _Each(np.flatnonzero(~_close(got, want)), lambda k, c=column, g=got, w=want: (
            f"reps.csv gives rep {p.rep_ids[k]} {c} {_show(g[k])}; recomputed {_show(w[k])}"))
    rep_team = pd.Series(ids(reps["team_id"]), index=p.rep_ids)
    moved = moved_reps(p.company, p.tables.teams, rep_team)
    yield _Each(np.flatnonzero(_flags(reps["moved"]) != moved), lambda k: (
        f"reps.csv gives rep {p.rep_ids[k]} moved {reps['moved'].iloc[k]!r}; recomputed "
        f"{str(bool(moved[k])).lower()}"))


def _derived_assignments(p: _Plan) -> Iterator[Finding]:
    rows = p.tables.assignments
    expected = kept_owner(p.company, rows)

    def message(k: int) -> str:
        label = p.line_label(p.line[k]) if p.line[k] >= 0 else f"assignments.csv row {k + 2}"
        return (f"assignments.csv gives {label} kept_owner {rows['kept_owner'].iloc[k]!r}; "
                f"recomputed {str(bool(expected[k])).lower()}")

    yield _Each(np.flatnonzero(_flags(rows["kept_owner"]) != expected), message)


def _derived_teams(p: _Plan) -> Iterator[Finding]:
    teams = p.tables.teams
    want = team_columns(teams, p.tables.reps, p.tables.assignments)
    for column in ("headcount", "demand_hours", "capacity_hours"):
        got, expected = numbers(teams[column]), want[column].to_numpy(dtype=float)
        yield _Each(np.flatnonzero(~_close(got, expected)), lambda k, c=column, g=got, e=expected: (
            f"teams.csv gives team {want['team_id'].iloc[k]!r} {c} {_show(g[k])}; recomputed "
            f"{_show(e[k])}"))


def _check_kpis(p: _Plan) -> Iterator[str]:
    given = p.tables.kpis
    for key in KPIS_JSON_KEYS:
        if key not in given:
            yield f"kpis.json has no key {key!r}"
    if "status" in given and given["status"] not in STATUSES:
        yield f"kpis.json status {given['status']!r} is not one of {', '.join(STATUSES)}"
    t = p.tables
    expected = compute_kpis(p.company, p.scenario, t.teams, t.reps, t.assignments)
    for key, want in expected.items():
        if key in given and not _kpi_equal(given[key], want, key in INTEGER_KPIS):
            yield f"kpis.json gives {key} {given[key]!r}; recomputed {_show(want)}"


CHECKS: tuple[tuple[str, Callable[[_Plan], Iterator[Finding]]], ...] = (
    ("reps_once", _check_reps_once),
    ("lines_once", _check_lines_once),
    ("teams", _check_teams),
    ("scope", _check_scope),
    ("rep_in_team", _check_rep_in_team),
    ("one_face", _check_one_face),
    ("band", _check_band),
    ("capacity", _check_capacity),
    ("qualification", _check_qualification),
    ("unmet", _check_unmet),
    ("managers", _check_managers),
    ("coverage", _check_coverage),
    ("max_reps_moved", _check_max_reps_moved),
    ("pins", _check_pins),
    ("hiring", _check_hiring),
    ("derived", _check_derived),
    ("kpis", _check_kpis),
)
#: Every check name a Violation can carry.
CHECK_NAMES = ("files",) + tuple(name for name, _ in CHECKS)


# --- comparisons -------------------------------------------------------------------------------

def _close(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """Equal within abs 1e-6 + rel 1e-6; two NaN (two empty cells) are equal, inf equals inf."""
    got, want = np.asarray(got, float), np.asarray(want, float)
    with np.errstate(invalid="ignore"):
        near = np.abs(got - want) <= KPI_ABS_TOLERANCE + KPI_REL_TOLERANCE * np.abs(want)
    return near | (np.isnan(got) & np.isnan(want)) | (np.isinf(want) & (got == want))


def _flags(values: pd.Series) -> np.ndarray:
    """true/false cells as 1.0/0.0, anything else NaN (which never equals a flag)."""
    text = ids(values)
    lowered = np.char.lower(text.astype(str)) if len(text) else text.astype(str)
    return np.where(np.isin(lowered, ("true", "1")), 1.0,
                    np.where(np.isin(lowered, ("false", "0")), 0.0, np.nan))


def _kpi_equal(given, want, integer: bool) -> bool:
    if want is None or given is None:
        return want is None and given is None
    if isinstance(given, bool) or not isinstance(given, (int, float)):
        return False
    if integer:
        return given == want
    return bool(_close(np.array([given]), np.array([want]))[0])


def _show(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, float) and np.isnan(value):
        return "empty"
    return f"{value:.6g}" if isinstance(value, (float, np.floating)) else str(value)
