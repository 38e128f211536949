"""Why a scenario cannot be satisfied, in words a sales manager reads: quick checks on the data
first, then the conflicting rules found by the model (assumption literals), each with its
numbers, and the relaxations that would make the scenario feasible. Also why no plan came in
time when nothing was proven: which reps the best team design left below the band."""

from __future__ import annotations

import math

import numpy as np

from models.instances import SolveSettings
from models.org_design import explain_infeasibility
from planner.errors import InfeasibleError, NoPlanError
from planner.instance import Problemset, coverage_requirements, org_design_instance
from planner.skills import MIN_PROFICIENCY_BIT, SENIORITY_BIT

RELAXATIONS = {
    "band_min": "lower rules.utilization.min (fewer hours required of each rep)",
    "band_max": "raise rules.utilization.max (more hours allowed per rep)",
    "demand": "set rules.allow_unmet: true (unmet demand becomes hiring needs), or hire",
    "min_proficiency": "lower rules.min_proficiency (more reps qualify for more work)",
    "key_accounts_senior": "set rules.key_accounts_senior: false, or promote reps to level "
                           "4 and up",
    "managers": "set rules.allow_unmet: true (missing managers become hires), or raise "
                "rules.span_of_control",
    "coverage": "relax or drop the coverage rule",
    "max_reps_moved": "raise rules.max_reps_moved",
    "pin": "remove the pin",
}


def precheck(p: Problemset) -> None:
    """Conflicts visible without a solver; raises InfeasibleError naming them."""
    rules = p.scenario.rules
    reps = p.company.reps
    problems, relax = [], []
    idle = ~p.cell_qualified.any(axis=1) & (p.rep_lo > 0)
    if p.scenario.rules.span_of_control is not None:
        idle &= ~(reps["can_manage"].to_numpy(bool) & (p.mgr_lo == 0))
    if idle.any():
        names = _rep_list(p, np.nonzero(idle)[0])
        problems.append(f"{names} qualify for no demand line (proficiency >= "
                        f"{rules.min_proficiency:g} in a line's function and product"
                        f"{', level >= %d for key accounts' % rules.senior_level if rules.key_accounts_senior else ''}"
                        f"), so they cannot reach the minimum utilization of "
                        f"{rules.utilization.min:.0%}")
        relax += [RELAXATIONS["band_min"], RELAXATIONS["min_proficiency"],
                  "take those reps off the roster for this plan"]
    problems += _reps_short_in_every_team(p, idle)
    if problems:
        relax += [RELAXATIONS["band_min"], RELAXATIONS["min_proficiency"]]
    least = np.minimum(p.rep_lo, np.where(reps["can_manage"].to_numpy(bool)
                                          & (rules.span_of_control is not None), p.mgr_lo, p.rep_lo))
    demand = float(p.lines["h"].sum())
    if least.sum() > demand:
        problems.append(f"the department has {_h(p, demand)} of demand, but its {p.n_reps} reps "
                        f"need at least {_h(p, least.sum())} to reach the minimum utilization "
                        f"of {rules.utilization.min:.0%}")
        relax.append(RELAXATIONS["band_min"])
    if not rules.allow_unmet:
        most = float(np.maximum(p.rep_hi, p.mgr_hi).sum())
        if demand > most:
            problems.append(f"all demand must be met ({_h(p, demand)}), but the {p.n_reps} reps "
                            f"can give at most {_h(p, most)} within the "
                            f"{rules.utilization.max:.0%} band")
            relax += [RELAXATIONS["demand"], RELAXATIONS["band_max"]]
        orphan = ~p.cell_qualified.any(axis=0)
        for c in np.nonzero(orphan)[0][:5]:
            cell = p.cells.iloc[int(c)]
            hours = p.lines.loc[p.lines["cell"] == c, "h"].sum()
            why, fixes = _why_nobody_qualifies(p, int(c))
            problems.append(f"{_h(p, hours)} of {cell['function']} work on {cell['product']} "
                            f"for {cell['segment']} accounts in {cell['region']} has no rep "
                            f"qualified for it ({why})")
            relax += [RELAXATIONS["demand"], *fixes]
    if not rules.allow_unmet and not problems:
        items, fixes = _indivisible_items(p)
        problems += items
        relax += [RELAXATIONS["demand"], *fixes]
    if problems:
        raise InfeasibleError(problems, dict.fromkeys(relax))


def _reps_short_in_every_team(p: Problemset, skip: np.ndarray, limit: int = 5) -> list[str]:
    """A rep works in one team: if no team holds enough work the rep is qualified for to reach
    the band's minimum, no plan exists."""
    rules = p.scenario.rules
    if rules.utilization.min <= 0:
        return []
    hours = np.zeros((p.n_reps, p.org.n_teams))
    team_of_line = p.lines["team"].to_numpy()
    h = p.lines["h"].to_numpy()
    for cell, idx in p.lines.groupby("cell").indices.items():
        per_team = np.bincount(team_of_line[idx], weights=h[idx], minlength=p.org.n_teams)
        hours += p.cell_qualified[:, [cell]] * per_team[None, :]
    least = p.rep_lo.astype(float)
    if rules.span_of_control is not None:
        least = np.where(p.company.reps["can_manage"].to_numpy(bool), p.mgr_lo, least)
    best = hours.max(axis=1)
    short = np.nonzero((best < least) & ~skip)[0]
    out = []
    for r in short[:limit]:
        team = p.org.teams[int(hours[r].argmax())].team_id
        out.append(f"rep {p.company.reps['rep_id'].iat[int(r)]} is qualified for at most "
                   f"{_h(p, best[r])} of work in any one team (most in {team!r}), below the "
                   f"{rules.utilization.min:.0%} minimum of {_h(p, least[r])}")
    if len(short) > limit:
        out.append(f"... and {len(short) - limit} more reps like them")
    return out


def _why_nobody_qualifies(p: Problemset, cell: int) -> tuple[str, list[str]]:
    """Which rule keeps every rep off a piece of work, and the relaxations that would help."""
    bits = p.cell_bits[:, cell]
    rules = p.scenario.rules
    seniority_only = np.any(bits == SENIORITY_BIT)
    proficiency_only = np.any(bits == MIN_PROFICIENCY_BIT)
    if seniority_only and not proficiency_only:
        return (f"the reps with the skills are below level {rules.senior_level}",
                [RELAXATIONS["key_accounts_senior"]])
    if proficiency_only and not seniority_only:
        return (f"nobody has proficiency >= {rules.min_proficiency:g} in both its function and "
                "product", [RELAXATIONS["min_proficiency"]])
    return ("skills and seniority both fall short",
            [RELAXATIONS["min_proficiency"], RELAXATIONS["key_accounts_senior"]])


def _indivisible_items(p: Problemset, limit: int = 5) -> tuple[list[str], list[str]]:
    """With all demand to be met, an item (an account's lines of one function in one team) needs
    one rep qualified for all its products who can carry all its hours; returns the problems
    and the relaxations that would help."""
    lines = p.lines
    items = lines.groupby("item").agg(h=("h", "sum"), cls=("cls", "first"),
                                      account=("account_id", "first"),
                                      function=("function", "first"),
                                      products=("productset", "first"))
    most = np.maximum(p.rep_hi, p.mgr_hi)
    out, fixes = [], []
    for row in items.itertuples():
        able = np.nonzero(p.qualified[:, row.cls])[0]
        if not len(able):
            out.append(f"account {row.account} needs one rep for its {row.function} work on "
                       f"{row.products}, and no rep is qualified for all of it")
            fixes.append(RELAXATIONS["min_proficiency"])
        elif row.h > most[able].max():
            out.append(f"account {row.account} needs one rep for its {_h(p, row.h)} of "
                       f"{row.function} work, more than any qualified rep can carry within the "
                       f"{p.scenario.rules.utilization.max:.0%} band ({_h(p, most[able].max())})")
            fixes.append(RELAXATIONS["band_max"])
        if len(out) >= limit:
            break
    return out, fixes


def explain(p: Problemset, settings: SolveSettings) -> InfeasibleError | None:
    """The conflicting rules, found with assumption literals on stage 1 (hours divisible);
    None when stage 1 alone finds no conflict (then it lies in the accounts' indivisibility)."""
    inst = org_design_instance(p, explain=True)
    core, relaxing = explain_infeasibility(inst, settings)
    if not core:
        return None
    problems = [describe(p, key) for key in sorted(core)]
    return InfeasibleError(problems, [RELAXATIONS[f] for f in relaxing if f in RELAXATIONS])


def indivisible(p: Problemset) -> InfeasibleError:
    """The conflict the joint model proved when no rule family conflicts on divisible hours."""
    rules = p.scenario.rules
    relax = ["widen rules.utilization"]
    if not rules.allow_unmet:
        relax.append("allow unmet demand (rules.allow_unmet: true)")
    if not p.cell_qualified.all():
        relax.append(RELAXATIONS["min_proficiency"])
    return InfeasibleError(
        [f"no division of the accounts among the reps puts every rep between "
         f"{rules.utilization.min:.0%} and {rules.utilization.max:.0%} of capacity: each "
         "account's work of one function goes to one rep, who must be qualified for its "
         "products (checked exactly on this company with the joint model)"], relax)


def below_band(p: Problemset, pair_rep: np.ndarray, design, joint_tried: bool,
               limit: int = 5) -> NoPlanError:
    """No plan in time because the best team design found leaves reps below the band's
    minimum (neither found feasible nor proven infeasible): which reps, by how much, and the
    minimum that this design would hold."""
    rules = p.scenario.rules
    load = np.bincount(pair_rep, weights=design.hours, minlength=p.n_reps)
    share = np.where(design.is_manager, rules.manager_load, 1.0)
    least = np.where(design.is_manager, p.mgr_lo, p.rep_lo)
    util = load / np.maximum(p.cap * share, 1)
    short = np.nonzero(load < least)[0]
    short = short[np.argsort(util[short], kind="stable")]
    ids = p.company.reps["rep_id"].to_numpy()
    named = ", ".join(f"{ids[r]} at {math.floor(util[r] * 100):.0f}% in "
                      f"{p.org.teams[int(design.rep_team[r])].team_id!r}"
                      + (" (a manager)" if design.is_manager[r] else "")
                      for r in short[:limit])
    more = f" and {len(short) - limit} more" if len(short) > limit else ""
    holds = math.floor(float(util.min(initial=1.0)) * 100) / 100
    searched = "stage 1 and the joint model" if joint_tried else "stage 1"
    return NoPlanError(
        f"no plan was found within the time limit: {searched} found no team design in which "
        f"every rep works at least {rules.utilization.min:.0%} of capacity, nor proved that "
        f"none exists. The best design found leaves {len(short)} "
        f"rep{'s' if len(short) != 1 else ''} below it ({named}{more}; "
        f"{_h(p, float(np.maximum(least - load, 0).sum()))} short in all). Raise the time limit "
        f"(--time-limit), lower rules.utilization.min (this design holds at {holds:.0%})"
        + (f", or lower rules.min_proficiency (now {rules.min_proficiency:g}: more reps qualify "
           "for more work)" if rules.min_proficiency > 0 else ""))


def describe(p: Problemset, key: str) -> str:
    """One rule of a conflict, in words, with its numbers."""
    rules = p.scenario.rules
    family, _, rest = key.partition(":")
    if family == "band_min":
        return f"every rep works at least {rules.utilization.min:.0%} of capacity " \
               "(rules.utilization.min)"
    if family == "band_max":
        return f"no rep works more than {rules.utilization.max:.0%} of capacity " \
               "(rules.utilization.max)"
    if family == "min_proficiency":
        return f"a line goes only to reps with proficiency >= {rules.min_proficiency:g} in its " \
               "function and product (rules.min_proficiency)"
    if family == "key_accounts_senior":
        return f"key-account lines go only to reps of level >= {rules.senior_level} " \
               "(rules.key_accounts_senior)"
    if family == "demand":
        return _describe_demand(p, int(rest))
    if family == "managers":
        unit = p.org.units[int(rest)]
        able = int(p.company.reps["can_manage"].sum())
        return f"unit {unit!r} needs one manager per {rules.span_of_control} people, chosen " \
               f"among the {able} reps who can manage, and missing managers may not be hired " \
               "(rules.allow_unmet is false)"
    if family == "coverage":
        i, team = (int(x) for x in rest.split(":"))
        rule = rules.coverage[i]
        inst_cov = next(c for c in coverage_requirements(p) if c.key == key)
        return f"coverage rule {i + 1} ({rule.describe()}) applies to team " \
               f"{p.org.teams[team].team_id!r}; {len(inst_cov.eligible)} reps in the company " \
               "have that profile"
    if family == "max_reps_moved":
        return f"at most {rules.max_reps_moved} reps may move to a team outside their current " \
               "work (rules.max_reps_moved)"
    if family == "pin":
        return f"rep {p.company.reps['rep_id'].iat[int(rest)]} is pinned to a team"
    return key


def _describe_demand(p: Problemset, team: int) -> str:
    rules = p.scenario.rules
    classes = np.nonzero(p.classes["team"].to_numpy() == team)[0]
    hours = float(p.classes["h"].to_numpy()[classes].sum())
    able = np.nonzero(p.qualified[:, classes].any(axis=1))[0]
    functions = ", ".join(sorted(set(p.classes["function"].to_numpy()[classes])))
    return (f"team {p.org.teams[team].team_id!r} must have all its demand met "
            f"({_h(p, hours)} of {functions} work; rules.allow_unmet is false), and the "
            f"{len(able)} reps qualified for any of it give at most "
            f"{_h(p, float(p.rep_hi[able].sum()))} within the {rules.utilization.max:.0%} band, "
            "shared with every other team they could serve")


def _rep_list(p: Problemset, idx: np.ndarray, limit: int = 8) -> str:
    ids = p.company.reps["rep_id"].to_numpy()[idx].tolist()
    shown = ", ".join(ids[:limit]) + (f" and {len(ids) - limit} more" if len(ids) > limit else "")
    return f"rep {shown}" if len(ids) == 1 else f"reps {shown}"


def _h(p: Problemset, scaled: float) -> str:
    """Hours as the data give them: whole hours when large, up to 4 decimals when small."""
    hours = scaled / p.hour_scale
    if abs(hours) >= 100 or hours == int(hours):
        return f"{hours:,.0f} h"
    return f"{hours:,.4f}".rstrip("0").rstrip(".") + " h"
