"""The scenario's objective evaluated on any decision (a solved plan, today's organisation,
round-robin), in the same normalised units the models optimise: each term is its weight times
a share (unmet hours of demand, load deviation of capacity, misfit hours of demand, ...).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from planner.instance import Problemset


@dataclass(frozen=True)
class Decision:
    """Who goes where: a team and a role per rep, a rep (or -1) per demand line."""

    rep_team: np.ndarray  # team index per rep
    is_manager: np.ndarray  # bool per rep
    hired_managers: np.ndarray  # per management unit
    line_rep: np.ndarray  # rep index per line of company.lines, -1 = unmet


def evaluate(p: Problemset, d: Decision, weighted: bool = True) -> dict[str, float]:
    """Each objective term's weighted value for the decision (terms with weight 0 are 0), or
    with `weighted=False` its share (the term before weighting, whatever the weights).

    Hours given to a rep who is not qualified for them (possible in a baseline, never in a
    solved plan) count as unmet, as they do in the model."""
    lines = p.lines
    h = lines["h"].to_numpy().astype(float)
    rep = np.maximum(d.line_rep, 0)
    cell = lines["cell"].to_numpy()
    assigned = (d.line_rep >= 0) & p.cell_qualified[rep, cell]
    given = d.line_rep >= 0
    load = np.bincount(d.line_rep[given], weights=h[given], minlength=p.n_reps)
    target = np.where(d.is_manager, p.mgr_target, p.rep_target)
    owner = lines["owner"].to_numpy()
    potential = lines["potential"].to_numpy()
    preferred = p.company.reps["preferred_function"].to_numpy()[rep]
    off = (preferred != "") & (preferred != lines["function"].to_numpy())
    quantities = {
        "unmet": h[~assigned].sum() + d.hired_managers.sum() * p.missing_manager_hours,
        "balance": np.abs(load - target).sum(),
        "fit": (h * (1.0 - p.cell_fit[rep, cell]))[assigned].sum(),
        "preferences": (h * off)[assigned].sum(),
        "continuity": potential[(owner >= 0) & (d.line_rep != owner)].sum(),
    }
    if "travel" in p.norms:
        pairs = np.unique(np.column_stack([d.line_rep[given],
                                           lines["account"].to_numpy()[given]]), axis=0)
        quantities["travel"] = float(p.company.travel_cost(pairs[:, 0], pairs[:, 1]).sum()) \
            if len(pairs) else 0.0
    def weight(term: str) -> float:
        return p.weights.get(term, 0.0) if weighted else 1.0
    return {term: (weight(term) * q / norm if (norm := _norm(p, term)) else 0.0)
            for term, q in quantities.items()}


def _norm(p: Problemset, term: str) -> float:
    """The term's normaliser (the instance keeps only those of weighted terms)."""
    if term in p.norms:
        return p.norms[term]
    if term == "travel" and p.company.has_travel:
        from planner.instance import travel_norm
        return travel_norm(p)
    return {"unmet": float(p.lines["h"].sum()), "fit": float(p.lines["h"].sum()),
            "preferences": float(p.lines["h"].sum()), "balance": float(p.cap.sum()),
            "continuity": float(p.lines.loc[p.lines["owned"], "potential"].sum())}.get(term, 0.0)


def decision_of(p: Problemset, teams: "pd.Series", roles: "pd.Series",
                assignments: "pd.DataFrame", hiring: "pd.DataFrame") -> Decision:
    """The decision a plan's tables describe (rep -> team and role, line -> rep)."""
    import pandas as pd
    reps = p.company.reps["rep_id"]
    team_index = {t.team_id: i for i, t in enumerate(p.org.teams)}
    rep_team = np.array([team_index.get(teams.get(r, ""), -1) for r in reps], dtype=np.int64)
    is_manager = np.array([roles.get(r, "") == "manager" for r in reps])
    key = pd.MultiIndex.from_frame(p.lines[["account_id", "product", "function"]])
    rep_of = assignments.set_index(["account_id", "product", "function"])["rep_id"]
    rep_index = {r: i for i, r in enumerate(reps)}
    line_rep = np.array([rep_index.get(r, -1) for r in rep_of.reindex(key).fillna("")],
                        dtype=np.int64)
    managers = hiring[hiring["function"] == "manager"]
    hired = np.array([int(managers["suggested_hires"].sum())]) if len(managers) else np.zeros(1)
    return Decision(rep_team, is_manager, hired.astype(np.int64), line_rep)


def total(p: Problemset, values: dict[str, float]) -> float:
    """The number the scenario minimises: the weighted sum, or the first priority's value."""
    if p.levels:
        return sum(values.get(t, 0.0) for t in p.levels[0])
    return sum(values.values())
