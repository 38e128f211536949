"""What the two-stage decomposition loses against the joint model on small companies.

Run: python bench/decomposition_loss.py [--instances 12] [--time-limit 20] [--reps 8]
     [--accounts 40]
Prints a Markdown table (one row per instance) and the median and worst loss, where
loss = (two-stage objective - joint objective) / joint objective, both evaluated with the
scenario's objective on the plan. Only instances the joint model solves to optimality count.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from planner.errors import InfeasibleError, NoPlanError
from planner.generate import generate_company, write_company
from planner.run import solve

ORG_MODELS = ("by-region", "by-function", "region-x-function", "key-account-hybrid")


def instance(folder: Path, seed: int, org_model: str, reps_n: int, accounts_n: int) -> Path:
    reps, accounts = generate_company(reps_n, accounts_n, seed=seed)
    write_company(folder, reps, accounts)
    doc = {"name": f"seed {seed}", "data": {"reps": "reps.csv", "accounts": "accounts.csv"},
           "org_model": org_model,
           "rules": {"utilization": {"min": 0.5, "max": 1.2}, "span_of_control": 4},
           "objective": {"weights": {"unmet": 1000, "balance": 10, "fit": 5, "continuity": 10,
                                     "preferences": 1}},
           "solver": {"workers": 2, "seed": 0}}
    path = folder / "scenario.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=12)
    parser.add_argument("--time-limit", type=float, default=20.0)
    parser.add_argument("--reps", type=int, default=8)
    parser.add_argument("--accounts", type=int, default=40)
    args = parser.parse_args()
    rows, losses = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.instances):
            org_model = ORG_MODELS[seed % len(ORG_MODELS)]
            path = instance(Path(tmp) / str(seed), seed, org_model, args.reps, args.accounts)
            try:
                start = time.monotonic()
                two = solve(path, time_limit=args.time_limit, method="two-stage")
                mid = time.monotonic()
                joint = solve(path, time_limit=args.time_limit, method="joint")
                end = time.monotonic()
            except (InfeasibleError, NoPlanError) as err:
                rows.append(f"| {seed} | {org_model} | - | - | - | {type(err).__name__} |")
                continue
            a, b = two.kpis["objective"], joint.kpis["objective"]
            loss = (a - b) / b if b > 0 else 0.0
            if joint.kpis["status"] == "OPTIMAL":
                losses.append(loss)
            rows.append(f"| {seed} | {org_model} | {a:.4f} ({mid - start:.1f} s) | "
                        f"{b:.4f} ({end - mid:.1f} s, {joint.kpis['status']}) | {loss:.2%} | |")
    print("| seed | org model | two-stage objective | joint objective | loss | note |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    if losses:
        print(f"\nmedian loss {statistics.median(losses):.2%}, worst {max(losses):.2%} "
              f"over {len(losses)} instances solved to optimality by the joint model")


if __name__ == "__main__":
    main()
