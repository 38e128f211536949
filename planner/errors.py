"""The planner's own errors: each says what is wrong in words a sales-operations user reads,
where (file, row, column), and carries the exit code the CLI returns.

Row numbers are spreadsheet rows: the header is row 1, the first data row is row 2.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import get_close_matches
from typing import Iterable

#: Exit codes of the `planner` command, documented in the README.
EXIT_OK = 0
EXIT_USAGE = 1  # wrong command-line use, an output folder that exists without --force
EXIT_INPUT = 2  # a data file (reps.csv, accounts.csv, travel.csv) is wrong
EXIT_SCENARIO = 3  # a scenario file is wrong (YAML, keys, values, org model)
EXIT_INFEASIBLE = 4  # the scenario's rules cannot all hold at once
EXIT_VERIFY = 5  # a plan does not pass the verifier
EXIT_NO_PLAN = 6  # the solver found no plan in the time limit

MAX_LISTED_PROBLEMS = 20


@dataclass(frozen=True)
class Problem:
    """One thing wrong in an input: where it is and what is wrong."""

    message: str
    file: str | None = None
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        unit = "line" if self.file and self.file.endswith((".yaml", ".yml")) else "row"
        where = [p for p in (self.file, f"{unit} {self.row}" if self.row else None,
                             f"column {self.column!r}" if self.column else None) if p]
        return f"{', '.join(where)}: {self.message}" if where else self.message


class PlannerError(Exception):
    """Base of every error the planner reports on purpose (never a traceback for the user)."""

    exit_code = EXIT_USAGE

    def __init__(self, problems: str | Problem | Iterable[Problem]):
        if isinstance(problems, str):
            problems = [Problem(problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = [p if isinstance(p, Problem) else Problem(str(p))
                                        for p in problems]
        super().__init__(self._text())

    def _text(self) -> str:
        shown = [str(p) for p in self.problems[:MAX_LISTED_PROBLEMS]]
        hidden = len(self.problems) - len(shown)
        if hidden > 0:
            shown.append(f"... and {hidden} more problems of the same kind")
        return shown[0] if len(shown) == 1 else "\n".join(f"- {s}" for s in shown)


class UsageError(PlannerError):
    exit_code = EXIT_USAGE


class InputError(PlannerError):
    """A data file cannot be used as it is."""

    exit_code = EXIT_INPUT


class ScenarioError(PlannerError):
    """A scenario file (or an org model in it) cannot be used as it is."""

    exit_code = EXIT_SCENARIO


class InfeasibleError(PlannerError):
    """The scenario's rules conflict; `problems` hold the explanation, `relaxations` the ways out."""

    exit_code = EXIT_INFEASIBLE

    def __init__(self, problems: str | Problem | Iterable[Problem], relaxations: Iterable[str] = ()):
        self.relaxations = list(relaxations)
        super().__init__(problems)

    def _text(self) -> str:
        text = "The scenario cannot be satisfied:\n" + "\n".join(f"- {p}" for p in self.problems)
        if self.relaxations:
            text += "\nAny one of these would make it feasible:\n" + "\n".join(
                f"- {r}" for r in self.relaxations)
        return text


class NoPlanError(PlannerError):
    exit_code = EXIT_NO_PLAN


class VerificationError(PlannerError):
    exit_code = EXIT_VERIFY


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for the nearest choice, or '' when nothing is close."""
    match = get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""
