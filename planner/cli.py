"""The `planner` command: generate, solve, baseline, compare, verify, presets.

Errors the planner expects (bad input, bad scenario, conflicting rules, a failed verification)
are printed as plain sentences with a documented exit code, never as a traceback.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import click
from tqdm import tqdm

from planner.errors import (EXIT_OK, EXIT_USAGE, PlannerError, Problem, UsageError,
                            VerificationError)

EXIT_INTERRUPTED = 130


class SolveProgressBar:
    """Solve progress on stderr: on a terminal a bar over the time limit with the stage, best
    objective and bound; elsewhere (logs, CI) a line when the stage changes and a heartbeat
    line every LOG_EVERY seconds. Both keep ticking while the solver is quiet."""

    LOG_EVERY = 5.0

    def __init__(self, time_limit: float, enabled: bool = True):
        self.enabled = enabled
        self.interactive = enabled and sys.stderr.isatty()
        self.start = time.monotonic()
        self.stage, self.postfix, self.last_line = "starting", "", 0.0
        self._lock = threading.Lock()
        self._done = threading.Event()
        self.bar = tqdm(total=round(time_limit, 1), unit="s", disable=not self.interactive,
                        leave=False, bar_format="{l_bar}{bar}| {n:.0f}/{total:.0f}s {postfix}",
                        file=sys.stderr, dynamic_ncols=True)
        self._ticker = threading.Thread(target=self._tick, daemon=True)
        if enabled:
            self._ticker.start()

    def __call__(self, event) -> None:
        objective = "-" if event.objective is None else f"{event.objective:.4g}"
        bound = "-" if event.bound is None else f"{event.bound:.4g}"
        with self._lock:
            new_phase = _phase(event.stage) != _phase(self.stage)
            self.stage, self.postfix = event.stage, f"objective {objective}, bound {bound}"
            if self.interactive:
                self.bar.set_description_str(event.stage, refresh=False)
            elif self.enabled and new_phase:
                self._line()

    def _line(self) -> None:
        self.last_line = time.monotonic() - self.start
        click.echo(f"  {self.last_line:5.1f}s  {self.stage}: {self.postfix}", err=True)

    def _tick(self) -> None:
        while not self._done.wait(0.5):
            with self._lock:
                if self.interactive:
                    self.bar.n = min(self.bar.total, round(time.monotonic() - self.start, 1))
                    self.bar.set_postfix_str(self.postfix, refresh=True)
                elif time.monotonic() - self.start - self.last_line >= self.LOG_EVERY:
                    self._line()

    def close(self) -> None:
        self._done.set()
        if self._ticker.is_alive():
            self._ticker.join()
        self.bar.close()


def _phase(stage: str) -> str:
    """'stage 2: team 3/15 (East / hunting)' -> 'stage 2'."""
    return stage.split(":")[0]


def _report(err: PlannerError) -> int:
    click.echo(f"error: {err}" if "\n" not in str(err) else f"error:\n{err}", err=True)
    return err.exit_code


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Divide a sales department into teams and its accounts among reps."""


@cli.command()
@click.option("--reps", "n_reps", type=click.IntRange(min=1), required=True, help="Number of reps.")
@click.option("--accounts", "n_accounts", type=click.IntRange(min=1), required=True,
              help="Number of accounts.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--functions", type=click.Choice(["classic", "stages"]), default="classic",
              show_default=True, help="classic: hunting, farming, service; stages: lead, "
                                      "negotiation, contract.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True)
@click.option("--force", is_flag=True, help="Replace the files if the folder holds them.")
def generate(n_reps: int, n_accounts: int, seed: int, functions: str, out_dir: Path,
             force: bool) -> None:
    """Write a synthetic company (reps.csv, accounts.csv) in the input format."""
    from planner.generate import generate_company, write_company
    if not force and any((out_dir / f).exists() for f in ("reps.csv", "accounts.csv")):
        raise UsageError(f"{out_dir} already holds reps.csv or accounts.csv; use --force to "
                         "replace them")
    reps, accounts = generate_company(n_reps, n_accounts, seed=seed, functions=functions)
    write_company(out_dir, reps, accounts)
    click.echo(f"wrote {len(reps)} reps and {accounts['account_id'].nunique()} accounts "
               f"({len(accounts)} account x product rows) to {out_dir}")


@cli.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True)
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True),
              help="Seconds for the whole solve, reading the data and building the plan "
                   "included (overrides the scenario).")
@click.option("--seed", type=click.IntRange(min=0), help="Random seed (overrides the scenario).")
@click.option("--workers", type=click.IntRange(min=1), help="Solver threads (overrides).")
@click.option("--method", type=click.Choice(["auto", "two-stage", "joint"]), default="auto",
              show_default=True, help="auto: one exact model for small companies, two stages "
                                      "(teams, then accounts) for larger ones.")
@click.option("--force", is_flag=True, help="Replace the output folder if it exists.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def solve(scenario: Path, out_dir: Path, time_limit: float | None, seed: int | None,
          workers: int | None, method: str, force: bool, quiet: bool) -> None:
    """Solve SCENARIO and write the plan files into OUT."""
    from planner.run import solve as run_solve
    from planner.scenario import load_scenario
    sc = load_scenario(scenario)
    _check_out(out_dir, force)
    bar = SolveProgressBar(time_limit or sc.solver.time_limit, enabled=not quiet)
    try:
        plan = run_solve(sc, progress=bar, time_limit=time_limit, seed=seed, workers=workers,
                         method=method)
    finally:
        bar.close()
    plan.to_csv(out_dir, force=force)
    click.echo(summary(plan.kpis))
    click.echo(f"plan written to {out_dir}")


@cli.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--strategy", type=click.Choice(["current", "round-robin"]), default="current",
              show_default=True)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True)
@click.option("--force", is_flag=True, help="Replace the output folder if it exists.")
def baseline(scenario: Path, strategy: str, out_dir: Path, force: bool) -> None:
    """Write today's organisation (current) or CRM round-robin rules as plan files."""
    from planner.run import baseline as run_baseline
    _check_out(out_dir, force)
    plan = run_baseline(scenario, strategy)
    plan.to_csv(out_dir, force=force)
    click.echo(summary(plan.kpis))
    click.echo(f"{strategy} organisation written to {out_dir}")


@cli.command()
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_file", type=click.Path(path_type=Path),
              help="Also write the table as CSV.")
@click.option("--runs", "runs_dir", type=click.Path(path_type=Path), default=Path("runs"),
              show_default=True, help="Where solved plans are kept and reused.")
@click.option("--time-limit", type=click.FloatRange(min=0, min_open=True),
              help="Seconds per scenario (overrides the scenarios).")
@click.option("--resolve", is_flag=True, help="Solve again even where a stored plan is current.")
@click.option("--markdown", is_flag=True, help="Print the table as Markdown (one row each).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def compare(scenarios: tuple[Path, ...], out_file: Path | None, runs_dir: Path,
            time_limit: float | None, resolve: bool, markdown: bool, quiet: bool) -> None:
    """Solve (or reuse) each scenario and print one KPI table, today's organisation first."""
    from planner.compare import compare_scenarios, format_table, markdown_table, write_table

    def progress_for(name: str, limit: float) -> SolveProgressBar:
        click.echo(f"solving {name} ...", err=True)
        return SolveProgressBar(limit, enabled=not quiet)

    table = compare_scenarios(list(scenarios), runs_dir, time_limit=time_limit, resolve=resolve,
                              progress_for=progress_for)
    click.echo(markdown_table(table) if markdown else format_table(table))
    if out_file is not None:
        write_table(table, out_file)
        click.echo(f"table written to {out_file}")


@cli.command()
@click.argument("scenario", type=click.Path(path_type=Path))
@click.argument("plan_dir", type=click.Path(path_type=Path))
def verify(scenario: Path, plan_dir: Path) -> None:
    """Check the plan in PLAN_DIR against SCENARIO's rules and recompute its KPIs."""
    from planner.scenario import load_scenario
    from planner.verify import verify_plan_dir
    violations = verify_plan_dir(load_scenario(scenario), plan_dir)
    if violations:
        raise VerificationError([Problem(str(v)) for v in violations])
    click.echo(f"the plan in {plan_dir} holds every rule of {scenario.name} and its KPIs match")


@cli.command()
def presets() -> None:
    """List the org-model presets."""
    from planner.orgmodel import PRESETS
    for name, (spec, text) in PRESETS.items():
        click.echo(f"{name:20} {spec.describe():45} {text}")


def summary(kpis: dict) -> str:
    """A few lines a sales leader reads first."""
    gap = kpis.get("gap")
    allocation_gap = (kpis.get("stage2") or {}).get("gap")
    status = kpis["status"] + (f" (gap {gap:.1%})" if gap else "")
    if gap is None and allocation_gap:
        status += f" (allocation gap {allocation_gap:.1%} within the chosen teams)"
    return "\n".join([
        f"{kpis['scenario']} [{kpis['org_model']}]: {status}, {kpis['solve_seconds']:.1f} s",
        f"  {kpis['teams']} teams, {kpis['reps']} reps, {kpis['managers']} managers",
        f"  utilization {kpis['utilization_min']:.0%}-{kpis['utilization_max']:.0%} "
        f"(std {kpis['utilization_std']:.3f}), {kpis['utilization_in_band_pct']:.0f}% in band",
        f"  coverage {kpis['coverage_pct']:.1f}%, unmet {kpis['unmet_hours']:,.0f} h, "
        f"fit {kpis['fit_mean']:.3f}",
        f"  continuity {kpis['continuity_potential_pct']:.1f}% of potential, "
        f"{kpis['continuity_accounts_pct']:.1f}% of accounts; {kpis['reps_moved']} reps moved"])


def _check_out(out_dir: Path, force: bool) -> None:
    from planner.plan import check_output_dir
    check_output_dir(out_dir, force)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    try:
        result = cli.main(args=argv, prog_name="planner", standalone_mode=False)
    except PlannerError as err:
        return _report(err)
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("interrupted; nothing was written", err=True)
        return EXIT_INTERRUPTED
    except click.UsageError as err:
        hint = f"\n{err.ctx.get_usage()}" if err.ctx is not None else ""
        click.echo(f"error: {err.format_message()}{hint}", err=True)
        return EXIT_USAGE
    except click.ClickException as err:
        click.echo(f"error: {err.format_message()}", err=True)
        return EXIT_USAGE
    return result if isinstance(result, int) else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
