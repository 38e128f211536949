"""Stage 2's worker processes (planner.team_pool) and how the time is shared among the teams
(planner.solve): a team solved in a worker gives the optimum computed by hand, a cancel
reaches a team in a worker, a worker that dies gives its team back; each team's share of the
time, the part kept for polishing, and what a polished team keeps, by hand."""

from __future__ import annotations

import threading
import time
from dataclasses import replace

import numpy as np
import pytest

from models.instances import (AllocationInstance, AllocSolution, AllocTerm, FlowChoice,
                              SolveSettings)
from planner.solve import (FIRST_PASS_SHARE, FIRST_PASS_SHARE_SMALL, FLOW_FLOOR_MARGIN,
                           FLOW_FLOOR_REACH,
                           HURRIED_TEAM_SECONDS,
                           LARGEST_TEAM_FROM, LARGEST_TEAM_SHARE, MIN_TEAM_SECONDS,
                           POLISH_MIN_SECONDS, POOL_SECONDS_PER_PAIR, SMALL_TEAM_PAIRS,
                           TEAM_BASE_SHARE,
                           _better, _Job, _Lanes,
                           _polish, _pools, first_pass_share, flow_floor, largest_team_share,
                           polish_budget, polish_least,
                           qualified_pairs, sent_seconds,
                           team_order)
from models.pipes import receive as _receive
from models.pipes import send as _send
from planner.team_pool import borrow, give_back
from tests.test_models_allocation import gap

SETTINGS = SolveSettings(time_limit=5.0, workers=1, seed=0)
FLOW = FlowChoice(np.zeros(1, dtype=np.int64), np.zeros(1, dtype=bool), np.zeros(2))


def wait_ready(pool) -> None:
    """Wait until every worker says it is ready (it has imported the solver)."""
    deadline = time.monotonic() + 60
    while not all(w.ready for w in pool.workers):
        assert time.monotonic() < deadline, "the workers did not get ready"
        time.sleep(0.05)


@pytest.fixture
def pool():
    """Two workers, ready."""
    borrowed = borrow(2)
    assert borrowed is not None and borrowed.lanes == 2
    wait_ready(borrowed)
    yield borrowed
    give_back(borrowed)


def slow_instance(seed: int = 1, agents: int = 12, items: int = 400) -> AllocationInstance:
    """A random tight generalized assignment that takes CP-SAT far longer than a second."""
    rng = np.random.default_rng(seed)
    weight = rng.integers(5, 26, size=(items, agents))
    cost = rng.integers(10, 51, size=(items, agents))
    return AllocationInstance(
        agent_lo=np.zeros(agents, dtype=np.int64),
        agent_hi=np.full(agents, int(0.8 * weight.sum() / agents / agents), dtype=np.int64),
        pair_item=np.repeat(np.arange(items), agents), pair_agent=np.tile(np.arange(agents), items),
        pair_weight=weight.ravel(), item_optional=np.zeros(items, dtype=bool),
        terms={"cost": AllocTerm(pair=cost.ravel())})


def wait_all(pool, count: int, timeout: float = 60) -> dict:
    out, deadline = {}, time.monotonic() + timeout
    while len(out) < count:
        assert time.monotonic() < deadline, "the workers did not answer"
        out.update(pool.wait())
    return out


# The textbook GAP of tests/test_models_allocation.py: optimum 9 with items on agents 0, 1, 0.
# With capacity 7 on agent 1 instead of 5, the 8 assignments cost 000 8, 001 4 (agent 0 loaded
# 7 > 5), 010 9, 011 5 (loads 3, 7), 100 11, 101 7, 110 12, 111 8: the optimum is 011, 5.
def test_teams_solved_in_workers_give_the_optimum_computed_by_hand(pool):
    tags = [pool.submit(gap(), SETTINGS), pool.submit(gap(hi=(5, 7)), SETTINGS)]
    assert None not in tags
    solved = wait_all(pool, 2)
    assert [solved[t].objective for t in tags] == [9, 5]
    assert solved[tags[0]].item_agent.tolist() == [0, 1, 0]
    assert solved[tags[1]].item_agent.tolist() == [0, 1, 1]
    assert all(solved[t].status == "OPTIMAL" for t in tags)


# A worker still importing the solver takes no team: the solving process solves it itself
# (planner.solve's _Run.start, when no tag comes back).
def test_a_team_goes_only_to_a_worker_that_is_ready(pool):
    first, second = pool.workers
    first.ready = second.ready = False  # (as they are just after they start)
    assert pool.submit(gap(), SETTINGS) is None and not pool.idle()
    first.ready = True
    tag = pool.submit(gap(), SETTINGS)
    assert tag is not None and first.task == tag and second.task is None
    assert wait_all(pool, 1)[tag].objective == 9
    second.ready = True


def test_a_cancel_reaches_a_team_in_a_worker(pool):
    stop = threading.Event()
    tag = pool.submit(slow_instance(), SolveSettings(time_limit=60.0, workers=1, seed=0,
                                                     stop=stop))
    time.sleep(2.0)
    stop.set()
    began = time.monotonic()
    solved = wait_all(pool, 1, timeout=30)
    assert time.monotonic() - began < 10, "the team did not stop at the cancel"
    assert solved[tag].status == "FEASIBLE" and solved[tag].objective is not None


def test_a_worker_that_dies_gives_its_team_back(pool):
    tag = pool.submit(slow_instance(), SolveSettings(time_limit=60.0, workers=1, seed=0))
    worker = next(w for w in pool.workers if w.task == tag)
    time.sleep(0.5)
    worker.process.kill()
    assert wait_all(pool, 1, timeout=30) == {tag: None}
    assert worker not in pool.workers and pool.lanes == 2  # (lanes: what it was lent)


# Two lanes, 10 s to the deadline, teams of 6, 3 and 1 pairs (10 in all), no charge yet:
# the first may use a whole lane (min(10, 2 x 10 x 6 / 10 = 12) = 10 s); the second shares
# the 20 lane-seconds less the first's 10: 10 x 3 / 4 = 7.5 s; the third gets what is left,
# 20 - 10 - 7.5 = 2.5 s. One lane, each team started when the one before has used its time:
# 10 x 6 / 10 = 6 s at 0 s, 4 x 3 / 4 = 3 s at 6 s, 1 x 1 / 1 = 1 s at 9 s.
def test_each_team_gets_its_share_of_the_time_on_every_lane():
    lanes = _Lanes(deadline=10.0, pairs=10.0, lanes=2)
    budgets = []
    for pairs in (6.0, 3.0, 1.0):
        budgets.append(lanes.budget(pairs, now=0.0))
        lanes.started(_Job(0, (), pairs, budgets[-1], began=0.0))
    assert budgets == pytest.approx([10.0, 7.5, 2.5])
    one = _Lanes(deadline=10.0, pairs=10.0, lanes=1)
    assert [one.budget(p, now) for p, now in ((6.0, 0.0), (3.0, 6.0), (1.0, 9.0))] \
        == pytest.approx([6.0, 3.0, 1.0])
    late = _Lanes(deadline=1.0, pairs=10.0, lanes=2)
    assert late.budget(1.0, now=2.0) == MIN_TEAM_SECONDS


# Two lanes and four teams of 1 pair each (no base). With 1 s left, 2 lane-seconds: 0.5 s each,
# above the floor. With 0.2 s left, 0.4 lane-seconds: the floor falls to 0.1 s; once a team
# holds 0.22 s of it, to (0.4 - 0.22) / 3 = 0.06 s for the three still to start; past the
# deadline, to HURRIED_TEAM_SECONDS.
def test_a_teams_least_time_shrinks_when_the_lanes_cannot_give_every_team_its_floor():
    assert _Lanes(deadline=1.0, pairs=4.0, lanes=2, teams=4).floor(now=0.0) == MIN_TEAM_SECONDS
    short = _Lanes(deadline=0.2, pairs=4.0, lanes=2, teams=4)
    assert short.floor(now=0.0) == pytest.approx(0.1, abs=1e-5)  # (less a charge of 4 pairs)
    assert short.budget(1.0, now=0.0) == pytest.approx(0.1, abs=1e-3)
    short.started(_Job(0, (), 1.0, 0.22, began=0.0))
    assert short.floor(now=0.0) == pytest.approx(0.06, abs=1e-5)
    late = _Lanes(deadline=1.0, pairs=10.0, lanes=2, teams=3)
    assert late.budget(5.0, now=2.0) == HURRIED_TEAM_SECONDS
    assert late.teams_left == 2



# Two lanes, 1 s, four teams of a million pairs each: 2 lane-seconds, 0.5 s a team, above the
# floor. Once a team of 2 million pairs took 0.8 s beyond its share (4e-7 s a pair), the four
# still to start are charged 1.6 s of the 2: 0.1 s each.
def test_a_teams_least_time_leaves_room_for_the_charge_of_the_teams_to_come():
    lanes = _Lanes(deadline=1.0, pairs=4e6, lanes=2, teams=4)
    assert lanes.floor(now=0.0) == MIN_TEAM_SECONDS
    lanes.charge.add(2e6, 0.8)
    assert lanes.floor(now=0.0) == pytest.approx(0.1)


def test_a_team_sent_solves_for_its_time_less_sending_but_not_past_a_hurried_budget():
    assert sent_seconds(2.0, sending=0.5) == pytest.approx(1.5)
    assert sent_seconds(0.3, sending=0.25) == MIN_TEAM_SECONDS
    assert sent_seconds(0.05, sending=0.01) == pytest.approx(0.05)  # after a cancel


# One lane, 10 s, two teams of 8 and 2 pairs with the base: 0.25 x 10 / 2 = 1.25 pairs each,
# 12.5 in all. The first gets 10 x 9.25 / 12.5 = 7.4 s (8 s by pairs alone), the second the
# 2.6 s left (10 x 3.25 / 12.5 = 2.6 s).
def test_every_team_counts_a_base_besides_its_pairs():
    assert TEAM_BASE_SHARE == 0.25
    lanes = _Lanes(deadline=10.0, pairs=10.0, lanes=1, teams=2)
    assert lanes.budget(8.0, now=0.0) == pytest.approx(7.4)
    assert lanes.budget(2.0, now=7.4) == pytest.approx(2.6)


# One lane, 10 s, two teams of 5 pairs; the first may be polished: it gets 0.6 of its share
# (10 x 5 / 10 = 5 s) now, 3 s, and 2 s are kept. At 3 s the second gets the 7 s left less
# the 2 kept: 5 s. At 8 s the 2 s kept are what is left to polish with.
def test_a_polishable_team_gets_part_of_its_share_and_the_rest_is_kept():
    lanes = _Lanes(deadline=10.0, pairs=10.0, lanes=1)
    assert lanes.budget(5.0, now=0.0, factor=0.6) == pytest.approx(3.0)
    assert lanes.budget(5.0, now=3.0) == pytest.approx(5.0, rel=1e-5)
    assert lanes.room(now=8.0) == pytest.approx(2.0)


# One lane, 10 s, teams of 3 and 7 pairs (no base); the first is a largest team (above
# LARGEST_TEAM_FROM): it gets LARGEST_TEAM_SHARE (1.4) of its 3 s, 4.2 s, and the second the
# 5.8 s left, not its 7 s. One pair fewer, the same team gets its share.
def test_a_largest_team_gets_more_than_its_share_from_the_teams_after_it():
    assert largest_team_share(LARGEST_TEAM_FROM) == 1.0
    share = largest_team_share(LARGEST_TEAM_FROM + 1)
    assert share == LARGEST_TEAM_SHARE == 1.4
    lanes = _Lanes(deadline=10.0, pairs=10.0, lanes=1)
    assert lanes.budget(3.0, now=0.0, factor=share) == pytest.approx(4.2)
    assert lanes.budget(7.0, now=4.2) == pytest.approx(5.8)


# Two lanes, 1 s, 1,000 pairs (no base): a team of 1 pair has a share of 0.002 s, below the
# 0.2 s floor. A team polished later (factor 0.3) gets 0.3 x 0.2 = 0.06 s of it at first; at
# 0.1 it would get 0.02 s, and gets HURRIED_TEAM_SECONDS instead; a team solved once keeps the
# whole floor. Where the floor is less already (four teams still to start with 0.4
# lane-seconds: 0.1 s each), it is not cut.
def test_a_polishable_teams_least_time_is_cut_like_its_share():
    assert (MIN_TEAM_SECONDS, HURRIED_TEAM_SECONDS) == (0.2, 0.05)
    lanes = _Lanes(deadline=1.0, pairs=1000.0, lanes=2)
    assert lanes.budget(1.0, now=0.0, factor=0.3) == pytest.approx(0.06)
    assert lanes.budget(1.0, now=0.0, factor=0.1) == pytest.approx(HURRIED_TEAM_SECONDS)
    assert lanes.budget(1.0, now=0.0) == pytest.approx(MIN_TEAM_SECONDS)
    short = _Lanes(deadline=0.2, pairs=4000.0, lanes=2, teams=4)
    assert short.budget(1.0, now=0.0, factor=0.3) == pytest.approx(0.1, abs=1e-3)


# One lane, 10 s, two teams of 5 pairs; the first may be polished (0.6 of its 5 s share, 3 s)
# but its flow needs 3.5 s (`least`: within the share, and at most FLOW_FLOOR_REACH, 1.25
# times the 3 s): it gets 3.5 s and 1.5 s is kept. At 3.5 s the second gets the 6.5 s left
# less the 1.5 kept: 5 s. A flow needing 4 s (more than 1.25 x 3 s) does not raise the first
# pass, nor one needing 6 s (more than the share): 3 s as before.
def test_a_first_pass_is_raised_to_what_its_flow_needs_where_it_misses_it_by_little():
    assert FLOW_FLOOR_REACH == 1.25
    lanes = _Lanes(deadline=10.0, pairs=10.0, lanes=1)
    assert lanes.budget(5.0, now=0.0, factor=0.6, least=3.5) == pytest.approx(3.5)
    assert lanes.budget(5.0, now=3.5) == pytest.approx(5.0, rel=1e-5)
    assert lanes.room(now=8.5) == pytest.approx(1.5)
    for least in (4.0, 6.0):
        beyond = _Lanes(deadline=10.0, pairs=10.0, lanes=1)
        assert beyond.budget(5.0, now=0.0, factor=0.6, least=least) == pytest.approx(3.0)


# The three items' 6 pairs (their weights the same on both agents: a flow applies), the flow
# estimated at 0.1 s: 0.25 s of time at FLOW_SHARE (0.4), and sending the team 0.05 s: its
# first pass at least 1.05 x 0.3 = 0.315 s sent to a worker, 1.05 x 0.25 = 0.2625 s solved in
# this process; none where the weights differ by agent (no flow applies).
def test_a_first_pass_floor_is_what_the_flow_and_sending_need(monkeypatch):
    import models.allocation as allocation
    import sys
    from tests.test_allocation_flow import three_items
    solve_module = sys.modules["planner.solve"]
    inst = three_items()
    monkeypatch.setattr(allocation, "FLOW_SECONDS_PER_PAIR", 0.1 / len(inst.pair_item))
    monkeypatch.setattr(solve_module, "POOL_SECONDS_PER_PAIR", 0.05 / len(inst.pair_item))
    assert (allocation.FLOW_SHARE, FLOW_FLOOR_MARGIN) == (0.4, 1.05)
    assert flow_floor(inst, pooled=True) == pytest.approx(0.315)
    assert flow_floor(inst, pooled=False) == pytest.approx(0.2625)
    from tests.test_models_allocation import i64, make_alloc
    varied = make_alloc([0, 0, 0], [9, 9, 9], [(0, 0, 4), (0, 1, 5), (0, 2, 6)], 1,
                        {"cost": AllocTerm(pair=i64([0, 0, 0]))})
    assert flow_floor(varied, pooled=True) == 0.0


def test_a_small_team_gets_less_at_first_only_where_every_team_may_be_polished():
    assert (FIRST_PASS_SHARE_SMALL, FIRST_PASS_SHARE) == (0.3, 0.6)
    assert first_pass_share(SMALL_TEAM_PAIRS, all_polishable=True) == 0.3
    assert first_pass_share(SMALL_TEAM_PAIRS + 1, all_polishable=True) == 0.6
    assert first_pass_share(10, all_polishable=False) == 0.6


def sol(status: str, objective: int | None, bound: int | None, seconds: float = 1.0):
    return AllocSolution(status, objective, bound, np.zeros(1, dtype=np.int64), {}, seconds)


# A team solved again keeps the cheaper plan and the higher bound (both bound the same team),
# OPTIMAL when they meet; a second solve without a plan changes nothing.
def test_a_polished_team_keeps_the_cheaper_plan_and_the_higher_bound():
    first = sol("FEASIBLE", 10, 5)
    assert (_better(first, sol("FEASIBLE", 8, 4)).objective,
            _better(first, sol("FEASIBLE", 8, 4)).bound) == (8, 5)
    assert _better(first, sol("FEASIBLE", 12, 7)).objective == 10
    assert _better(first, sol("FEASIBLE", 12, 7)).bound == 7
    met = _better(first, sol("FEASIBLE", 9, 9))
    assert (met.status, met.objective, met.bound, met.seconds) == ("OPTIMAL", 9, 9, 2.0)
    assert _better(first, sol("UNKNOWN", None, None)) is first



class _FakeRun:
    """What `_polish` reads of a stage 2 in flight, 100 s before its deadline on two lanes:
    team 9 (not polishable) runs on one lane until the deadline, until it is waited for; teams
    1 (gap 30) and 2 (gap 10) have plans, team 3 is proved optimal. Records each start with the
    teams running at that moment."""

    def __init__(self) -> None:
        now = time.monotonic()
        self.clock = _Lanes(deadline=now + 100, pairs=1.0, lanes=2)
        self.failed, self.started, self.hints, self.polished_instances = None, [], [], {}
        self.results = {1: (replace(sol("FEASIBLE", 100, 70), flow=FLOW), None),
                        2: (sol("FEASIBLE", 50, 40), None), 3: (sol("OPTIMAL", 20, 20), None)}
        self.jobs = {t: _Job(t, (t,), 1.0, 1.0, inst=slow_instance(agents=2, items=3))
                     for t in (1, 2, 3)}
        large = _Job(9, (9,), 1.0, 100.0, began=now)
        self.running = {0: large}
        self.clock.started(large)

    def stopped(self) -> bool:
        return False

    def make_room(self, anywhere: bool = False) -> None:
        pass

    def wait_one(self) -> None:
        self.running.clear()

    def start(self, job: _Job) -> None:
        self.clock.started(job)
        self.started.append((job.team, job.budget, sorted(j.team for j in self.running.values())))
        self.hints.append((job.team, job.inst.hint_agent, job.inst.hint_flow))
        self.polished_instances[job.team] = job.inst


# Polishing starts on the free lane while team 9 still runs: of the 2 x 100 lane-seconds left
# team 9 holds 100; team 1 (30 of the 40 of gaps) gets 100 x 30 / 40 = 75 s, team 2 the 25 s
# left (all of the gaps left); team 3 (optimal) none.
def test_polishing_starts_on_a_free_lane_while_a_large_team_still_runs():
    run = _FakeRun()
    _polish(run)
    assert [(team, running) for team, _, running in run.started] == [(1, [9]), (2, [9])]
    assert [budget for _, budget, _ in run.started] == pytest.approx([75, 25], abs=0.1)


# A polish gets its team's share of the lane-seconds left (75 of 100 at 30 of 40 of the gaps),
# at least POLISH_MIN_SECONDS (0.3 s where the share is 0.26 s: S key-account hybrid's last
# 0.38 s) and never more than a free lane has left (0.2 s: too little to start).
@pytest.mark.parametrize("room, left, share, budget", [
    (100.0, 100.0, 0.75, 75.0), (0.75, 0.38, 0.345, 0.3), (0.4, 0.2, 1.0, 0.2)])
def test_a_polish_gets_its_share_of_the_time_left_but_at_least_the_least_worth_it(
        room, left, share, budget):
    assert POLISH_MIN_SECONDS == 0.3
    assert polish_budget(room, left, share) == pytest.approx(budget)


# Each polished team starts from its plan and from the divisible optimum its first solve
# computed (team 1's), where there is one (team 2's first solve had none).
def test_a_polished_team_starts_from_its_plan_and_its_first_solves_flow():
    run = _FakeRun()
    _polish(run)
    assert [(team, agent is run.results[team][0].item_agent, flow)
            for team, agent, flow in run.hints] == [(1, True, FLOW), (2, True, None)]
    # ... and with the bound its first solve found (a team of two reps keeps its whole-items
    # bound without computing it again: models.allocation._knapsack_bounded)
    assert {team: inst.hint_bound for team, inst in run.polished_instances.items()} == \
        {1: 70, 2: 40}


# A polish's least time is POLISH_MIN_SECONDS (0.3 s) where the lane-seconds left give each
# team waiting that much, else their even share, but never less than 0.1 s. S key-account
# hybrid's third hard team (4.5 of 5.5 M of the gaps waiting), its lane free with 0.18 s left
# and 0.27 lane-seconds in all: least 0.135 s, so it gets the 0.18 s (at least 0.3 s, none).
@pytest.mark.parametrize("room, waiting, least", [
    (10.0, 2, 0.3), (0.79, 3, 0.79 / 3), (0.27, 2, 0.135), (0.1, 1, 0.1), (0.05, 4, 0.1)])
def test_a_polishs_least_time_shrinks_to_share_the_lane_seconds_left(room, waiting, least):
    assert polish_least(room, waiting) == pytest.approx(least)


def test_the_last_hard_team_is_polished_in_what_a_lane_has_left():
    least = polish_least(0.27, 2)
    budget = polish_budget(0.27, 0.18, 4.5 / 5.5, least)
    assert budget == pytest.approx(0.18) and least <= budget < POLISH_MIN_SECONDS


# A team kept without its instance (more than POLISH_KEEP_PAIRS pairs) is built again for its
# polish, from its plan and its flow as any other.
def test_a_team_kept_without_its_instance_is_built_again_for_its_polish():
    run = _FakeRun()
    built = slow_instance(agents=2, items=3)
    run.jobs[1] = replace(run.jobs[1], inst=None, build=lambda: (built, None))
    _polish(run)
    assert [team for team, _, _ in run.hints] == [1, 2]
    polished = run.polished_instances[1]
    assert polished.pair_item is built.pair_item and polished.hint_flow is FLOW


# A message's arrays travel beside its pickle (out of band) and come back equal: a contiguous
# one, a strided view (sent in the pickle), an empty one; the end of the stream reads None.
def test_a_message_and_its_arrays_cross_a_pipe_unchanged():
    import os
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as inp, os.fdopen(write_end, "wb") as out:
        big = np.arange(100_000, dtype=np.int64)
        sender = threading.Thread(target=lambda: (_send(out, ("solve", big, big[::3], np.zeros(0))),
                                                  out.close()))
        sender.start()
        tag, whole, strided, empty = _receive(inp)
        sender.join()
        assert tag == "solve"
        assert whole.tolist() == big.tolist() and strided.tolist() == big[::3].tolist()
        assert empty.shape == (0,)
        assert _receive(inp) is None


# Numbers' arrays come back with numpy's own dtype object, not a copy of it (numpy's pickle
# sends a copy, and np.maximum.at on such an array leaves its fast loop): whole, a strided
# view, a Fortran-ordered matrix, bools, floats; strings and objects cross as numpy pickles
# them, and every array comes back equal, in its shape and order.
def test_arrays_cross_a_pipe_with_numpys_own_dtypes():
    import os
    import pickle
    unpickled = pickle.loads(pickle.dumps(np.arange(5)))
    assert unpickled.dtype is not np.dtype(np.int64)  # (what the pipe must not hand on)
    numbers = (unpickled, np.arange(10)[::2], np.asfortranarray(np.ones((2, 3))),
               np.array([True, False]), np.zeros(0, dtype=np.int32))
    others = (np.array(["ab", "c"]), np.array([1, None], dtype=object))
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as inp, os.fdopen(write_end, "wb") as out:
        sender = threading.Thread(target=lambda: (_send(out, numbers + others), out.close()))
        sender.start()
        got = _receive(inp)
        sender.join()
    for sent, back in zip(numbers + others, got):
        assert back.shape == sent.shape and back.tolist() == sent.tolist()
    for back in got[:len(numbers)]:
        assert back.dtype is np.dtype(back.dtype.str)
    assert got[2].flags.f_contiguous and not got[2].flags.c_contiguous


# Reps r0-r3 qualify for cells (r0: 0; r1: 0, 1; r2: 1; r3: 0, 1); teams {r0, r1}, {r2, r3};
# team 0's lines are in cells 0, 0, 1 (2 + 2 + 1 qualified members), team 1's in 1, 1 (2 + 2).
def test_qualified_pairs_count_each_lines_qualified_members():
    from types import SimpleNamespace
    import pandas as pd
    p = SimpleNamespace(lines=pd.DataFrame({"cell": [0, 0, 1, 1, 1], "team": [0, 0, 0, 1, 1]}),
                        cell_qualified=np.array([[1, 0], [1, 1], [0, 1], [1, 1]], dtype=bool))
    team_lines = p.lines.groupby("team").indices
    assert qualified_pairs(p, team_lines, np.array([0, 0, 1, 1])) == [5, 4]


# Up to 20 million pairs in all the teams go to workers whatever the time; above, only when
# sending them (3.5e-7 s a pair: 10.5 s for 30 million) takes at most a quarter of the time
# left, and a team of more than 8 million is not sent but solved here (one at most): never
# with one lane or one team.
def test_the_pool_is_used_where_sending_pays_and_a_team_too_large_is_solved_here():
    assert POOL_SECONDS_PER_PAIR == 3.5e-7
    assert _pools([10_000_000, 10_000_000], 2, 1.0) == set()
    assert _pools([8_000_000] * 3 + [6_000_000], 2, 42.0) == set()
    assert _pools([8_000_000] * 3 + [6_000_000], 2, 41.0) is None
    assert _pools([7_000_000, 20_000_000, 7_000_000], 2, 19.7) == {1}  # 4.9 s to send
    assert _pools([7_000_000, 20_000_000, 7_000_000], 2, 19.5) is None
    assert _pools([9_000_000, 9_000_000, 7_000_000], 2, 1000.0) is None
    assert _pools([1_000, 1_000], 1, 1000.0) is None
    assert _pools([1_000], 2, 1000.0) is None


# A pool with a lane in this process: the team sent `here` is solved there (the textbook GAP,
# optimum 9 by hand), a plain submit never lands on it, and the pool has its two lanes.
def test_a_team_solved_on_the_local_lane_gives_the_optimum_computed_by_hand():
    pool = borrow(2, local=True)
    wait_ready(pool)  # (else a worker's word that it is ready may come first)
    try:
        assert pool.lanes == 2
        settings = SolveSettings(time_limit=5, workers=1, seed=0)
        tag = pool.submit(gap(), settings, here=True)
        assert tag is not None
        assert pool.submit(gap(), settings, here=True) is None  # the lane is busy
        # (a worker started for this pool may say it is ready first: wait() then gives none)
        (done_tag, sol), = wait_all(pool, 1).items()
        assert done_tag == tag
        assert sol.objective == 9 and sol.item_agent.tolist() == [0, 1, 0]
    finally:
        give_back(pool)


# Once the team it was for is done, the local lane takes a polish (`anywhere`) while the
# worker is busy; a plain submit still waits for the worker. Both give the optimum, 9.
def test_a_polish_takes_the_local_lane_when_the_worker_is_busy():
    pool = borrow(2, local=True)
    wait_ready(pool)
    try:
        settings = SolveSettings(time_limit=5, workers=1, seed=0)
        first = pool.submit(slow_instance(agents=2, items=3), settings)
        assert first is not None and not pool.idle() and pool.idle(anywhere=True)
        assert pool.submit(gap(), settings) is None
        polish = pool.submit(gap(), settings, anywhere=True)
        assert polish is not None and not pool.idle(anywhere=True)
        done = wait_all(pool, 2)
        assert done[polish].objective == 9 and done[polish].item_agent.tolist() == [0, 1, 0]
        assert done[first] is not None
    finally:
        give_back(pool)


# End to end with the limits lowered so that the largest team counts as too large to send:
# it is solved on the local lane (and only it), the others in a worker, and the plan holds
# every rule the verifier checks.
# Teams 7 (100 pairs), 3 (50) and 5 (10): largest first with a pool, by id without one; team 7
# solved here starts after team 3, the largest sent to a worker, which then need not wait for
# team 7's instance to be built.
def test_the_team_solved_here_starts_after_the_largest_team_sent():
    sizes = {7: 100, 3: 50, 5: 10}
    assert team_order(sizes, False, set()) == [3, 5, 7]
    assert team_order(sizes, True, set()) == [7, 3, 5]
    assert team_order(sizes, True, {7}) == [3, 7, 5]
    assert team_order(sizes, True, {5}) == [7, 3, 5]
    assert team_order({7: 100}, True, {7}) == [7]


# Stage 2's workers are started as stage 1 starts, so that they have imported the solver when
# its first team comes, also on companies whose teams count as too large to all be sent
# (POOL_MAX_PAIRS 0 here): one fewer there, a team too large to send taking a lane in this
# process.
def test_the_workers_warm_up_before_stage_one_on_any_company(tmp_path, monkeypatch):
    import sys
    from planner import load_scenario, solve
    from tests.helpers import generated_region_scenario
    solve_module = sys.modules["planner.solve"]
    warmed = []
    monkeypatch.setattr(solve_module, "POOL_MAX_PAIRS", 0)
    monkeypatch.setattr(solve_module, "warm_up", warmed.append)
    plan = solve(load_scenario(generated_region_scenario(tmp_path)), time_limit=2, workers=2,
                 seed=0, method="two-stage")
    assert warmed == [1]
    assert plan.verify() == []


def test_a_solve_with_its_largest_team_on_the_local_lane_verifies(tmp_path, monkeypatch):
    import sys
    from planner import load_scenario, solve, team_pool
    from tests.helpers import generated_region_scenario
    solve_module = sys.modules["planner.solve"]
    scenario = generated_region_scenario(tmp_path)
    chosen, here = {}, []
    real_pools, real_solve = solve_module._pools, team_pool.solve_one

    def pools(pairs, lanes, seconds_left):
        chosen["largest"] = max(range(len(pairs)), key=pairs.__getitem__)
        monkeypatch.setattr(solve_module, "POOL_MAX_PAIRS", 0)
        monkeypatch.setattr(solve_module, "POOL_MAX_TEAM_PAIRS", max(pairs) - 1)
        monkeypatch.setattr(solve_module, "POOL_SEND_SHARE", 1e9)
        return real_pools(pairs, lanes, seconds_left)

    def local_solve(tag, inst, settings, *rest):  # (the workers, other processes, run theirs)
        here.append(settings.stage)
        real_solve(tag, inst, settings, *rest)
    monkeypatch.setattr(solve_module, "_pools", pools)
    monkeypatch.setattr(team_pool, "solve_one", local_solve)
    # no second solves: on a loaded machine one went to the local lane once every team had
    # started, which it may (`_Run.make_room(anywhere=True)`)
    monkeypatch.setattr(solve_module, "POLISH_MAX_PAIRS", 0)
    plan = solve(load_scenario(scenario), time_limit=4, workers=2, seed=0,
                 method="two-stage")
    assert len(here) == 1 and "stage 2: team" in here[0]
    assert plan.verify() == []
