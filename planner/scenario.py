"""Scenario files: data + org model + rules + objective + solver settings, as validated values.

A scenario is an immutable value; `with_rules`, `with_weights`, `with_org_model` and
`with_solver` return new ones. YAML is safe-loaded; a wrong key or value is reported with the
file, the line and the key path, and the nearest valid key where one is close.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from planner.data import DIMENSIONS
from planner.edits import Edit
from planner.errors import Problem, ScenarioError, did_you_mean
from planner.orgmodel import OrgSpec, parse_org_model

OBJECTIVE_TERMS = ("unmet", "balance", "fit", "continuity", "travel", "preferences")
DEFAULT_WEIGHTS = {"unmet": 1000.0, "balance": 10.0, "fit": 5.0, "continuity": 5.0,
                   "travel": 0.0, "preferences": 1.0}
DEFAULT_FIT_WEIGHTS = {"function": 0.35, "product": 0.35, "segment": 0.1, "channel": 0.1,
                       "region": 0.1}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Utilization(_Strict):
    """Hard band on each rep's assigned hours as a share of capacity."""

    min: float = Field(0.8, ge=0)
    max: float = Field(1.1, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> "Utilization":
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max})")
        return self


class CoverageRule(_Strict):
    """Every team with demand in the cell `where` has at least `min_reps` members who have
    `skill` >= min_proficiency (if a skill is named) and level >= min_level."""

    where: dict[str, str] = Field(default_factory=dict)
    min_reps: int = Field(1, ge=1)
    skill: str | None = None
    min_proficiency: float = Field(0, ge=0, le=5)
    min_level: int = Field(1, ge=1, le=5)

    @model_validator(mode="after")
    def _dimensions(self) -> "CoverageRule":
        for dim in self.where:
            if dim not in DIMENSIONS:
                raise ValueError(f"unknown dimension {dim!r}{did_you_mean(dim, DIMENSIONS)}")
        if self.skill is not None and ":" not in self.skill:
            raise ValueError(f"skill {self.skill!r} must name a proficiency column such as "
                             "language:cantonese or product:Analytics")
        return self

    def describe(self) -> str:
        cell = ", ".join(f"{d} {v}" for d, v in self.where.items()) or "every team"
        who = []
        if self.skill:
            who.append(f"{self.skill} >= {self.min_proficiency:g}")
        if self.min_level > 1:
            who.append(f"level >= {self.min_level}")
        return f"{cell}: at least {self.min_reps} rep(s) with {' and '.join(who) or 'any profile'}"


class Pins(_Strict):
    """Decisions a leader fixes before solving: a rep stays in a team; an account keeps a rep
    (the rep sits in the team holding most of the account's work, and serves its lines
    there)."""

    reps: dict[str, str] = Field(default_factory=dict)  # rep_id -> team_id
    accounts: dict[str, str] = Field(default_factory=dict)  # account_id -> rep_id


class Rules(_Strict):
    """Hard limits. Defaults are documented in the README."""

    utilization: Utilization = Utilization()
    min_proficiency: float = Field(2, ge=0, le=5)
    key_accounts_senior: bool = True
    key_account_segment: str = "key_account"
    senior_level: int = Field(4, ge=1, le=5)
    span_of_control: int | None = Field(None, ge=1)
    manager_level: str = "team"
    manager_load: float = Field(0.5, ge=0, le=1)
    allow_unmet: bool = True
    max_reps_moved: int | None = Field(None, ge=0)
    coverage: tuple[CoverageRule, ...] = ()
    pins: Pins = Pins()
    fit_weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_FIT_WEIGHTS))

    @model_validator(mode="after")
    def _fit_dimensions(self) -> "Rules":
        for dim, w in self.fit_weights.items():
            if dim not in DIMENSIONS:
                raise ValueError(f"fit_weights: unknown dimension {dim!r}"
                                 f"{did_you_mean(dim, DIMENSIONS)}")
            if w < 0:
                raise ValueError(f"fit_weights: {dim} must not be negative")
        return self


class Objective(_Strict):
    """Weights (a weighted sum) or priorities (lexicographic, each held within `tolerance`)."""

    weights: dict[str, Annotated[float, Field(ge=0)]] | None = None
    priorities: tuple[str, ...] | None = None
    tolerance: float = Field(0.01, ge=0)

    @model_validator(mode="after")
    def _one_form(self) -> "Objective":
        if self.weights is not None and self.priorities is not None:
            raise ValueError("give either weights or priorities, not both")
        for term in list(self.weights or {}) + list(self.priorities or ()):
            if term not in OBJECTIVE_TERMS:
                raise ValueError(f"unknown objective term {term!r}"
                                 f"{did_you_mean(term, OBJECTIVE_TERMS)}; terms: "
                                 f"{', '.join(OBJECTIVE_TERMS)}")
        if self.priorities is not None and len(set(self.priorities)) != len(self.priorities):
            raise ValueError("a term appears twice in priorities")
        return self

    @property
    def resolved_weights(self) -> dict[str, float]:
        """Every term's weight (unnamed terms are 0); the defaults when nothing is given."""
        if self.priorities is not None:
            return {t: (1.0 if t in self.priorities else 0.0) for t in OBJECTIVE_TERMS}
        given = DEFAULT_WEIGHTS if self.weights is None else self.weights
        return {t: float(given.get(t, 0.0)) for t in OBJECTIVE_TERMS}


class SolverSettings(_Strict):
    time_limit: float = Field(30.0, gt=0)
    workers: int = Field(2, ge=1)
    seed: int = Field(0, ge=0)
    relative_gap_limit: float = Field(0.001, ge=0)


class DataFiles(_Strict):
    reps: str
    accounts: str
    travel: str | None = None


class _ScenarioFile(_Strict):
    name: str | None = None
    description: str | None = None
    data: DataFiles
    org_model: Any
    edits: tuple[Edit, ...] = ()
    rules: Rules = Rules()
    objective: Objective = Objective()
    solver: SolverSettings = SolverSettings()


class Scenario(BaseModel):
    """A validated scenario; data paths are absolute."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    description: str = ""
    source: str = "scenario"
    reps_path: Path
    accounts_path: Path
    travel_path: Path | None = None
    org_model: str
    org_spec: OrgSpec
    org_is_preset: bool = True
    edits: tuple[Edit, ...] = ()
    rules: Rules = Rules()
    objective: Objective = Objective()
    solver: SolverSettings = SolverSettings()
    custom: tuple[Any, ...] = ()  # planner.custom.Custom: constraints added from code

    @property
    def base_dir(self) -> Path:
        """The folder relative paths of the scenario (data, edits) start from."""
        return self.reps_path.parent if self.source_dir is None else self.source_dir

    source_dir: Path | None = None

    def with_edits(self, *edits: Edit | dict) -> "Scenario":
        """A copy with more data edits (what-ifs, adjustments) after the existing ones."""
        added = tuple(e if isinstance(e, Edit) else _validated(Edit, e, self.source, "edits")
                      for e in edits)
        return self.model_copy(update={"edits": self.edits + added})

    def with_constraints(self, *custom: Any) -> "Scenario":
        """A copy with custom constraints or objective terms (planner.custom.Custom)."""
        return self.model_copy(update={"custom": self.custom + tuple(custom)})

    def with_name(self, name: str) -> "Scenario":
        return self.model_copy(update={"name": name})

    def with_rules(self, **changes: Any) -> "Scenario":
        """A copy with some rules changed (validated like the YAML)."""
        merged = {**self.rules.model_dump(), **changes}
        return self.model_copy(update={"rules": _validated(Rules, merged, self.source, "rules")})

    def with_weights(self, **weights: float) -> "Scenario":
        """A copy that optimises this weighted sum (unnamed terms weigh 0)."""
        objective = _validated(Objective, {"weights": weights}, self.source, "objective")
        return self.model_copy(update={"objective": objective})

    def with_priorities(self, *terms: str, tolerance: float = 0.01) -> "Scenario":
        objective = _validated(Objective, {"priorities": terms, "tolerance": tolerance},
                               self.source, "objective")
        return self.model_copy(update={"objective": objective})

    def with_org_model(self, org_model: str | dict) -> "Scenario":
        name, spec = parse_org_model(org_model, self.source)
        return self.model_copy(update={"org_model": name, "org_spec": spec,
                                       "org_is_preset": isinstance(org_model, str)})

    def with_solver(self, **changes: Any) -> "Scenario":
        merged = {**self.solver.model_dump(), **changes}
        return self.model_copy(update={"solver": _validated(SolverSettings, merged, self.source,
                                                            "solver")})


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file; ScenarioError names file, line and key."""
    path = Path(path)
    label = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ScenarioError(Problem("the scenario file does not exist", file=str(path))) from None
    except UnicodeDecodeError:
        raise ScenarioError(Problem("the scenario file is not UTF-8 text", file=label)) from None
    try:
        raw = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        row = mark.line + 1 if mark is not None else None
        problem = getattr(err, "problem", None) or str(err)
        raise ScenarioError(Problem(f"this is not valid YAML: {problem}", file=label,
                                    row=row)) from None
    if not isinstance(raw, dict):
        raise ScenarioError(Problem("a scenario file is a YAML mapping with keys name, data, "
                                    "org_model, rules, objective, solver", file=label))
    try:
        parsed = _ScenarioFile.model_validate(raw)
    except ValidationError as err:
        raise ScenarioError(_problems(err, _ScenarioFile, label, root)) from None
    try:
        org_name, spec = parse_org_model(parsed.org_model, label)
    except ScenarioError as err:
        raise ScenarioError([Problem(p.message, p.file, p.row or _line(root, _key_path(p.column)),
                                     p.column) for p in err.problems]) from None
    base = path.parent
    files = {k: (base / v).resolve() if v else None
             for k, v in parsed.data.model_dump().items()}
    for key, file in files.items():
        if file is not None and not file.is_file():
            raise ScenarioError(Problem(f"data file {str(file)!r} does not exist", file=label,
                                        row=_line(root, ("data", key)), column=f"data.{key}"))
    return Scenario(name=parsed.name or path.stem, description=parsed.description or "",
                    source=label, reps_path=files["reps"], accounts_path=files["accounts"],
                    travel_path=files["travel"], org_model=org_name, org_spec=spec,
                    org_is_preset=isinstance(parsed.org_model, str), edits=parsed.edits,
                    rules=parsed.rules, objective=parsed.objective, solver=parsed.solver,
                    source_dir=path.parent.resolve())


def scenario_to_yaml(scenario: Scenario, relative_to: Path | None = None) -> str:
    """The scenario as YAML that load_scenario reads back (paths relative to `relative_to`)."""
    def rel(p: Path | None) -> str | None:
        if p is None:
            return None
        try:
            return str(Path(p).relative_to(relative_to)) if relative_to else str(p)
        except ValueError:
            return str(p)
    data = {"reps": rel(scenario.reps_path), "accounts": rel(scenario.accounts_path)}
    if scenario.travel_path:
        data["travel"] = rel(scenario.travel_path)
    doc = {"name": scenario.name, "data": data,
           "org_model": scenario.org_model if scenario.org_is_preset else _tree(scenario.org_spec),
           "rules": scenario.rules.model_dump(mode="json"),
           "objective": scenario.objective.model_dump(mode="json", exclude_none=True),
           "solver": scenario.solver.model_dump(mode="json")}
    if scenario.description:
        doc["description"] = scenario.description
    if scenario.edits:
        doc["edits"] = [e.model_dump(mode="json", exclude_none=True) for e in scenario.edits]
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def _tree(spec: OrgSpec) -> dict:
    out: dict[str, Any] = {"levels": list(spec.levels)}
    if spec.branches:
        out["branches"] = {f"{d}={v}": _tree(s) for d, v, s in spec.branches}
    return out


def _validated(model: type[BaseModel], data: dict, label: str, prefix: str):
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(_problems(err, model, label, None, prefix)) from None


def _problems(err: ValidationError, model: type[BaseModel], label: str, root,
              prefix: str = "") -> list[Problem]:
    problems = []
    for e in err.errors():
        loc = tuple(str(p) for p in e["loc"])
        key = ".".join(((prefix,) if prefix else ()) + loc)
        if e["type"] == "extra_forbidden":
            choices = _fields_at(model, loc[:-1])
            message = f"unknown key {loc[-1]!r}{did_you_mean(loc[-1], choices)}"
            if choices:
                message += f"; keys here: {', '.join(choices)}"
        elif e["type"] == "missing":
            message = "this key is required"
        elif "weights" in loc[:-1] and e["type"] == "greater_than_equal":
            message = f"the weight of {loc[-1]} is {e['input']!r}; weights must not be negative"
        elif e["type"] in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
            message = f"{loc[-1]} = {e['input']!r} is not allowed: {e['msg'].lower()}"
        else:
            message = e["msg"].removeprefix("Value error, ")
        problems.append(Problem(message, file=label, row=_line(root, loc) if root else None,
                                column=key))
    return problems


def _fields_at(model: type[BaseModel], loc: tuple[str, ...]) -> list[str]:
    for part in loc:
        field = model.model_fields.get(part)
        annotation = getattr(field, "annotation", None)
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return list(model.model_fields)


def _key_path(column: str | None) -> tuple[str, ...]:
    """A dotted key path as its parts, to find its line in the YAML."""
    return tuple(column.split(".")) if column else ()


def _line(root, loc: tuple[str, ...]) -> int | None:
    """1-based line of a key path in the composed YAML (the deepest part found)."""
    node, line = root, None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if str(key_node.value) == part:
                    line, node = key_node.start_mark.line + 1, value_node
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
            line = node.start_mark.line + 1
        else:
            return line
    return line
