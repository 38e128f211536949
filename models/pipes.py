"""Messages between processes over pipes: a pickle, then its arrays' memory as it is (pickle
protocol 5's out-of-band buffers), so that sending a large array copies none of it. Used for
stage 2's worker processes (planner.team_pool) and the min-cost flow's child process
(models.flow_apart)."""

from __future__ import annotations

import pickle
import struct
import threading
from contextlib import nullcontext
from typing import BinaryIO

_HEADER = struct.Struct("<QQ")  # pickle bytes, out-of-band buffers
_LENGTH = struct.Struct("<Q")


def send(stream: BinaryIO, message: tuple, lock: threading.Lock | None = None) -> None:
    """Write a message (under `lock`, when several threads write to the stream)."""
    buffers: list[pickle.PickleBuffer] = []
    data = pickle.dumps(message, protocol=5, buffer_callback=buffers.append)
    raws = [b.raw() for b in buffers]
    head = _HEADER.pack(len(data), len(raws)) + b"".join(_LENGTH.pack(r.nbytes) for r in raws)
    with lock if lock is not None else nullcontext():
        stream.write(head)
        stream.write(data)
        for raw in raws:
            stream.write(raw)
        stream.flush()


def receive(stream: BinaryIO) -> tuple | None:
    """The next message, or None at the end of the stream."""
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        return None
    size, n_buffers = _HEADER.unpack(head)
    lengths = [_LENGTH.unpack(stream.read(_LENGTH.size))[0] for _ in range(n_buffers)]
    data = stream.read(size)
    buffers = []
    for length in lengths:
        buffer = bytearray(length)
        view, got = memoryview(buffer), 0
        while got < length:
            n = stream.readinto(view[got:])
            if not n:
                return None
            got += n
        buffers.append(buffer)
    return pickle.loads(data, buffers=buffers)
