"""Extension points: constraints and objective terms added to a model from outside, seeing its
decision variables by index. The planner wraps them in views by rep, team and account ids
(planner.custom); here everything is integers.

An extension is a callable taking the model's handles; it adds constraints to `handles.model`
and may return a linear expression to minimise (already in objective units), or None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np
from ortools.sat.python import cp_model

CUSTOM_TERM = "custom"


@dataclass
class Handles:
    """The variables an extension may use. `x[r][t]`: rep r is in team t (stage 1 and the
    joint model; None in stage 2). `z[(item, agent)]`: the item goes to the agent (stage 2 and
    the joint model; None in stage 1). `item_account[item]`: the item's account index within
    `accounts` (the model's own account numbering)."""

    model: cp_model.CpModel
    x: list | None = None
    z: dict[tuple[int, int], cp_model.IntVar] | None = None
    item_account: np.ndarray | None = None
    _served: dict[tuple[int, int], object] = field(default_factory=dict)

    def serves(self, account: int, agent: int):
        """1 when the agent serves at least one item of the account (a literal, or 0 when the
        agent cannot serve it here)."""
        key = (account, agent)
        if key not in self._served:
            zs = [v for (i, a), v in (self.z or {}).items()
                  if a == agent and self.item_account is not None
                  and self.item_account[i] == account]
            if not zs:
                self._served[key] = 0
            elif len(zs) == 1:
                self._served[key] = zs[0]
            else:
                served = self.model.new_bool_var(f"serves_{account}_{agent}_ext")
                for v in zs:
                    self.model.add_implication(v, served)
                self.model.add(served <= sum(zs))
                self._served[key] = served
        return self._served[key]


Extension = Callable[[Handles], "cp_model.LinearExprT | None"]


def apply_extensions(handles: Handles, extensions: Iterable[Extension]):
    """Run every extension; the sum of the objective expressions they return (or None)."""
    terms = [t for t in (ext(handles) for ext in extensions) if t is not None]
    return cp_model.LinearExpr.sum(terms) if terms else None
