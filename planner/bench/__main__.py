"""`python -m planner.bench`: the benchmark (a script, not a timed test).

    python -m planner.bench gap FILE --time-limit 60 --json   one GAP instance, as JSON
    python -m planner.bench gaps --time-limit 60              the 17 instances, planner vs HiGHS
    python -m planner.bench ladder --sizes S,M                 the size ladder on generated companies

Each suite writes a JSON file and a Markdown table into --out (default bench/results).
"""

from __future__ import annotations

import json
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import click

from planner.errors import PlannerError


def _machine() -> dict:
    import os
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None
    return {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
            "cpus": os.cpu_count(), "python": platform.python_version(),
            "ortools": installed("ortools"), "highspy": installed("highspy"),
            "platform": platform.platform()}


def _write(out: Path, stem: str, payload: dict, table: str) -> None:
    """JSON and Markdown side by side, each written whole."""
    from planner.files import write_text_whole
    for path, text in ((out / f"{stem}.json", json.dumps(payload, indent=1) + "\n"),
                       (out / f"{stem}.md", table)):
        write_text_whole(path, text)
        click.echo(f"wrote {path}", err=True)


@click.group()
def main() -> None:
    """Benchmarks of the planner: GAP instances against HiGHS, and the size ladder."""


@main.command()
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--time-limit", default=60.0, show_default=True, help="seconds")
@click.option("--workers", default=2, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--solver", type=click.Choice(["planner", "highs"]), default="planner",
              show_default=True)
@click.option("--maximise", is_flag=True, help="costs are profits (OR-Library gap1-gap12)")
@click.option("--json", "as_json", is_flag=True, help="print the answer as JSON")
def gap(file: Path, time_limit: float, workers: int, seed: int, solver: str, maximise: bool,
        as_json: bool) -> None:
    """Solve one generalized assignment instance (OR-Library format)."""
    from planner.bench.gap import read_gap, solve_with_highs, solve_with_planner
    inst = read_gap(file)
    if solver == "planner":
        result = solve_with_planner(inst, time_limit, workers, seed, maximise)
    else:
        result = solve_with_highs(inst, time_limit, workers, maximise)
    if as_json:
        click.echo(json.dumps(result.as_json()))
    else:
        click.echo(f"{result.instance}: objective {result.objective}, bound {result.bound}, "
                   f"{'optimal, ' if result.optimal else ''}{result.seconds:.1f} s")


@main.command()
@click.option("--time-limit", default=60.0, show_default=True, help="seconds per instance")
@click.option("--workers", default=2, show_default=True, help="threads for each solver")
@click.option("--no-highs", is_flag=True, help="the planner only")
@click.option("--only", default="", help="comma-separated instance names (default: all 17)")
@click.option("--out", type=click.Path(path_type=Path), default=Path("bench/results"),
              show_default=True)
def gaps(time_limit: float, workers: int, no_highs: bool, only: str, out: Path) -> None:
    """The 17 OR-Library instances of BASELINES.md, planner and HiGHS side by side."""
    from planner.bench.gap_suite import INSTANCES, markdown, run_suite, summary
    chosen = INSTANCES
    if only:
        wanted = {w.strip() for w in only.split(",")}
        chosen = tuple(i for i in INSTANCES if i.split("/")[-1] in wanted)
        if not chosen:
            raise click.UsageError(f"none of {only!r} is a benchmark instance")
    began = time.monotonic()

    def show(r) -> None:
        click.echo(f"{r.instance:>10} {r.solver:>7}: {r.objective} "
                   f"({'optimal' if r.optimal else 'bound ' + str(r.bound)}) "
                   f"in {r.seconds:.1f} s", err=True)
    rows = run_suite(time_limit, workers, chosen, with_highs=not no_highs, on_result=show)
    payload = {"machine": _machine(), "time_limit": time_limit, "workers": workers,
               "rows": rows, "summary": summary(rows),
               "wall_seconds": round(time.monotonic() - began, 1)}
    table = markdown(rows, time_limit, workers)
    _write(out, "gap", payload, table)
    click.echo(table)


@main.command()
@click.option("--sizes", default="S,M,L,XL", show_default=True)
@click.option("--org-models", default="region-x-function,key-account-hybrid", show_default=True)
@click.option("--time-limit", default=None, type=float,
              help="seconds per solve (default: each size's target time)")
@click.option("--repeats", default=3, show_default=True,
              help="runs per case when a run is short (medians are reported)")
@click.option("--workers", default=2, show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("bench/results"),
              show_default=True)
def ladder(sizes: str, org_models: str, time_limit: float | None, repeats: int, workers: int,
           out: Path) -> None:
    """Generated companies from S (50 reps) to XL (2,000 reps, 100,000 accounts)."""
    from planner.bench.ladder import SIZES, markdown, run_ladder
    chosen = [s.strip() for s in sizes.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SIZES]
    if unknown:
        raise click.UsageError(f"unknown size {unknown[0]!r}; use {', '.join(SIZES)}")
    began = time.monotonic()
    rows = run_ladder(chosen, [m.strip() for m in org_models.split(",")], time_limit,
                      repeats, workers, echo=lambda s: click.echo(s, err=True))
    payload = {"machine": _machine(), "workers": workers, "rows": rows,
               "wall_seconds": round(time.monotonic() - began, 1)}
    table = markdown(rows)
    _write(out, "ladder", payload, table)
    click.echo(table)


@main.command(hidden=True)
@click.option("--size", required=True)
@click.option("--org-model", required=True)
@click.option("--time-limit", type=float, required=True)
@click.option("--workers", default=2)
@click.option("--seed", default=0)
def case(size: str, org_model: str, time_limit: float, workers: int, seed: int) -> None:
    """One ladder case in this process; prints one JSON line (see planner.bench.ladder)."""
    from planner.bench.ladder import run_case
    click.echo(json.dumps(run_case(size, org_model, time_limit, workers, seed)))


def run() -> None:
    try:
        main(standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        sys.exit(130)
    except PlannerError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)


if __name__ == "__main__":
    run()
