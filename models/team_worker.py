"""A stage-2 worker process: it solves the teams the solving process sends it
(planner.team_pool), one at a time, and sends back their progress and solutions.

It imports the solver as soon as it starts, while the solving process is still at stage 1; and
only models, not planner, whose package imports pandas and the rest of the planner: a worker
took 1.06 s to start and 0.23 s more at its first team, and in a fresh process S key-account
hybrid's first team waited 0.86 s for it, past its time.
"""

from __future__ import annotations

import queue
import threading
import traceback
from dataclasses import replace
from typing import BinaryIO, Callable

from models.allocation import solve_allocation
from models.instances import AllocationInstance, SolveSettings
from models.pipes import child_streams, receive, send


class _Either:
    """Set when any of the events is (the stop event a team in a worker watches)."""

    def __init__(self, *events: threading.Event) -> None:
        self.events = events

    def is_set(self) -> bool:
        return any(e.is_set() for e in self.events)


def serve(inp: BinaryIO, out: BinaryIO) -> None:
    """A worker's loop: say it is ready, then solve each team sent, send back its progress
    and solution. Control messages (cancel, abort, reset) are read beside the solve, so that
    they reach it."""
    cancel, abort, lock = threading.Event(), threading.Event(), threading.Lock()
    tasks: queue.Queue = queue.Queue()
    send(out, ("ready",), lock)  # (the solver is imported)

    def control() -> None:
        while (msg := receive(inp)) is not None:
            if msg[0] == "solve":
                tasks.put(msg)
            elif msg[0] == "cancel":
                cancel.set()
            elif msg[0] == "abort":
                abort.set()
            elif msg[0] == "reset":
                cancel.clear()
                abort.clear()
        tasks.put(None)
    threading.Thread(target=control, daemon=True).start()
    while (msg := tasks.get()) is not None:
        solve_one(*msg[1:], cancel, abort, lambda *reply: send(out, reply, lock))


def solve_one(tag: int, inst: AllocationInstance, settings: SolveSettings, watch_cancel: bool,
              cancel: threading.Event, abort: threading.Event,
              post: Callable[..., None]) -> None:
    """Solve one team sent to a lane, posting ("progress", tag, event) while it runs, then
    ("done", tag, solution), or ("error", tag, traceback) for the solving process to solve
    the team itself and say why."""
    stop = _Either(abort, *([cancel] if watch_cancel else []))
    try:
        sol = solve_allocation(inst, replace(
            settings, progress=lambda ev: post("progress", tag, ev), stop=stop))
        post("done", tag, sol)
    except Exception:
        post("error", tag, traceback.format_exc())


def main(argv: list[str]) -> None:
    """A worker process's entry: the pipes' file descriptors are its two arguments."""
    serve(*child_streams(argv))
