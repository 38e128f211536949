"""Stage 1, org design: every rep into one team, managers per management unit, and the hours
each rep gives to each demand class of the team. Hours are divisible here; accounts are not
until stage 2.

The team-structure and band pieces are shared with the joint model. With `rules` literals
(see `explain_infeasibility`), every rule family can be switched off to find which rules
conflict.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace

import numpy as np
from ortools.sat.python import cp_model

from models.cpsat import add_hints_at_once, new_solver, solve_levels
from models.extensions import CUSTOM_TERM, Handles, apply_extensions
from models.warm_start import (improve_org, initial_teams, moved_count, reshape_team,
                               start_for_teams)
from models.instances import (RULE_KEY_ACCOUNTS_SENIOR, RULE_MIN_PROFICIENCY, OrgDesignInstance,
                              OrgSolution, Progress, SolveSettings)


#: Share of stage 1's time spent on the local-search warm start before CP-SAT takes over.
WARM_START_SHARE = 0.75
#: Above this many rep x class pairs, building the CP-SAT model alone takes longer than the
#: time limits users set (20 s for 1,000 reps and 860,000 pairs) and CP-SAT does not improve
#: the local search's design in the time left: stage 1 is the local search alone.
LOCAL_SEARCH_ONLY_PAIRS = 200_000
#: Building the model takes about this long per rep x class pair (measured: 28 s for 885,000)
BUILD_SECONDS_PER_PAIR = 3e-5


@dataclass
class RuleSwitches:
    """Enforcement literals by rule key; empty when rules are simply hard."""

    model: cp_model.CpModel
    enabled: bool = False
    literals: dict[str, cp_model.IntVar] = field(default_factory=dict)

    def get(self, key: str) -> list[cp_model.IntVar]:
        """[] when rules are hard, else [literal for key] (created on first use)."""
        if not self.enabled:
            return []
        if key not in self.literals:
            self.literals[key] = self.model.new_bool_var(key)
        return [self.literals[key]]


@dataclass
class TeamVars:
    x: list[list]  # x[r][t] bool var or constant 0
    manager: dict[tuple[int, int], cp_model.IntVar]  # (r, t) -> bool
    is_manager: list  # per rep: expression (0 when the rep cannot manage)
    hired: list  # per unit: int var (or 0)


def add_team_structure(model: cp_model.CpModel, inst: OrgDesignInstance,
                       rules: RuleSwitches) -> TeamVars:
    """Each rep in exactly one team; managers, coverage, moved-rep limit and pins."""
    n_r, n_t = inst.n_reps, inst.n_teams
    x: list[list] = []
    for r in range(n_r):
        fixed = -1 if inst.fixed_team is None else int(inst.fixed_team[r])
        row = [model.new_bool_var(f"x_{r}_{t}") for t in range(n_t)]
        model.add_exactly_one(row)
        if fixed >= 0:
            model.add(row[fixed] == 1).only_enforce_if(rules.get(f"pin:{r}"))
        x.append(row)
    manager, is_manager, hired = _add_managers(model, inst, x, rules)
    for cov in inst.coverage:
        model.add(sum(x[int(r)][cov.team] for r in cov.eligible) >= cov.min_reps
                  ).only_enforce_if(rules.get(cov.key))
    if inst.max_moved is not None and inst.moved is not None:
        moved = [x[r][t] for r, t in zip(*np.nonzero(inst.moved))]
        model.add(sum(moved) <= inst.max_moved).only_enforce_if(rules.get("max_reps_moved"))
    return TeamVars(x, manager, is_manager, hired)


def _add_managers(model: cp_model.CpModel, inst: OrgDesignInstance, x: list[list],
                  rules: RuleSwitches):
    """span * managers >= headcount > span * (managers - 1) in each unit; a manager is a member
    of a team of the unit; missing managers are hires where unmet demand is allowed."""
    n_r, n_t = inst.n_reps, inst.n_teams
    manager: dict[tuple[int, int], cp_model.IntVar] = {}
    is_manager: list = [0] * n_r
    hired: list = [0] * inst.n_units
    if inst.span is None or inst.unit_of_team is None:
        return manager, is_manager, hired
    for r in np.nonzero(inst.can_manage)[0]:
        r = int(r)
        for t in range(n_t):
            m = model.new_bool_var(f"m_{r}_{t}")
            model.add_implication(m, x[r][t])
            manager[r, t] = m
        is_manager[r] = sum(manager[r, t] for t in range(n_t))
    teams_of_unit = defaultdict(list)
    for t, u in enumerate(inst.unit_of_team):
        teams_of_unit[int(u)].append(t)
    for u, teams in teams_of_unit.items():
        head = sum(x[r][t] for r in range(n_r) for t in teams)
        leads = sum(manager[r, t] for (r, t) in manager if t in teams)
        max_hires = -(-n_r // inst.span)
        hired[u] = model.new_int_var(0, max_hires, f"hire_mgr_{u}")
        if not inst.allow_unmet:
            model.add(hired[u] == 0).only_enforce_if(rules.get(f"managers:{u}"))
        total = leads + hired[u]
        model.add(inst.span * total >= head)
        model.add(inst.span * total <= head + inst.span - 1)
    return manager, is_manager, hired


def add_band(model: cp_model.CpModel, inst: OrgDesignInstance, load: list, is_manager: list,
             rules: RuleSwitches, soft_min: bool = False) -> list | None:
    """Each rep's load inside the member band, or the manager band when the rep manages. With
    `soft_min`, a rep may fall short of the minimum by `short[r]` (returned, to be penalised)."""
    shorts = [] if soft_min else None
    for r in range(inst.n_reps):
        lo, hi = int(inst.rep_lo[r]), int(inst.rep_hi[r])
        mlo, mhi = int(inst.mgr_lo[r]), int(inst.mgr_hi[r])
        least = lo - (lo - mlo) * is_manager[r]
        if soft_min:
            short = model.new_int_var(0, lo, f"short_{r}")
            model.add(load[r] + short >= least)
            shorts.append(short)
        else:
            model.add(load[r] >= least).only_enforce_if(rules.get("band_min"))
        model.add(load[r] <= hi - (hi - mhi) * is_manager[r]).only_enforce_if(rules.get("band_max"))
    return shorts


def add_deviation(model: cp_model.CpModel, inst: OrgDesignInstance, load: list,
                  is_manager: list) -> list:
    """dev[r] >= |load[r] - target[r]|, the target lowered for managers."""
    devs = []
    for r in range(inst.n_reps):
        tgt, mtgt = int(inst.rep_target[r]), int(inst.mgr_target[r])
        target = tgt - (tgt - mtgt) * is_manager[r]
        dev = model.new_int_var(0, int(max(inst.rep_hi[r], tgt)), f"dev_{r}")
        model.add(dev >= load[r] - target)
        model.add(dev >= target - load[r])
        devs.append(dev)
    return devs


@dataclass
class _Stage1:
    model: cp_model.CpModel
    team: TeamVars
    y: list
    unmet: list
    terms: dict
    rules: RuleSwitches
    shorts: list | None
    start: object = None  # the warm start (models.warm_start.OrgStart), if one was built


def _build(inst: OrgDesignInstance, explain: bool = False, warm_seconds: float = 0.0,
           settings: SolveSettings | None = None, started: float | None = None) -> _Stage1:
    model = cp_model.CpModel()
    rules = RuleSwitches(model, enabled=explain)
    team = add_team_structure(model, inst, rules)
    n_r, n_k = inst.n_reps, len(inst.class_hours)
    y = []
    by_rep_team: dict[tuple[int, int], list] = defaultdict(list)
    by_class: list[list] = [[] for _ in range(n_k)]
    load: list = [[] for _ in range(n_r)]
    for p, (r, k) in enumerate(zip(inst.pair_rep.tolist(), inst.pair_class.tolist())):
        v = model.new_int_var(0, int(inst.class_hours[k]), f"y_{r}_{k}")
        bits = 0 if inst.pair_rule is None else int(inst.pair_rule[p])
        if bits:
            lits = (rules.get("min_proficiency") if bits & RULE_MIN_PROFICIENCY else []) + \
                   (rules.get("key_accounts_senior") if bits & RULE_KEY_ACCOUNTS_SENIOR else [])
            model.add(v == 0).only_enforce_if(lits)
        y.append(v)
        by_rep_team[r, int(inst.class_team[k])].append(v)
        by_class[k].append(v)
        load[r].append(v)
    team_hours = np.bincount(inst.class_team, weights=inst.class_hours, minlength=inst.n_teams)
    for (r, t), vs in by_rep_team.items():
        big_m = int(min(team_hours[t], max(inst.rep_hi[r], inst.mgr_hi[r])))
        if not rules.enabled:
            model.add(sum(vs) <= big_m * team.x[r][t])
        else:
            model.add(sum(vs) <= int(team_hours[t]) * team.x[r][t])
    unmet = []
    for k in range(n_k):
        u = model.new_int_var(0, int(inst.class_hours[k]), f"u_{k}")
        if not inst.allow_unmet:
            model.add(u == 0).only_enforce_if(rules.get(f"demand:{int(inst.class_team[k])}"))
        model.add(sum(by_class[k]) + u == int(inst.class_hours[k]))
        unmet.append(u)
    loads = [sum(vs) if vs else 0 for vs in load]
    soft = not explain and any(t.shortfall is not None for t in inst.terms.values())
    shorts = add_band(model, inst, loads, team.is_manager, rules, soft_min=soft)
    needs_dev = any(t.deviation is not None and np.any(t.deviation) for t in inst.terms.values())
    devs = add_deviation(model, inst, loads, team.is_manager) if needs_dev else None
    terms = {name: _term_expr(term, y, unmet, team, devs, shorts)
             for name, term in inst.terms.items()}
    custom = apply_extensions(Handles(model, x=team.x), inst.extensions)
    if custom is not None:
        terms[CUSTOM_TERM] = custom
    start = None
    if not explain:
        start = _add_hints(model, inst, team, y, unmet, devs, shorts, warm_seconds, settings,
                           started)
    return _Stage1(model, team, y, unmet, terms, rules, shorts, start)


def _start_within_rules(inst: OrgDesignInstance):
    """The start of `initial_teams` with hours only on pairs no rule forbids (an explaining
    instance also has the pairs that min_proficiency or key_accounts_senior rule out)."""
    if inst.pair_rule is None or not inst.pair_rule.any():
        return start_for_teams(inst, initial_teams(inst))
    keep = np.nonzero(inst.pair_rule == 0)[0]
    terms = {name: replace(term, pair=None if term.pair is None else term.pair[keep])
             for name, term in inst.terms.items()}
    allowed = replace(inst, pair_rep=inst.pair_rep[keep], pair_class=inst.pair_class[keep],
                      pair_rule=None, terms=terms)
    start = start_for_teams(allowed, initial_teams(allowed))
    hours = np.zeros(len(inst.pair_rep), dtype=np.int64)
    hours[keep] = start.hours
    return replace(start, hours=hours)


def _todays_teams(inst: OrgDesignInstance):
    """Today's teams as a start (the best hours for them), or None where today is no start
    (reps without a current team, pins that move someone)."""
    if inst.hint_team is None or (inst.hint_team < 0).any() or (
            inst.fixed_team is not None and ((inst.fixed_team >= 0)
                                             & (inst.fixed_team != inst.hint_team)).any()):
        return None
    return start_for_teams(inst, inst.hint_team)


def _level_key(inst: OrgDesignInstance, start, levels) -> tuple[int, ...]:
    """Missing coverage (a hard rule), then each level's value."""
    values = evaluate_org_terms(inst, start.rep_team, start.is_manager, start.hired,
                                start.hours, start.unmet)
    return (_coverage_missing(inst, start.rep_team),
            *(sum(values.get(name, 0) for name in level) for level in levels))


def _coverage_missing(inst: OrgDesignInstance, rep_team: np.ndarray) -> int:
    """Reps missing from the coverage requirements (each a hard rule) under these teams."""
    return sum(max(0, c.min_reps - int((rep_team[c.eligible] == c.team).sum()))
               for c in inst.coverage)


def _term_expr(term, y, unmet, team: TeamVars, devs, shorts):
    parts = [int(term.constant)]
    if term.pair is not None:
        parts += [int(c) * v for c, v in zip(term.pair.tolist(), y) if c]
    if term.unmet is not None:
        parts += [int(c) * v for c, v in zip(term.unmet.tolist(), unmet) if c]
    if term.rep_team is not None:
        for r, t in zip(*np.nonzero(term.rep_team)):
            parts.append(int(term.rep_team[r, t]) * team.x[r][t])
    if term.deviation is not None and devs is not None:
        parts += [int(c) * d for c, d in zip(term.deviation.tolist(), devs) if c]
    if term.shortfall is not None and shorts is not None:
        parts += [int(c) * v for c, v in zip(term.shortfall.tolist(), shorts) if c]
    if term.missing_manager:
        parts += [int(term.missing_manager) * h for h in team.hired if not isinstance(h, int)]
    return cp_model.LinearExpr.sum(parts)


def warm_start(inst: OrgDesignInstance, warm_seconds: float,
               settings: SolveSettings | None = None, started: float | None = None,
               alone: bool = False):
    """The local search's team design (models.warm_start), or today's teams where they are
    lexicographically better; None when no teams hold the extensions' rules. `alone`: no
    CP-SAT comes after it (see improve_org)."""
    report = None
    if settings is not None and settings.progress is not None:
        began = time.monotonic() if started is None else started

        def report(cost: int) -> None:
            settings.progress(Progress(f"{settings.stage} (local search)",
                                       time.monotonic() - began, cost, None))
    rules = TeamRules(inst, max(1.0, warm_seconds / 4)) if inst.extensions else None
    levels = settings.levels if settings is not None and rules is None else None
    today = _todays_teams(inst) if levels else None
    if today is not None and len(levels) > 1 and not any(_level_key(inst, today, levels)[:3]):
        # coverage held, no rep below the band, nothing lost on the first priority: a
        # priority-blind search cannot do better where it counts (a repair that keeps owners)
        return today
    start = improve_org(inst, warm_seconds, report, rules,
                        settings.stop if settings is not None else None,
                        settings.enough_seconds if settings is not None else None, alone)
    if start is not None and today is not None \
            and _level_key(inst, today, levels) < _level_key(inst, start, levels):
        # the local search weighs all terms together: by priorities, today's teams may be
        # better, and CP-SAT may not find its way back to them in a short time limit
        return today
    return start


def _add_hints(model: cp_model.CpModel, inst: OrgDesignInstance, team: TeamVars, y: list,
               unmet: list, devs: list | None, shorts: list | None, warm_seconds: float,
               settings: SolveSettings | None = None, started: float | None = None):
    """A complete warm-start plan as the hint, so the search starts from a whole solution;
    returns the warm start."""
    start = warm_start(inst, warm_seconds, settings, started)
    if start is None:
        return None  # no teams hold the extensions' rules: CP-SAT will have to look itself
    _hint_start(model, inst, team, y, unmet, devs, shorts, start)
    return start


def _hint_start(model: cp_model.CpModel, inst: OrgDesignInstance, team: TeamVars, y: list,
                unmet: list, devs: list | None, shorts: list | None, start) -> None:
    hinted, values = [], []
    for r, t in enumerate(start.rep_team.tolist()):
        hinted += team.x[r]
        values += [tt == t for tt in range(inst.n_teams)]
    for (r, t), m in team.manager.items():
        hinted.append(m)
        values.append(bool(start.is_manager[r]) and start.rep_team[r] == t)
    hinted += team.hired
    values += start.hired.tolist()
    hinted += y + unmet
    values += start.hours.tolist() + start.unmet.tolist()
    load = np.bincount(inst.pair_rep, weights=start.hours, minlength=inst.n_reps)
    if devs is not None:
        target = np.where(start.is_manager, inst.mgr_target, inst.rep_target)
        hinted += devs
        values += np.abs(load - target).astype(np.int64).tolist()
    if shorts is not None:
        least = np.where(start.is_manager, inst.mgr_lo, inst.rep_lo)
        hinted += shorts
        values += np.maximum(least - load, 0).astype(np.int64).tolist()
    add_hints_at_once(model, hinted, values)


class TeamRules:
    """The team rules with the extensions' constraints, on the team assignment alone: the
    local search's guard for rules it cannot price."""

    def __init__(self, inst: OrgDesignInstance, time_limit: float):
        self.inst, self.time_limit = inst, time_limit
        self.model = cp_model.CpModel()
        self.structure = add_team_structure(self.model, inst, RuleSwitches(self.model))
        before = len(self.model.proto.constraints)
        apply_extensions(Handles(self.model, x=self.structure.x), inst.extensions)
        constraints = self.model.proto.constraints
        self.involved = self._reps_in(constraints[i] for i in range(before, len(constraints)))

    def _reps_in(self, constraints) -> set[int]:
        """The reps whose team variables the extensions' constraints mention: moving anyone
        else cannot break them."""
        rep_of_var = {self.structure.x[r][t].index: r
                      for r in range(self.inst.n_reps) for t in range(self.inst.n_teams)}
        mentioned: set[int] = set()
        for constraint in constraints:
            _collect_variables(constraint, mentioned)
        return {rep_of_var[v] for v in mentioned if v in rep_of_var}

    def involves(self, rep: int) -> bool:
        return rep in self.involved

    def _solve(self, seconds: float, quick: bool = False) -> cp_model.CpSolver | None:
        solver = new_solver(SolveSettings(workers=1), seconds)
        if quick:  # every team is fixed: propagation decides, presolve only costs time
            solver.parameters.cp_model_presolve = False
            solver.parameters.symmetry_level = 0
            solver.parameters.linearization_level = 0
        ok = solver.solve(self.model) in (cp_model.OPTIMAL, cp_model.FEASIBLE)
        return solver if ok else None

    def holds(self, team: np.ndarray) -> bool:
        self.model.clear_objective()
        self.model.clear_assumptions()
        self.model.add_assumptions([self.structure.x[r][int(t)] for r, t in enumerate(team)])
        found = self._solve(min(1.0, self.time_limit), quick=True) is not None
        self.model.clear_assumptions()
        return found

    def closest(self, team: np.ndarray) -> np.ndarray | None:
        """The assignment that changes fewest reps' teams and holds the rules."""
        x = self.structure.x
        self.model.clear_assumptions()
        self.model.minimize(sum(1 - x[r][int(t)] for r, t in enumerate(team)))
        solver = self._solve(self.time_limit)
        self.model.clear_objective()
        if solver is None:
            return None
        return np.array([next(t for t in range(self.inst.n_teams)
                              if solver.boolean_value(x[r][t])) for r in range(self.inst.n_reps)],
                        dtype=np.int64)


_VARIABLE_FIELDS = re.compile(r"\b(?:vars|literals|enforcement_literal):\s*(-?\d+)")


def _collect_variables(constraint, out: set[int]) -> None:
    """Every variable a constraint proto mentions (a negated literal maps to its variable),
    read from its text form, which names them the same way for every constraint type."""
    for token in _VARIABLE_FIELDS.findall(str(constraint)):
        v = int(token)
        out.add(v if v >= 0 else -v - 1)


def designs_alone(inst: OrgDesignInstance, settings: SolveSettings) -> bool:
    """Whether the local search designs the teams without CP-SAT after it: on a large company
    (LOCAL_SEARCH_ONLY_PAIRS), or where CP-SAT's model would take most of the time to build,
    and no rule from outside or cap asks for CP-SAT."""
    pairs = len(inst.pair_rep)
    return (pairs > LOCAL_SEARCH_ONLY_PAIRS or pairs * BUILD_SECONDS_PER_PAIR > 0.5
            * settings.time_limit) and not inst.extensions and not settings.term_limits


def solve_org_design(inst: OrgDesignInstance, settings: SolveSettings) -> OrgSolution:
    """Solve stage 1; an infeasible or unsolved instance gives status and empty arrays.

    A large company's design is the local search's alone (see LOCAL_SEARCH_ONLY_PAIRS), and so
    is a design wanted sooner than CP-SAT's model would be built, when it holds every hard
    rule; it then has no bound."""
    started = time.monotonic()
    if designs_alone(inst, settings):
        start = warm_start(inst, settings.time_limit, settings, started, alone=True)
        if start is not None and _holds_hard_rules(inst, start):
            return _warm_start_solution(inst, start, time.monotonic() - started, settings)
    built = _build(inst, warm_seconds=settings.time_limit * WARM_START_SHARE, settings=settings,
                   started=started)
    settings = replace(settings, time_limit=max(0.5, settings.time_limit
                                                - (time.monotonic() - started)))

    def capture(solver: cp_model.CpSolver) -> tuple:
        rep_team = np.array([next(t for t in range(inst.n_teams) if solver.boolean_value(
            built.team.x[r][t])) for r in range(inst.n_reps)], dtype=np.int64)
        is_mgr = np.array([bool(solver.value(m)) if not isinstance(m, int) else False
                           for m in built.team.is_manager])
        hired = np.array([solver.value(h) if not isinstance(h, int) else 0
                          for h in built.team.hired], dtype=np.int64)
        hours = np.array([solver.value(v) for v in built.y], dtype=np.int64)
        unmet = np.array([solver.value(u) for u in built.unmet], dtype=np.int64)
        short = sum(solver.value(v) for v in built.shorts) if built.shorts else 0
        return rep_team, is_mgr, hired, hours, unmet, int(short)

    def evaluate(solution: tuple) -> dict[str, int]:
        return evaluate_org_terms(inst, *solution[:5])

    out = solve_levels(built.model, built.terms, settings, capture, evaluate, start=started)
    if out.solution is None and built.start is not None and out.status == "UNKNOWN" \
            and built.shorts is not None:
        fallback = _warm_start_solution(inst, built.start, out.seconds, settings)
        if within_limits(fallback.term_values, settings.term_limits):
            return fallback
    if out.solution is None:
        empty = np.zeros(0, dtype=np.int64)
        return OrgSolution(out.status, None, None, empty, empty.astype(bool), empty, empty, empty,
                           {}, out.seconds)
    rep_team, is_mgr, hired, hours, unmet, short = out.solution
    return OrgSolution(out.status, out.objective, out.bound, rep_team, is_mgr, hired, hours, unmet,
                       out.term_values, out.seconds, out.level_bounds, short)


def mend_band(inst: OrgDesignInstance, rep_team: np.ndarray,
              settings: SolveSettings) -> OrgSolution | None:
    """The local search on from a design of its own that leaves reps below the band minimum
    (its time ran out first), until the band holds or the time is up; None when its design
    breaks a hard rule. A pass or two usually do: S key-account hybrid at 2 s, in a fresh
    process, ended its 0.65 s of local search 461 scaled hours short, where it holds the band
    after 0.4 s in a warm one; afresh, the redesign took 2.7 s more."""
    started = time.monotonic()
    start = warm_start(replace(inst, hint_team=rep_team), settings.time_limit,
                       replace(settings, enough_seconds=0.0), started, alone=True)
    if start is None or not _holds_hard_rules(inst, start):
        return None
    return _warm_start_solution(inst, start, time.monotonic() - started, settings)


def reshape_design(inst: OrgDesignInstance, rep_team: np.ndarray, team: int,
                   settings: SolveSettings) -> OrgSolution | None:
    """A local-search design's next try after stage 2 could not split `team`'s accounts among
    its members: one rep moved out of it or into it (models.warm_start.reshape_team); None
    when no such move holds the hard rules."""
    started = time.monotonic()
    start = reshape_team(inst, rep_team, team, started + settings.time_limit)
    if start is None or not _holds_hard_rules(inst, start):
        return None
    return _warm_start_solution(inst, start, time.monotonic() - started, settings)


def evaluate_org_terms(inst: OrgDesignInstance, rep_team: np.ndarray, is_manager: np.ndarray,
                       hired: np.ndarray, hours: np.ndarray, unmet: np.ndarray) -> dict[str, int]:
    """Each objective term's value for a stage-1 solution, counted from the plan itself."""
    load = np.bincount(inst.pair_rep, weights=hours, minlength=inst.n_reps)
    target = np.where(is_manager, inst.mgr_target, inst.rep_target)
    least = np.where(is_manager, inst.mgr_lo, inst.rep_lo)
    values = {}
    for name, term in inst.terms.items():
        value = int(term.constant)
        if term.pair is not None:
            value += int((term.pair * hours).sum())
        if term.unmet is not None:
            value += int((term.unmet * unmet).sum())
        if term.rep_team is not None:
            value += int(term.rep_team[np.arange(inst.n_reps), rep_team].sum())
        if term.deviation is not None:
            value += int(np.rint((term.deviation * np.abs(load - target)).sum()))
        if term.shortfall is not None:
            value += int(np.rint((term.shortfall * np.maximum(least - load, 0)).sum()))
        value += int(term.missing_manager) * int(hired.sum())
        values[name] = value
    return values


def within_limits(values: dict[str, int], limits: dict[str, int] | None) -> bool:
    """Whether a plan's term values respect the caps on terms."""
    return all(values.get(name, 0) <= limit for name, limit in (limits or {}).items())


def _holds_hard_rules(inst: OrgDesignInstance, start) -> bool:
    """Whether a local-search design holds the rules the search only prices or may start out
    of: coverage, demand met where unmet demand is not allowed, the moved-rep limit (the band
    minimum is soft in stage 1)."""
    moved_ok = inst.max_moved is None or inst.moved is None or \
        moved_count(inst, start.rep_team) <= inst.max_moved
    return moved_ok and _coverage_missing(inst, start.rep_team) == 0 and (
        inst.allow_unmet or int(start.unmet.sum()) == 0)


def _warm_start_solution(inst: OrgDesignInstance, start, seconds: float,
                         settings: SolveSettings) -> OrgSolution:
    """The warm start as stage 1's answer when CP-SAT ran out of time before reading it (it is
    a complete solution of the soft-band model); its bound is unknown."""
    load = np.bincount(inst.pair_rep, weights=start.hours, minlength=inst.n_reps)
    least = np.where(start.is_manager, inst.mgr_lo, inst.rep_lo)
    short = int(np.maximum(least - load, 0).sum())
    values = evaluate_org_terms(inst, start.rep_team, start.is_manager, start.hired, start.hours,
                                start.unmet)
    first = (settings.levels or (tuple(values),))[0]
    return OrgSolution("FEASIBLE", sum(values.get(n, 0) for n in first), None, start.rep_team,
                       start.is_manager, start.hired, start.hours, start.unmet, values, seconds,
                       (), short)


def explain_infeasibility(inst: OrgDesignInstance,
                          settings: SolveSettings) -> tuple[list[str], list[str]]:
    """Which rules conflict, and which rule families, dropped alone, make the instance feasible.

    Returns (core, relaxing_families): `core` is a set of rule keys that cannot hold together,
    from which no key could be removed (checked one by one while time remains; a check that
    runs out of time keeps its key, so the core still conflicts but may not be the smallest);
    `relaxing_families` lists the family prefixes (e.g. 'band_max', 'demand') whose removal
    alone was shown to restore feasibility. `settings.time_limit` bounds the whole explanation
    (a user waits for it after the solve's own time limit), not each check.
    """
    deadline = time.monotonic() + settings.time_limit
    built = _build(inst, explain=True)
    keys = list(built.rules.literals)
    if not keys:
        return [], []
    # today's teams (or each rep's best) with their best hours: a plan of every rule but the
    # band minimum, so that a check without it, the commonest way out, ends at once
    _hint_start(built.model, inst, built.team, built.y, built.unmet, None, None,
                _start_within_rules(inst))

    def feasible(active: list[str], share: float = 1.0) -> bool | None:
        left = (deadline - time.monotonic()) * share
        if left <= 0.05:
            return None
        built.model.clear_assumptions()
        built.model.add_assumptions([built.rules.literals[k] for k in active])
        if holds_on_hint(min(left, 1.0)):
            return True
        solver = new_solver(SolveSettings(workers=settings.workers, seed=settings.seed), left)
        status = solver.solve(built.model)
        if status == cp_model.INFEASIBLE:
            feasible.last_core = [built.model.get_bool_var_from_proto_index(i).name
                                  for i in solver.sufficient_assumptions_for_infeasibility()]
            return False
        return True if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) else None

    def holds_on_hint(seconds: float) -> bool:
        """Whether the hint holds the active rules (only a yes is an answer: the hint failing
        proves nothing), in milliseconds where a search would take seconds."""
        solver = new_solver(SolveSettings(workers=1, seed=settings.seed), seconds)
        solver.parameters.fix_variables_to_their_hinted_value = True
        return solver.solve(built.model) in (cp_model.OPTIMAL, cp_model.FEASIBLE)

    feasible.last_core = []
    built.model.clear_objective()
    if feasible(keys) is not False:
        return [], []
    core = list(feasible.last_core) or keys
    # the ways out first (a plan found without one family comes quickly), each with a share
    # of the time, so that one hard check cannot use it all; then the core made smaller
    prefixes = sorted({k.split(":")[0] for k in core})
    relaxing = [p for p in prefixes
                if feasible([k for k in keys if k.split(":")[0] != p], share=0.25) is True]
    for key in list(core):
        if key not in core:
            continue
        trial = [k for k in core if k != key]
        if trial and feasible(trial, share=0.5) is False:
            core = [k for k in (feasible.last_core or trial)]
    return core, relaxing
