"""A HiGHS solver that keeps quiet: the first one in a process prints a banner on file
descriptor 1 before any option holds, which would land in the middle of a command's output
(a JSON answer, a CSV on stdout)."""

from __future__ import annotations

import os
import sys

import highspy


def quiet_highs() -> highspy.Highs:
    """A new HiGHS instance, its banner sent to the null device and its log off."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            solver = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    solver.setOptionValue("output_flag", False)
    return solver
