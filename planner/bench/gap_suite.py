"""The 17 OR-Library instances of ../shared/bench-data/gap/BASELINES.md, solved by the
planner's allocation engine and by HiGHS one after the other in the same run, side by side
with the best-known values."""

from __future__ import annotations

import csv
import os
import statistics
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from planner.bench.gap import GapResult, read_gap, solve_with_highs, solve_with_planner
from planner.errors import UsageError

#: the benchmark's instances (type c/d/e, all minimisation), in BASELINES.md's order
INSTANCES = ("chu1997/c05100", "chu1997/c10100", "chu1997/c20100", "chu1997/c10200",
             "chu1997/c20200", "chu1997/d05100", "chu1997/d10100", "chu1997/d20100",
             "chu1997/d10200", "chu1997/d20200", "yagiura2004/e05100", "yagiura2004/e10100",
             "yagiura2004/e20100", "yagiura2004/e10200", "yagiura2004/e20200",
             "yagiura2004/d40400", "yagiura2004/d801600")


def bench_data_dir() -> Path:
    """Where the shared benchmark data is: $BENCH_DATA, else ../shared/bench-data beside the
    project folder."""
    here = Path(os.environ.get("BENCH_DATA", Path(__file__).resolve().parents[3]
                               / "shared" / "bench-data"))
    if not (here / "gap" / "best_known.csv").is_file():
        raise UsageError(f"the benchmark data is not at {here}: set BENCH_DATA to the folder "
                         "that holds gap/best_known.csv")
    return here


def reference_values(data: Path) -> dict[str, int]:
    """Best feasible minimisation value known for each instance (best_known.csv)."""
    with open(data / "gap" / "best_known.csv", newline="", encoding="utf-8") as f:
        return {row["path"]: int(row["min_reference_value"]) for row in csv.DictReader(f)}


def gap_percent(found: int | None, reference: int) -> float | None:
    return None if found is None else 100.0 * (found - reference) / reference


def run_suite(time_limit: float, workers: int, instances: tuple[str, ...] = INSTANCES,
              with_highs: bool = True, seed: int = 0,
              on_result: Callable[[GapResult], None] | None = None) -> list[dict]:
    """One row per instance and solver, with the reference value and the gap to it."""
    data = bench_data_dir()
    refs = reference_values(data)
    rows = []
    for name in instances:
        gap = read_gap(data / "gap" / "instances" / name)
        solvers = [lambda: solve_with_planner(gap, time_limit, workers, seed)]
        if with_highs:
            solvers.append(lambda: solve_with_highs(gap, time_limit, workers))
        for solve in solvers:
            result = solve()
            if on_result is not None:
                on_result(result)
            row = asdict(result)
            row.pop("assignment")
            row.update(instance=name, size=f"{gap.agents}x{gap.jobs}", reference=refs[name],
                       gap_percent=gap_percent(result.objective, refs[name]))
            rows.append(row)
    return rows


def summary(rows: list[dict]) -> dict[str, dict]:
    """Per solver: mean and worst gap, instances solved optimally, and (for the planner)
    on how many instances it is at least as good as HiGHS in the same run."""
    out: dict[str, dict] = {}
    for solver in sorted({r["solver"] for r in rows}):
        mine = [r for r in rows if r["solver"] == solver]
        gaps = [r["gap_percent"] for r in mine if r["gap_percent"] is not None]
        out[solver] = {"instances": len(mine), "with_plan": len(gaps),
                       "mean_gap_percent": statistics.fmean(gaps) if gaps else None,
                       "worst_gap_percent": max(gaps) if gaps else None,
                       "proved_optimal": sum(bool(r["optimal"]) for r in mine)}
    highs = {r["instance"]: r["objective"] for r in rows if r["solver"] == "HiGHS"}
    if highs and "planner" in out:
        mine = {r["instance"]: r["objective"] for r in rows if r["solver"] == "planner"}
        out["planner"]["at_least_as_good_as_highs"] = sum(
            1 for k, v in mine.items()
            if v is not None and (highs.get(k) is None or v <= highs[k]))
    return out


def markdown(rows: list[dict], time_limit: float, workers: int) -> str:
    """The side-by-side table and the summary lines the README quotes."""
    lines = ["| instance | m x n | best known | planner | gap % | HiGHS | gap % |",
             "|---|---|---:|---:|---:|---:|---:|"]
    by = {(r["instance"], r["solver"]): r for r in rows}
    for name in dict.fromkeys(r["instance"] for r in rows):
        mine, highs = by.get((name, "planner")), by.get((name, "HiGHS"))
        ref = (mine or highs)["reference"]
        size = (mine or highs)["size"]
        lines.append(f"| {name.split('/')[-1]} | {size} | {ref} | {_cell(mine)} | {_cell(highs)} |")
    lines.append("")
    for solver, s in summary(rows).items():
        extra = (f"; at least as good as HiGHS on {s['at_least_as_good_as_highs']} of "
                 f"{s['instances']}" if "at_least_as_good_as_highs" in s else "")
        mean = "-" if s["mean_gap_percent"] is None else f"{s['mean_gap_percent']:.3f} %"
        worst = "-" if s["worst_gap_percent"] is None else f"{s['worst_gap_percent']:.2f} %"
        lines.append(f"- {solver}: mean gap {mean}, worst {worst}, proved optimal "
                     f"{s['proved_optimal']} of {s['instances']}{extra} "
                     f"({time_limit:g} s, {workers} threads each)")
    return "\n".join(lines) + "\n"


def _cell(row: dict | None) -> str:
    if row is None:
        return "- | -"
    if row["objective"] is None:
        return "no plan | -"
    star = "*" if row["optimal"] else ""
    return f"{row['objective']}{star} | {row['gap_percent']:.2f}"
