"""Skill fit and qualification of a rep for a piece of work: the reference definitions that
the model builder, the KPIs and the verifier all use.

fit(r, line) = sum over dimensions d of w_d * proficiency(r, d = line's value) / 5.
qualified(r, line): proficiency in the line's function and product >= min_proficiency, and
level >= senior_level for key-account lines when key_accounts_senior is on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.data import DIMENSIONS, Company
from planner.scenario import Rules

MAX_PROFICIENCY = 5.0
#: Bits saying which rule makes a pair unqualified (see qualified_matrix).
MIN_PROFICIENCY_BIT = 1
SENIORITY_BIT = 2


class SkillTable:
    """Each rep's proficiency in every value of every dimension, for fast lookups."""

    def __init__(self, company: Company, rules: Rules):
        self.rules = rules
        self.level = company.reps["level"].to_numpy()
        self._values: dict[str, dict[str, int]] = {}
        self._prof: dict[str, np.ndarray] = {}
        for dim in DIMENSIONS:
            values = company.values(dim)
            self._values[dim] = {v: i for i, v in enumerate(values)}
            columns = [company.proficiency(dim, v) for v in values] + [np.zeros(company.n_reps)]
            self._prof[dim] = np.column_stack(columns)

    def _index(self, dim: str, values: pd.Series | np.ndarray) -> np.ndarray:
        """Column of each value in the proficiency matrix; a value no demand line has (only
        possible for hand-made work) reads as proficiency 0 through an extra zero column."""
        given = values if isinstance(values, pd.Series) else np.asarray(values, dtype=object)
        codes, distinct = pd.factorize(given, use_na_sentinel=False)  # few distinct values
        index = pd.Index(list(self._values[dim])).get_indexer(np.asarray(distinct, dtype=object))
        return np.where(index < 0, len(self._values[dim]), index)[codes]

    def proficiency(self, dim: str, rep: np.ndarray, values) -> np.ndarray:
        """proficiency(rep[i], dim = values[i]) for aligned arrays."""
        return self._prof[dim][np.asarray(rep, dtype=np.int64), self._index(dim, values)]

    def fit(self, rep: np.ndarray, work: pd.DataFrame) -> np.ndarray:
        """fit(rep[i], work row i) for aligned rep indices and rows with the five dimensions."""
        total = np.zeros(len(work))
        for dim, weight in self.rules.fit_weights.items():
            if weight:
                total += weight * self.proficiency(dim, rep, work[dim]) / MAX_PROFICIENCY
        return total

    def qualified(self, rep: np.ndarray, work: pd.DataFrame) -> np.ndarray:
        """qualified(rep[i], work row i)."""
        rep = np.asarray(rep, dtype=np.int64)
        minimum = self.rules.min_proficiency
        ok = ((self.proficiency("function", rep, work["function"]) >= minimum)
              & (self.proficiency("product", rep, work["product"]) >= minimum))
        return ok & ~(self.needs_senior(work) & (self.level[rep] < self.rules.senior_level))

    def needs_senior(self, work: pd.DataFrame) -> np.ndarray:
        if not self.rules.key_accounts_senior:
            return np.zeros(len(work), dtype=bool)
        return (np.asarray(work["segment"]) == self.rules.key_account_segment)

    def fit_matrix(self, cells: pd.DataFrame) -> np.ndarray:
        """fit of every rep (rows) for every cell (columns)."""
        total = np.zeros((len(self.level), len(cells)))
        for dim, weight in self.rules.fit_weights.items():
            if weight:
                total += weight * self._prof[dim][:, self._index(dim, cells[dim])] / MAX_PROFICIENCY
        return total

    def qualified_matrix(self, cells: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(qualified, rule_bits) for every rep x cell; rule_bits say which rules exclude a pair."""
        minimum = self.rules.min_proficiency
        skill_ok = ((self._prof["function"][:, self._index("function", cells["function"])] >= minimum)
                    & (self._prof["product"][:, self._index("product", cells["product"])] >= minimum))
        senior_ok = ~(self.needs_senior(cells)[None, :]
                      & (self.level[:, None] < self.rules.senior_level))
        bits = ((~skill_ok).astype(np.uint8) * MIN_PROFICIENCY_BIT
                + (~senior_ok).astype(np.uint8) * SENIORITY_BIT)
        return skill_ok & senior_ok, bits
