"""Child processes fed over pipes, and their messages: a pickle, then its arrays' memory as it
is (pickle protocol 5's out-of-band buffers), so that sending a large array copies none of it.
Used for stage 2's worker processes (planner.team_pool) and the min-cost flow's child process
(models.flow_apart). The children are plain Python processes, not multiprocessing's: its fork
start method may copy a lock another thread holds (the app solves in threads), and its other
methods run the user's main script again in each child, which an analyst's script without a
`__main__` guard does not survive."""

from __future__ import annotations

import io
import os
import pickle
import struct
import subprocess
import sys
import threading
from contextlib import nullcontext
from typing import BinaryIO

import numpy as np

_HEADER = struct.Struct("<QQ")  # pickle bytes, out-of-band buffers
_LENGTH = struct.Struct("<Q")


class _Pickler(pickle.Pickler):
    """Protocol 5 with out-of-band buffers, an array's type sent by name: numpy's own pickle
    sends its dtype object, which comes back a copy, not numpy's shared one, and ufunc.at
    (np.maximum.at and the like) then leaves its fast loop: 20 times slower on an unpickled
    team's arrays (XL's individuals team, 12 million pairs: 1.1 s a call against 0.05 s)."""

    def reducer_override(self, obj):
        if type(obj) is not np.ndarray or obj.dtype.kind not in "biufc":
            return NotImplemented  # (numpy's own pickle: strings, objects, records, dates)
        order = "F" if obj.flags.f_contiguous and not obj.flags.c_contiguous else "C"
        if not (obj.flags.c_contiguous or obj.flags.f_contiguous):
            obj = np.ascontiguousarray(obj)  # (numpy's pickle copies it too)
        return _array, (pickle.PickleBuffer(obj), obj.dtype.str, obj.shape, order)


def _array(buffer, dtype: str, shape: tuple[int, ...], order: str) -> np.ndarray:
    """An array received out of band, its dtype numpy's own for the name."""
    return np.frombuffer(buffer, dtype=np.dtype(dtype)).reshape(shape, order=order)


def dumps(message: object, buffers: list[pickle.PickleBuffer]) -> bytes:
    """The pickle of `message`, its arrays' memory appended to `buffers` (not copied)."""
    out = io.BytesIO()
    _Pickler(out, protocol=5, buffer_callback=buffers.append).dump(message)
    return out.getvalue()


def send(stream: BinaryIO, message: tuple, lock: threading.Lock | None = None) -> None:
    """Write a message (under `lock`, when several threads write to the stream)."""
    buffers: list[pickle.PickleBuffer] = []
    data = dumps(message, buffers)
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


def start_child(module: str) -> tuple[subprocess.Popen, BinaryIO, BinaryIO]:
    """A Python process running `module`'s main(argv), whose argv[1:] are the file descriptors
    of its two pipes (`child_streams`), with the stream to write to it and the one to read
    from it."""
    to_child, from_parent = os.pipe()
    to_parent, from_child = os.pipe()
    process = subprocess.Popen(
        [sys.executable, "-c", f"import sys; from {module} import main; main(sys.argv)",
         str(to_child), str(from_child)],
        pass_fds=(to_child, from_child), stdin=subprocess.DEVNULL)
    os.close(to_child)
    os.close(from_child)
    return process, os.fdopen(from_parent, "wb"), os.fdopen(to_parent, "rb")


def child_streams(argv: list[str]) -> tuple[BinaryIO, BinaryIO]:
    """In a child `start_child` began: the stream to read from and the one to write to."""
    return os.fdopen(int(argv[1]), "rb"), os.fdopen(int(argv[2]), "wb")


def stop_child(process: subprocess.Popen, *streams: BinaryIO) -> None:
    """Close `streams` (the child's input among them, so that it ends) and wait for it, killing
    it after 5 s."""
    for stream in streams:
        try:
            stream.close()
        except OSError:
            pass
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()


def high_water_mb(pid: int | str = "self") -> float:
    """A process's peak resident memory in MB (Linux's VmHWM; 0 elsewhere or when it is gone),
    for the benchmark's memory figure. Not getrusage's: its maximum survives exec, so a child
    started from a solving process of 2.3 GB reported that (XL key-account hybrid's peak read
    5,971 MB). The one file models reads: the kernel's figure for a process, not data."""
    try:
        with open(f"/proc/{pid}/status") as status:
            return next((int(line.split()[1]) for line in status
                         if line.startswith("VmHWM:")), 0) / 1024
    except OSError:
        return 0.0
