"""OR-Tools' min-cost flow, solved in this process or in a child process of its own.

The flow's solve holds Python's lock for its whole length (4-6 s a solve on XL key-account
hybrid's individuals team, about a million arcs). A team solved in a thread beside the
solving process's other work (stage 2's team too large to send to a worker) would stop that
work for as long: the building and sending of the other teams, so the worker waits. In a child
process the solve holds no lock of this one; its arrays go there and back over pipes
(models.pipes), 40 MB in about 0.1 s. (It is here, not beside planner's worker processes,
because the child imports ortools, which only models does.)
"""

from __future__ import annotations

import numpy as np
from ortools.graph.python import min_cost_flow

from models.pipes import child_streams, high_water_mb, receive, send, start_child, stop_child

#: the largest resident memory a child process held, in MB, for the benchmark's peak memory
#: (planner.bench.ladder)
_peak_mb = [0.0]


def min_cost_flows(tail: np.ndarray, head: np.ndarray, cap: np.ndarray, cost: np.ndarray,
                   supplies: np.ndarray) -> np.ndarray | None:
    """The flow on each arc of a min-cost flow, or None when no flow meets the supplies."""
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(tail, head, cap, cost)
    flow.set_nodes_supplies(np.arange(len(supplies)), supplies)
    if flow.solve() != flow.OPTIMAL:
        return None
    return flow.flows(np.arange(len(tail)))


class FlowApart:
    """A child process that solves min-cost flows (`solve`, as `min_cost_flows`) until closed.
    If the child fails, the flow is solved in this process instead."""

    def __init__(self) -> None:
        self.process, self.input, self.output = start_child("models.flow_apart")
        self.failed = False

    def solve(self, tail: np.ndarray, head: np.ndarray, cap: np.ndarray, cost: np.ndarray,
              supplies: np.ndarray) -> np.ndarray | None:
        if not self.failed:
            try:
                send(self.input, (tail, head, cap, cost, supplies))
                reply = receive(self.output)
            except (OSError, ValueError, EOFError):
                reply = None
            if reply is not None:
                _peak_mb[0] = max(_peak_mb[0], reply[1])
                return reply[0]
            self.failed = True
        return min_cost_flows(tail, head, cap, cost, supplies)

    def close(self) -> None:
        stop_child(self.process, self.input, self.output)

    def __enter__(self) -> "FlowApart":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def peak_rss_mb() -> float:
    """The largest resident memory any child process held, in MB (0 when none ran)."""
    return _peak_mb[0]


def main(argv: list[str]) -> None:
    """The child's entry: the pipes' file descriptors are its two arguments; each message is
    a flow's arrays, each reply its flows (None: no flow meets the supplies) and the child's
    peak resident memory in MB."""
    inp, out = child_streams(argv)
    while (arrays := receive(inp)) is not None:
        send(out, (min_cost_flows(*arrays), high_water_mb()))

