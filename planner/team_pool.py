"""Stage 2's teams on several cores: each team's allocation is solved in a worker process.

A team's solve is mostly Python (the relaxation, the priced plans, the repair, the
neighbourhood search between CP-SAT's calls), so one team at a time keeps about 1.3 of two
cores busy however many CP-SAT workers it has (measured on M, 2 cores: 7.6 s of CPU in 6.1 s of
stage 2). With a worker process per core, each team solved with one CP-SAT worker, the teams
share the cores instead.

The workers are plain Python processes (models.team_worker) fed over pipes (models.pipes, which
says why not multiprocessing: pickled instances in, solutions and progress events out). Workers
are started when a solve begins (they import the solver while stage 1 runs) and kept for the
next solve. A team stops early when the
solve's stop event is set (if it watches it: teams started after a cancel do not) or when the
pool is aborted (a team found infeasible makes the others' plans useless). A worker that fails
gives its team back to be solved in the solving process. A pool may also have one lane in the
solving process itself (`_LocalLane`, a thread), for a team too large to send."""

from __future__ import annotations

import atexit
import pickle
import queue
import sys
import threading
from dataclasses import replace
from typing import Callable

from models.instances import AllocationInstance, AllocSolution, Progress, SolveSettings
from models.pipes import high_water_mb, receive, send, start_child, stop_child
from models.team_worker import solve_one

#: how often the solving process looks for a cancel while teams are solved elsewhere
POLL_SECONDS = 0.05


class _Worker:
    """A worker process and the thread that reads what it sends."""

    def __init__(self, events: queue.Queue) -> None:
        self.process, self.input, self.output = start_child("models.team_worker")
        self.events = events
        self.task: int | None = None
        self.ready = False  # it has imported the solver (see `TeamPool.submit`)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                msg = receive(self.output)
            except (OSError, EOFError, pickle.UnpicklingError):
                msg = None
            if msg is None:
                self.events.put(("gone", self, None))
                return
            if msg[0] == "ready":
                self.ready = True
            self.events.put((msg[0], self, msg[1:]))

    def send(self, message: tuple) -> bool:
        try:
            send(self.input, message)
            return True
        except (OSError, ValueError):
            return False

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        stop_child(self.process, self.input)  # (its reader thread reads to the end)


class _LocalLane:
    """A lane in the solving process itself, for a team too large to send to a worker
    (planner.solve's POOL_MAX_TEAM_PAIRS): it is solved in a thread while the workers solve
    the others, and reports to the pool as a worker does."""

    def __init__(self, events: queue.Queue) -> None:
        self.events = events
        self.task: int | None = None
        self.ready = True
        self.cancel, self.abort = threading.Event(), threading.Event()

    def send(self, message: tuple) -> bool:
        if message[0] == "solve":
            threading.Thread(target=solve_one, daemon=True, args=(
                *message[1:], self.cancel, self.abort,
                lambda kind, *body: self.events.put((kind, self, body)))).start()
        elif message[0] == "cancel":
            self.cancel.set()
        elif message[0] == "abort":
            self.abort.set()
        elif message[0] == "reset":
            self.cancel.clear()
            self.abort.clear()
        return True

    def alive(self) -> bool:
        return True

    def close(self) -> None:
        pass


class TeamPool:
    """Worker processes lent to one stage 2 (`lanes` of them)."""

    def __init__(self, workers: list[_Worker], local: bool = False) -> None:
        self.events: queue.Queue = queue.Queue()
        self.workers: list = workers + ([_LocalLane(self.events)] if local else [])
        self.lanes = len(self.workers)
        for w in self.workers:
            w.events = self.events
        self._relays: dict[int, Callable[[Progress], None] | None] = {}
        self._stops: dict[int, object] = {}
        self._cancelled = False
        for w in workers:
            w.send(("reset",))

    def idle(self, anywhere: bool = False) -> bool:
        """Whether a worker process is free and ready (the local lane takes only the team it
        is for), or any lane, the local one included, when `anywhere`."""
        return any(w.task is None and w.ready for w in self.workers
                   if anywhere or isinstance(w, _Worker))

    def submit(self, inst: AllocationInstance, settings: SolveSettings,
               here: bool = False, anywhere: bool = False) -> int | None:
        """Send a team to an idle worker that is ready (to the local lane when `here`, to
        either when `anywhere`); its tag, or None when none took it: the team is then solved in
        the solving process (in a fresh one, the workers may still be importing the solver: S
        key-account hybrid's first team waited 0.4-0.6 s for one). Its progress goes to
        `settings.progress` (while `wait` runs); it stops early when `settings.stop` is set."""
        tag = len(self._relays)
        for w in self.workers:
            if w.task is None and w.ready and (anywhere or isinstance(w, _LocalLane) == here) \
                    and w.send((
                    "solve", tag, inst, replace(settings, progress=None, stop=None),
                    settings.stop is not None)):
                w.task = tag
                self._relays[tag] = settings.progress
                if settings.stop is not None:
                    self._stops[tag] = settings.stop
                return tag
        return None

    def wait(self) -> list[tuple[int, AllocSolution | None]]:
        """Relay progress until a team is done (or a worker has become ready: then none);
        returns the (tag, solution) of each done one, the solution None when its worker failed
        (solve that team here)."""
        finished: list[tuple[int, AllocSolution | None]] = []
        while not finished:
            try:
                kind, worker, body = self.events.get(timeout=POLL_SECONDS)
            except queue.Empty:
                self._pass_on_cancel()
                continue
            if worker not in self.workers:
                continue  # from a worker that failed earlier
            if kind == "ready":
                return finished  # (none: a worker is free for a team now)
            if kind == "progress":
                relay = self._relays.get(body[0])
                if relay is not None and worker.task == body[0]:
                    relay(body[1])
                continue
            tag, worker.task = worker.task, None
            if kind == "done":
                finished.append((tag, body[1]))
                continue
            if kind == "error":
                print(f"a stage-2 worker failed; the team is solved here:\n{body[1]}",
                      file=sys.stderr)
            self.workers.remove(worker)  # it failed or is gone: not used again
            if tag is not None:
                finished.append((tag, None))
        return finished

    def _pass_on_cancel(self) -> None:
        if not self._cancelled and any(
                stop.is_set() for tag, stop in self._stops.items()
                if any(w.task == tag for w in self.workers)):
            self._cancelled = True
            for w in self.workers:
                w.send(("cancel",))

    def abort(self) -> None:
        """Ask every running team to stop at once with its best plan."""
        for w in self.workers:
            w.send(("abort",))


_idle: list[_Worker] = []
_idle_lock = threading.Lock()


def warm_up(lanes: int) -> None:
    """Start workers until `lanes` are idle (each imports the solver on its own core while the
    solving process goes on); harmless where processes cannot be started."""
    with _idle_lock:
        _idle[:] = [w for w in _idle if w.alive()]
        try:
            while len(_idle) < lanes:
                _idle.append(_Worker(queue.Queue()))
        except OSError:
            pass


def borrow(lanes: int, local: bool = False) -> TeamPool | None:
    """A pool of up to `lanes` lanes: idle workers (started if need be), one of them a lane in
    this process when `local`; None when fewer than two lanes can be had. Give it back with
    `give_back`."""
    wanted = lanes - local
    warm_up(wanted)
    with _idle_lock:
        workers, _idle[:] = _idle[:wanted], _idle[wanted:]
    if len(workers) + local < 2:
        with _idle_lock:
            _idle.extend(workers)
        return None
    return TeamPool(workers, local)


def give_back(pool: TeamPool) -> None:
    """Keep the pool's workers for the next solve; a worker still busy (after an error in the
    solving process) is stopped instead."""
    for w in pool.workers:
        if isinstance(w, _LocalLane):
            w.abort.set()  # (a team still solved here after an error: stop it)
            continue
        if w.task is None and w.alive():
            with _idle_lock:
                _idle.append(w)
        else:
            w.close()


def workers_peak_rss_mb() -> float:
    """The idle workers' peak resident memory, summed, in MB (Linux; 0 elsewhere): with the
    solving process's own peak, an upper bound of what a solve held at once."""
    with _idle_lock:
        pids = [w.process.pid for w in _idle if w.alive()]
    return sum(high_water_mb(pid) for pid in pids)


@atexit.register
def _stop_workers() -> None:
    with _idle_lock:
        workers, _idle[:] = list(_idle), []
    for w in workers:
        w.close()
