"""Why an account line changed owner: the rule, the org model or the objective term that moved
it, in words a sales leader reads ("the owner is not qualified: product proficiency 1 < 2").

The reasons are checked in order, and the first that applies is given:
1. a pin in the scenario sends the account to another rep;
2. a rule excludes today's owner (minimum proficiency, key accounts to seniors);
3. the org model puts the line in another team than its owner's;
4. inside one team: no rep had room (unmet), the owner had no room left in the utilization
   band, another rep fits the work better (fit), or the load was evened out (balance).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.data import Company
from planner.kpis import line_index
from planner.plan import Plan
from planner.skills import SkillTable

MOVE_COLUMNS = ("account_id", "product", "function", "hours", "from_rep", "to_rep",
                "from_team", "to_team", "cause", "reason")


def owner_changes(company: Company, plan: Plan) -> pd.DataFrame:
    """One row per assignment row whose rep is not today's owner (owned lines only)."""
    a = plan.assignments.reset_index(drop=True)
    line = line_index(company, a)
    owner = np.where(line >= 0, company.lines["owner"].to_numpy()[np.maximum(line, 0)], -1)
    changed = np.flatnonzero((owner >= 0) & ~a["kept_owner"].to_numpy(dtype=bool))
    if changed.size == 0:
        return pd.DataFrame(columns=list(MOVE_COLUMNS))
    rows = a.iloc[changed].reset_index(drop=True)
    work = company.lines.iloc[line[changed]].reset_index(drop=True)
    owner = owner[changed]
    ctx = _Context(company, plan)
    owner_ids = company.reps["rep_id"].to_numpy(dtype=object)[owner]
    out = pd.DataFrame({
        "account_id": rows["account_id"], "product": rows["product"],
        "function": rows["function"], "hours": rows["hours"].astype(float),
        "from_rep": owner_ids,
        "to_rep": np.where(rows["rep_id"] == "", "(unmet)", rows["rep_id"]),
        "from_team": [ctx.team_of.get(r, "") for r in owner_ids], "to_team": rows["team_id"]})
    causes = [ctx.reason(rows.iloc[i], work.iloc[i], int(owner[i]), owner_ids[i],
                         ctx.facts(work, owner, rows, i)) for i in range(len(rows))]
    out["cause"] = [c for c, _ in causes]
    out["reason"] = [r for _, r in causes]
    return out[list(MOVE_COLUMNS)]


def cause_counts(moves: pd.DataFrame) -> pd.DataFrame:
    """Lines and hours moved per cause, largest first."""
    if moves.empty:
        return pd.DataFrame(columns=["cause", "lines", "hours"])
    out = moves.groupby("cause").agg(lines=("hours", "size"), hours=("hours", "sum"))
    return out.sort_values("hours", ascending=False).reset_index()


class _Context:
    """What the reasons look at: skills, rules, teams and loads of the plan."""

    def __init__(self, company: Company, plan: Plan):
        self.company = company
        self.rules = plan.scenario.rules
        self.skills = SkillTable(company, self.rules)
        self.rep_pos = {r: i for i, r in enumerate(company.reps["rep_id"])}
        reps = plan.reps.set_index("rep_id")
        self.team_of = reps["team_id"].astype(str).to_dict()
        self.load = reps["assigned_hours"].astype(float).to_dict()
        self.capacity = reps["capacity_hours"].astype(float).to_dict()
        pins = getattr(self.rules, "pins", None)
        self.account_pins = dict(getattr(pins, "accounts", None) or {}) if pins else {}

    def facts(self, work: pd.DataFrame, owner: np.ndarray, rows: pd.DataFrame, i: int) -> dict:
        """Per-row numbers the reasons use, computed once for all rows and read by index."""
        if not hasattr(self, "_facts"):
            new = np.array([self.rep_pos.get(r, -1) for r in rows["rep_id"]])
            safe = np.maximum(new, 0)
            self._facts = {
                "function": self.skills.proficiency("function", owner, work["function"]),
                "product": self.skills.proficiency("product", owner, work["product"]),
                "senior": self.skills.needs_senior(work),
                "fit_owner": self.skills.fit(owner, work),
                "fit_new": np.where(new >= 0, self.skills.fit(safe, work), -1.0)}
        return {k: v[i] for k, v in self._facts.items()}

    def reason(self, row: pd.Series, line: pd.Series, owner: int, owner_id: str,
               facts: dict) -> tuple[str, str]:
        new = str(row["rep_id"])
        pinned = self.account_pins.get(str(row["account_id"]))
        if pinned and pinned != owner_id:
            return "pin", f"the scenario pins account {row['account_id']} to {pinned}"
        excluded = self._rule_excludes(line, owner, owner_id, facts)
        if excluded:
            return excluded
        owner_team = self.team_of.get(owner_id, "")
        if owner_team != row["team_id"]:
            return ("org model", f"the org model puts this work in team {row['team_id']}; "
                    f"its owner {owner_id} is in team {owner_team or '(none)'}")
        if not new:
            return ("unmet", f"no rep of team {row['team_id']} had room for it within the "
                    "utilization band: it is a hiring need")
        return self._inside_team(owner_id, new, float(row["hours"]), facts)

    def _rule_excludes(self, line: pd.Series, owner: int, owner_id: str,
                       facts: dict) -> tuple[str, str] | None:
        minimum = self.rules.min_proficiency
        for dim in ("function", "product"):
            if facts[dim] < minimum:
                return ("min_proficiency", f"its owner {owner_id} has {dim} proficiency "
                        f"{facts[dim]:g} in {line[dim]}, below the minimum {minimum:g}")
        if facts["senior"] and self.skills.level[owner] < self.rules.senior_level:
            return ("key_accounts_senior", f"key accounts go to level {self.rules.senior_level}+ "
                    f"reps; its owner {owner_id} is level {int(self.skills.level[owner])}")
        return None

    def _inside_team(self, owner_id: str, new: str, hours: float,
                     facts: dict) -> tuple[str, str]:
        load, cap = self.load.get(owner_id, 0.0), self.capacity.get(owner_id, 0.0)
        limit = self.rules.utilization.max * cap
        if load + hours > limit + 1e-6:
            return ("utilization band", f"its owner {owner_id} carries {load:,.0f} h of "
                    f"{cap:,.0f} h; {hours:,.0f} h more would exceed "
                    f"{self.rules.utilization.max:.0%}")
        if facts["fit_new"] > facts["fit_owner"] + 1e-9:
            return ("fit", f"{new} fits the work better than its owner {owner_id} "
                    f"({facts['fit_new']:.2f} vs {facts['fit_owner']:.2f})")
        new_util = self.load.get(new, 0.0) / max(self.capacity.get(new, 0.0), 1e-9)
        return ("balance", f"evens out the load: its owner {owner_id} is at "
                f"{load / max(cap, 1e-9):.0%}, {new} at {new_util:.0%}")
