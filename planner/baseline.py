"""The organisations every plan is compared with.

- current: today's organisation as the data describe it: reps in their current_team, each line
  with its current owner (lines without one are unmet).
- round-robin: what CRM assignment rules do with the scenario's org model: each rep goes to the
  team whose criteria match them best (home region, strongest function, product, segment and
  channel), then each team deals its accounts out in turn, by account id, without looking at
  skills, hours or capacity.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.contracts import MANAGEMENT_UNIT
from planner.data import DIMENSIONS, Company
from planner.instance import Problemset
from planner.orgmodel import Org

STRATEGIES = ("current", "round-robin")
NO_TEAM = "(no team)"


def current_organisation(company: Company) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """(teams, rep team ids, line reps) of today's organisation; teams are pooled (no scope)."""
    rep_team = company.reps["current_team"].replace("", NO_TEAM).to_numpy().astype(object)
    names = list(dict.fromkeys(rep_team.tolist()))
    teams = pd.DataFrame({"team_id": names, **{d: "" for d in DIMENSIONS},
                          MANAGEMENT_UNIT: names})
    return teams, rep_team, company.lines["owner"].to_numpy().astype(np.int64)


def round_robin(p: Problemset) -> tuple[np.ndarray, np.ndarray]:
    """(team index per rep, rep per line) by criteria-based rules and round-robin dealing."""
    rep_team = criteria_teams(p.company, p.org)
    line_rep = np.full(len(p.lines), -1, dtype=np.int64)
    lines = p.lines
    for team, idx in lines.groupby("team").indices.items():
        members = np.nonzero(rep_team == team)[0]
        if not len(members):
            continue
        items = lines.iloc[idx].sort_values(["account_id", "function"])
        order = pd.factorize(items["item"])[0]
        line_rep[items.index.to_numpy()] = members[order % len(members)]
    return rep_team, line_rep


def criteria_teams(company: Company, org: Org) -> np.ndarray:
    """Each rep's team: the one matching most of the rep's criteria (home region, strongest
    function, product, segment, channel); ties go to the team with the most demand per member
    so far, so that matching reps spread over matching teams."""
    profile = _rep_profile(company)
    demand = np.bincount(org.line_team, weights=company.lines["hours"].to_numpy(),
                         minlength=org.n_teams)
    members = np.zeros(org.n_teams)
    rep_team = np.zeros(company.n_reps, dtype=np.int64)
    for r in range(company.n_reps):
        score = np.array([sum(profile[d][r] == v for d, v in team.scope) for team in org.teams])
        best = np.nonzero(score == score.max())[0]
        choice = best[np.argmax(demand[best] / (members[best] + 1))]
        rep_team[r] = choice
        members[choice] += 1
    return rep_team


def _rep_profile(company: Company) -> dict[str, np.ndarray]:
    """Each rep's value per dimension: home region, and their strongest value elsewhere."""
    profile = {"region": company.reps["home_region"].to_numpy()}
    for dim in DIMENSIONS:
        if dim == "region":
            continue
        values = company.values(dim)
        if not values:
            profile[dim] = np.full(company.n_reps, "")
            continue
        prof = np.column_stack([company.proficiency(dim, v) for v in values])
        profile[dim] = np.asarray(values, dtype=object)[prof.argmax(axis=1)]
    return profile
