"""Shared helpers for tests: write a tiny company and a scenario to a folder.

Tiny companies are written as CSV text so that every test reads like the files a user gives
the planner; scenarios default to one worker and a fixed seed (reproducible solves)."""

from __future__ import annotations

from pathlib import Path

import yaml

TEST_SOLVER = {"time_limit": 10, "workers": 1, "seed": 0}


def write_text(folder: Path, name: str, text: str) -> Path:
    path = Path(folder) / name
    path.write_text(text, encoding="utf-8")
    return path


def write_scenario(folder: Path, reps_csv: str, accounts_csv: str, org_model="one-team",
                   rules: dict | None = None, objective: dict | None = None,
                   solver: dict | None = None, travel_csv: str | None = None,
                   name: str = "test", file: str = "scenario.yaml") -> Path:
    """Write reps.csv, accounts.csv (and travel.csv) and a scenario YAML; return its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_text(folder, "reps.csv", reps_csv)
    write_text(folder, "accounts.csv", accounts_csv)
    data = {"reps": "reps.csv", "accounts": "accounts.csv"}
    if travel_csv is not None:
        write_text(folder, "travel.csv", travel_csv)
        data["travel"] = "travel.csv"
    doc = {"name": name, "data": data, "org_model": org_model, "rules": rules or {},
           "solver": {**TEST_SOLVER, **(solver or {})}}
    if objective is not None:
        doc["objective"] = objective
    return write_text(folder, file, yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))


def generated_region_scenario(folder: Path) -> Path:
    """A generated company (30 reps, 300 accounts, seed 1) on the region x function preset,
    band 50-110 %: several teams, solved in a few seconds. Returns the scenario file."""
    from planner.generate import generate_company, write_company
    reps, accounts = generate_company(30, 300, seed=1)
    write_company(folder, reps, accounts)
    preset = Path(__file__).resolve().parents[1] / "scenarios" / "region-x-function.yaml"
    spec = yaml.safe_load(preset.read_text(encoding="utf-8"))
    spec["data"] = {"reps": "reps.csv", "accounts": "accounts.csv"}
    spec["rules"]["utilization"] = {"min": 0.5, "max": 1.1}
    (folder / "scenario.yaml").write_text(yaml.safe_dump(spec), encoding="utf-8")
    return folder / "scenario.yaml"
