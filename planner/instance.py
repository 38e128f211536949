"""From a company and a scenario to the models' integer instances: the one place where hours,
fit, potential and objective weights become integers.

Resolution: hours and capacities are multiplied by 10^d, d the fewest decimals (at most 4)
that represent every hour and capacity exactly, so bands like [0.8, 1.2] on 0.1696 hours
hold exactly. Objective terms are normalised (unmet and fit by total demand, balance by total
capacity, continuity by the potential owned today, travel by today's travel) so that each is
about 0..1, multiplied by its weight and by one objective scale, and rounded.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from fractions import Fraction
from functools import partial

import numpy as np
import pandas as pd

from models.instances import (RULE_KEY_ACCOUNTS_SENIOR, RULE_MIN_PROFICIENCY,
                              AllocationInstance, AllocTerm, Coverage, JointInstance,
                              OrgDesignInstance, OrgTerm)
from planner.custom import account_extension, team_extension
from planner.data import DIMENSIONS, Company
from planner.errors import Problem, ScenarioError, did_you_mean
from planner.orgmodel import Org, org_for
from planner.scenario import Scenario
from planner.skills import MIN_PROFICIENCY_BIT, SENIORITY_BIT, SkillTable

MAX_DECIMALS = 4
#: the values `Problemset.coef` scales at a time
COEF_SLICE = 1 << 20
#: The largest objective value (all terms at their worst) the integer scale may reach.
OBJECTIVE_CEILING = 1e12
#: What a line's skill fit and qualification depend on.
CELL = ["function", "product", "segment", "channel", "region"]
#: Stage 1's demand classes: an item (an account's lines of one function in one team) needs one
#: rep qualified for all its products, so classes are keyed by the item's product set.
CLASS = ["team", "function", "productset", "segment", "channel", "region"]
PRODUCT_JOIN = " + "
SHORTFALL = "band_shortfall"
SHORTFALL_FACTOR = 100
#: agents a stage-2 hint passes over in a class's heap (no room) before it looks at all of them
HEAP_PASSES = 32
#: Up to this many reps x accounts, stage 1's travel per hour comes from one matrix of every
#: rep's travel to every account (32 MB; M: 2 million), above class by class
TRAVEL_MATRIX_ENTRIES = 4_000_000


@dataclass(frozen=True)
class Problemset:
    """Everything the models need, derived once from company + scenario."""

    company: Company
    scenario: Scenario
    org: Org
    skills: SkillTable
    hour_scale: int
    obj_scale: float
    weights: dict[str, float]
    levels: tuple[tuple[str, ...], ...] | None
    lines: pd.DataFrame  # company.lines + team, item, productset, cell, cls, h (scaled), owned
    classes: pd.DataFrame  # one row per demand class: CLASS columns + h
    cells: pd.DataFrame  # one row per skill cell: CELL columns
    cell_qualified: np.ndarray  # (R, C)
    cell_bits: np.ndarray  # (R, C) planner.skills bits: which rules make a pair unqualified
    cell_fit: np.ndarray  # (R, C)
    cap: np.ndarray  # scaled capacity per rep
    rep_lo: np.ndarray
    rep_hi: np.ndarray
    mgr_lo: np.ndarray
    mgr_hi: np.ndarray
    rep_target: np.ndarray
    mgr_target: np.ndarray
    pins: "PinPlan"
    qualified: np.ndarray  # (R, K) qualified for every line of the class
    rule_bits: np.ndarray  # (R, K) the rules that make a pair unqualified
    fit: np.ndarray  # (R, K) hours-weighted over the class
    norms: dict[str, float]

    @property
    def n_reps(self) -> int:
        return self.company.n_reps

    def coef(self, term: str, quantity) -> np.ndarray:
        """Integer objective coefficients for `quantity` (in the term's base unit)."""
        norm = self.norms.get(term, 0.0)
        weight = self.weights.get(term, 0.0)
        if not weight or not norm:
            return np.zeros(np.shape(quantity), dtype=np.int64)
        # rounded where it was scaled (XL's teams: 8.6 million pairs a term, 15-25 % faster),
        # a slice at a time: a whole float copy of a per-pair quantity is 100 MB of memory new
        # to the process on XL's largest team, which its first use alone makes slow
        quantity = np.asarray(quantity)
        factor = weight * self.obj_scale / norm
        out = np.empty(quantity.shape, dtype=np.int64)
        flat, into = quantity.reshape(-1), out.reshape(-1)
        scaled = np.empty(min(len(flat), COEF_SLICE))
        for lo in range(0, len(flat), COEF_SLICE):
            values = flat[lo:lo + COEF_SLICE]
            part = scaled[:len(values)]
            np.multiply(values, factor, dtype=float, out=part)
            np.rint(part, out=into[lo:lo + len(part)], casting="unsafe")
        return out

    @property
    def missing_manager_hours(self) -> float:
        """Scaled hours a missing manager counts as (in the unmet term)."""
        share = max(self.scenario.rules.manager_load, 0.5)
        return float(np.median(self.cap)) * share


def prepare(company: Company, scenario: Scenario) -> Problemset:
    """Scale and index everything the models need; ScenarioError where rules name absent data."""
    org = org_for(company, scenario)
    rules = scenario.rules
    skills = SkillTable(company, rules)
    scale = 10 ** max(_decimals(company.lines["hours"].to_numpy()),
                      _decimals(company.reps["capacity_hours"].to_numpy()))
    lines = _index_lines(company.lines, org.line_team, scale)
    cells = lines[CELL].drop_duplicates().reset_index(drop=True)
    lines = lines.merge(cells.reset_index(names="cell"), on=CELL, how="left")
    classes = lines.groupby(CLASS, sort=False, observed=True)["h"].sum().reset_index()
    lines = lines.merge(classes[CLASS].reset_index(names="cls"), on=CLASS, how="left")
    cap = np.rint(company.reps["capacity_hours"].to_numpy() * scale).astype(np.int64)
    cell_qualified, cell_bits = skills.qualified_matrix(cells)
    cell_fit = skills.fit_matrix(cells)
    qualified, bits, fit = _class_skills(lines, len(cells), len(classes), cell_qualified,
                                         cell_bits, cell_fit, classes["h"].to_numpy())
    weights, levels = _objective(scenario)
    bands = _bands(cap, scenario, float(lines["h"].sum()) / max(float(cap.sum()), 1.0))
    fields = dict(company=company, scenario=scenario, org=org, skills=skills, hour_scale=scale,
                  weights=weights, levels=levels, lines=lines, classes=classes, cells=cells,
                  cell_qualified=cell_qualified, cell_bits=cell_bits, cell_fit=cell_fit, cap=cap,
                  rep_lo=bands[0], rep_hi=bands[1], mgr_lo=bands[2], mgr_hi=bands[3],
                  rep_target=bands[4], mgr_target=bands[5], qualified=qualified, rule_bits=bits,
                  fit=fit)
    fields["pins"] = plan_pins(company, scenario, org, lines, cell_qualified)
    norms = _norms(Problemset(obj_scale=1.0, norms={}, **fields))
    p = Problemset(obj_scale=_objective_scale(weights, levels), norms=norms, **fields)
    coverage_requirements(p)  # a rule naming data that does not exist fails here, up front
    return p


@dataclass(frozen=True)
class PinPlan:
    """Pins as indices: the team of each pinned rep, the rep and team of each pinned account."""

    fixed_team: np.ndarray  # (R,) -1 = free
    account_rep: dict[int, int]  # account index -> rep index
    account_team: dict[int, int]  # account index -> team index where the rep serves it


def plan_pins(company: Company, scenario: Scenario, org: Org, lines: pd.DataFrame,
              cell_qualified: np.ndarray) -> PinPlan:
    """Check the scenario's pins against the data, the org model and the rep's qualification
    (ScenarioError names the pin) and turn them into indices. A pinned account's rep sits in
    the team holding most of the account's work that the rep is qualified for."""
    pins = scenario.rules.pins
    rep_index = {r: i for i, r in enumerate(company.reps["rep_id"])}
    team_index = {t.team_id: i for i, t in enumerate(org.teams)}
    account_index = {a: i for i, a in enumerate(company.accounts["account_id"])}
    fixed = np.full(company.n_reps, -1, dtype=np.int64)

    def fail(message: str, key: str) -> None:
        raise ScenarioError(Problem(message, file=scenario.source, column=f"rules.pins.{key}"))

    for rep, team in pins.reps.items():
        if rep not in rep_index:
            fail(f"pinned rep {rep!r} is not in reps.csv{did_you_mean(rep, rep_index)}", "reps")
        if team not in team_index:
            fail(f"rep {rep} is pinned to {team!r}, which is not a team of this org model"
                 f"{did_you_mean(team, team_index)}; teams: {', '.join(team_index)}", "reps")
        fixed[rep_index[rep]] = team_index[team]
    account_rep, account_team = {}, {}
    for account, rep in pins.accounts.items():
        if account not in account_index:
            fail(f"pinned account {account!r} is not in accounts.csv"
                 f"{did_you_mean(account, account_index)}", "accounts")
        if rep not in rep_index:
            fail(f"account {account} is pinned to {rep!r}, which is not a rep_id"
                 f"{did_you_mean(rep, rep_index)}", "accounts")
        a, r = account_index[account], rep_index[rep]
        own = lines[lines["account"] == a]
        if own.empty:
            fail(f"account {account} is pinned but has no demand", "accounts")
        hours = own[cell_qualified[r, own["cell"].to_numpy()]].groupby("team")["h"].sum()
        if hours.empty:
            rules = scenario.rules
            fail(f"account {account} is pinned to {rep}, who is qualified for none of its work "
                 f"(proficiency >= {rules.min_proficiency:g} in function and product"
                 + (f", level >= {rules.senior_level} for key accounts"
                    if rules.key_accounts_senior else "") + ")", "accounts")
        if fixed[r] >= 0:
            if fixed[r] not in hours.index:
                fail(f"account {account} is pinned to {rep}, whose pinned team "
                     f"{org.teams[fixed[r]].team_id!r} holds none of its work that {rep} is "
                     "qualified for", "accounts")
            team = int(fixed[r])
        else:
            team = int(hours.idxmax())
            fixed[r] = team
        account_rep[a], account_team[a] = r, team
    return PinPlan(fixed, account_rep, account_team)


def _index_lines(lines: pd.DataFrame, line_team: np.ndarray, scale: int) -> pd.DataFrame:
    """Lines with their team, scaled hours, item (account x function x team) and the item's
    product set."""
    lines = lines.copy()
    lines["team"] = line_team
    lines["h"] = np.rint(lines["hours"].to_numpy() * scale).astype(np.int64)
    lines["owned"] = lines["owner"] >= 0
    lines["item"] = lines.groupby(["account", "function", "team"], sort=False).ngroup()
    lines["productset"] = _product_sets(lines["item"].to_numpy(), lines["product"])
    return lines


def _product_sets(item: np.ndarray, product: pd.Series) -> np.ndarray:
    """Each line's item's products, sorted and joined ("CRM Suite + Cloud ERP"). Sets are
    bit masks (a Python join per item takes seconds on 100,000 accounts)."""
    codes, names = pd.factorize(product, sort=True)
    if len(names) > 62:
        products = product.groupby(item).agg(lambda p: PRODUCT_JOIN.join(sorted(p)))
        return products.reindex(item).to_numpy()
    mask = np.zeros(int(item.max()) + 1 if len(item) else 0, dtype=np.int64)
    np.bitwise_or.at(mask, item, np.left_shift(1, codes.astype(np.int64)))
    sets, which = np.unique(mask, return_inverse=True)
    joined = np.array([PRODUCT_JOIN.join(str(names[b]) for b in range(len(names)) if m >> b & 1)
                       for m in sets.tolist()], dtype=object)
    return joined[which[item]]


def _class_skills(lines: pd.DataFrame, n_cells: int, n_classes: int, cell_qualified: np.ndarray,
                  cell_bits: np.ndarray, cell_fit: np.ndarray, class_hours: np.ndarray):
    """Class qualification (every cell of the class), rule bits (any cell) and hours-weighted
    fit, from the cell matrices."""
    weight = np.zeros((n_cells, n_classes))
    np.add.at(weight, (lines["cell"].to_numpy(), lines["cls"].to_numpy()), lines["h"].to_numpy())
    # counts as floats: BLAS multiplies them (integer matrix products are not), exactly in
    # single precision too (a class has far fewer than 2**24 cells), in half the time of
    # double (XL region x function, 2,000 reps x 675 cells x 2,542 classes: 0.09 s against
    # 0.15 s a product)
    present = (weight > 0).astype(np.float32)
    qualified = ((~cell_qualified).astype(np.float32) @ present) == 0
    bits = np.zeros(qualified.shape, dtype=np.uint8)
    for skill_bit, rule_bit in ((MIN_PROFICIENCY_BIT, RULE_MIN_PROFICIENCY),
                                (SENIORITY_BIT, RULE_KEY_ACCOUNTS_SENIOR)):
        hit = ((cell_bits & skill_bit) > 0).astype(np.float32) @ present > 0
        bits |= np.where(hit, rule_bit, 0).astype(np.uint8)
    fit = (cell_fit @ weight) / np.maximum(class_hours, 1)[None, :]
    return qualified, bits, fit


def _decimals(values: np.ndarray) -> int:
    for d in range(MAX_DECIMALS + 1):
        scaled = values * 10 ** d
        if np.all(np.abs(scaled - np.rint(scaled)) < 1e-6):
            return d
    return MAX_DECIMALS


def _objective(scenario: Scenario) -> tuple[dict[str, float], tuple[tuple[str, ...], ...] | None]:
    """Weights per term, and the lexicographic levels when priorities are given (unmet demand
    goes first unless the scenario places it)."""
    objective = scenario.objective
    weights = objective.resolved_weights
    if objective.priorities is None:
        return weights, None
    order = list(objective.priorities)
    if scenario.rules.allow_unmet and "unmet" not in order:
        order.insert(0, "unmet")
        weights["unmet"] = 1.0
    return weights, tuple((t,) for t in order)


def _objective_scale(weights: dict[str, float], levels) -> float:
    """A power of ten such that the worst objective stays under OBJECTIVE_CEILING."""
    total = max(weights.values()) if levels else sum(weights.values())
    return float(10 ** math.floor(math.log10(OBJECTIVE_CEILING / (2 * max(total, 1e-9)))))


def _bands(cap: np.ndarray, scenario: Scenario, demand_ratio: float) -> tuple[np.ndarray, ...]:
    """Exact integer bands (ceil of the least, floor of the most) for members and managers, and
    balanced targets at the department's average utilization."""
    util = scenario.rules.utilization
    lo_f, hi_f = Fraction(str(util.min)), Fraction(str(util.max))
    share = Fraction(str(scenario.rules.manager_load))

    def bound(frac: Fraction, up: bool) -> np.ndarray:
        return np.array([math.ceil(frac * int(c)) if up else math.floor(frac * int(c))
                         for c in cap], dtype=np.int64)

    average = min(max(demand_ratio, util.min), util.max)
    return (bound(lo_f, True), bound(hi_f, False), bound(lo_f * share, True),
            bound(hi_f * share, False), np.rint(cap * average).astype(np.int64),
            np.rint(cap * average * float(share)).astype(np.int64))


def _norms(p: Problemset) -> dict[str, float]:
    demand = float(p.lines["h"].sum())
    owned_potential = float(p.lines.loc[p.lines["owned"], "potential"].sum())
    norms = {"unmet": demand, "fit": demand, "preferences": demand,
             "balance": float(p.cap.sum()), "continuity": owned_potential}
    if p.weights.get("travel") and p.company.has_travel:
        norms["travel"] = travel_norm(p)
    return {k: v for k, v in norms.items() if v > 0}


def travel_norm(p: Problemset) -> float:
    """Today's travel (current owners), or a typical cost per account where nobody owns any."""
    owned = p.lines[p.lines["owned"]].drop_duplicates(["owner", "account"])
    today = float(p.company.travel_cost(owned["owner"], owned["account"]).sum())
    if today > 0:
        return today
    rng = np.random.default_rng(0)
    n = len(p.company.accounts)
    sample = p.company.travel_cost(rng.integers(0, p.n_reps, 1000), rng.integers(0, n, 1000))
    return max(float(np.median(sample)) * n, 1.0)


# --- stage 1 ------------------------------------------------------------------------------------

def org_design_instance(p: Problemset, explain: bool = False, joint: bool = False
                        ) -> OrgDesignInstance:
    """Stage 1 instance. With `explain`, unqualified pairs are included (tagged with the rules
    that forbid them) so that the diagnosis can switch those rules off. With `joint`, only the
    terms the joint model takes from the org part (balance, missing managers) are set."""
    rules = p.scenario.rules
    allowed = np.ones_like(p.qualified) if explain else p.qualified
    pair_rep, pair_class = np.nonzero(allowed)
    n_teams = p.org.n_teams
    owned = _owned_by_rep_team(p)
    terms = _org_terms(p, pair_rep, pair_class, owned, joint)
    hint_team = np.where(owned["hours"].sum(axis=1) > 0, owned["hours"].argmax(axis=1), -1)
    return OrgDesignInstance(
        rep_lo=p.rep_lo, rep_hi=p.rep_hi, mgr_lo=p.mgr_lo, mgr_hi=p.mgr_hi,
        rep_target=p.rep_target, mgr_target=p.mgr_target,
        can_manage=p.company.reps["can_manage"].to_numpy(bool), n_teams=n_teams,
        class_team=p.classes["team"].to_numpy(np.int64), class_hours=p.classes["h"].to_numpy(np.int64),
        pair_rep=pair_rep, pair_class=pair_class, terms=terms,
        pair_rule=p.rule_bits[pair_rep, pair_class] if explain else None,
        allow_unmet=rules.allow_unmet, span=rules.span_of_control, unit_of_team=p.org.unit_of_team,
        coverage=coverage_requirements(p),
        moved=(2 * owned["hours"] < owned["hours"].sum(axis=1, keepdims=True)),
        max_moved=rules.max_reps_moved,
        fixed_team=p.pins.fixed_team if (p.pins.fixed_team >= 0).any() else None,
        extensions=tuple(team_extension(p, c) for c in p.scenario.custom if c.teams),
        hint_team=hint_team, hint_manager=todays_managers(p), team_grain=team_grain(p))


def todays_managers(p: Problemset) -> np.ndarray | None:
    """Who manages today, where the reps say (`current_role`, which a re-plan from a plan
    takes from its reps.csv); None where they do not."""
    role = p.company.reps.get("current_role")
    if role is None:
        return None
    return role.astype(str).str.strip().str.lower().eq("manager").to_numpy()


def team_grain(p: Problemset) -> np.ndarray:
    """Each team's median account hours (scaled; an account's lines of one function): the
    grain its work comes in, which stage 2 cannot split (0 for a team without work)."""
    lines = pd.DataFrame({column: p.lines[column].to_numpy() for column in ("item", "team", "h")})
    per_item = lines.groupby("item").agg(team=("team", "first"), h=("h", "sum"))
    grain = per_item.groupby("team")["h"].median()
    return grain.reindex(range(p.org.n_teams), fill_value=0).to_numpy(dtype=float)


def _owned_by_rep_team(p: Problemset) -> dict[str, np.ndarray]:
    """Scaled hours and potential each rep owns today inside each team's scope, and the
    potential they could keep there (lines they are qualified for)."""
    shape = (p.n_reps, p.org.n_teams)
    own = p.lines[p.lines["owned"]]
    r, t, c = own["owner"].to_numpy(), own["team"].to_numpy(), own["cell"].to_numpy()
    hours, potential, keepable = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    np.add.at(hours, (r, t), own["h"].to_numpy())
    np.add.at(potential, (r, t), own["potential"].to_numpy())
    np.add.at(keepable, (r, t), own["potential"].to_numpy() * p.cell_qualified[r, c])
    return {"hours": hours, "potential": potential, "keepable": keepable}


def _org_terms(p: Problemset, pair_rep, pair_class, owned, joint: bool) -> dict[str, OrgTerm]:
    terms: dict[str, OrgTerm] = {}
    deviation = p.coef("balance", np.ones(p.n_reps))
    missing = int(p.coef("unmet", [p.missing_manager_hours])[0])
    if joint:
        return {"balance": OrgTerm(deviation=deviation), "unmet": OrgTerm(missing_manager=missing)}
    misfit = 1.0 - p.fit[pair_rep, pair_class]
    prefs = _off_preference(p, pair_rep, p.classes["function"].to_numpy()[pair_class])
    lost = owned["potential"].sum(axis=1, keepdims=True) - owned["keepable"]
    terms["unmet"] = OrgTerm(unmet=p.coef("unmet", np.ones(len(p.classes))),
                             missing_manager=missing)
    terms["balance"] = OrgTerm(deviation=deviation)
    terms["fit"] = OrgTerm(pair=p.coef("fit", misfit))
    terms["preferences"] = OrgTerm(pair=p.coef("preferences", prefs.astype(float)))
    terms["continuity"] = OrgTerm(rep_team=p.coef("continuity", lost))
    terms[SHORTFALL] = OrgTerm(shortfall=np.full(p.n_reps, shortfall_coefficient(p), dtype=np.int64))
    if "travel" in p.norms:
        terms["travel"] = OrgTerm(pair=p.coef("travel", _travel_per_hour(p, pair_rep, pair_class)))
    return {k: v for k, v in terms.items() if _active(v)}


def shortfall_coefficient(p: Problemset) -> int:
    """Stage 1 plans with reps fully qualified for an account's products and lets a rep fall
    short of the band's minimum at this price per scaled hour (far above any other term);
    stage 2, which may give a rep only the products they are qualified for, closes the gap."""
    unmet = int(p.coef("unmet", [1.0])[0]) or int(p.obj_scale / max(p.norms.get("unmet", 1), 1))
    return max(1, SHORTFALL_FACTOR * unmet)


def _active(term) -> bool:
    return any(np.any(v) for v in vars(term).values() if isinstance(v, np.ndarray)) or bool(
        getattr(term, "missing_manager", 0)) or bool(term.constant)


def _off_preference(p: Problemset, rep: np.ndarray, function: np.ndarray) -> np.ndarray:
    preferred = p.company.reps["preferred_function"].to_numpy()[rep]
    return (preferred != "") & (preferred != function)


def _travel_per_hour(p: Problemset, pair_rep: np.ndarray, pair_class: np.ndarray) -> np.ndarray:
    """A lower bound of travel per scaled hour of a class: the cheapest account of the class per
    hour of that account in the team (it never overstates the travel a rep's hours cause).
    Companies of up to TRAVEL_MATRIX_ENTRIES reps x accounts read it from one matrix of every
    rep's travel to every account (S: 0.10-0.15 -> 0.01 s, M: 0.31-0.37 -> 0.16 s; one call
    per class of a few reps and accounts is mostly the call's own cost), the same but for the
    arcs' rounding near zero; larger ones class by class (`Company.least_travel_per_hour`)."""
    acc_team = p.lines.groupby(["account", "team"], observed=True)["h"].sum().rename("team_h")
    cls_acc = p.lines[["cls", "account", "team"]].drop_duplicates().join(
        acc_team, on=["account", "team"]).sort_values("cls", kind="stable")
    cls = cls_acc["cls"].to_numpy()
    if p.n_reps * len(p.company.accounts) <= TRAVEL_MATRIX_ENTRIES:
        return _travel_per_hour_at_once(p, pair_rep, pair_class, cls,
                                        cls_acc["account"].to_numpy(),
                                        cls_acc["team_h"].to_numpy(dtype=float))
    cuts = np.flatnonzero(np.diff(cls)) + 1
    accounts_of = np.split(cls_acc["account"].to_numpy(), cuts)
    hours_of = np.split(cls_acc["team_h"].to_numpy(dtype=float), cuts)
    first = dict(zip(np.unique(cls).tolist(), range(len(accounts_of))))
    order = np.argsort(pair_class, kind="stable")
    bounds = np.flatnonzero(np.diff(pair_class[order])) + 1
    out = np.zeros(len(pair_rep))
    for group in np.split(order, bounds) if len(order) else []:
        g = first.get(int(pair_class[group[0]]))
        if g is None:
            continue
        out[group] = p.company.least_travel_per_hour(pair_rep[group], accounts_of[g], hours_of[g])
    return out


def _travel_per_hour_at_once(p: Problemset, pair_rep: np.ndarray, pair_class: np.ndarray,
                             cls: np.ndarray, account: np.ndarray, hours: np.ndarray
                             ) -> np.ndarray:
    """`_travel_per_hour` from the matrix of every rep's travel to every account: each pair's
    least over its class's accounts (`cls`, `account`, `hours`: sorted by class) of travel per
    hour, as `Company.least_travel_per_hour` takes it."""
    cost = p.company.travel_cost_matrix(np.arange(p.n_reps), np.arange(len(p.company.accounts)))
    start = np.searchsorted(cls, pair_class)
    count = np.searchsorted(cls, pair_class, side="right") - start
    out = np.zeros(len(pair_rep))
    has = np.flatnonzero(count > 0)  # (a class without accounts costs nothing)
    if not len(has):
        return out
    first = np.cumsum(count[has]) - count[has]  # each pair's first entry
    entry = np.arange(int(count[has].sum())) - np.repeat(first - start[has], count[has])
    value = cost[np.repeat(pair_rep[has], count[has]), account[entry]] / hours[entry]
    out[has] = np.minimum.reduceat(value, first)
    return out


def coverage_requirements(p: Problemset) -> tuple[Coverage, ...]:
    """One requirement per coverage rule and team with demand in the rule's cell."""
    out = []
    reps = p.company.reps
    for i, rule in enumerate(p.scenario.rules.coverage):
        mask = np.ones(len(p.lines), dtype=bool)
        for dim, value in rule.where.items():
            values = p.company.values(dim)
            if value not in values:
                raise ScenarioError(Problem(
                    f"coverage rule {i + 1}: no demand line has {dim} {value!r}"
                    f"{did_you_mean(value, values)}", file=p.scenario.source,
                    column=f"rules.coverage.{i}.where.{dim}"))
            mask &= (p.lines[dim] == value).to_numpy()
        eligible = reps["level"].to_numpy() >= rule.min_level
        if rule.skill:
            eligible &= skill_values(p.company, rule.skill, p.scenario.source, i) >= rule.min_proficiency
        for team in sorted(set(p.lines.loc[mask, "team"].tolist())):
            out.append(Coverage(f"coverage:{i}:{team}", int(team), np.nonzero(eligible)[0],
                                rule.min_reps))
    return tuple(out)


def skill_values(company: Company, skill: str, source: str, rule_index: int) -> np.ndarray:
    """Each rep's proficiency in a named skill column (a dimension value or any other skill)."""
    dim, _, value = skill.partition(":")
    if dim in DIMENSIONS:
        if value not in company.values(dim) and skill not in company.skills:
            raise ScenarioError(Problem(
                f"coverage rule {rule_index + 1}: skill {skill!r} names a {dim} that no data has"
                f"{did_you_mean(value, company.values(dim))}", file=source,
                column=f"rules.coverage.{rule_index}.skill"))
        return company.proficiency(dim, value)
    if skill not in company.skills:
        raise ScenarioError(Problem(
            f"coverage rule {rule_index + 1}: reps.csv has no column {skill!r}"
            f"{did_you_mean(skill, company.skills.columns)}", file=source,
            column=f"rules.coverage.{rule_index}.skill"))
    return np.nan_to_num(company.skills[skill].to_numpy(float), nan=0.0)


# --- stage 2 ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Items:
    """How an allocation instance's items map back to demand lines."""

    lines: np.ndarray  # line indices (company.lines positions) of the instance
    line_item: np.ndarray  # item of each of those lines
    agents: np.ndarray  # rep index of each agent
    line_cell: np.ndarray  # skill cell of each of those lines
    cell_ok: np.ndarray  # (A, cells) agent qualified for a cell


@dataclass(frozen=True)
class _ItemLines:
    """Each item's lines as slots (slot k: the k-th line of every item that has more than k,
    in the order given), so that sums over an item's lines run pair by pair without agent x
    line matrices (XL's individuals team: 167 agents x 108,000 lines)."""

    n_lines: np.ndarray  # (I,) lines per item
    slots: tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...]  # (items, cells, hours)

    @classmethod
    def of(cls, item_codes: np.ndarray, cell: np.ndarray, h: np.ndarray,
           n_items: int) -> "_ItemLines":
        order = np.argsort(item_codes, kind="stable")
        n_lines = np.bincount(item_codes, minlength=n_items)
        rank = np.arange(len(order)) - (np.cumsum(n_lines) - n_lines)[item_codes[order]]
        slots = []
        for k in range(int(n_lines.max(initial=0))):
            at = order[rank == k]
            slots.append((item_codes[at], cell[at], h[at]))
        return cls(n_lines, tuple(slots))

    def pair_sums(self, pa: np.ndarray, pi: np.ndarray, cell_ok: np.ndarray,
                  cell_fit: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per pair, the item's hours the agent is qualified for (integers, as the lines'),
        those hours weighted by the agent's fit (summed over the item's lines in their order),
        and the positions of the pairs whose item has more than one line."""
        if not self.slots:  # (no items, no pairs)
            return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype=np.int64)
        n_cells = cell_ok.shape[1]
        ok, fit = cell_ok.ravel(), cell_fit.ravel()
        flat = pa * n_cells + self.slots[0][1][pi]  # (slot 0 holds every item, in order)
        hours = ok[flat] * self.slots[0][2][pi]
        fitted = hours * fit[flat]
        multi = sel = np.flatnonzero(self.n_lines[pi] > 1)
        for k, (items, cells, h) in enumerate(self.slots[1:], start=1):
            if k > 1:
                sel = sel[self.n_lines[pi[sel]] > k]
            at = np.empty(len(self.n_lines), dtype=np.int64)  # item -> its slot-k line
            at[items] = np.arange(len(items))
            line = at[pi[sel]]
            flat = pa[sel] * n_cells + cells[line]
            served = ok[flat] * h[line]
            hours[sel] += served
            fitted[sel] += served * fit[flat]
        return hours, fitted, multi

    def any_served(self, cell_ok: np.ndarray) -> np.ndarray:
        """(A, I): the agent is qualified for at least one line of the item with hours."""
        out = None
        for items, cells, h in self.slots:
            served = np.take(cell_ok, cells, axis=1) & (h > 0)[None, :]
            if out is None:
                out = served  # (slot 0 holds every item, in order)
            else:
                out[:, items] |= served
        return out if out is not None else np.zeros((cell_ok.shape[0], 0), dtype=bool)


class _Pairs:
    """An instance's agent x item pairs, by agent then item, with their hours."""

    def __init__(self, agent: np.ndarray, item: np.ndarray, hours: np.ndarray, n_items: int):
        self.agent, self.item, self.hours, self.n_items = agent, item, hours, n_items
        self.keys = agent * n_items + item  # ascending

    def find(self, agent: np.ndarray, item: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Position of each pair (agent, item), and whether it is one (agent -1: never)."""
        agent, item = np.asarray(agent), np.asarray(item)
        want = agent * self.n_items + item
        if not len(self.keys):
            return np.zeros(len(want), dtype=np.int64), np.zeros(len(want), dtype=bool)
        order = np.argsort(want, kind="stable")  # (sorted, the search is 4 times faster)
        at = np.empty(len(want), dtype=np.int64)
        at[order] = np.minimum(np.searchsorted(self.keys, want[order]), len(self.keys) - 1)
        return at, (agent >= 0) & (self.keys[at] == want)

    def hours_at(self, agent: np.ndarray, item: np.ndarray) -> np.ndarray:
        """Hours of the pairs (agent, item); 0 where there is no such pair."""
        at, found = self.find(agent, item)
        return np.where(found, self.hours[at], 0.0) if len(self.keys) else np.zeros(len(at))


def _agent_item_pairs(work: _ItemLines, cell_ok: np.ndarray, cell_fit: np.ndarray,
                      item_hours: np.ndarray, allow_unmet: bool,
                      same_team: np.ndarray | None, cheapest=None
                      ) -> tuple[_Pairs, np.ndarray, np.ndarray]:
    """The pairs an agent may take (some of the item's hours where unmet hours are allowed,
    all of them otherwise) with their hours served, each pair's misfit hours, and (A, I)
    which agents can serve all of an item; with `cheapest`, only the pairs it keeps of the
    (A, I) agents that may take an item."""
    may = work.any_served(cell_ok)
    if not allow_unmet:
        may[:, item_hours == 0] = True  # (an item of no hours is served whole by anyone)
    if same_team is not None:
        may &= same_team
    if cheapest is not None:
        may = cheapest(may)
    flat = np.flatnonzero(may)
    pa, pi = np.divmod(flat, len(item_hours))
    hours, fitted, multi = work.pair_sums(pa, pi, cell_ok, cell_fit)
    # a pair of a one-line item serves all of it (or it would not be one)
    part = multi[~np.isclose(hours[multi], item_hours[pi[multi]])]
    full = may
    full.ravel()[flat[part]] = False
    misfit = hours - fitted
    if not allow_unmet:
        whole = np.ones(len(pa), dtype=bool)
        whole[part] = False
        pa, pi, hours, misfit = pa[whole], pi[whole], hours[whole], misfit[whole]
    return _Pairs(pa, pi, hours, len(item_hours)), misfit, full


def allocation_instance(p: Problemset, line_idx: np.ndarray, agents: np.ndarray,
                        is_manager: np.ndarray, joint: bool = False,
                        quotas: np.ndarray | None = None,
                        agent_team: np.ndarray | None = None,
                        cheapest_kept: bool = False) -> tuple[AllocationInstance, Items]:
    """Items = (account, function, team) groups of the given lines; agents = the given reps.
    With `joint`, bands and balance are left to the org part. With `agent_team` (the team of
    each agent), an item goes only to agents of its own team (several teams in one model).
    `quotas` (agents x classes,
    scaled hours from stage 1) steer the hint: each item goes to a rep with quota left in its
    class, its current owner first. With `cheapest_kept` (a re-plan that keeps relationships
    first: `keeps_owners_first`), an item whose owner in the team keeps more of it than anyone
    else would has only its cheapest continuity choices (`_cheapest_continuity`): the
    choices a proof of that level leaves (models.allocation.narrow_to_first_level), or more,
    without building the rest (XL's individuals team: 8.8 million pairs). It stands for the
    whole team only where a start proves that level on it (models.allocation.
    first_level_start), as each item's cheapest choice is the whole team's."""
    lines = p.lines.iloc[line_idx]
    item_codes, item_keys = pd.factorize(lines["item"].to_numpy())
    n_items = len(item_keys)
    cell = lines["cell"].to_numpy()
    h = lines["h"].to_numpy()
    cell_ok = p.cell_qualified[agents]
    item_hours = np.bincount(item_codes, weights=h, minlength=n_items)
    same_team = None
    if agent_team is not None:
        item_team = np.zeros(n_items, dtype=np.int64)
        item_team[item_codes] = lines["team"].to_numpy()
        same_team = np.asarray(agent_team)[:, None] == item_team[None, :]
    allow = p.scenario.rules.allow_unmet
    owner = lines["owner"].to_numpy()
    pot = lines["potential"].to_numpy() * (owner >= 0)
    owned_pot = np.bincount(item_codes, weights=pot, minlength=n_items)
    work = _ItemLines.of(item_codes, cell, h, n_items)
    kept_by = _owners_kept(owner, pot, item_codes, n_items, cell_ok, cell, agents)
    cheapest = None
    if cheapest_kept:
        cheapest = partial(_cheapest_continuity, p, kept_by=kept_by, owned_pot=owned_pot,
                           work=work, cell_ok=cell_ok, cell_fit=p.cell_fit[agents],
                           item_hours=item_hours, allow_unmet=allow)
    pairs, misfit, full = _agent_item_pairs(work, cell_ok, p.cell_fit[agents], item_hours,
                                            allow, same_team, cheapest)
    pa, pi, pair_hours = pairs.agent, pairs.item, pairs.hours
    item_function = np.zeros(n_items, dtype=object)
    item_function[item_codes] = lines["function"].to_numpy()
    functions, function_of_item = np.unique(item_function.astype(str), return_inverse=True)
    off = _off_preference(p, np.repeat(agents, len(functions)),
                          np.tile(functions, len(agents))).reshape(len(agents), len(functions))
    unmet_h = item_hours[pi] - pair_hours
    kept = _kept_potential(kept_by, pairs)
    terms = {
        "unmet": AllocTerm(pair=p.coef("unmet", unmet_h), unassigned=p.coef("unmet", item_hours)),
        "fit": AllocTerm(pair=p.coef("fit", misfit)),
        # an item's lines share its function (items are account x function x team)
        "preferences": AllocTerm(pair=p.coef("preferences",
                                             pair_hours * off[pa, function_of_item[pi]])),
        "continuity": AllocTerm(pair=p.coef("continuity", owned_pot[pi] - kept),
                                unassigned=p.coef("continuity", owned_pot)),
    }
    if not joint:
        terms["balance"] = AllocTerm(deviation=p.coef("balance", np.ones(len(agents))))
    item_account_global = np.zeros(n_items, dtype=np.int64)
    item_account_global[item_codes] = lines["account"].to_numpy()
    local_accounts, item_account = np.unique(item_account_global, return_inverse=True)
    if "travel" in p.norms:
        cost = p.company.travel_cost_matrix(agents, local_accounts).T  # accounts x agents
        terms["travel"] = AllocTerm(travel=p.coef("travel", cost))
    terms = {k: v for k, v in terms.items() if _active(v)}
    lo = np.where(is_manager, p.mgr_lo[agents], p.rep_lo[agents])
    hi = np.where(is_manager, p.mgr_hi[agents], p.rep_hi[agents])
    target = np.where(is_manager, p.mgr_target[agents], p.rep_target[agents])
    if joint:
        lo, hi = np.zeros_like(lo), np.maximum(p.rep_hi[agents], p.mgr_hi[agents])
    inst = AllocationInstance(
        fixed_agent=_pinned_agents(p, lines, item_codes, n_items, agents, pairs),
        agent_lo=lo, agent_hi=hi, pair_item=pi.astype(np.int64, copy=False),
        pair_agent=pa.astype(np.int64, copy=False),
        pair_weight=pair_hours.astype(np.int64, copy=False),
        item_optional=np.full(n_items, allow), terms=terms, agent_target=target,
        item_account=item_account.astype(np.int64),
        extensions=tuple(account_extension(p, c, local_accounts, agents)
                         for c in p.scenario.custom if c.accounts),
        hint_agent=_hint_agents(lines, item_codes, n_items, agents, full, quotas,
                                owners_first=(hi, pairs)
                                if p.levels and "continuity" in p.levels[0] else None))
    return inst, Items(np.asarray(line_idx), item_codes, agents, cell, cell_ok)


def keeps_owners_first(p: Problemset) -> bool:
    """Whether stage 2 solves by strict priorities with continuity alone first (a re-plan that
    keeps relationships first: planner.whatif.minimal_disruption), without pinned accounts or
    custom rules on accounts: its teams may be built with their cheapest continuity choices
    only (`allocation_instance`)."""
    return (p.levels is not None and len(p.levels) > 1 and p.levels[0] == ("continuity",)
            and p.scenario.objective.tolerance == 0 and not p.pins.account_rep
            and not any(c.accounts for c in p.scenario.custom))


def _owners_kept(owner: np.ndarray, pot: np.ndarray, item_codes: np.ndarray, n_items: int,
                 cell_ok: np.ndarray, cell: np.ndarray, agents: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(agent, item, potential kept) of each agent who owns some of an item's lines today and
    is qualified for them (a line has one owner: a sum over lines, in their order, not over
    agents x lines)."""
    a = _agent_index(agents, owner)
    lines = np.nonzero(a >= 0)[0]
    lines = lines[cell_ok[a[lines], cell[lines]]]
    keys, at = np.unique(a[lines] * n_items + item_codes[lines], return_inverse=True)
    kept = np.zeros(len(keys))
    np.add.at(kept, at, pot[lines])
    agent, item = np.divmod(keys, n_items)
    return agent, item, kept


def _cheapest_continuity(p: Problemset, may: np.ndarray, kept_by: tuple, owned_pot: np.ndarray,
                         work: _ItemLines, cell_ok: np.ndarray, cell_fit: np.ndarray,
                         item_hours: np.ndarray, allow_unmet: bool) -> np.ndarray:
    """`may` without the pairs that cost more continuity than an owner's pair that will be
    one (qualified for all of the item where unmet hours are not allowed): an item whose
    owner keeps more of it than anyone else goes to that owner, or to another owner who
    keeps as much. Everyone else keeps nothing of it and costs what leaving it does; an
    item none of whose owners keeps more keeps every choice."""
    agent, item, kept = kept_by
    is_pair = may[agent, item]
    if not allow_unmet and len(agent):  # (a pair must serve all of a multi-line item)
        hours = work.pair_sums(agent, item, cell_ok, cell_fit)[0]
        is_pair &= (work.n_lines[item] == 1) | np.isclose(hours, item_hours[item])
    agent, item, kept = agent[is_pair], item[is_pair], kept[is_pair]
    cost = p.coef("continuity", owned_pot[item] - kept)  # (as the term's pairs)
    nobody = p.coef("continuity", owned_pot)  # (anyone else's pair, or none)
    best = nobody.copy()
    np.minimum.at(best, item, cost)
    owned = best < nobody
    out = may.copy()
    out[:, owned] = False
    cheapest = owned[item] & (cost == best[item])
    out[agent[cheapest], item[cheapest]] = True
    return out


def _kept_potential(kept_by: tuple, pairs: _Pairs) -> np.ndarray:
    """Per pair, the potential of the item's lines the agent owns today and is qualified for
    (`_owners_kept`); 0 for the others."""
    agent, item, kept = kept_by
    out = np.zeros(len(pairs.keys))
    at, found = pairs.find(agent, item)
    out[at[found]] = kept[found]
    return out


def _agent_index(agents: np.ndarray, reps: np.ndarray) -> np.ndarray:
    """Each rep's position among the agents; -1 for a rep who is not one (and for -1,
    nobody)."""
    size = max(int(np.max(reps, initial=0)), int(np.max(agents, initial=0))) + 2
    position = np.full(size, -1, dtype=np.int64)  # (-1 reads the last entry, never an agent)
    position[agents] = np.arange(len(agents))
    return position[reps]


def _pinned_agents(p: Problemset, lines: pd.DataFrame, item_codes: np.ndarray, n_items: int,
                   agents: np.ndarray, pairs: _Pairs) -> np.ndarray | None:
    """Items of pinned accounts, in the team the pin chose, go to the pinned rep."""
    if not p.pins.account_rep:
        return None
    agent_of_rep = {int(r): a for a, r in enumerate(agents.tolist())}
    fixed = np.full(n_items, -1, dtype=np.int64)
    for code, account, team in zip(item_codes, lines["account"].to_numpy(),
                                   lines["team"].to_numpy()):
        rep = p.pins.account_rep.get(int(account))
        if rep is None or p.pins.account_team[int(account)] != team:
            continue
        agent = agent_of_rep.get(rep)
        if agent is None:
            continue  # the rep sits elsewhere (only in a joint item list): x decides
        if not pairs.find(np.array([agent]), np.array([code]))[1][0]:
            rules = p.scenario.rules
            raise ScenarioError(Problem(
                f"account {p.company.accounts['account_id'].iat[int(account)]} is pinned to "
                f"{p.company.reps['rep_id'].iat[rep]}, who is not qualified for its "
                f"{lines['function'].to_numpy()[item_codes == code][0]} work there (proficiency "
                f">= {rules.min_proficiency:g} in function and product"
                f"{', level >= %d for key accounts' % rules.senior_level if rules.key_accounts_senior else ''})",
                file=p.scenario.source, column="rules.pins.accounts"))
        fixed[code] = agent
    return fixed if (fixed >= 0).any() else None


def _hint_agents(lines: pd.DataFrame, item_codes: np.ndarray, n_items: int, agents: np.ndarray,
                 full: np.ndarray, quotas: np.ndarray | None,
                 owners_first: tuple[np.ndarray, _Pairs] | None = None) -> np.ndarray:
    """Each item's hint among the agents qualified for all of it (`full`, agents x items).
    Without quotas: the agent who owns most of its hours today. With stage 1's quotas (agents
    x classes): first every item stays with its current owner while the owner's total quota
    lasts (continuity), then the rest go, biggest first, to the agent with the most quota left
    in the item's class. Where continuity comes first, `owners_first` = (each agent's band
    maximum, the instance's pairs): owners keep items up to their band maximum rather than
    their quota (stage 1 does not split hours by who owns what), items they are qualified for
    only in part too (a plan may have left them so), and no agent is hinted past its
    maximum."""
    hours, cls, owner = _item_hours_class_owner(lines, item_codes, n_items)
    owner_agent = _agent_index(agents, owner)
    hint = np.full(n_items, -1, dtype=np.int64)
    order = np.argsort(-hours, kind="stable")
    owned = order[owner_agent[order] >= 0]
    a = owner_agent[owned]
    if quotas is None:
        keep = full[a, owned]
        hint[owned[keep]] = a[keep]
        return hint
    # each class's quota left by agent, a row per class (`_most_quota_left` reads a row)
    left = np.array(quotas.T, dtype=float, order="C")
    if owners_first is None:
        total_left, need = left.sum(axis=0), hours[owned].astype(float)
        keep = full[a, owned]
    else:
        room, pairs = owners_first
        total_left, need = room.astype(float).copy(), pairs.hours_at(a, owned)
        keep = need > 0
    owned, a, need = owned[keep], a[keep], need[keep]
    kept = _keep_within(a, need, total_left)
    hint[owned[kept]] = a[kept]
    np.subtract.at(left, (cls[owned[kept]], a[kept]), need[kept])
    if len(agents):
        rest = order[hint[order] < 0]
        # (past the band maximum the repair would move owned items)
        hint[rest] = _most_quota_left(rest, cls, hours, full, left, total_left,
                                      owners_first is not None)
    return hint


def _item_hours_class_owner(lines: pd.DataFrame, item_codes: np.ndarray, n_items: int
                            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each item's hours (its lines' sum), class (its first line's) and owner today: who owns
    its largest owned line (its largest line may be new work nobody owns yet; -1: none). (By
    arrays: with pandas' groupby and sort, M's repair spent 0.2 of its 1.3 s here.)"""
    h, cls = lines["h"].to_numpy(), lines["cls"].to_numpy()
    owner = lines["owner"].to_numpy()
    hours = np.bincount(item_codes, weights=h, minlength=n_items)
    if np.issubdtype(h.dtype, np.integer):
        hours = hours.round().astype(h.dtype)
    item_cls = np.zeros(n_items, dtype=cls.dtype)
    present, first = np.unique(item_codes, return_index=True)
    item_cls[present] = cls[first]
    # owned lines first, then the largest; of equals, the first
    ranked = np.lexsort((-h, -(owner >= 0).astype(np.int64)))
    present, first = np.unique(item_codes[ranked], return_index=True)
    item_owner = np.full(n_items, -1, dtype=np.int64)
    item_owner[present] = owner[ranked[first]]
    return hours, item_cls, item_owner


def _most_quota_left(items: np.ndarray, cls: np.ndarray, hours: np.ndarray,
                     qualified: np.ndarray, left: np.ndarray, total_left: np.ndarray,
                     within_room: bool) -> np.ndarray:
    """Each item in turn to the agent qualified for it (`qualified`, agents x items) with the
    most quota left in its class (`left`, classes x agents; the first of equals), and with room
    for it (`total_left`) if `within_room`; -1 where none has quota left. Each class keeps its
    agents in a heap by quota left (XL's individuals team, 90,000 items: 0.20 s, 0.53 s by a
    scan of every agent per item); an entry whose quota has since fallen is dropped when met.
    Quotas and room are Python lists and qualification bytes, read an entry at a time (with
    numpy's scalar reads and the items x agents copy they wanted, XL's teams took 1.6 s);
    `left` and `total_left` are read, not changed."""
    heaps: dict[int, list] = {}
    quotas: dict[int, list] = {}
    n_items = qualified.shape[1]
    able = np.ascontiguousarray(qualified, dtype=bool).tobytes()
    room = total_left.tolist()
    out = np.full(len(items), -1, dtype=np.int64)
    for n, (item, c, need) in enumerate(zip(items.tolist(), cls[items].tolist(),
                                            hours[items].tolist())):
        quota = quotas.get(c)
        if quota is None:
            quota = quotas[c] = left[c].tolist()
            heaps[c] = [(-q, a) for a, q in enumerate(quota) if q > 0]
            heapq.heapify(heaps[c])
        heap = heaps[c]
        passed, a = [], -1
        while heap and len(passed) <= HEAP_PASSES:
            q, b = heap[0]
            if -q != quota[b]:
                heapq.heappop(heap)  # (stale)
            elif able[b * n_items + item] and (not within_room or room[b] >= need):
                a = b
                break
            else:
                passed.append(heapq.heappop(heap))
        for entry in passed:
            heapq.heappush(heap, entry)
        if len(passed) > HEAP_PASSES:  # many agents without room: one look at them all
            quota_now = np.array(quota)
            fits = qualified[:, item] & (quota_now > 0)
            if within_room:
                fits &= np.array(room) >= need
            a = int(np.where(fits, quota_now, -np.inf).argmax())
            a = a if fits[a] else -1
        if a < 0:
            continue
        out[n] = a
        quota[a] -= need
        room[a] -= need
        if quota[a] > 0:
            heapq.heappush(heap, (-quota[a], a))
    return out


def _keep_within(agent: np.ndarray, need: np.ndarray, room: np.ndarray) -> np.ndarray:
    """Which items (in the order given) their agents keep, each agent taking its items in
    turn while they fit in what is left of its `room` (reduced here by what is kept). Until an
    agent's first item that does not fit, its items are kept at once (a running sum); from
    there on one by one (XL's individuals team: 84,000 of 93,000 items kept, a loop of
    0.5 s under the line profiler)."""
    by = np.argsort(agent, kind="stable")
    a, n = agent[by], need[by]
    starts = np.flatnonzero(np.r_[True, a[1:] != a[:-1]]) if len(a) else np.zeros(0, int)
    group = np.cumsum(np.r_[False, a[1:] != a[:-1]]) if len(a) else np.zeros(0, int)
    running = np.cumsum(n)
    running -= (running - n)[starts][group]
    fits = running <= room[a]
    first_miss = np.full(len(starts), len(a))
    miss = np.flatnonzero(~fits)
    np.minimum.at(first_miss, group[miss], miss)
    prefix = np.arange(len(a)) < first_miss[group]
    kept = np.zeros(len(agent), dtype=bool)
    kept[by[prefix]] = True
    np.subtract.at(room, a[prefix], n[prefix])
    for i in np.sort(by[~prefix]).tolist():
        if room[agent[i]] >= need[i]:
            kept[i] = True
            room[agent[i]] -= need[i]
    return kept


def line_reps(items: Items, item_agent: np.ndarray) -> np.ndarray:
    """Rep of every line of the instance (-1 where unmet: no agent, or one not qualified)."""
    if not len(items.agents):
        return np.full(len(items.lines), -1, dtype=np.int64)
    agent = np.maximum(item_agent[items.line_item], 0)
    ok = (item_agent[items.line_item] >= 0) & items.cell_ok[agent, items.line_cell]
    return np.where(ok, items.agents[agent], -1)


def joint_instance(p: Problemset) -> tuple[JointInstance, Items]:
    """The whole problem in one model (small instances only)."""
    org = org_design_instance(p, joint=True)
    agents = np.arange(p.n_reps)
    alloc, items = allocation_instance(p, np.arange(len(p.lines)), agents,
                                       np.zeros(p.n_reps, dtype=bool), joint=True)
    item_team = np.zeros(alloc.n_items, dtype=np.int64)
    item_team[items.line_item] = p.lines["team"].to_numpy()
    return JointInstance(org, alloc, item_team), items


