"""Org models: trees of splits whose leaves are teams, their presets, and the mapping of every
demand line to exactly one team and every team to a management unit.

A tree names a dimension per level; a branch `dimension=value` overrides the levels below that
value (a hybrid). A dimension that is not on a team's path is pooled inside the team.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import pandas as pd

from planner.data import DIMENSIONS
from planner.errors import Problem, ScenarioError, did_you_mean

TEAM_SEPARATOR = " / "
ONE_TEAM_ID = "All"


@dataclass(frozen=True)
class OrgSpec:
    """A split tree: `levels` from the top; `branches` override what lies below one value."""

    levels: tuple[str, ...] = ()
    branches: tuple[tuple[str, str, "OrgSpec"], ...] = ()

    def dimensions(self) -> set[str]:
        """Every dimension the tree splits on, at any depth."""
        return set(self.levels).union(*(s.dimensions() for _, _, s in self.branches))

    def describe(self) -> str:
        """A one-line text of the tree, e.g. 'segment [key_account: product; smb: region x function]'."""
        head = " x ".join(self.levels) or "one team"
        if not self.branches:
            return head
        inner = "; ".join(f"{d}={v}: {s.describe()}" for d, v, s in self.branches)
        return f"{head} [{inner}]"


def _spec(levels: list[str], **branches: list[str]) -> OrgSpec:
    return OrgSpec(tuple(levels), tuple(
        (k.split("__")[0], k.split("__")[1], OrgSpec(tuple(v))) for k, v in branches.items()))


#: name -> (tree, what it means for a sales leader)
PRESETS: dict[str, tuple[OrgSpec, str]] = {
    "one-team": (OrgSpec(), "everyone in one pooled team"),
    "by-function": (_spec(["function"]), "one team per function (hunting, farming, service)"),
    "by-region": (_spec(["region"]), "one team per region, each doing every kind of work"),
    "by-segment": (_spec(["segment"]), "one team per customer segment"),
    "by-product": (_spec(["product"]), "one team per product line"),
    "by-channel": (_spec(["channel"]), "one team per channel (direct, online, partner)"),
    "region-x-function": (_spec(["region", "function"]),
                          "regions, each split into hunting, farming and service teams"),
    "product-x-region": (_spec(["product", "region"]),
                         "product lines, each split into regional teams"),
    "segment-x-region": (_spec(["segment", "region"]), "segments, each split into regional teams"),
    "key-account-hybrid": (
        _spec(["segment"], segment__key_account=["product"], segment__smb=["region", "function"],
              segment__individual=[]),
        "key accounts national by product line; SMB by region x function; individuals in one "
        "(online) team"),
    "service-by-product": (
        _spec(["function", "region"], function__service=["product"]),
        "hunting and farming by region; after-sales service by product line"),
}


@dataclass(frozen=True)
class Team:
    """A leaf of the org tree: its id and the dimension values that define its scope."""

    team_id: str
    scope: tuple[tuple[str, str], ...]

    def value(self, dimension: str) -> str:
        return dict(self.scope).get(dimension, "")


@dataclass(frozen=True)
class Org:
    """An org model applied to a company's demand lines."""

    name: str
    spec: OrgSpec
    teams: tuple[Team, ...]
    line_team: np.ndarray  # team index of every demand line
    unit_of_team: np.ndarray  # management unit index of every team
    units: tuple[str, ...]  # management unit ids

    @property
    def n_teams(self) -> int:
        return len(self.teams)

    def teams_frame(self) -> pd.DataFrame:
        """team_id and one column per dimension (the value split on, or empty where pooled)."""
        return pd.DataFrame([{"team_id": t.team_id, **{d: t.value(d) for d in DIMENSIONS}}
                             for t in self.teams])


def parse_org_model(value: Any, where: str) -> tuple[str, OrgSpec]:
    """A preset name or an inline tree -> (name, tree); ScenarioError names what is wrong."""
    if isinstance(value, str):
        if value not in PRESETS:
            raise ScenarioError(Problem(
                f"unknown org-model preset {value!r}{did_you_mean(value, PRESETS)}; "
                f"presets: {', '.join(PRESETS)}", file=where, column="org_model"))
        return value, PRESETS[value][0]
    if isinstance(value, Mapping):
        spec = _parse_tree(value, where, "org_model")
        return f"custom: {spec.describe()}", spec
    raise ScenarioError(Problem("org_model must be a preset name or a tree with levels and "
                                "branches", file=where, column="org_model"))


def _parse_tree(node: Mapping, where: str, path: str) -> OrgSpec:
    unknown = [k for k in node if k not in ("levels", "branches")]
    if unknown:
        raise ScenarioError(Problem(f"unknown key {unknown[0]!r}"
                                    f"{did_you_mean(str(unknown[0]), ['levels', 'branches'])}",
                                    file=where, column=path))
    levels = node.get("levels", [])
    if not isinstance(levels, list) or not all(isinstance(x, str) for x in levels):
        raise ScenarioError(Problem("levels must be a list of dimensions, e.g. [region, function]",
                                    file=where, column=f"{path}.levels"))
    for dim in levels:
        _check_dimension(dim, where, f"{path}.levels")
    if len(set(levels)) != len(levels):
        raise ScenarioError(Problem("a dimension appears twice in levels", file=where,
                                    column=f"{path}.levels"))
    branches = []
    raw_branches = node.get("branches") or {}
    if not isinstance(raw_branches, Mapping):
        raise ScenarioError(Problem("branches must map 'dimension=value' to a subtree",
                                    file=where, column=f"{path}.branches"))
    for key, sub in raw_branches.items():
        dim, sep, val = str(key).partition("=")
        if not sep or not dim.strip() or not val.strip():
            raise ScenarioError(Problem(f"branch {key!r} must be written dimension=value, e.g. "
                                        "segment=key_account", file=where,
                                        column=f"{path}.branches.{key}"))
        _check_dimension(dim.strip(), where, f"{path}.branches")
        sub = sub if sub is not None else {}
        if not isinstance(sub, Mapping):
            raise ScenarioError(Problem(f"branch {key!r} must hold a subtree such as "
                                        "{levels: [product]}", file=where, column=f"{path}.branches"))
        branches.append((dim.strip(), val.strip(),
                         _parse_tree(sub, where, f"{path}.branches.{key}")))
    return OrgSpec(tuple(levels), tuple(branches))


def _check_dimension(dim: str, where: str, path: str) -> None:
    if dim not in DIMENSIONS:
        raise ScenarioError(Problem(f"unknown dimension {dim!r}{did_you_mean(dim, DIMENSIONS)}; "
                                    f"dimensions: {', '.join(DIMENSIONS)}", file=where, column=path))


def build_org(name: str, spec: OrgSpec, lines: pd.DataFrame, value_order: Mapping[str, list[str]],
              manager_level: str = "team", where: str = "scenario", strict: bool = True) -> Org:
    """Apply the tree to the demand lines: teams (leaves with demand), each line's team, each
    team's management unit. With `strict`, a branch on a value that no line has is an error
    (a typo in the scenario); presets are applied with strict=False."""
    teams: list[Team] = []
    line_team = np.full(len(lines), -1, dtype=np.int64)
    used: set[tuple[str, str]] = set()
    columns = {d: lines[d].to_numpy() for d in DIMENSIONS}

    def visit(node: OrgSpec, path: tuple[tuple[str, str], ...], idx: np.ndarray,
              inherited: tuple[tuple[str, str, OrgSpec], ...]) -> None:
        branches = node.branches + tuple(b for b in inherited
                                         if not any(b[:2] == o[:2] for o in node.branches))
        if not node.levels:
            line_team[idx] = len(teams)
            teams.append(Team(TEAM_SEPARATOR.join(v for _, v in path) or ONE_TEAM_ID, path))
            return
        dim = node.levels[0]
        if any(d == dim for d, _ in path):
            raise ScenarioError(Problem(f"the tree splits on {dim!r} twice along one path",
                                        file=where, column="org_model"))
        present = set(columns[dim][idx].tolist())
        for value in [v for v in value_order[dim] if v in present]:
            sub_idx = idx[columns[dim][idx] == value]
            override = next((s for d, v, s in branches if d == dim and v == value), None)
            if override is not None:
                used.add((dim, value))
                visit(override, path + ((dim, value),), sub_idx, branches)
            else:
                visit(OrgSpec(node.levels[1:]), path + ((dim, value),), sub_idx, branches)

    visit(spec, (), np.arange(len(lines)), ())
    if strict:
        _check_branches_used(spec, used, value_order, where)
    units, unit_of_team = _management_units(teams, manager_level, where)
    return Org(name, spec, tuple(teams), line_team, unit_of_team, units)


def org_for(company, scenario) -> Org:
    """The scenario's org model applied to the company (presets tolerate absent values)."""
    values = {d: company.values(d) for d in DIMENSIONS}
    return build_org(scenario.org_model, scenario.org_spec, company.lines, values,
                     scenario.rules.manager_level, where=scenario.source,
                     strict=not scenario.org_is_preset)


def _all_branches(spec: OrgSpec):
    for dim, val, sub in spec.branches:
        yield dim, val
        yield from _all_branches(sub)


def _check_branches_used(spec: OrgSpec, used: set[tuple[str, str]],
                         value_order: Mapping[str, list[str]], where: str) -> None:
    for dim, val in _all_branches(spec):
        if (dim, val) in used:
            continue
        if val not in value_order[dim]:
            raise ScenarioError(Problem(
                f"branch {dim}={val}: no demand line has {dim} {val!r}"
                f"{did_you_mean(val, value_order[dim])}; values in the data: "
                f"{', '.join(value_order[dim])}", file=where, column="org_model"))
        raise ScenarioError(Problem(f"branch {dim}={val} never applies: {dim!r} is not split on "
                                    "above it", file=where, column="org_model"))


def _management_units(teams: list[Team], manager_level: str,
                      where: str) -> tuple[tuple[str, ...], np.ndarray]:
    """Each team's management unit: the team itself, or the tree node that splits on
    `manager_level` above it (a regional manager over the region's teams)."""
    if manager_level != "team":
        if manager_level not in DIMENSIONS:
            raise ScenarioError(Problem(
                f"manager_level {manager_level!r} must be 'team' or a dimension"
                f"{did_you_mean(manager_level, DIMENSIONS + ('team',))}",
                file=where, column="rules.manager_level"))
        if not any(manager_level == d for t in teams for d, _ in t.scope):
            raise ScenarioError(Problem(
                f"manager_level {manager_level!r}: the org model never splits on it",
                file=where, column="rules.manager_level"))
    keys: list[str] = []
    unit_of_team = np.zeros(len(teams), dtype=np.int64)
    for i, team in enumerate(teams):
        dims = [d for d, _ in team.scope]
        if manager_level in dims:
            prefix = team.scope[: dims.index(manager_level) + 1]
            key = TEAM_SEPARATOR.join(v for _, v in prefix)
        else:
            key = team.team_id
        if key not in keys:
            keys.append(key)
        unit_of_team[i] = keys.index(key)
    return tuple(keys), unit_of_team
