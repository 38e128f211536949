"""Stage 2, account allocation: items (an account's lines of one function in one team) to
agents (the team's reps), one agent per item, each agent's load inside its band.

At its core a generalized assignment problem (effort may depend on the agent), with optional
items, load balance and travel counted once per distinct (account, agent) pair. The same pieces
build the joint model's allocation part.
"""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from functools import partial
from typing import Callable

import numpy as np
from ortools.sat.python import cp_model

from models.arrays import distinct
from models.cpsat import add_hints_at_once, solve_levels, solve_summed
from models.instances import (AllocationInstance, AllocSolution, AllocTerm, FlowChoice,
                              SolveSettings, SpareWorker)
from models.extensions import CUSTOM_TERM, Handles, apply_extensions
from models.account_moves import gather_accounts
from models.item_moves import QUICK_FROM_PAIRS, descent_least_seconds, improve_by_moves
from models.allocation_bound import (MIN_EXACT_STEPS, MIN_EXACT_STEPS_FROM_PRICES, LagrangeBound,
                                     lagrangian_bound, may_beat, priced_plan, tighten)
from models.allocation_flow import flow_applies, flow_choices, flow_core
from models.block_flow import block_flow_plan, block_pairs, blocks_of
from models.grouping_prices import grouping_prices
from models.allocation_lns import improve_by_neighbourhoods, level_terms, plan_cost, solve_sub
from models.allocation_mip import MIP_MARGIN_SECONDS, MipSolve, mip_applies
from models.load_knapsack import applies as knapsack_applies, knapsack_bound
from models.knapsack_moves import applies as knapsack_moves_apply, improve_by_knapsack_moves
from models.allocation_proto import summed_model
from models.band_repair import priced_repair
from models.warm_start import improve_allocation, repair_allocation, serve_unassigned

#: Share of a team's time the local search may use before CP-SAT polishes its plan (it stops
#: earlier when nothing improves; CP-SAT proves small teams optimal, large ones it rarely
#: improves in seconds).
LOCAL_SEARCH_SHARE = 0.5
CAP_STRESS = 1000
#: Share of the time CP-SAT gets first; the neighbourhood search has the rest. (Giving CP-SAT
#: the last 25 % again, with the search's plan as hint, gained nothing on the GAP benchmark.)
CPSAT_SHARE = 0.15
#: CP-SAT's least time once a hinted team's start is repaired: on teams of up to
#: CPSAT_PROVES_PAIRS pairs it often proves the plan optimal within it (S: its teams of 58-914
#: pairs, at 0.2 s), on larger ones its short run is mostly set-up (M key-account hybrid's
#: teams of 2,000-4,500 pairs asked for 0.03 s took 0.26 s at a 0.2 s least, with plans alike)
CPSAT_MIN_SECONDS = (0.2, 0.05)
CPSAT_PROVES_PAIRS = 2_000
#: ... and what CP-SAT gets even where its team's time is spent before it starts
CPSAT_ALWAYS_SECONDS = 0.01
LNS_MIN_AGENTS = 3
#: the most a team of two reps spends on its whole-items bound (`_knapsack_bounded`)
KNAPSACK_SECONDS = 0.06
#: a team the knapsack moves apply to (models.knapsack_moves): the share of its time they get
#: after its start's descent (three reps), and the share CP-SAT gets before them (two reps)
KNAPSACK_MOVES_SHARE = 0.5
KNAPSACK_MOVES_CPSAT_SHARE = 0.5
#: Above this many item x agent pairs a team skips CP-SAT's whole model (building it alone
#: takes seconds per team, and CP-SAT barely moves in the time left): its plan is the repaired
#: hint improved by the neighbourhood search, its bound the cheapest agent of each item.
LNS_ONLY_PAIRS = 100_000
#: Building CP-SAT's whole model of a team through cp_model's objects takes about this long per
#: item x agent pair (measured on the generated companies: 4 s for 257,000 pairs)
BUILD_SECONDS_PER_PAIR = 1.6e-5
MIN_SECONDS = 0.2
#: the least time the neighbourhood search after CP-SAT is started with: less than
#: MIN_SECONDS, since CP-SAT's least time (`cpsat_least_seconds`) may leave a short polish
#: only that much (S key-account hybrid's team of 3 reps, 124 pairs, polished for 0.41 s:
#: CP-SAT took 0.2 s, and at seeds 0-3 the solve ended there at 358.9 / 358.7 / 357.2 /
#: 357.2 M; searching the rest, 355.7 / 357.4 / 357.2 / 357.2 M)
SEARCH_MIN_SECONDS = 0.05
#: Whether CP-SAT presolves the summed whole model (`_whole_model`). Off: its presolve gains
#: little on this model and costs time its search then lacks. S region x function's
#: understaffed team (914 pairs, 5 agents, its start 7.8 % above its bound), one worker,
#: three seeds: within 0.1 % of its bound in 0.09 s rather than 0.20-0.45 s; M's largest
#: teams (21,000-56,000 pairs) given 1 s found no plan with it, their hint without it. (The
#: GAP benchmark and the size ladder before and after: see the README.)
SUMMED_PRESOLVE = False
#: Share of a team's time its start may spend serving unassigned items by chains of moves
#: (models.warm_start.serve_unassigned), if its data for them (about SERVE_SECONDS_PER_PAIR
#: per pair to set up) fits in it
SERVE_SHARE = 0.05
SERVE_SECONDS_PER_PAIR = 4e-7
#: Beside the Lagrangian relaxation (which may not converge in a team's time), the bound
#: with one price on the team's whole capacity (`capacity_bound`) is computed in
#: CAPACITY_BOUND_STEPS steps if they take (about CAPACITY_SECONDS_PER_PAIR per pair) at most
#: CAPACITY_BOUND_SHARE of the team's time, unless the relaxation took at least as many steps:
#: then it is far below the relaxation's (XL region x function's six largest teams: 64-196 M
#: against 118-244 M, after 0.1-1.3 s the search then has)
CAPACITY_BOUND_STEPS = 30
CAPACITY_SECONDS_PER_PAIR = 3e-7
CAPACITY_BOUND_SHARE = 0.1
#: Share of a team's time the Lagrangian relaxation and its priced plans may take (on small
#: teams they are done well before: 200 steps take 0.25 s on the GAP benchmark's largest
#: instance). Measured on the M company at 10 s: a tenth of the time left the bound
#: unconverged and the starts poor (stage-2 gap 42 %); half of it, 22 % (before the priced
#: plans, which took it to 16 %).
BOUND_SHARE = 0.5
#: The same above LNS_ONLY_PAIRS pairs, where the neighbourhood search gains little and the
#: priced plan is the start: XL region x function's teams of 3.3-5.3 million pairs at their
#: times, 0.5 -> 0.7: East service 256.1 -> 246.8 M (bound 243.8 -> 245.0), East farming
#: 162.2 -> 161.5 M (155.3 -> 159.6), South farming 119.8 -> 119.1 M; teams of 0.4-2.3 million
#: pairs the same or up to 2.4 M lower
BOUND_SHARE_LARGE = 0.7
#: Share of the time a team solved by priorities gives its first priority alone (relaxation,
#: CP-SAT, neighbourhood search) before CP-SAT takes every priority from that plan
FIRST_LEVEL_SHARE = 0.5
#: One round of the relaxation, its priced plan and that plan's repair takes about this long
#: per item x agent pair (measured on the XL company: 3.5 s for a team of 5.8 M pairs)
RELAX_SECONDS_PER_PAIR = 6e-7
#: share of a team's time for the box steps that raise its bound (they stop earlier at the
#: relaxation's optimum). M region x function's 15 teams at their own times, 3 runs each: with
#: 0.1 the plans' total within 0.5 % of before and the bounds' 3 % higher; with 0.2 the bounds
#: 0.2 % higher still, but 3 of 6 runs' plans 2-5 % worse (less time for the search)
TIGHTEN_SHARE = 0.1
#: ... but at least this long: a team given 0.2 s got 0.02 s of them and a bound that varied
#: from run to run (M's key-account Analytics team: 300.5-324.6 M; with 0.06 s 328.6 M, its
#: relaxation's optimum, every run)
TIGHTEN_MIN_SECONDS = 0.06
#: The neighbourhood search hands over to CP-SAT on the pairs reduced-cost fixing leaves
#: (`_search_then_finish`) after this share of the time limit without a better plan, when
#: the fixing leaves at most FIXED_SHARE of the pairs
STALL_SHARE = 0.15
FIXED_SHARE = 0.6
#: ... and is asked once, stall or not, when this share of the time limit is gone: a search
#: that keeps finding small gains never stalls (GAP e20200 at 60 s: 22395 -> 22389 in steps
#: between 31 and 48 s, behind the optimum 22379, which CP-SAT on the 33 % of the pairs the
#: fixing keeps at 23 s proves in 10 s)
ASK_SHARE = 0.4
#: ... in solves of this long or more: CP-SAT needs seconds on the pairs kept, and in company
#: solves, whose teams get a few seconds each, it cost M's plans (three runs each, region x
#: function / key-account hybrid: 15.35-15.39 / 21.13-21.26 -> 15.44-15.50 / 21.31-21.38)
ASK_MIN_SECONDS = 10.0
#: Where reduced-cost fixing against the neighbourhood search's start keeps this share of the
#: pairs or more, the search takes the worker SCIP holds beside it (`_claims_spare_worker`).
#: The GAP benchmark's instances with SCIP beside at 60 s: the D ones of 10 agents or more keep
#: every pair (SCIP alone on one core ended them 0.4-1.9 % above the best known), the C and E
#: ones 0.40-0.90 and d05100 0.87 (SCIP proves e20100 and e10100 there)
CLAIM_KEPT_SHARE = 0.95
#: Share of a team's time (counted from its start) by which CP-SAT on the divisible
#: allocation's core must be done (`_core_start`), the core taken from CORE_ROUNDS flows
CORE_SHARE = 0.3
CORE_ROUNDS = 3
#: ... and the least time worth giving that search, on teams of more than CORE_MIN_PAIRS
CORE_MIN_SECONDS = 0.03
CORE_MIN_PAIRS = CPSAT_PROVES_PAIRS
#: the least time the flow's rounding may take to be priced under the maxima
PRICED_MIN_SECONDS = 0.01
#: The least time, per pair, the plan priced at the flow's prices may take to be brought
#: under the maxima, past the team's share where its flow took that (`_relax_and_start`):
#: it is the team's best start by far. XL region x function's teams of 1.7 and 5.5 million
#: pairs, in whole runs at 120 s, spent 5.2 and 10.3 s of their 6.7 and 17.5 s on the flow
#: (3.7 and 8.1-8.3 s alone), and their priced plans got next to no time: 111.3 M and 178.1 M
#: for bounds of 94.1 M and 165.6 M (gaps 15 % and 7 %). Priced to the end, which took 0.33
#: and 0.74 s (1.9e-7 and 1.3e-7 s a pair), they cost 94.6 M and 166.2 M.
PRICED_SECONDS_PER_PAIR = 3e-7
#: The flow is solved where it takes at most FLOW_SHARE of a team's time, at about
#: FLOW_SECONDS_PER_PAIR (measured: 2.0 s for XL's East hunting team, 1.7 million pairs; by
#: column generation above 2 million, 2.6 s for L's individuals team, 2.7 million, and
#: 14-18 s for XL's, 9-11 million)
FLOW_SHARE = 0.4
#: ... and FLOW_SHARE_LARGE on teams above LNS_ONLY_PAIRS, whose relaxation then runs from the
#: flow's prices; without the flow it runs from nothing, and on a large team short of people
#: its steps stay far below: XL region x function's East farming team of one design (5.1
#: million pairs, the flow 5.1-5.6 s) at 17.6 s, its time in a whole run, skipped the flow
#: (7.6 s estimated against 7.0 s) and ended at 678.3 M with a bound of 122.0 M (stage-2 gap
#: 21-24 % in three runs at 120 s); with the flow, 662.6 M and 654.9 M in 18.1 s, and at 14 s
#: 663.7 M and 654.9 M in 14.1 s (715.6 M and 122.0 M without); at 12.8 s, the same in 13.1 s.
#: Raised from 0.6: above 2 million pairs the column generation stopped where another solve
#: would pass that share, and its duals were not yet the optimum's, nor its priced plan near
#: the bound: XL region x function's team of 3.6 million pairs, alone, all 7 solves in 9.8 s,
#: its priced plan 248.8 M (bound 247.2 M), after 6 solves 254.2 M, after 5 313.2 M; at its
#: time in whole runs (14.4 s, 11.5 s alone for the run's slower solves) 250.5 / 259.7 M with
#: 0.6, 248.2 / 254.1 M with 0.8. Whole runs at 120 s, alternated: stage-2 gaps 2.1-5.2 % ->
#: 0.36-0.52 %, plans 14.64-14.74 -> 14.25-14.41 (three each)
FLOW_SHARE_LARGE = 0.8
FLOW_SECONDS_PER_PAIR = 1.5e-6
#: ... and this for a team solved beside the process's other work (`beside_others`), whose
#: flows are solved in a child process (models.flow_apart: a solve holds Python's lock for
#: its whole length, and in this process it stopped the building and sending of the other
#: teams: the solves at 120 s ended at 124-132 s): about the time of 3 of its column
#: generation's solves, after which the duals are near the end's (`flow_choices`' deadline
#: stops it there). XL key-account hybrid's individuals team (12.0-12.3 million pairs) took
#: 33.1-40.6 s for its whole flow in whole runs at 120 s (4-5 solves of 5.2-6.7 s), against
#: 26.7-29.0 s alone, and the team 51.4-58.7 s of its 44.8-46.9 s (plans 257-331 M, bounds
#: 185-226 M, against 586-699 M and 78-81 M without a flow); stopped by the deadline after 3
#: solves and with START_SECONDS_PER_PAIR, 23.7 s, and the team 46.2 s of its 46.1 s (257.4 M,
#: a bound of 180.4 M; the whole solve 119.15 s)
FLOW_SECONDS_PER_PAIR_BESIDE = 2.0e-6
#: What each of a team's starts takes beside its time share (the hint's repair; for each run of
#: the relaxation, building its data, its result and the repair of its priced plan), per pair:
#: on XL key-account hybrid's individuals team (12.3 million pairs, one run) 12 s in all, where
#: the relaxation and the priced plan took 9.0 and 6.8 s of their 6.8 s each after its flow,
#: and the team 54.6 s of its 46.3 s
START_SECONDS_PER_PAIR = 5e-7
#: Teams above this many pairs go without the core's search (`_core_start`: its flows, one
#: column generation of several seconds each there, and its priced rounding is one more start
#: like the relaxation's), and gather their spread accounts first, straight after the
#: relaxation, for up to half the time left, and descend for the rest (`_gather_seconds`): the
#: neighbourhood search after them gains next to nothing. (Before, the gathering had all that
#: a descent after it did not need:)
#: XL key-account hybrid's individuals team (11.9 million pairs) alone at its 38.2 s: the
#: core's start took 2.4-2.9 s for no gain and the gathering found no time (341.5 M for a bound
#: of 229.9 M), and the search after it gained 0.004 M in 2.3 s; from its start (343.3 M) the
#: gathering took it to 299.7 M in 3 s and to 284.9 M at its end, 9.5 s. In whole runs at
#: 120 s, with stage 2's workers warm (planner.solve) and the flow settled sooner
#: (models.allocation_flow.SETTLED_SHARE_LARGEST): 284.9 M, the stage-2 gap 2.97 -> 1.80-1.98 %.
LARGEST_TEAM_PAIRS = 2_000_000
#: Teams of more than this many pairs also start from the block flow's plan (`_block_start`,
#: models.block_flow) where its estimate fits in BLOCK_FLOW_SHARE of what is left of their time
#: (at half, XL key-account hybrid's individuals team, its line flow slowed to 21.7 s, went
#: without it: 314.7 M for a bound of 287.5 M). From 2 million pairs until the thirty-seventh
#: session: XL key-account hybrid's teams of 0.06-2.3 million pairs, 26 solves stored from two
#: whole runs and solved alone at their times, plan - bound summed 31.15 -> 8.52 M (its
#: key-account teams at 1.0-1.3 s: 226.6 -> 218.3 M for a bound of 217.5 M, 202.4 -> 197.5 M
#: for 196.5 M), none dearer by more than 0.012 M; M's teams of 3,000-110,000 pairs, all
#: with it, 15.28 -> 15.00 M, one of 3,526 pairs 0.12 M dearer; not below 50,000, where S's
#: team of 914 pairs went from 359.3 to 364.9 M at its 0.12 s
BLOCK_FLOW_FROM_PAIRS = 50_000
BLOCK_FLOW_SHARE = 0.8
#: The prices of better groupings for a second block flow may take this share of what is left of
#: a team's time (models.grouping_prices: 9-11 s of XL key-account hybrid's individuals team),
#: where that and a block flow as long as the first fit in SECOND_BLOCKS_SHARE of it
GROUPING_SHARE = 0.35
SECOND_BLOCKS_SHARE = 0.7
#: Share of a team's time its start may spend gathering spread accounts on one of their reps
#: (models.account_moves; it stops at a pass that gains nothing)
GATHER_SHARE = 0.1
#: Share of a team's time its start may spend on the descent (models.item_moves: moves, swaps,
#: chains, re-chosen agents, whole accounts; it stops at a round that gains nothing): half
#: before the core's search (`_core_start`) where there is one, the rest after the gathering;
#: each at most half of what is left of the team's time (`_share_of_left`)
MOVES_SHARE = 0.2
#: A descent whose first pass does not fit in its share may take up to this share of what is
#: left of the team's time instead (`_descent_seconds`)
DESCENT_LEAST_OF_LEFT = 0.75
#: A team whose CP-SAT model would take more than this share of its time to build goes
#: without it (`skips_cpsat`): M region x function's East farming team (54,755 pairs) polished
#: for 2.4 s spent 1.2 s building and solving it for nothing and left no time for the search,
#: 7.9 M from its bound; without it, 5.3 M (0.5 before, 0.2 now)
BUILD_SHARE = 0.2


@dataclass
class AllocVars:
    z: list  # per pair, bool
    load: list  # per agent, expression
    travel_pairs: dict[tuple[int, int], object]  # (account, agent) -> bool var or z literal
    unassigned: dict[int, object]  # optional item -> bool "goes to nobody"


def add_assignment(model: cp_model.CpModel, inst: AllocationInstance) -> AllocVars:
    """z per allowed pair; each item to one agent (or at most one when optional); pins."""
    z = [model.new_bool_var(f"z_{i}_{a}") for i, a in zip(inst.pair_item.tolist(),
                                                          inst.pair_agent.tolist())]
    by_item: list[list] = [[] for _ in range(inst.n_items)]
    by_agent: list[list] = [[] for _ in range(inst.n_agents)]
    for p, (i, a, w) in enumerate(zip(inst.pair_item.tolist(), inst.pair_agent.tolist(),
                                      inst.pair_weight.tolist())):
        by_item[i].append(z[p])
        by_agent[a].append((int(w), z[p]))
        if inst.fixed_agent is not None and inst.fixed_agent[i] >= 0:
            model.add(z[p] == int(a == inst.fixed_agent[i]))
    unassigned = {}
    for i, zs in enumerate(by_item):
        if inst.item_optional[i]:
            unassigned[i] = model.new_bool_var(f"none_{i}")
            model.add(sum(zs) + unassigned[i] == 1)
        else:
            model.add_exactly_one(zs)
    load = [cp_model.LinearExpr.weighted_sum([v for _, v in pairs], [w for w, _ in pairs])
            if pairs else 0 for pairs in by_agent]
    travel_pairs = _travel_pairs(model, inst, z) if _has_travel(inst) else {}
    return AllocVars(z, load, travel_pairs, unassigned)


def _has_travel(inst: AllocationInstance) -> bool:
    return inst.item_account is not None and any(
        t.travel is not None and np.any(t.travel) for t in inst.terms.values())


def _travel_pairs(model: cp_model.CpModel, inst: AllocationInstance, z: list) -> dict:
    """One literal per distinct (account, agent): the z itself where the account has a single
    item, else a new bool that any of the account's z with that agent forces on."""
    pairs: dict[tuple[int, int], list] = defaultdict(list)
    for p, (i, a) in enumerate(zip(inst.pair_item.tolist(), inst.pair_agent.tolist())):
        pairs[int(inst.item_account[i]), a].append(z[p])
    out = {}
    for key, zs in pairs.items():
        if len(zs) == 1:
            out[key] = zs[0]
        else:
            served = model.new_bool_var(f"serves_{key[0]}_{key[1]}")
            for v in zs:
                model.add_implication(v, served)
            out[key] = served
    return out


def add_hints(model: cp_model.CpModel, inst: AllocationInstance, v: AllocVars,
              item_agent: np.ndarray, devs: list | None) -> None:
    """Hint a complete assignment: every z, the unassigned flags, the travel pairs and the
    deviations, so that CP-SAT can take it as its first solution."""
    chosen = item_agent[inst.pair_item] == inst.pair_agent
    add_hints_at_once(model, v.z, chosen.tolist())
    add_hints_at_once(model, list(v.unassigned.values()),
                      [item_agent[i] < 0 for i in v.unassigned])
    served = {}
    if v.travel_pairs and inst.item_account is not None:
        for i, a in enumerate(item_agent.tolist()):
            if a >= 0:
                served[int(inst.item_account[i]), a] = True
        for key, var in v.travel_pairs.items():
            if not isinstance(var, cp_model.IntVar) or var.name.startswith("serves_"):
                model.add_hint(var, served.get(key, False))
    if devs is not None:
        load = np.bincount(inst.pair_agent[chosen], weights=inst.pair_weight[chosen],
                           minlength=inst.n_agents)
        target = inst.agent_target if inst.agent_target is not None else np.zeros(inst.n_agents)
        add_hints_at_once(model, devs, np.abs(load - target).astype(np.int64).tolist())


def term_expr(term: AllocTerm, inst: AllocationInstance, v: AllocVars, devs: list | None):
    """The linear expression of one objective term."""
    parts: list = []
    constant = int(term.constant)
    if term.pair is not None:
        parts += [c * var for c, var in zip(term.pair.tolist(), v.z) if c]
    if term.unassigned is not None:
        parts += [int(term.unassigned[i]) * var for i, var in v.unassigned.items()
                  if term.unassigned[i]]
    if term.deviation is not None and devs is not None:
        parts += [int(c) * d for c, d in zip(term.deviation.tolist(), devs) if c]
    if term.travel is not None and v.travel_pairs:
        for (acc, a), lit in v.travel_pairs.items():
            c = int(term.travel[acc, a])
            if c:
                parts.append(c * lit)
    return cp_model.LinearExpr.sum(parts) + constant


def add_deviations(model: cp_model.CpModel, load: list, target: np.ndarray, hi: np.ndarray) -> list:
    devs = []
    for a, ld in enumerate(load):
        dev = model.new_int_var(0, int(max(hi[a], target[a])), f"dev_{a}")
        model.add(dev >= ld - int(target[a]))
        model.add(dev >= int(target[a]) - ld)
        devs.append(dev)
    return devs


def _stressing(inst: AllocationInstance, limits: dict[str, int] | None) -> AllocationInstance:
    """The instance with capped terms weighing much more, so that the local search (which does
    not know caps) drives them down toward their limits."""
    if not limits:
        return inst
    terms = {name: (replace(term, **{f: getattr(term, f) * CAP_STRESS
                                     for f in ("pair", "unassigned", "deviation", "travel")
                                     if getattr(term, f) is not None})
                    if name in limits else term)
             for name, term in inst.terms.items()}
    return replace(inst, terms=terms)


def allocation_is_feasible(inst: AllocationInstance, item_agent: np.ndarray) -> bool:
    """Whether an assignment holds every constraint (pairs, mandatory items, pins, bands)."""
    chosen = item_agent[inst.pair_item] == inst.pair_agent
    on_a_pair = np.zeros(inst.n_items, dtype=bool)
    on_a_pair[inst.pair_item[chosen]] = True
    if np.any((item_agent >= 0) & ~on_a_pair):
        return False
    if np.any((item_agent < 0) & ~inst.item_optional.astype(bool)):
        return False
    if inst.fixed_agent is not None and np.any((inst.fixed_agent >= 0)
                                               & (item_agent != inst.fixed_agent)):
        return False
    load = np.bincount(inst.pair_agent[chosen], weights=inst.pair_weight[chosen],
                       minlength=inst.n_agents)
    return bool(np.all(load >= inst.agent_lo) and np.all(load <= inst.agent_hi))


def evaluate_allocation_term(inst: AllocationInstance, term: AllocTerm,
                             item_agent: np.ndarray) -> int:
    """The value of one objective term for an assignment, as the model would count it."""
    return evaluate_allocation_terms(inst, {"term": term}, item_agent)["term"]


def evaluate_allocation_terms(inst: AllocationInstance, terms: dict[str, AllocTerm],
                              item_agent: np.ndarray) -> dict[str, int]:
    """The value of each objective term for an assignment, as the model would count it (the
    chosen pairs found once for all: XL's teams of millions of pairs spent 0.4 s a plan on
    finding them term by term)."""
    chosen = np.flatnonzero(item_agent[inst.pair_item] == inst.pair_agent)
    load = served = None
    out = {}
    for name, term in terms.items():
        value = int(term.constant)
        if term.pair is not None:
            value += int(term.pair[chosen].sum())
        if term.unassigned is not None:
            value += int(term.unassigned[(item_agent < 0)
                                         & inst.item_optional.astype(bool)].sum())
        if term.deviation is not None:
            if load is None:
                load = np.bincount(inst.pair_agent[chosen], weights=inst.pair_weight[chosen],
                                   minlength=inst.n_agents)
            target = inst.agent_target if inst.agent_target is not None \
                else np.zeros(inst.n_agents)
            value += int((term.deviation * np.abs(load - target)).sum())
        if term.travel is not None and inst.item_account is not None:
            if served is None:  # each distinct (account, agent) once
                items = np.flatnonzero(item_agent >= 0)
                served = distinct(inst.item_account[items] * inst.n_agents + item_agent[items])
            value += int(term.travel[served // inst.n_agents, served % inst.n_agents].sum())
        out[name] = value
    return out


def needs_deviation(terms) -> bool:
    return any(t.deviation is not None and np.any(t.deviation) for t in terms.values())


def build_allocation(inst: AllocationInstance) -> tuple[cp_model.CpModel, AllocVars, dict, list]:
    model = cp_model.CpModel()
    v = add_assignment(model, inst)
    for a, ld in enumerate(v.load):
        lo, hi = int(inst.agent_lo[a]), int(inst.agent_hi[a])
        if isinstance(ld, int):
            if not lo <= 0 <= hi:
                model.add_bool_or([])  # an agent with no possible item cannot reach its band
            continue
        model.add_linear_constraint(ld, lo, hi)
    devs = None
    if needs_deviation(inst.terms):
        target = inst.agent_target if inst.agent_target is not None else np.zeros(inst.n_agents)
        devs = add_deviations(model, v.load, target, inst.agent_hi)
    terms = {name: term_expr(t, inst, v, devs) for name, t in inst.terms.items()}
    z = {(int(i), int(a)): var for i, a, var in zip(inst.pair_item, inst.pair_agent, v.z)}
    custom = apply_extensions(Handles(model, z=z, item_account=inst.item_account),
                              inst.extensions)
    if custom is not None:
        terms[CUSTOM_TERM] = custom
    return model, v, terms, devs


def solve_allocation(inst: AllocationInstance, settings: SolveSettings) -> AllocSolution:
    """Solve stage 2 for one team (or a GAP instance): the engine below (`_engine`), and for
    small instances given two workers and ten seconds or more, SCIP beside it on one of the
    workers (models.allocation_mip: `_beside_mip`)."""
    if mip_applies(inst, settings):
        return _beside_mip(inst, settings)
    return _engine(inst, settings)


def _beside_mip(inst: AllocationInstance, settings: SolveSettings) -> AllocSolution:
    """The engine with one worker less while SCIP solves the same instance in a process of its
    own; the cheaper plan and the higher bound of the two. Each stops the other early: SCIP
    once it proves its plan optimal, the engine once it proves its own or that there is none
    (or a cancel), or once it finds the instance loose (`_claims_spare_worker`): its search
    then takes SCIP's worker."""
    began = time.monotonic()
    names = level_terms(inst, settings)
    try:
        mip = MipSolve(inst, names, settings.time_limit - MIP_MARGIN_SECONDS, inst.hint_agent,
                       settings.seed)
    except OSError:  # no process could be started: the engine alone, on every worker
        return _engine(inst, settings)
    halt, ended, free = threading.Event(), threading.Event(), threading.Event()

    def watch() -> None:
        while not ended.wait(0.1):
            if _stopped(settings) or mip.proved():
                halt.set()
                return
            if mip.done.is_set():
                free.set()
                return
    threading.Thread(target=watch, daemon=True).start()
    try:
        sol = _engine(inst, replace(settings, workers=settings.workers - 1, stop=halt,
                                    spare_worker=SpareWorker(free, mip.cancel)))
    finally:
        ended.set()
    if sol.status in ("OPTIMAL", "INFEASIBLE") or _stopped(settings):
        mip.cancel()
        return replace(sol, seconds=time.monotonic() - began)
    plan, bound, _ = mip.result(began + settings.time_limit + MIP_MARGIN_SECONDS
                                - time.monotonic())
    bound = max((b for b in (sol.bound, bound) if b is not None), default=None)
    if sol.status not in ("OPTIMAL", "FEASIBLE") and plan is None:
        return sol
    best = sol.item_agent if sol.status in ("OPTIMAL", "FEASIBLE") else None
    if plan is not None and allocation_is_feasible(inst, plan) and (
            best is None or plan_cost(inst, plan, names) < plan_cost(inst, best, names)):
        best = plan
    return _finished(inst, settings, best, bound, time.monotonic() - began)


def _engine(inst: AllocationInstance, settings: SolveSettings) -> AllocSolution:
    """Solve stage 2 for one team (or a GAP instance) with the planner's own engine.

    First a Lagrangian relaxation (models.allocation_bound): its bound counts the bands and the
    balance, and the plans its prices suggest, repaired into the bands, often start far better
    than the team's hint (which they then replace); a descent of single moves, swaps, chains
    and whole accounts improves that start (models.item_moves), and spread accounts are
    gathered on it (models.account_moves). Then CP-SAT, with a share of the time: small teams
    are proved optimal there. Otherwise the better of its plan and the priced start
    is improved by large-neighbourhood search (models.allocation_lns) for the rest of the time.
    A team whose CP-SAT model would not even be built in time (see `skips_cpsat`) goes to that
    search from its start directly. A re-plan by strict priorities is narrowed first to the
    choices its first level leaves open (`narrow_to_first_level`)."""
    began = time.monotonic()
    relaxed = start = flow = None
    first_level_proved = False
    if by_strict_priorities(inst, settings) and inst.hint_agent is not None:
        # (solved by levels: no relaxation below) a hint that holds every constraint needs
        # no repair to prove the first level, and the narrowed team's is cheaper to repair
        feasible = allocation_is_feasible(inst, inst.hint_agent)
        start = inst.hint_agent if feasible else repair_allocation(inst)
        narrowed = narrow_to_first_level(inst, settings, start)
        if narrowed is not None:
            if _no_choice_left(narrowed):
                return _forced_plan(narrowed, settings, start, time.monotonic() - began)
            inst, start, first_level_proved = narrowed, None, True
        elif feasible:
            start = repair_allocation(inst)  # it may still place unassigned items
    cored = 0.0  # seconds the core's search took
    if lns_applies(inst, settings):
        relaxed, start, flow = _relax_and_start(inst, settings)
        names = level_terms(inst, settings)
        largest = len(inst.pair_item) > LARGEST_TEAM_PAIRS
        # (a start comes with a relaxation; on the largest teams, which have no core, the
        # gathering comes first: see `_gather_seconds`)
        if start is not None and flow is not None and not largest:
            # (the core's plan must beat the start improved: M region x function's East
            # farming team's start descended to 292.0 M, the core's plan to 296.5 M only)
            start = improve_by_moves(inst, start, names,
                                     _descent_seconds(inst, settings, began, MOVES_SHARE / 2))
            cored = time.monotonic()
            start = _core_start(inst, settings, flow, start,
                                began + settings.time_limit * CORE_SHARE - time.monotonic())
            cored = time.monotonic() - cored
        if start is not None and GATHER_SHARE > 0:
            start = gather_accounts(inst, start, names, _gather_seconds(inst, settings, began))
        if start is not None and MOVES_SHARE > 0:
            share = MOVES_SHARE if flow is None else MOVES_SHARE / 2
            start = improve_by_moves(inst, start, names,
                                     began + settings.time_limit - time.monotonic() if largest
                                     else _descent_seconds(inst, settings, began, share),
                                     last=largest, quick=gives_back(inst))
        if start is not None and knapsack_moves_apply(inst):
            start = improve_by_knapsack_moves(
                inst, start, names, _share_of_left(settings, began, KNAPSACK_MOVES_SHARE))
        if start is not None and inst.hint_agent is not None:
            inst = inst.with_hint(start)
    if skips_cpsat(inst, settings, started=start is not None):
        if start is None:
            start = repair_allocation(inst)
        if allocation_is_feasible(inst, start):
            if not lns_applies(inst, settings):
                return _start_as_plan(inst, settings, start, time.monotonic() - began)
            first = level_terms(inst, settings)
            bound = _higher(cheapest_agent_bound(inst, first), relaxed)
            done = gives_back(inst) and relaxed is not None
            if not done and wants_capacity_bound(inst, settings, began, relaxed):
                bound = max(bound, capacity_bound(inst, first) or bound)
            relaxed, bound = _tightened(inst, settings, relaxed, start, bound)
            left = 0.0 if done else settings.time_limit - (time.monotonic() - began)
            best, bound = _search_then_finish(inst, start, settings, left, bound, relaxed)
            return _finished(inst, settings, best, bound, time.monotonic() - began, flow)
        if unbuildable(inst, settings):
            # no split within the bands was found, and CP-SAT's model would not even be built
            # in the team's time (XL key-account hybrid at 30 s spent minutes building one of
            # millions of pairs; given 20 s, CP-SAT found no split of a 907,000-pair team)
            return AllocSolution("UNKNOWN", None, None, None, {}, time.monotonic() - began)
    if not lns_applies(inst, settings):
        head = None if first_level_proved else _first_level_alone(inst, settings)
        if head is None:
            return _knapsack_bounded(inst, settings, _cpsat_then_moves(inst, settings, start))
        left = max(MIN_SECONDS, settings.time_limit - (time.monotonic() - began))
        rest = solve_with_cpsat(inst.with_hint(head.item_agent),
                                replace(settings, time_limit=left), repaired=head.item_agent)
        return _with_bound(rest, head.bound)
    # (the core's search was CP-SAT on most of the same model: its time counts towards the
    # least CP-SAT gets, or small teams would overrun their time by it; what is left of the
    # team's time bounds that least)
    team_left = max(CPSAT_ALWAYS_SECONDS, began + settings.time_limit - time.monotonic())
    first = solve_with_cpsat(inst, replace(settings, time_limit=settings.time_limit * CPSAT_SHARE),
                             least_less=cored, least_at_most=team_left)
    left = settings.time_limit - (time.monotonic() - began)
    if first.status not in ("OPTIMAL", "FEASIBLE"):
        return solve_with_cpsat(inst, replace(settings, time_limit=max(MIN_SECONDS, left)))
    if first.status == "OPTIMAL" or (relaxed is None and (left <= MIN_SECONDS
                                                          or _stopped(settings))):
        return first
    bound = _higher(first.bound, relaxed)
    plan = first.item_agent
    names = level_terms(inst, settings)
    if start is not None and plan_cost(inst, start, names) < plan_cost(inst, plan, names):
        plan = start
    relaxed, bound = _tightened(inst, settings, relaxed, plan, bound)
    left = settings.time_limit - (time.monotonic() - began)
    if left > SEARCH_MIN_SECONDS and not _stopped(settings):
        plan, bound = _search_then_finish(inst, plan, settings, left, bound, relaxed)
    return _finished(inst, settings, plan, bound, time.monotonic() - began, flow)


def _share_of_left(settings: SolveSettings, began: float, share: float) -> float:
    """A step's time: `share` of the team's, but at most half of what is left of it. (The
    relaxation of XL key-account hybrid's individuals team, 11 million pairs, took 33 of its
    51 s alone; the steps after it at their shares, two descents, the gathering and the
    capacity bound, ended it 2.2 s late alone and later beside another team's solve, and the
    key-account teams after it then got no polishing.)"""
    left = began + settings.time_limit - time.monotonic()
    return max(0.0, min(settings.time_limit * share, 0.5 * left))


def _descent_seconds(inst: AllocationInstance, settings: SolveSettings, began: float,
                     share: float) -> float:
    """A descent's time: `share` of the team's (`_share_of_left`), or, where its first pass
    would not fit in that (it would not start at all), the least it starts in
    (`descent_least_seconds`) if that is at most DESCENT_LEAST_OF_LEFT of what is left. The
    search after it gains far less on large teams: XL key-account hybrid's individuals team
    (11.3 million pairs, 44 s) went without a descent after its flow and relaxation (23 s) and
    ended at 214.9 M, its neighbourhood search taking 213.7 -> 213.5 M in 8 s; given its 7.5 s,
    the descent took its start from 249.9 to 202.1 M and the team ended at 203.3 M."""
    seconds = _share_of_left(settings, began, share)
    least = descent_least_seconds(inst)
    left = began + settings.time_limit - time.monotonic()
    return least if seconds < least <= DESCENT_LEAST_OF_LEFT * left else seconds


def _gather_seconds(inst: AllocationInstance, settings: SolveSettings, began: float) -> float:
    """The gathering's time: GATHER_SHARE of the team's (`_share_of_left`), but on teams above
    LARGEST_TEAM_PAIRS, where it comes straight after the relaxation and the descent after it
    gets all the rest, half of what is left, or all of it where the other half would not
    start the descent (`descent_least_seconds`, as the team's last step; the gathering stops
    earlier at a pass that gains nothing).
    XL key-account hybrid's individuals team (12.6 million pairs, 28 s after its relaxation
    at 265.1 M): gathered first (9 s, 214.8 M) then descended, 196.6 M; descended (8.5 s),
    gathered, descended, 200.2 M; descended alone, 202.6 M; its neighbourhood search gained
    0.01 M in 6 s where the descent after a gathering gained 9.5 M."""
    if len(inst.pair_item) <= LARGEST_TEAM_PAIRS:
        return _share_of_left(settings, began, GATHER_SHARE)
    left = max(0.0, began + settings.time_limit - time.monotonic())
    return 0.5 * left if descent_least_seconds(inst, last=True) <= 0.5 * left else left


def wants_capacity_bound(inst: AllocationInstance, settings: SolveSettings, began: float,
                         relaxed: LagrangeBound | None) -> bool:
    """Whether a team's capacity bound is worth its time (CAPACITY_BOUND_STEPS)."""
    return (relaxed is None or relaxed.iterations < CAPACITY_BOUND_STEPS) \
        and len(inst.pair_item) * CAPACITY_SECONDS_PER_PAIR \
        <= _share_of_left(settings, began, CAPACITY_BOUND_SHARE)


def _core_start(inst: AllocationInstance, settings: SolveSettings, flow: FlowChoice,
                start: np.ndarray, seconds: float) -> np.ndarray:
    """The start, or a cheaper plan: on teams of more than CORE_MIN_PAIRS pairs, what CP-SAT
    finds from it within `seconds` on the pairs the divisible allocation uses (`flow`, see
    models.allocation_flow; `flow_core`) and the start's own. (Smaller teams are often proved
    optimal by CP-SAT's whole model in its least time, which the core's search would
    shorten: S's East service team, 914 pairs, 338.6-344.0 M in six runs without it,
    338.8-358.7 M with it.)"""
    deadline = time.monotonic() + seconds
    names = level_terms(inst, settings)
    if len(inst.pair_item) <= CORE_MIN_PAIRS or seconds < CORE_MIN_SECONDS \
            or _stopped(settings):
        return start
    found = flow_core(inst, names, CORE_ROUNDS, first=flow)
    left = deadline - time.monotonic()
    if found is None or left < CORE_MIN_SECONDS:
        return start
    keep = found.pairs | (inst.pair_agent == start[inst.pair_item])
    plan, _ = solve_sub(replace(_with_pairs(inst, keep), hint_agent=start), names,
                        settings.seed, deadline, work=math.inf)
    if plan is not None and allocation_is_feasible(inst, plan) \
            and plan_cost(inst, plan, names) < plan_cost(inst, start, names):
        return plan
    return start


def into_bands(inst: AllocationInstance, names: tuple[str, ...], plan: np.ndarray
               ) -> np.ndarray:
    """A plan (a relaxation's rounding, a hint) brought into the agents' bands by the moves
    the terms `names` price cheapest (models.band_repair), and by repair_allocation where
    those do not manage it; where that still leaves a band broken, repair_allocation's from
    the plan itself, if that holds them. On 300 random small teams with bands drawn at
    random, the priced moves alone held them in 80, repair_allocation after them in 45
    more, repair_allocation from the plan in 13 more: 138, against 128 for repair_allocation
    alone; the plans were cheaper in 73 of the teams both held, dearer in 9."""
    if allocation_is_feasible(inst, plan) and not (plan < 0).any():
        return plan  # (nothing for either repair to do: S's hints, mostly)
    priced = priced_repair(inst, names, plan)
    if allocation_is_feasible(inst, priced):
        return priced
    repaired = repair_allocation(inst.with_hint(priced))
    if allocation_is_feasible(inst, repaired):
        return repaired
    plain = repair_allocation(inst.with_hint(plan))
    return plain if allocation_is_feasible(inst, plain) else repaired


def _flow_rounding(inst: AllocationInstance, names: tuple[str, ...], relaxed: LagrangeBound,
                   flow: FlowChoice, seconds: float) -> np.ndarray:
    """The divisible allocation's rounding (`flow`) brought under the maxima by the
    relaxation's prices within `seconds` and repaired into the bands: a start."""
    return into_bands(inst, names, priced_plan(
        inst, names, relaxed, max(PRICED_MIN_SECONDS, seconds), choice=flow.agent))


def _tightened(inst: AllocationInstance, settings: SolveSettings, relaxed: LagrangeBound | None,
               plan: np.ndarray, bound: int | None) -> tuple[LagrangeBound | None, int | None]:
    """The relaxation and the bound after box steps (`tighten`, TIGHTEN_SHARE of the time
    limit) from its prices, for a team that CP-SAT did not prove optimal at once (most of S's
    are, and do not wait for them) and of up to LNS_ONLY_PAIRS pairs: on larger ones (L's and
    XL's largest teams) the steps get too few points in that time to raise the bound (L region
    x function's 15 teams at their own times: bounds 1,456 M -> 1,453 M, plans 1.3 % worse)."""
    if relaxed is None or _stopped(settings) or len(inst.pair_item) > LNS_ONLY_PAIRS:
        return relaxed, bound
    relaxed = tighten(inst, relaxed, max(TIGHTEN_MIN_SECONDS, settings.time_limit * TIGHTEN_SHARE),
                      upper=plan_cost(inst, plan, level_terms(inst, settings)))
    return relaxed, _higher(bound, relaxed)


def _search_then_finish(inst: AllocationInstance, plan: np.ndarray, settings: SolveSettings,
                        seconds: float, bound: int | None, relaxed: LagrangeBound | None
                        ) -> tuple[np.ndarray, int | None]:
    """The neighbourhood search's plan within `seconds`, and the bound. Whenever the search
    stalls (STALL_SHARE of the time limit without a better plan), and once ASK_SHARE of a
    long time limit is gone, the relaxation's reduced costs say which pairs a cheaper plan could
    use; where they rule out most of them, CP-SAT searches the rest exactly, hinted with the
    plan, for the time left (it proves tight instances optimal or finds the last improvements
    the search misses); otherwise the search goes on. Measured on the GAP benchmark: see the
    README."""
    deadline = time.monotonic() + seconds
    names = level_terms(inst, settings)
    if settings.spare_worker is not None and _claims_spare_worker(inst, names, relaxed, plan):
        settings.spare_worker.claim()
    fixed: list[np.ndarray] = []  # the pairs a cheaper plan may use, once handed over

    def hand_over(best: np.ndarray) -> bool:
        keep = may_beat(inst, names, relaxed, plan_cost(inst, best, names)) \
            | (inst.pair_agent == best[inst.pair_item])
        kept = int(keep.sum())
        left = deadline - time.monotonic()
        if kept > FIXED_SHARE * len(keep) or kept * BUILD_SECONDS_PER_PAIR > 0.5 * left:
            return False
        fixed.append(keep)
        return True
    # (above LNS_ONLY_PAIRS CP-SAT's model would take too long to build: no hand-over)
    patience = None if relaxed is None or len(inst.pair_item) > LNS_ONLY_PAIRS \
        else max(MIN_SECONDS, STALL_SHARE * settings.time_limit)
    plan = improve_by_neighbourhoods(
        inst, plan, settings, deadline - time.monotonic(), bound, prices=_prices(relaxed),
        patience=patience, hand_over=hand_over if patience is not None else None,
        ask_at=None if patience is None or settings.time_limit < ASK_MIN_SECONDS
        else deadline - (1 - ASK_SHARE) * settings.time_limit)
    left = deadline - time.monotonic()
    if not fixed or left <= MIN_SECONDS or _stopped(settings):
        return plan, bound
    cost = plan_cost(inst, plan, names)
    # (the other search may have improved the plan once more meanwhile)
    keep = fixed[-1] | (inst.pair_agent == plan[inst.pair_item])
    sol = solve_with_cpsat(replace(_with_pairs(inst, keep), hint_agent=plan),
                           replace(settings, time_limit=left), repaired=plan)
    if sol.bound is not None:  # every plan cheaper than `plan` is in the fixed model
        proved = min(sol.bound, cost)
        bound = proved if bound is None else max(bound, proved)
    if sol.objective is not None and sol.objective < cost \
            and allocation_is_feasible(inst, sol.item_agent):
        plan = sol.item_agent
    return plan, bound


def _claims_spare_worker(inst: AllocationInstance, names: tuple[str, ...],
                         relaxed: LagrangeBound | None, plan: np.ndarray) -> bool:
    """Whether the search takes the worker SCIP holds beside it: where reduced-cost fixing
    against the search's start rules out less than 1 - CLAIM_KEPT_SHARE of the pairs, the
    relaxation is loose and SCIP's branch-and-cut, which rests on it, falls far behind."""
    if relaxed is None:
        return False
    kept = may_beat(inst, names, relaxed, plan_cost(inst, plan, names))
    return bool(kept.mean() >= CLAIM_KEPT_SHARE)


def _with_pairs(inst: AllocationInstance, keep: np.ndarray) -> AllocationInstance:
    """The instance with only the pairs `keep` marks (not the whole one's flow)."""
    pairs = {f: getattr(inst, f)[keep] for f in ("pair_item", "pair_agent", "pair_weight")}
    terms = {n: replace(t, pair=None if t.pair is None else t.pair[keep])
             for n, t in inst.terms.items()}
    return replace(inst, **pairs, terms=terms, hint_flow=None, hint_bound=None)


def by_strict_priorities(inst: AllocationInstance, settings: SolveSettings) -> bool:
    """Whether the team is solved level by level with no slack between levels (a re-plan that
    keeps relationships first), with nothing outside the model's own terms and constraints."""
    return (bool(settings.levels) and len(settings.levels) > 1 and settings.tolerance == 0
            and not inst.extensions and not settings.term_limits)


def narrow_to_first_level(inst: AllocationInstance, settings: SolveSettings,
                          plan: np.ndarray) -> AllocationInstance | None:
    """The instance without the choices no best plan of the first level makes, when `plan`
    proves that level's optimum: it holds every constraint and its first level costs what
    each item at its cheapest choice costs (`cheapest_agent_bound`). Every plan that good has
    each item at one of its cheapest choices, and strict priorities keep the first level at
    its optimum, so the other choices can go. In a re-plan that keeps relationships first,
    every item with an owner in the team then has that owner alone, and the model is built
    for the items that must move or are unowned. None when `plan` does not prove it; the
    instance itself, the plan its hint, when no choice goes (every plan is as good on that
    level: a team without owners, or one built with its cheapest choices only, see
    planner.instance.allocation_instance)."""
    names = level_terms(inst, settings)
    if not allocation_is_feasible(inst, plan):
        return None
    cost, none, best = _cheapest_choices(inst, names)
    if plan_cost(inst, plan, names) != _sum_of_cheapest(inst, names, best):
        return None
    keep = cost == best[inst.pair_item]
    still_optional = inst.item_optional.astype(bool) & (none == best)
    narrowed = inst if keep.all() else _with_pairs(inst, keep)
    return replace(narrowed, item_optional=still_optional, hint_agent=plan)


def proves_first_level(inst: AllocationInstance, settings: SolveSettings,
                       plan: np.ndarray) -> bool:
    """Whether `plan` holds every constraint and its first level costs what each item at its
    cheapest choice costs: no plan does better on that level."""
    names = level_terms(inst, settings)
    return allocation_is_feasible(inst, plan) and plan_cost(inst, plan, names) \
        == _sum_of_cheapest(inst, names, _cheapest_choices(inst, names)[2])


def first_level_start(inst: AllocationInstance, settings: SolveSettings) -> np.ndarray | None:
    """A start that proves the first level's optimum (`proves_first_level`), as the engine
    takes it in a re-plan by strict priorities: the hint where it holds every constraint,
    else the hint repaired into them; None when that start does not prove it."""
    feasible = inst.hint_agent is not None and allocation_is_feasible(inst, inst.hint_agent)
    start = inst.hint_agent if feasible else repair_allocation(inst)
    return start if proves_first_level(inst, settings, start) else None


def _first_level_alone(inst: AllocationInstance, settings: SolveSettings
                       ) -> AllocSolution | None:
    """By priorities, the first priority solved alone with a share of the time, the way a
    single objective is (its relaxation, its neighbourhood search: CP-SAT alone improves a
    large team's first level slowly); None where that way does not apply or found no plan
    that holds every constraint."""
    if not settings.levels or len(settings.levels) < 2:
        return None
    alone = replace(settings, levels=settings.levels[:1],
                    time_limit=settings.time_limit * FIRST_LEVEL_SHARE)
    if not lns_applies(inst, alone):
        return None
    head = solve_allocation(inst, alone)
    if head.status not in ("OPTIMAL", "FEASIBLE") \
            or not allocation_is_feasible(inst, head.item_agent):
        return None
    return head


def _with_bound(sol: AllocSolution, bound: int | None) -> AllocSolution:
    """The solution with `bound` for its first level where that is higher (any plan's first
    level costs at least it, whatever the later levels did)."""
    if bound is None or sol.objective is None or (sol.bound is not None and sol.bound >= bound):
        return sol
    return replace(sol, bound=bound, level_bounds=(bound,) + tuple(sol.level_bounds[1:]))


def _cpsat_then_moves(inst: AllocationInstance, settings: SolveSettings,
                      start: np.ndarray | None) -> AllocSolution:
    """CP-SAT, and on a team the knapsack moves apply to (models.knapsack_moves), those moves
    from its plan where it leaves it unproved: CP-SAT then gets KNAPSACK_MOVES_CPSAT_SHARE of
    the time, the moves the rest (they end earlier where none gains)."""
    if not knapsack_moves_apply(inst) or settings.term_limits \
            or (settings.levels and len(settings.levels) > 1):
        return solve_with_cpsat(inst, settings, repaired=start)
    began = time.monotonic()
    first = solve_with_cpsat(inst, replace(
        settings, time_limit=settings.time_limit * KNAPSACK_MOVES_CPSAT_SHARE), repaired=start)
    if first.status != "FEASIBLE" or first.objective is None or _stopped(settings):
        return first
    plan = improve_by_knapsack_moves(inst, first.item_agent, level_terms(inst, settings),
                                     settings.time_limit - (time.monotonic() - began))
    if plan is first.item_agent:
        return replace(first, seconds=time.monotonic() - began)
    return _finished(inst, settings, plan, first.bound, time.monotonic() - began)


def _knapsack_bounded(inst: AllocationInstance, settings: SolveSettings, sol: AllocSolution
                      ) -> AllocSolution:
    """The solution with the bound that takes items and accounts whole (models.load_knapsack)
    where that is higher, for a team of two reps CP-SAT left unproved (or the bound its first
    solve found: `hint_bound`). It takes up to KNAPSACK_SECONDS beyond the team's time: S
    key-account hybrid's two such teams, 0.05-0.06 s each."""
    if sol.status != "FEASIBLE" or sol.objective is None or not knapsack_applies(inst) \
            or settings.term_limits or (settings.levels and len(settings.levels) > 1) \
            or _stopped(settings):
        return sol
    began = time.monotonic()
    bound = inst.hint_bound if inst.hint_bound is not None else knapsack_bound(
        inst, level_terms(inst, settings), KNAPSACK_SECONDS, sol.objective)
    sol = _with_bound(sol, bound)
    if sol.bound is not None and sol.objective <= sol.bound:
        sol = replace(sol, status="OPTIMAL", bound=sol.objective)
    return replace(sol, seconds=sol.seconds + time.monotonic() - began)


def _no_choice_left(inst: AllocationInstance) -> bool:
    """Whether each item has one way to go: one agent and no leaving it unassigned, or (when
    optional) no agent at all."""
    options = np.bincount(inst.pair_item, minlength=inst.n_items) + inst.item_optional
    return bool(np.all(options == 1))


def _forced_plan(inst: AllocationInstance, settings: SolveSettings, plan: np.ndarray,
                 seconds: float) -> AllocSolution:
    """The only plan there is, optimal on every level (`plan` holds every constraint)."""
    values = evaluate_allocation_terms(inst, inst.terms, plan)
    levels = [sum(values[n] for n in level if n in values) for level in settings.levels]
    return AllocSolution("OPTIMAL", levels[0], levels[0], plan, values, seconds, tuple(levels))


def _prices(relaxed: LagrangeBound | None) -> np.ndarray | None:
    return None if relaxed is None else relaxed.prices


def _higher(known: int | None, relaxed: LagrangeBound | None) -> int | None:
    if relaxed is None:
        return known
    return relaxed.bound if known is None else max(known, relaxed.bound)


def _relax_and_start(inst: AllocationInstance, settings: SolveSettings
                     ) -> tuple[LagrangeBound | None, np.ndarray | None, FlowChoice | None]:
    """The Lagrangian bound, the cheapest plan among the repaired hint, the relaxation's priced
    plans (models.allocation_bound.priced_plan), on teams above BLOCK_FLOW_FROM_PAIRS the block
    flow's plan (`_block_start`) and on those up to LARGEST_TEAM_PAIRS the flow's rounding
    (`_flow_rounding`), repaired into the bands (None when none holds them), and the divisible
    allocation's flow where it applies (`_flow_of`). (The rounding was the core's first step,
    after the first descent had spent its time on the dearer start: XL key-account hybrid's
    key-account teams of 0.2-0.8 million pairs, seven stored from a whole run and solved alone
    at 2 s, ended 34.9 M above their bounds in all, 25.6 M with the rounding here; at 1.25 s
    237.5 -> 224.8 M, at 4 s 10.8 -> 10.2 M.) The relaxation runs twice on teams of up to
    LNS_ONLY_PAIRS pairs (the second time its steps aim at the best plan the first one gave),
    once on larger ones or where twice would take more than its share of the time, and not at
    all when even once would. Where there is a flow, its steps run once more, from the flow's
    prices (a single run starts from them), at which the bound is often near the relaxation's
    optimum already, where steps may not get in a team's time (M's South service team, 22,045
    pairs: 250.0 M at once, against 142 M after 0.1 s of steps from nothing). The runs from
    nothing and from the best prices stay: their priced plans are sometimes the cheaper (M
    key-account hybrid's Cloud ERP team: 277.4 M, against 284.8 M with both runs from the flow's
    prices; S's SMB East farming team: 920.9 M against 929.5 M with the second run from them).
    The run from the flow's prices is not aimed at a start's cost (lagrangian_bound's `upper`),
    which may lie far above the bound there (L key-account hybrid's individuals team: its hint
    repaired, 411.5 M against 136 M; aimed at it, the steps kept the flow's bound, 136.13 M, and
    priced a 166.4 M plan; aimed near the bound, 136.89 M and 156.5 M, and 148.5 M for the team
    at its 27 s against 152.9 M)."""
    pairs = len(inst.pair_item)
    rounds = 2 if pairs <= LNS_ONLY_PAIRS else 1
    share = BOUND_SHARE if pairs <= LNS_ONLY_PAIRS else BOUND_SHARE_LARGE
    while rounds and pairs * RELAX_SECONDS_PER_PAIR * rounds > settings.time_limit * share:
        rounds -= 1  # (once rather than not at all: XL key-account hybrid's CRM Suite team,
        # 95,472 pairs in 0.28 s, was left with the cheapest-choice bound, 191 M under a plan
        # of 2,761 M that polishing later proved within 0.1 M of its best)
    if not rounds:
        return None, None, None
    names = level_terms(inst, settings)
    flowed = time.monotonic()
    flow = _flow_of(inst, names, settings.time_limit, settings.beside_others)
    flow_took = time.monotonic() - flowed
    runs = ["nothing", "best"][:rounds]  # where each run's steps start
    if flow is not None:
        runs = runs + ["flow"] if rounds > 1 else ["flow"]
    # relaxations and priced plans share what the flow leaves (XL's East farming team of
    # FLOW_SHARE_LARGE took 14.3 s of its 12.8 s when they shared all of it), less what the
    # repairs and the relaxation's data take whatever their time; the plan priced at the
    # flow's prices gets at least PRICED_SECONDS_PER_PAIR a pair, past the share if need be
    left = settings.time_limit - (time.monotonic() - flowed) \
        - pairs * START_SECONDS_PER_PAIR * (len(runs) + 1)
    budget = max(0.0, left) * share / (2 * rounds)
    starts = []
    if inst.hint_agent is not None:
        starts.append(into_bands(inst, names, inst.hint_agent))
    relaxed = None
    for run in runs:
        costs = [plan_cost(inst, s, names) for s in starts if allocation_is_feasible(inst, s)]
        prices = flow.prices if run == "flow" else None if relaxed is None else relaxed.prices
        found = lagrangian_bound(inst, names, budget, prices=prices, again=relaxed,
                                 upper=None if run == "flow" else min(costs, default=None),
                                 min_exact_steps=MIN_EXACT_STEPS_FROM_PRICES if run == "flow"
                                 else MIN_EXACT_STEPS, from_optimum=run == "flow")
        if found is None:
            return None, None, None
        if relaxed is None or found.bound >= relaxed.bound:
            relaxed = found
        if run == "flow":  # (first: by far the best start where it runs, see _block_start)
            blocked, grouped = _block_start(inst, names, found, settings, flowed, flow_took)
            starts += blocked
            if grouped.bound > relaxed.bound:
                relaxed = grouped
        pricing = max(budget, pairs * PRICED_SECONDS_PER_PAIR) if run == "flow" else budget
        starts.append(into_bands(inst, names, priced_plan(inst, names, found, pricing)))
    if flow is not None and pairs <= LARGEST_TEAM_PAIRS:
        starts.append(_flow_rounding(inst, names, relaxed, flow, budget))
    feasible = [s for s in starts if allocation_is_feasible(inst, s)]
    if not feasible:
        return relaxed, None, flow
    best = min(feasible, key=lambda s: plan_cost(inst, s, names))
    if pairs * SERVE_SECONDS_PER_PAIR <= settings.time_limit * SERVE_SHARE:
        best = serve_unassigned(inst, best, settings.time_limit * SERVE_SHARE)
    return relaxed, best, flow


def _block_start(inst: AllocationInstance, names: tuple[str, ...], relaxed: LagrangeBound,
                 settings: SolveSettings, began: float, flow_took: float
                 ) -> tuple[list[np.ndarray], LagrangeBound]:
    """The block flow's plan (`_block_plan`) for the accounts' groupings at the flow's prices
    (`relaxed`), and where what is left of the team's time (which began at `began`) has room
    for the prices of better groupings (models.grouping_prices, GROUPING_SHARE of it) and a
    block flow like the first, within SECOND_BLOCKS_SHARE of it, the block flow's plan for
    the groupings at those prices too, with the relaxation there. Alone at its 53 s, XL
    key-account hybrid's individuals team (12.1 million pairs): the two plans 160.3 / 156.0 M,
    the bound 149.11 -> 149.42 M, the team 153.9 M (157.2 M from the first alone)."""
    first, took = _block_plan(inst, names, relaxed, settings, began, flow_took)
    if first is None:
        return [], relaxed
    left = settings.time_limit - (time.monotonic() - began)
    if _stopped(settings) or not allocation_is_feasible(inst, first) \
            or took + GROUPING_SHARE * left > SECOND_BLOCKS_SHARE * left:
        return [first], relaxed
    better = grouping_prices(inst, names, relaxed, first,
                             deadline=time.monotonic() + GROUPING_SHARE * left)
    if better is relaxed:
        return [first], relaxed
    second, _ = _block_plan(inst, names, better, settings, began, flow_took)
    return [first] + ([] if second is None else [second]), better


def _block_plan(inst: AllocationInstance, names: tuple[str, ...], relaxed: LagrangeBound,
                settings: SolveSettings, began: float, flow_took: float
                ) -> tuple[np.ndarray | None, float]:
    """The block flow's plan (models.block_flow) for the accounts' groupings at `relaxed`'s
    prices, repaired into the bands, and how long it took: on a team of more than
    BLOCK_FLOW_FROM_PAIRS pairs where its time, estimated from the item flow's (`flow_took`)
    by its pairs, fits in BLOCK_FLOW_SHARE of what is left of the team's."""
    pairs = len(inst.pair_item)
    if relaxed.grouped is None or pairs <= BLOCK_FLOW_FROM_PAIRS:
        return None, 0.0
    started = time.monotonic()
    left = settings.time_limit - (started - began)
    block = blocks_of(inst, relaxed.grouped)
    if flow_took * block_pairs(inst, block) / pairs > BLOCK_FLOW_SHARE * left:
        return None, 0.0
    planned = block_flow_plan(inst, names, block,
                              deadline=time.monotonic() + BLOCK_FLOW_SHARE * left,
                              apart=settings.beside_others)
    if planned is None:
        return None, 0.0
    return into_bands(inst, names, planned), time.monotonic() - started


def _flow_of(inst: AllocationInstance, names: tuple[str, ...], seconds: float,
             beside_others: bool = False) -> FlowChoice | None:
    """The divisible allocation's optimum (models.allocation_flow), where items weigh the same
    on most agents and the flow takes (about FLOW_SECONDS_PER_PAIR per pair, or
    FLOW_SECONDS_PER_PAIR_BESIDE `beside_others`) at most FLOW_SHARE (FLOW_SHARE_LARGE) of the
    team's `seconds`; its column generation stops by then. On large teams whose relaxation runs
    once, from the flow's prices, the bound is far higher: XL's East hunting team (1.7 million
    pairs, 7.3 s) 133 M -> 182 M, for a plan 0.9 % dearer (less time for the search).
    An earlier solve's flow of the same instance (`hint_flow`: polishing solves a team again,
    see planner.solve) is taken as it is where its column generation settled, since a settled
    flow is the same whatever the time: 0.84 s of a key-account team's 1.25 s and the same
    0.84 s of its 3.75 s (XL key-account hybrid, 355,036 pairs)."""
    hinted = inst.hint_flow
    if hinted is not None and hinted.settled and len(hinted.agent) == inst.n_items \
            and len(hinted.prices) == inst.n_agents:
        return hinted
    pairs = len(inst.pair_item)
    if flow_least_seconds(pairs, beside_others) > seconds or not flow_applies(inst):
        return None
    return flow_choices(inst, names, apart=beside_others,
                        deadline=time.monotonic() + _flow_share(pairs) * seconds)


def flow_least_seconds(pairs: int, beside_others: bool = False) -> float:
    """The shortest time limit in which a team of `pairs` pairs computes its flow, where one
    applies (`_flow_of`): the flow's estimate over its share of the team's time."""
    rate = FLOW_SECONDS_PER_PAIR_BESIDE if beside_others else FLOW_SECONDS_PER_PAIR
    return pairs * rate / _flow_share(pairs)


def _flow_share(pairs: int) -> float:
    """The share of a team's time its flow may take: FLOW_SHARE, FLOW_SHARE_LARGE above
    LNS_ONLY_PAIRS."""
    return FLOW_SHARE if pairs <= LNS_ONLY_PAIRS else FLOW_SHARE_LARGE


def gives_back(inst: AllocationInstance) -> bool:
    """Whether the team ends once its quick descent stops (models.item_moves.QUICK_FROM_PAIRS),
    its time left to the teams after it, where it has a relaxation: there the neighbourhood
    search after the descent gained 0.01 M in 6 s, and the capacity bound, 6.8 s at 54 s,
    nothing over the relaxation's (XL key-account hybrid's individuals team), and what is left
    goes further on the teams polished after it (planner.solve)."""
    return len(inst.pair_item) > QUICK_FROM_PAIRS


def skips_cpsat(inst: AllocationInstance, settings: SolveSettings, started: bool = False) -> bool:
    """Whether the team goes without CP-SAT's whole model: it has a hint (or a start is
    `started`), nothing the repair and the neighbourhood search do not model (outside
    constraints, caps), and either more than LNS_ONLY_PAIRS pairs or a model that would take
    more than BUILD_SHARE of the time limit to build."""
    pairs = len(inst.pair_item)
    return ((inst.hint_agent is not None or started) and not inst.extensions
            and not settings.term_limits
            and (pairs > LNS_ONLY_PAIRS
                 or pairs * BUILD_SECONDS_PER_PAIR > BUILD_SHARE * settings.time_limit))


def unbuildable(inst: AllocationInstance, settings: SolveSettings) -> bool:
    """Whether CP-SAT's whole model of the team would take longer than its time to build."""
    return len(inst.pair_item) * BUILD_SECONDS_PER_PAIR > settings.time_limit


def _start_as_plan(inst: AllocationInstance, settings: SolveSettings, start: np.ndarray,
                   seconds: float) -> AllocSolution:
    """The repaired hint as the answer of a solve by priorities (a re-plan that keeps today's
    owners first: the hint is such a plan); its first level is bounded by each item's
    cheapest agent."""
    values = evaluate_allocation_terms(inst, inst.terms, start)
    first = level_terms(inst, settings)
    bound = cheapest_agent_bound(inst, first)
    return AllocSolution("FEASIBLE", sum(values[n] for n in first), bound, start, values,
                         seconds, (bound,))


def cheapest_agent_bound(inst: AllocationInstance, names: tuple[str, ...]) -> int:
    """A lower bound of the objective: each item at its cheapest agent (or left unassigned,
    if optional and cheaper), bands ignored; deviation and travel are at least 0."""
    return _sum_of_cheapest(inst, names, _cheapest_choices(inst, names)[2])


def _sum_of_cheapest(inst: AllocationInstance, names: tuple[str, ...], best: np.ndarray) -> int:
    """The named terms' cost with every item at its cheapest choice (`best`)."""
    return int(best[best < np.iinfo(np.int64).max].sum()) + sum(
        int(inst.terms[n].constant) for n in names)


def capacity_bound(inst: AllocationInstance, names: tuple[str, ...],
                   steps: int = CAPACITY_BOUND_STEPS) -> int | None:
    """A lower bound of the named terms that counts the team's capacity: the agents' maxima
    cap the weight served in all, and with a price per unit of weight on that one constraint
    each item takes its cheapest of being left unassigned or a pair's cost plus its weight's
    price (the price times all the capacity taken back). Any price gives a bound; the best of
    `steps` found by bisection on the weight served is kept. Where a team is short of
    people it counts the work that must stay unmet, which each item's cheapest agent (the
    price 0) does not: XL region x function's East hunting team (capacity 1 % short of its
    work, 1.7 million pairs) 104.8 M -> 133.3 M in 0.5 s, its plan 188.4 M. None when a
    mandatory item has no pair."""
    cost, none, best = _cheapest_choices(inst, names)
    if not len(inst.pair_item) or (best == np.iinfo(np.int64).max).any():
        return None
    order = inst.by_item
    item = inst.pair_item[order]
    starts = np.r_[0, np.nonzero(np.diff(item))[0] + 1]
    c, w = cost[order].astype(float), inst.pair_weight[order].astype(float)
    alone = np.where(inst.item_optional.astype(bool), none.astype(float), np.inf)
    capacity = float(inst.agent_hi.sum())
    constant = sum(int(inst.terms[n].constant) for n in names)

    def at(price: float) -> tuple[float, float]:
        """The bound at this price, and the weight served."""
        v = c + price * w
        cheapest = np.full(inst.n_items, np.inf)
        cheapest[item[starts]] = np.minimum.reduceat(v, starts)
        chosen = np.minimum(cheapest, alone)
        served_w = np.where(v <= cheapest[item], w, np.inf)
        lightest = np.full(inst.n_items, 0.0)
        lightest[item[starts]] = np.minimum.reduceat(served_w, starts)
        served = float(lightest[cheapest <= alone].sum())  # (an item without pairs: inf > alone)
        return float(chosen.sum()) - price * capacity, served

    low, high = 0.0, float(max(c.max(initial=0.0), np.where(np.isfinite(alone), alone, 0).max(
        initial=0.0)) + 1.0) / max(1.0, float(w[w > 0].min(initial=1.0)))
    found = -np.inf
    for _ in range(steps):
        price = (low + high) / 2
        value, served = at(price)
        found = max(found, value)
        if served > capacity:
            low = price
        else:
            high = price
    found = max(found, at(0.0)[0])
    # objectives are whole numbers, so a bound of 4.2 is one of 5; the float sums' rounding
    # is taken off first
    return math.ceil(found - 1e-6 - 1e-7 * abs(found)) + constant


def _cheapest_choices(inst: AllocationInstance, names: tuple[str, ...]
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The named terms' cost of each pair and of leaving each item unassigned, and each
    item's cheapest of them (int64 max for a mandatory item without pairs)."""
    cost = np.zeros(len(inst.pair_item), dtype=np.int64)
    none = np.zeros(inst.n_items, dtype=np.int64)
    for n in names:
        term = inst.terms[n]
        if term.pair is not None:
            cost += term.pair.astype(np.int64)
        if term.unassigned is not None:
            none += term.unassigned.astype(np.int64)
    best = np.where(inst.item_optional.astype(bool), none, np.iinfo(np.int64).max)
    np.minimum.at(best, inst.pair_item, cost)
    return cost, none, best


def lns_applies(inst: AllocationInstance, settings: SolveSettings) -> bool:
    """Whether the neighbourhood search can help: several agents, one objective level, and
    no caps or outside constraints (it does not model them)."""
    return (inst.n_agents >= LNS_MIN_AGENTS and not inst.extensions
            and not settings.term_limits and (not settings.levels or len(settings.levels) == 1))


def _stopped(settings: SolveSettings) -> bool:
    return settings.stop is not None and settings.stop.is_set()


def _finished(inst: AllocationInstance, settings: SolveSettings, item_agent: np.ndarray,
              bound: int | None, seconds: float, flow: FlowChoice | None = None
              ) -> AllocSolution:
    """The solution record of a plan found by the neighbourhood search (with the divisible
    optimum computed on the way, `flow`, for a second solve)."""
    values = evaluate_allocation_terms(inst, inst.terms, item_agent)
    objective = sum(values[n] for n in level_terms(inst, settings))
    status = "OPTIMAL" if bound is not None and objective <= bound else "FEASIBLE"
    return AllocSolution(status, objective, bound, item_agent, values, seconds,
                         (bound,) if bound is not None else (), flow)


def _plainly_better(inst: AllocationInstance, settings: SolveSettings, a: np.ndarray,
                    b: np.ndarray) -> bool:
    """Whether plan a beats plan b on the objective, or by strict priorities (with a
    tolerance, a plan worse on the first level may rightly win on the next)."""
    if settings.levels and len(settings.levels) > 1 and settings.tolerance > 0:
        return False
    return _level_key(inst, settings.levels, a) < _level_key(inst, settings.levels, b)


def _level_key(inst: AllocationInstance, levels, item_agent: np.ndarray) -> tuple[int, ...]:
    """A plan's objective level by level (one level, all terms, without priorities)."""
    levels = levels or (tuple(inst.terms),)
    values = evaluate_allocation_terms(inst, inst.terms, item_agent)
    return tuple(sum(values[n] for n in level if n in values) for level in levels)


def cpsat_least_seconds(pairs: int, least_less: float = 0.0,
                        at_most: float | None = None) -> float:
    """CP-SAT's least time on a hinted team of `pairs` pairs (CPSAT_MIN_SECONDS), `least_less`
    shorter (down to the larger teams' least), and never more than `at_most`, what is left of
    the team's time: on top of it, S's teams given 0.05-0.2 s took 0.15-0.4 s (after a cancel,
    1.3-1.7 s for its 15-21 teams; in a 2 s solve, stage 2 ended 0.3-0.6 s late).
    """
    least = CPSAT_MIN_SECONDS[pairs > CPSAT_PROVES_PAIRS]
    least = max(CPSAT_MIN_SECONDS[1], least - least_less)
    return least if at_most is None else min(least, at_most)


def _whole_model(inst: AllocationInstance, settings: SolveSettings) -> tuple[Callable, Callable]:
    """CP-SAT's whole model of a team, as (hint a plan, solve it with given settings and an
    `evaluate` of plans into term values). Written into its proto (models.allocation_proto)
    where one summed objective says it all; built through cp_model's objects where outside
    constraints, caps on terms or priorities need an expression per term (with its hint: S's
    team of 892 pairs 0.036 -> 0.006 s, M's of 9,420 0.35 -> 0.034 s)."""
    if not inst.extensions and not settings.term_limits \
            and (not settings.levels or len(settings.levels) == 1):
        names = level_terms(inst, settings)
        built = summed_model(inst, names)
        return partial(built.hint, inst), lambda solve_settings, evaluate: solve_summed(
            built.model, names, replace(solve_settings, presolve=SUMMED_PRESOLVE),
            partial(built.item_agent, inst), evaluate)
    model, v, terms, devs = build_allocation(inst)

    def capture(solver: cp_model.CpSolver) -> np.ndarray:
        chosen = np.array([solver.boolean_value(z) for z in v.z], dtype=bool)
        item_agent = np.full(inst.n_items, -1, dtype=np.int64)
        item_agent[inst.pair_item[chosen]] = inst.pair_agent[chosen]
        return item_agent
    return partial(add_hints, model, inst, v, devs=devs), \
        lambda solve_settings, evaluate: solve_levels(model, terms, solve_settings, capture,
                                                      evaluate)


def _repaired_hint(inst: AllocationInstance, settings: SolveSettings) -> np.ndarray:
    """The hint brought into the bands: by priced moves (`into_bands`) where one objective
    sums the terms; by priorities, or under limits on terms, they would trade the first level
    or a limited term for the rest, and the rules' repair does it."""
    if (settings.levels and len(settings.levels) > 1) or settings.term_limits:
        return repair_allocation(inst)
    return into_bands(inst, level_terms(inst, settings), inst.hint_agent)


def solve_with_cpsat(inst: AllocationInstance, settings: SolveSettings,
                     repaired: np.ndarray | None = None, least_less: float = 0.0,
                     least_at_most: float | None = None) -> AllocSolution:
    """Solve with CP-SAT alone. With a hint, the hint is first repaired into the bands (unless
    it comes `repaired`); if CP-SAT finds nothing better in time, that repaired start is the
    answer when it holds every constraint. CP-SAT's least time with a hint:
    `cpsat_least_seconds`, at most `least_at_most` (by default the time limit)."""
    began = time.monotonic()
    hint, solve = _whole_model(inst, settings)
    start = None
    if inst.hint_agent is not None:
        start = repaired if repaired is not None else _repaired_hint(inst, settings)
        # the local search weighs all terms together: by priorities it would trade the first
        # for the others, and CP-SAT may not find its way back in a short time limit
        if not inst.extensions and allocation_is_feasible(inst, start) \
                and (not settings.levels or len(settings.levels) == 1):
            start = improve_allocation(_stressing(inst, settings.term_limits), start,
                                       settings.time_limit * LOCAL_SEARCH_SHARE, settings.stop)
        hint(start)
        least = cpsat_least_seconds(len(inst.pair_item), least_less, settings.time_limit
                                    if least_at_most is None else least_at_most)
        settings = replace(settings, time_limit=max(least, settings.time_limit
                                                    - (time.monotonic() - began)))

    def evaluate(item_agent: np.ndarray) -> dict[str, int]:
        return evaluate_allocation_terms(inst, inst.terms, item_agent)

    out = solve(settings, evaluate)
    if start is not None and not inst.extensions and allocation_is_feasible(inst, start) \
            and all(evaluate(start).get(n, 0) <= cap
                    for n, cap in (settings.term_limits or {}).items()) \
            and (out.solution is None and out.status == "UNKNOWN"
                 or out.solution is not None and _plainly_better(inst, settings, start,
                                                                 out.solution)):
        # CP-SAT ran out of time before it read the start, or before it got back to it
        values = evaluate(start)
        first = (settings.levels or (tuple(values),))[0]
        return AllocSolution("FEASIBLE", sum(values.get(n, 0) for n in first), out.bound,
                             start, values, out.seconds, out.level_bounds[:1])
    item_agent = out.solution if out.solution is not None else np.full(inst.n_items, -1)
    return AllocSolution(out.status, out.objective, out.bound, item_agent, out.term_values,
                         out.seconds, out.level_bounds)
