"""The `planner` command end to end on a tiny company: generate, solve, verify, baseline, compare,
presets, and the exit code, the "error:" line and the untouched output of every bad-input class.

Commands run in-process through planner.cli.main (stdout/stderr captured by capsys); one
subprocess run of the installed console script proves it exists. Every solve uses one worker,
seed 0 and a 5 s limit; the tiny scenarios solve to optimality in well under a second.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from planner.cli import main
from planner.errors import (EXIT_INFEASIBLE, EXIT_INPUT, EXIT_OK, EXIT_SCENARIO, EXIT_USAGE,
                            EXIT_VERIFY)
from tests.helpers import write_scenario, write_text

PLANNER = Path(sys.executable).parent / "planner"
PLAN_FILES = ["assignments.csv", "hiring.csv", "kpis.json", "reps.csv", "teams.csv"]

REPS = """\
rep_id,name,home_region,level,capacity_hours,can_manage,current_team,function:hunting,function:farming,product:ERP,product:CRM
R1,Ann,East,5,40,true,East,5,4,4,4
R2,Bob,West,4,40,false,West,4,4,4,4
R3,Cy,East,3,40,false,East,3,4,4,4
R4,Di,West,2,40,false,West,3,4,3,3
"""
ACCOUNTS = """\
account_id,account_name,region,segment,channel,product,potential,current_owner,hours:hunting,hours:farming
A1,Acme,East,smb,direct,ERP,100,R1,10,10
A2,Bolt,West,smb,direct,ERP,80,R2,10,15
A3,Cog,East,smb,direct,CRM,40,R3,0,20
A4,Dyn,West,smb,direct,CRM,20,R4,5,15
A5,Eon,East,smb,direct,ERP,30,,10,10
A6,Fax,West,smb,direct,CRM,60,R2,10,10
"""
BAND = {"utilization": {"min": 0.5, "max": 1.2}}  # 125 h of demand on 160 h of capacity
SOLVER = {"time_limit": 5, "workers": 1, "seed": 0}
OLD_NS = 1_600_000_000 * 10**9  # an mtime no write can produce now


def run(capsys, *argv) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `planner argv...` run in-process."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def tiny(folder: Path, org_model: str = "by-region", name: str = "regions",
         file: str = "scenario.yaml", rules: dict | None = None, reps: str = REPS,
         accounts: str = ACCOUNTS) -> Path:
    return write_scenario(folder, reps, accounts, org_model=org_model,
                          rules=BAND if rules is None else rules, solver=SOLVER, name=name,
                          file=file)


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


@pytest.fixture
def scenario(tmp_path) -> Path:
    return tiny(tmp_path / "in")


@pytest.fixture
def solved(tmp_path, scenario, capsys) -> Path:
    out = tmp_path / "plan"
    code, _, err = run(capsys, "solve", scenario, "--out", out, "--quiet")
    assert code == EXIT_OK, err
    return out


# --- the installed command -----------------------------------------------------------------------

def test_console_script_is_installed():
    done = subprocess.run([str(PLANNER), "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    for command in ("generate", "solve", "baseline", "compare", "verify", "presets"):
        assert command in done.stdout


def test_presets_lists_key_account_hybrid(capsys):
    code, out, _ = run(capsys, "presets")
    assert code == EXIT_OK
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    assert "key-account-hybrid" in names and "by-region" in names and "one-team" in names


# --- generate --------------------------------------------------------------------------------------

def test_generate_writes_the_requested_counts_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "company"
    code, stdout, err = run(capsys, "generate", "--reps", 6, "--accounts", 10, "--seed", 3,
                            "--out", out)
    assert code == EXIT_OK, err
    assert sorted(p.name for p in out.iterdir()) == ["accounts.csv", "reps.csv"]
    reps, accounts = pd.read_csv(out / "reps.csv"), pd.read_csv(out / "accounts.csv")
    assert len(reps) == 6 and reps["rep_id"].is_unique
    assert accounts["account_id"].nunique() == 10
    assert "6 reps and 10 accounts" in stdout

    before = snapshot(out)
    code, _, err = run(capsys, "generate", "--reps", 8, "--accounts", 12, "--out", out)
    assert code == EXIT_USAGE
    assert err.startswith("error:") and "--force" in err and "Traceback" not in err
    assert snapshot(out) == before

    code, _, err = run(capsys, "generate", "--reps", 8, "--accounts", 12, "--out", out, "--force")
    assert code == EXIT_OK, err
    assert len(pd.read_csv(out / "reps.csv")) == 8
    assert pd.read_csv(out / "accounts.csv")["account_id"].nunique() == 12
    assert sorted(p.name for p in out.iterdir()) == ["accounts.csv", "reps.csv"]  # no temp files


# --- solve, verify -----------------------------------------------------------------------------------

def test_solve_writes_exactly_the_plan_files_and_prints_a_summary(tmp_path, scenario, capsys):
    out = tmp_path / "plan"
    code, stdout, err = run(capsys, "solve", scenario, "--out", out, "--quiet")
    assert code == EXIT_OK, err
    assert sorted(p.name for p in out.iterdir()) == PLAN_FILES
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "plan"]  # no temporary folders
    assert "regions [by-region]: OPTIMAL" in stdout
    assert "2 teams, 4 reps" in stdout and "coverage 100.0%" in stdout
    assert f"plan written to {out}" in stdout
    kpis = pd.read_json(out / "kpis.json", typ="series")
    assert kpis["status"] == "OPTIMAL" and kpis["unmet_hours"] == 0 and kpis["reps"] == 4
    teams = pd.read_csv(out / "teams.csv", keep_default_na=False)
    assert sorted(teams["team_id"]) == ["East", "West"]
    assignments = pd.read_csv(out / "assignments.csv", keep_default_na=False)
    assert len(assignments) == 11 and assignments["hours"].sum() == 125


def test_solve_into_a_non_empty_folder_needs_force(tmp_path, scenario, capsys):
    out = tmp_path / "plan"
    out.mkdir()
    write_text(out, "notes.txt", "keep me")
    before = snapshot(out)
    code, stdout, err = run(capsys, "solve", scenario, "--out", out, "--quiet")
    assert code == EXIT_USAGE
    assert err.startswith("error:") and "--force" in err and "Traceback" not in err
    assert stdout == ""
    assert snapshot(out) == before

    code, _, err = run(capsys, "solve", scenario, "--out", out, "--quiet", "--force")
    assert code == EXIT_OK, err
    assert sorted(p.name for p in out.iterdir()) == PLAN_FILES


def test_solve_into_an_empty_folder(tmp_path, scenario, capsys):
    (tmp_path / "plan").mkdir()
    code, _, err = run(capsys, "solve", scenario, "--out", tmp_path / "plan", "--quiet")
    assert code == EXIT_OK, err
    assert sorted(p.name for p in (tmp_path / "plan").iterdir()) == PLAN_FILES


def test_verify_passes_the_solved_plan_and_names_a_broken_check(tmp_path, scenario, solved,
                                                                capsys):
    code, stdout, err = run(capsys, "verify", scenario, solved)
    assert code == EXIT_OK, err
    assert "holds every rule" in stdout

    # give one assigned line to a rep of another team
    reps = pd.read_csv(solved / "reps.csv", dtype=str, keep_default_na=False)
    team_of = dict(zip(reps["rep_id"], reps["team_id"]))
    assignments = pd.read_csv(solved / "assignments.csv", dtype=str, keep_default_na=False)
    k = assignments.index[assignments["rep_id"] != ""][0]
    line = assignments.loc[k]
    other = next(r for r, t in team_of.items() if t != line["team_id"])
    assignments.loc[k, "rep_id"] = other
    assignments.to_csv(solved / "assignments.csv", index=False)

    code, stdout, err = run(capsys, "verify", scenario, solved)
    assert code == EXIT_VERIFY
    assert "[rep_in_team]" in err and "Traceback" not in err
    assert (f"line {line['account_id']} x {line['product']} x {line['function']} of team "
            f"'{line['team_id']}' goes to rep {other}") in err


# --- baseline ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("strategy", ["current", "round-robin"])
def test_baseline_writes_the_plan_files(tmp_path, scenario, capsys, strategy):
    out = tmp_path / strategy
    code, stdout, err = run(capsys, "baseline", scenario, "--strategy", strategy, "--out", out)
    assert code == EXIT_OK, err
    assert sorted(p.name for p in out.iterdir()) == PLAN_FILES
    assert f"{strategy} organisation written to {out}" in stdout
    assignments = pd.read_csv(out / "assignments.csv", keep_default_na=False)
    assert assignments["hours"].sum() == 125
    if strategy == "current":  # today's owners; A5 has none and is unmet
        owners = assignments.groupby("account_id")["rep_id"].first().to_dict()
        assert owners == {"A1": "R1", "A2": "R2", "A3": "R3", "A4": "R4", "A5": "", "A6": "R2"}
        assert pd.read_json(out / "kpis.json", typ="series")["unmet_hours"] == 20


def test_round_robin_baseline_passes_the_verifier(tmp_path, scenario, capsys):
    out = tmp_path / "rr"
    assert run(capsys, "baseline", scenario, "--strategy", "round-robin", "--out", out)[0] == 0
    code, _, err = run(capsys, "verify", scenario, out)
    assert code == EXIT_OK, err


# --- compare -------------------------------------------------------------------------------------------

@pytest.fixture
def two_scenarios(tmp_path) -> tuple[Path, Path]:
    regions = tiny(tmp_path / "in", "by-region", "regions", "regions.yaml")
    functions = tiny(tmp_path / "in", "by-function", "functions", "functions.yaml")
    return regions, functions


def test_compare_prints_current_first_and_writes_the_table(tmp_path, two_scenarios, capsys):
    out = tmp_path / "tables" / "compare.csv"
    code, stdout, err = run(capsys, "compare", *two_scenarios, "--runs", tmp_path / "runs",
                            "--out", out, "--quiet")
    assert code == EXIT_OK, err
    headers = [line for line in stdout.splitlines() if line.startswith("name")]
    assert headers[0].removeprefix("name").strip().startswith("current organisation")
    for column in ("round-robin (by-region)", "round-robin (by-function)", "regions",
                   "functions"):  # the table wraps into blocks to fit the terminal
        assert any(column in header for header in headers)
    table = pd.read_csv(out, keep_default_na=False)
    assert table["kind"].tolist() == ["current", "round-robin", "round-robin", "plan", "plan"]
    assert table["name"].tolist() == ["current organisation", "round-robin (by-region)",
                                      "round-robin (by-function)", "regions", "functions"]
    assert table.loc[3:, "status"].tolist() == ["OPTIMAL", "OPTIMAL"]
    assert table.loc[0, "unmet_hours"] == 20 and table.loc[3, "unmet_hours"] == 0
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["functions", "regions"]
    assert sorted(p.name for p in (tmp_path / "runs" / "regions").iterdir()) == PLAN_FILES


def test_compare_reuses_stored_runs_until_the_scenario_changes(tmp_path, two_scenarios, capsys):
    regions, functions = two_scenarios
    runs = tmp_path / "runs"
    args = ("compare", regions, functions, "--runs", runs, "--quiet")
    code, _, err = run(capsys, *args)
    assert code == EXIT_OK, err
    assert "solving regions" in err and "solving functions" in err
    stored = {name: runs / name / "kpis.json" for name in ("regions", "functions")}
    for kpis in stored.values():
        os.utime(kpis, ns=(OLD_NS, OLD_NS))

    code, first, err = run(capsys, *args)
    assert code == EXIT_OK, err
    assert "solving" not in err
    assert all(k.stat().st_mtime_ns == OLD_NS for k in stored.values())

    tiny(tmp_path / "in", "by-region", "regions", "regions.yaml",
         rules={"utilization": {"min": 0.5, "max": 1.15}})
    code, second, err = run(capsys, *args)
    assert code == EXIT_OK, err
    assert "solving regions" in err and "solving functions" not in err
    assert stored["regions"].stat().st_mtime_ns != OLD_NS
    assert stored["functions"].stat().st_mtime_ns == OLD_NS


def test_current_organisation_is_not_labelled_with_a_scenario_org_model(tmp_path, two_scenarios,
                                                                        capsys):
    out = tmp_path / "compare.csv"
    code, _, err = run(capsys, "compare", *two_scenarios, "--runs", tmp_path / "runs",
                       "--out", out, "--quiet")
    assert code == EXIT_OK, err
    current = pd.read_csv(out, keep_default_na=False).iloc[0]
    assert current["kind"] == "current"
    assert current["org_model"] not in ("by-region", "by-function")


# --- bad input: exit code, "error:", nothing written --------------------------------------------

def _bad_input(folder: Path) -> Path:
    return tiny(folder, reps=REPS.replace("R3,Cy,East,3,40", "R3,Cy,East,3,-40"))


def _bad_scenario(folder: Path) -> Path:
    tiny(folder)
    return write_text(folder, "bad.yaml", "name: bad\ndata: {reps: reps.csv, accounts: "
                                          "accounts.csv}\norg_model: by-regoin\n")


def _infeasible(folder: Path) -> Path:
    # all demand must be met (125 h) but four reps of 20 h give at most 80 h
    return tiny(folder, reps=REPS.replace(",40,", ",20,"),
                rules={"allow_unmet": False, "utilization": {"min": 0, "max": 1}})


BAD = {"input": (_bad_input, EXIT_INPUT, "reps.csv, row 4, column 'capacity_hours'"),
       "scenario": (_bad_scenario, EXIT_SCENARIO, "unknown org-model preset 'by-regoin'"),
       "infeasible": (_infeasible, EXIT_INFEASIBLE, "all demand must be met")}
CASES = [("input", "solve"), ("input", "baseline"), ("input", "compare"),
         ("scenario", "solve"), ("scenario", "baseline"), ("scenario", "compare"),
         ("infeasible", "solve")]


@pytest.mark.parametrize("kind, command", CASES, ids=[f"{k}-{c}" for k, c in CASES])
def test_bad_input_gives_its_exit_code_and_writes_nothing(tmp_path, capsys, kind, command):
    make, exit_code, phrase = BAD[kind]
    path = make(tmp_path / "in")
    inputs = snapshot(tmp_path / "in")
    out = tmp_path / "out"
    if command == "compare":
        argv = ["compare", path, "--out", out / "table.csv", "--runs", tmp_path / "runs",
                "--quiet"]
    else:
        argv = [command, path, "--out", out] + (["--quiet"] if command == "solve" else [])
    code, stdout, err = run(capsys, *argv)
    assert code == exit_code
    assert err.startswith("error:") and phrase in err
    assert "Traceback" not in err and "Traceback" not in stdout
    assert not out.exists() and not (tmp_path / "runs").exists()
    assert snapshot(tmp_path / "in") == inputs


@pytest.mark.parametrize("kind", ["input", "scenario"])
def test_verify_of_bad_input_gives_its_exit_code(tmp_path, solved, capsys, kind):
    make, exit_code, phrase = BAD[kind]
    code, _, err = run(capsys, "verify", make(tmp_path / "bad"), solved)
    assert code == exit_code
    assert err.startswith("error:") and phrase in err and "Traceback" not in err


def test_missing_scenario_file(tmp_path, capsys):
    code, _, err = run(capsys, "solve", tmp_path / "nope.yaml", "--out", tmp_path / "out")
    assert code == EXIT_SCENARIO
    assert err.startswith("error:") and "does not exist" in err
    assert not (tmp_path / "out").exists()


def test_out_that_is_a_file_is_a_usage_error(tmp_path, scenario, capsys):
    out = write_text(tmp_path, "plan", "not a folder")
    code, _, err = run(capsys, "solve", scenario, "--out", out, "--quiet")
    assert code == EXIT_USAGE
    assert err.startswith("error:") and "Traceback" not in err
    assert out.read_text() == "not a folder"


def test_main_returns_the_exit_code(tmp_path, capsys):
    code = main(["solve", str(_bad_input(tmp_path / "in")), "--out", str(tmp_path / "out")])
    assert code == EXIT_INPUT


COMMAND_LINE_MISTAKES = {
    "missing-out": ["solve", "scenario.yaml"],
    "unknown-command": ["frobnicate"],
    "unknown-strategy": ["baseline", "scenario.yaml", "--strategy", "alphabetical", "--out", "x"],
    "bad-count": ["generate", "--reps", "0", "--accounts", "3", "--out", "x"],
}


@pytest.mark.parametrize("argv", list(COMMAND_LINE_MISTAKES.values()),
                         ids=list(COMMAND_LINE_MISTAKES))
def test_command_line_mistakes_exit_with_the_usage_code(capsys, argv):
    code, _, err = run(capsys, *argv)
    assert code == EXIT_USAGE
    assert "error:" in err.lower() and "Traceback" not in err


def test_plan_flags_are_written_true_false(solved):
    reps = pd.read_csv(solved / "reps.csv", dtype=str, keep_default_na=False)
    assignments = pd.read_csv(solved / "assignments.csv", dtype=str, keep_default_na=False)
    assert set(reps["moved"]) <= {"true", "false"}
    assert set(assignments["kept_owner"]) <= {"true", "false"}


def test_the_compare_table_is_safe_to_open_in_excel(tmp_path, capsys):
    risky = tiny(tmp_path / "in", "by-region", "=HYPERLINK(\"x\")", "risky.yaml")
    out = tmp_path / "compare.csv"
    code, _, err = run(capsys, "compare", risky, "--runs", tmp_path / "runs", "--out", out,
                       "--quiet")
    assert code == EXIT_OK, err
    table = pd.read_csv(out, keep_default_na=False)
    assert table["name"].iloc[-1] == "'=HYPERLINK(\"x\")"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
