"""Custom constraints and objective terms from a notebook, without touching the library.

A `Custom` names up to two functions. `teams(view)` runs wherever reps are placed into teams
(stage 1 and the joint model) and sees `view.in_team(rep_id, team_id)`; `accounts(view)` runs
wherever accounts are given to reps (each team's stage 2 and the joint model) and sees
`view.serves(account_id, rep_id)`. Both add constraints with `view.add(...)` and costs with
`view.penalize(expression, weight)`, a weight in the units of the scenario's objective weights
(1 of the expression costs as much as `weight` on a whole normalised term).

    from planner import Custom
    together = Custom("Li and Wang in one team",
                      teams=lambda v: [v.add(v.in_team("R001", t) == v.in_team("R002", t))
                                       for t in v.teams])
    plan = solve(scenario.with_constraints(together))

Expressions are CP-SAT linear expressions; `view.model` is the CP-SAT model for anything the
helpers do not cover.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from planner.errors import ScenarioError, did_you_mean

if TYPE_CHECKING:
    from planner.instance import Problemset


@dataclass(frozen=True)
class Custom:
    """A named constraint or objective term, at team level, account level or both."""

    name: str
    teams: Callable[["TeamView"], object] | None = None
    accounts: Callable[["AccountView"], object] | None = None


class _View:
    def __init__(self, p: "Problemset", handles, custom: Custom):
        self._p, self._h, self._custom = p, handles, custom
        self._penalties: list = []
        self.model = handles.model

    def add(self, constraint):
        """Add a constraint (a CP-SAT bounded expression such as `a + b <= 3`)."""
        return self.model.add(constraint)

    def penalize(self, expression, weight: float = 1.0) -> None:
        """Add `weight * expression` to what the solver minimises (objective units)."""
        self._penalties.append(int(round(weight * self._p.obj_scale)) * expression)

    def rep(self, rep_id: str) -> dict:
        """The rep's row of reps.csv (as loaded) as a dict."""
        return self._p.company.reps.iloc[self._rep_index(rep_id)].to_dict()

    def skill(self, rep_id: str, skill: str) -> float:
        """The rep's proficiency in a skill column (`language:cantonese`, `product:Analytics`)."""
        from planner.instance import skill_values
        return float(skill_values(self._p.company, skill, self._custom.name, 0)[
            self._rep_index(rep_id)])

    def reps_where(self, **attributes) -> list[str]:
        """rep_ids whose reps.csv columns equal the given values (home_region="East")."""
        reps = self._p.company.reps
        mask = np.ones(len(reps), dtype=bool)
        for column, value in attributes.items():
            if column not in reps.columns:
                raise ScenarioError(f"custom {self._custom.name!r}: reps.csv has no column "
                                    f"{column!r}{did_you_mean(column, reps.columns)}")
            mask &= (reps[column] == value).to_numpy()
        return reps.loc[mask, "rep_id"].tolist()

    def _rep_index(self, rep_id: str) -> int:
        index = self._p.company.reps.index[self._p.company.reps["rep_id"] == rep_id]
        if not len(index):
            raise ScenarioError(f"custom {self._custom.name!r}: no rep {rep_id!r}"
                                f"{did_you_mean(rep_id, self._p.company.reps['rep_id'])}")
        return int(index[0])

    def objective(self):
        return sum(self._penalties) if self._penalties else None


class TeamView(_View):
    """Stage 1 and the joint model: who is in which team."""

    @property
    def teams(self) -> list[str]:
        return [t.team_id for t in self._p.org.teams]

    @property
    def reps(self) -> list[str]:
        return self._p.company.reps["rep_id"].tolist()

    def in_team(self, rep_id: str, team_id: str):
        """1 when the rep is in the team (a CP-SAT literal)."""
        teams = {t: i for i, t in enumerate(self.teams)}
        if team_id not in teams:
            raise ScenarioError(f"custom {self._custom.name!r}: no team {team_id!r}"
                                f"{did_you_mean(team_id, teams)}")
        return self._h.x[self._rep_index(rep_id)][teams[team_id]]

    def teams_where(self, **values) -> list[str]:
        """team_ids whose scope has these dimension values (region="East")."""
        return [t.team_id for t in self._p.org.teams
                if all(t.value(dim) == value for dim, value in values.items())]

    def teams_of_account(self, account_id: str, qualified_rep: str | None = None) -> list[str]:
        """The teams holding some of the account's work (only the work `qualified_rep` is
        qualified for, when given)."""
        lines = self._p.lines
        own = lines[lines["account_id"] == account_id]
        if qualified_rep is not None:
            r = self._rep_index(qualified_rep)
            own = own[self._p.cell_qualified[r, own["cell"].to_numpy()]]
        return [self._p.org.teams[t].team_id for t in sorted(set(own["team"].tolist()))]


class AccountView(_View):
    """Stage 2 (one team at a time) and the joint model: who serves which account."""

    def __init__(self, p: "Problemset", handles, custom: Custom, accounts: np.ndarray,
                 agents: np.ndarray):
        super().__init__(p, handles, custom)
        self._accounts = {p.company.accounts["account_id"].iat[int(a)]: i
                          for i, a in enumerate(accounts)}
        self._agents = {p.company.reps["rep_id"].iat[int(r)]: a for a, r in enumerate(agents)}

    @property
    def accounts(self) -> list[str]:
        """The accounts with work in this model."""
        return list(self._accounts)

    @property
    def reps(self) -> list[str]:
        """The reps this model may give work to (a team's members in stage 2)."""
        return list(self._agents)

    def serves(self, account_id: str, rep_id: str):
        """1 when the rep serves some of the account's work here (a literal, or 0 when the rep
        cannot: not in this team, or not qualified)."""
        if account_id not in self._accounts or rep_id not in self._agents:
            return self.model.new_constant(0)
        served = self._h.serves(self._accounts[account_id], self._agents[rep_id])
        return self.model.new_constant(0) if isinstance(served, int) else served

    def current_owners(self, account_id: str) -> list[str]:
        """Today's owners of the account's rows."""
        rows = self._p.company.rows
        owners = rows.loc[rows["account_id"] == account_id, "current_owner"]
        return sorted({o for o in owners if o})


def team_extension(p: "Problemset", custom: Custom):
    """models.extensions form of a Custom's team part."""
    def run(handles):
        view = TeamView(p, handles, custom)
        custom.teams(view)
        return view.objective()
    return run


def account_extension(p: "Problemset", custom: Custom, accounts: np.ndarray, agents: np.ndarray):
    """models.extensions form of a Custom's account part, for a model whose accounts (its own
    numbering) and agents (rep indices) are given."""
    def run(handles):
        view = AccountView(p, handles, custom, accounts, agents)
        custom.accounts(view)
        return view.objective()
    return run
