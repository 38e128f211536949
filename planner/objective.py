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


def evaluate(p: Problemset, d: Decision) -> dict[str, float]:
    """Each objective term's weighted value for the decision (terms with weight 0 are 0).

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
    return {term: (p.weights.get(term, 0.0) * q / p.norms[term] if term in p.norms else 0.0)
            for term, q in quantities.items()}


def total(p: Problemset, values: dict[str, float]) -> float:
    """The number the scenario minimises: the weighted sum, or the first priority's value."""
    if p.levels:
        return sum(values.get(t, 0.0) for t in p.levels[0])
    return sum(values.values())
