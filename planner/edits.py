"""Data edits: what-ifs and adjustments applied to a scenario's data when it is loaded, never
to the files. A scenario lists them under `edits:`; they run in order on the rows as read,
before validation, so an edit that breaks a rule is reported like a bad file.

- scale_demand: {where: {region: East}, factor: 1.25}   demand grows (or shrinks) in a cell
- remove_reps: [R017]                                     reps leave; their accounts lose an owner
- add_reps: [{rep_id: OPEN-1, home_region: East, ...}]    open headcount or planned hires
- add_product: {product: AI Copilot, like: Analytics}     a new product line, sold where a
                                                          similar one is, by the reps who sell it
- set_skills: {R023: {"language:cantonese": 4}}          a rep learned (or lost) a skill
- owners_from: runs/rxf/assignments.csv                   a plan's owners become today's owners,
                                                          so a re-solve moves only what must move
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from planner.csvread import ROW_COLUMN, read_table
from planner.data import HOURS_PREFIX, OWNER_PREFIX
from planner.errors import InputError, Problem, did_you_mean
from planner.excelsafe import unquote_frame


class _Edit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScaleDemand(_Edit):
    """Multiply the hours of the demand lines matching `where` (dimension: value)."""

    where: dict[str, str] = Field(default_factory=dict)
    factor: float = Field(gt=0)


class NewRep(_Edit):
    rep_id: str
    name: str = ""
    home_region: str
    level: int = Field(3, ge=1, le=5)
    capacity_hours: float = Field(gt=0)
    can_manage: bool = False
    current_team: str = ""
    preferred_function: str = ""
    skills: dict[str, float] = Field(default_factory=dict)  # "function:hunting": 4, ...


class AddProduct(_Edit):
    """A new product line, sold to `accounts_share` of the accounts that buy `like`, with
    `hours_factor` of their hours for it; reps' proficiency in it is their proficiency in
    `like` plus `proficiency_change` (0-5)."""

    product: str
    like: str
    accounts_share: float = Field(0.5, gt=0, le=1)
    hours_factor: float = Field(0.5, gt=0)
    proficiency_change: float = -1.0
    seed: int = 0


class Edit(_Edit):
    """One edit: exactly one of the keys is given."""

    scale_demand: ScaleDemand | None = None
    remove_reps: tuple[str, ...] | None = None
    add_reps: tuple[NewRep, ...] | None = None
    add_product: AddProduct | None = None
    set_skills: dict[str, dict[str, float]] | None = None
    owners_from: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> "Edit":
        self.kind()
        return self

    def kind(self) -> str:
        given = [k for k, v in self.model_dump(exclude_none=True).items()]
        if len(given) != 1:
            raise ValueError("each edit has exactly one of scale_demand, remove_reps, add_reps, "
                             "add_product, set_skills, owners_from")
        return given[0]


def apply_edits(reps: pd.DataFrame, accounts: pd.DataFrame, edits: tuple[Edit, ...],
                base: Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The raw rows (strings, as read) after the edits, in order."""
    for edit in edits:
        kind = edit.kind()
        value = getattr(edit, kind)
        if kind == "scale_demand":
            accounts = _scale_demand(accounts, value)
        elif kind == "remove_reps":
            reps, accounts = _remove_reps(reps, accounts, value)
        elif kind == "add_reps":
            reps = _add_reps(reps, value)
        elif kind == "add_product":
            reps, accounts = _add_product(reps, accounts, value)
        elif kind == "set_skills":
            reps = _set_skills(reps, value)
        elif kind == "owners_from":
            path = Path(value) if base is None else base / value
            reps, accounts = _owners_from(reps, accounts, path)
    return reps, accounts


def _number_text(values: np.ndarray) -> np.ndarray:
    """Numbers back to text with at most 4 decimals (the resolution the planner honours)."""
    return np.array([("%.4f" % v).rstrip("0").rstrip(".") for v in values], dtype=object)


def _scaled(values: np.ndarray, factor: float, what: str, column: str) -> np.ndarray:
    """values * factor (NaN stays NaN); a product too large for a float is an InputError
    naming the edit, not an overflow warning and 'inf' hours."""
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = values * factor
    if (np.isinf(scaled) & np.isfinite(values)).any():  # an 'inf' cell is the file's problem
        raise InputError(Problem(f"{what} {factor:g} makes {column} too large to hold",
                                 "scenario edits"))
    return scaled


def _scale_demand(accounts: pd.DataFrame, edit: ScaleDemand) -> pd.DataFrame:
    accounts = accounts.copy()
    hours_cols = [c for c in accounts.columns if c.startswith(HOURS_PREFIX)]
    functions = [c[len(HOURS_PREFIX):] for c in hours_cols]
    rows = np.ones(len(accounts), dtype=bool)
    for dim, value in edit.where.items():
        if dim == "function":
            continue
        if dim not in accounts.columns:
            raise InputError(Problem(f"scale_demand: accounts.csv has no column {dim!r}"
                                     f"{did_you_mean(dim, accounts.columns)}", "scenario edits"))
        known = set(accounts[dim])
        if value not in known:
            raise InputError(Problem(f"scale_demand: no account has {dim} {value!r}"
                                     f"{did_you_mean(value, known)}", "scenario edits"))
        rows &= (accounts[dim] == value).to_numpy()
    chosen = [c for c, f in zip(hours_cols, functions)
              if "function" not in edit.where or f == edit.where["function"]]
    if "function" in edit.where and not chosen:
        raise InputError(Problem(f"scale_demand: no hours column for function "
                                 f"{edit.where['function']!r}{did_you_mean(edit.where['function'], functions)}",
                                 "scenario edits"))
    for col in chosen:
        values = pd.to_numeric(accounts.loc[rows, col], errors="coerce").to_numpy()
        scaled = _scaled(values, edit.factor, "scale_demand: factor", col)
        text = _number_text(np.nan_to_num(scaled))
        accounts.loc[rows, col] = np.where(np.isnan(values), accounts.loc[rows, col], text)
    return accounts


def _remove_reps(reps: pd.DataFrame, accounts: pd.DataFrame,
                 rep_ids: tuple[str, ...]) -> tuple[pd.DataFrame, pd.DataFrame]:
    unknown = [r for r in rep_ids if r not in set(reps["rep_id"])]
    if unknown:
        raise InputError(Problem(f"remove_reps: {unknown[0]!r} is not a rep_id in reps.csv"
                                 f"{did_you_mean(unknown[0], reps['rep_id'])}", "scenario edits"))
    reps = reps[~reps["rep_id"].isin(rep_ids)].reset_index(drop=True)
    accounts = accounts.copy()
    if "current_owner" in accounts.columns:
        accounts.loc[accounts["current_owner"].isin(rep_ids), "current_owner"] = ""
    return reps, accounts


def _add_reps(reps: pd.DataFrame, new: tuple[NewRep, ...]) -> pd.DataFrame:
    clash = [r.rep_id for r in new if r.rep_id in set(reps["rep_id"])]
    if clash:
        raise InputError(Problem(f"add_reps: rep_id {clash[0]!r} is already in reps.csv",
                                 "scenario edits"))
    rows = []
    for r in new:
        row = {"rep_id": r.rep_id, "name": r.name or r.rep_id, "home_region": r.home_region,
               "level": str(r.level), "capacity_hours": _number_text([r.capacity_hours])[0],
               "can_manage": "true" if r.can_manage else "false",
               "current_team": r.current_team, "preferred_function": r.preferred_function}
        row.update({k: _number_text([v])[0] for k, v in r.skills.items()})
        rows.append(row)
    added = pd.DataFrame(rows)
    out = pd.concat([reps, added], ignore_index=True)
    out[ROW_COLUMN] = out[ROW_COLUMN].fillna(0).astype(int)
    return out.fillna("")


def _add_product(reps: pd.DataFrame, accounts: pd.DataFrame,
                 edit: AddProduct) -> tuple[pd.DataFrame, pd.DataFrame]:
    if edit.like not in set(accounts["product"]):
        raise InputError(Problem(f"add_product: no account buys {edit.like!r}"
                                 f"{did_you_mean(edit.like, set(accounts['product']))}",
                                 "scenario edits"))
    if edit.product in set(accounts["product"]):
        raise InputError(Problem(f"add_product: product {edit.product!r} already exists",
                                 "scenario edits"))
    rng = np.random.default_rng(edit.seed)
    like_rows = accounts[accounts["product"] == edit.like]
    chosen = like_rows[rng.random(len(like_rows)) < edit.accounts_share].copy()
    chosen["product"] = edit.product
    for col in [c for c in accounts.columns if c.startswith(HOURS_PREFIX)] + ["potential"]:
        if col in chosen.columns:
            values = _scaled(pd.to_numeric(chosen[col], errors="coerce").to_numpy(),
                             edit.hours_factor, "add_product: hours_factor", col)
            chosen[col] = _number_text(np.nan_to_num(values))
    chosen[ROW_COLUMN] = 0
    accounts = pd.concat([accounts, chosen], ignore_index=True)
    reps = reps.copy()
    like_col, new_col = f"product:{edit.like}", f"product:{edit.product}"
    base = pd.to_numeric(reps[like_col], errors="coerce").fillna(0) if like_col in reps \
        else pd.Series(0.0, index=reps.index)
    reps[new_col] = _number_text(np.clip(base.to_numpy() + edit.proficiency_change, 0, 5))
    return reps, accounts


def _set_skills(reps: pd.DataFrame, skills: dict[str, dict[str, float]]) -> pd.DataFrame:
    reps = reps.copy()
    for rep_id, values in skills.items():
        rows = reps["rep_id"] == rep_id
        if not rows.any():
            raise InputError(Problem(f"set_skills: {rep_id!r} is not a rep_id in reps.csv"
                                     f"{did_you_mean(rep_id, reps['rep_id'])}", "scenario edits"))
        for skill, value in values.items():
            if ":" not in skill:
                raise InputError(Problem(f"set_skills: {skill!r} is not a skill column such as "
                                         "language:cantonese", "scenario edits"))
            if skill not in reps.columns:
                reps[skill] = ""
            reps.loc[rows, skill] = _number_text([value])[0]
    return reps


def _owners_from(reps: pd.DataFrame, accounts: pd.DataFrame,
                 path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Each demand line's owner becomes its rep in the plan (`current_owner:<function>`; a line
    the plan left unmet, or whose rep has left, has none); each rep's current team and role
    (`current_role`: manager or member) become theirs in the plan (reps.csv beside it)."""
    plan = unquote_frame(read_table(path, f"owners_from {path.name}"))  # written Excel-safe
    for col in ("account_id", "product", "function", "hours", "rep_id"):
        if col not in plan.columns:
            raise InputError(Problem("this is not a plan's assignments.csv", str(path), 1, col))
    plan = plan[plan["rep_id"].isin(set(reps["rep_id"]))].copy()
    plan["h"] = pd.to_numeric(plan["hours"], errors="coerce").fillna(0)
    # a line split between reps belongs to the one with most of its hours
    line_owner = (plan.sort_values("h", ascending=False, kind="stable")
                  .drop_duplicates(["account_id", "product", "function"])
                  .set_index(["account_id", "product", "function"])["rep_id"])
    accounts = accounts.copy()
    accounts["current_owner"] = ""  # blank per-function owners fall back to it: no owner
    key = pd.MultiIndex.from_arrays([accounts["account_id"], accounts["product"]])
    by_function = line_owner.unstack("function").reindex(key)  # account x product rows
    for col in [c for c in accounts.columns if c.startswith(HOURS_PREFIX)]:
        function = col[len(HOURS_PREFIX):].strip()
        owners = by_function[function] if function in by_function else pd.Series(index=key)
        accounts[OWNER_PREFIX + function] = owners.fillna("").to_numpy()
    plan_reps = path.parent / "reps.csv"
    if plan_reps.is_file():
        teams = unquote_frame(read_table(plan_reps, f"owners_from {plan_reps.name}"))
        if {"rep_id", "team_id"} <= set(teams.columns):
            reps = reps.copy()
            by_rep = teams.set_index("rep_id")
            known = reps["rep_id"].isin(by_rep.index)
            ids = reps.loc[known, "rep_id"]
            reps.loc[known, "current_team"] = by_rep["team_id"].reindex(ids).to_numpy()
            if "role" in by_rep.columns:
                reps["current_role"] = ""
                reps.loc[known, "current_role"] = by_rep["role"].reindex(ids).fillna("").to_numpy()
    return reps, accounts


def parse_edits(raw: Any) -> tuple[Edit, ...]:
    """Validate a list of edits (from code; YAML goes through the scenario's schema)."""
    return tuple(e if isinstance(e, Edit) else Edit.model_validate(e) for e in raw or ())

