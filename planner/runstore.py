"""Where the app keeps saved scenarios and solved runs: one SQLite file, so comparisons
survive a restart and re-solving an unchanged scenario reuses the stored plan.

The file is `$PLANNER_STORE` if set, else `$XDG_DATA_HOME/sales-planner/planner.sqlite`
(`~/.local/share/sales-planner/planner.sqlite` by default). Uploaded data files are kept beside
it, one folder per content hash, so saved scenarios can name them and the CLI can read them.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from planner.errors import PlannerError
from planner.plan import Plan, plan_files, plan_from_files
from planner.scenario import Scenario, load_scenario, scenario_to_yaml

STORE_ENV = "PLANNER_STORE"
#: Bump when the solver changes what it returns, so older stored runs are solved again.
STORE_VERSION = "1"

_SCHEMA = """
create table if not exists scenarios (
    name text primary key, yaml text not null, saved_at real not null);
create table if not exists runs (
    fingerprint text primary key, name text not null, scenario_yaml text not null,
    kpis text not null, files blob not null, created_at real not null);
"""


def default_store_path() -> Path:
    """$PLANNER_STORE, else the per-user data folder."""
    if os.environ.get(STORE_ENV):
        return Path(os.environ[STORE_ENV]).expanduser()
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "sales-planner" / "planner.sqlite"


@dataclass(frozen=True)
class StoredRun:
    """A solved run as listed: its scenario name, when it was solved, its KPIs."""

    fingerprint: str
    name: str
    created_at: float
    kpis: dict


class RunStore:
    """Saved scenarios (as YAML the CLI reads) and solved runs (the five plan files)."""

    def __init__(self, path: Path | str | None = None):
        self.path = Path(path) if path else default_store_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    @property
    def uploads_dir(self) -> Path:
        return self.path.parent / "uploads"

    # --- data -----------------------------------------------------------------------------

    def keep_upload(self, files: dict[str, bytes]) -> Path:
        """Store uploaded data files (name -> bytes) in a folder named by their content, and
        return it; the same upload gives the same folder."""
        digest = hashlib.sha256()
        for name in sorted(files):
            digest.update(name.encode() + b"\0" + files[name])
        folder = self.uploads_dir / digest.hexdigest()[:16]
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            target = folder / name
            if not target.is_file():
                tmp = folder / f".{name}.part"
                tmp.write_bytes(content)
                os.replace(tmp, target)
        return folder

    # --- scenarios ------------------------------------------------------------------------

    def save_scenario(self, scenario: Scenario) -> str:
        """Save (or replace) a scenario under its name; returns its YAML."""
        text = scenario_to_yaml(scenario)
        with closing(self._connect()) as db, db:
            db.execute("insert or replace into scenarios values (?, ?, ?)",
                       (scenario.name, text, time.time()))
        return text

    def scenario_names(self) -> list[str]:
        with closing(self._connect()) as db:
            return [r[0] for r in db.execute("select name from scenarios order by saved_at")]

    def scenario(self, name: str) -> Scenario:
        """A saved scenario, read back through the same loader as the CLI's files."""
        with closing(self._connect()) as db:
            row = db.execute("select yaml from scenarios where name = ?", (name,)).fetchone()
        if row is None:
            raise KeyError(name)
        return scenario_from_yaml(row[0], name)

    def delete_scenario(self, name: str) -> None:
        with closing(self._connect()) as db, db:
            db.execute("delete from scenarios where name = ?", (name,))

    # --- runs -----------------------------------------------------------------------------

    def put_run(self, fingerprint: str, plan: Plan) -> None:
        files = plan_files(plan, excel_safe=False)
        blob = json.dumps({k: v.decode("utf-8") for k, v in files.items()}).encode("utf-8")
        with closing(self._connect()) as db, db:
            db.execute("insert or replace into runs values (?, ?, ?, ?, ?, ?)",
                       (fingerprint, plan.scenario.name, scenario_to_yaml(plan.scenario),
                        json.dumps(json.loads(files["kpis.json"])), blob, time.time()))

    def get_run(self, fingerprint: str, scenario: Scenario) -> Plan | None:
        """The stored plan of this exact scenario, or None."""
        with closing(self._connect()) as db:
            row = db.execute("select files from runs where fingerprint = ?",
                             (fingerprint,)).fetchone()
        if row is None:
            return None
        files = {k: v.encode("utf-8") for k, v in json.loads(row[0]).items()}
        return plan_from_files(scenario, files)

    def runs(self) -> list[StoredRun]:
        with closing(self._connect()) as db:
            rows = db.execute("select fingerprint, name, created_at, kpis from runs "
                              "order by created_at").fetchall()
        return [StoredRun(f, n, c, json.loads(k)) for f, n, c, k in rows]

    def plans(self) -> list[tuple[StoredRun, Plan]]:
        """Every stored run whose data files still exist, oldest first, as plans."""
        with closing(self._connect()) as db:
            rows = db.execute("select fingerprint, name, created_at, kpis, scenario_yaml, files "
                              "from runs order by created_at").fetchall()
        out = []
        for fingerprint, name, created, kpis, text, blob in rows:
            try:
                scenario = scenario_from_yaml(text, name)
            except PlannerError:
                continue  # its data files were moved or deleted
            files = {k: v.encode("utf-8") for k, v in json.loads(blob).items()}
            out.append((StoredRun(fingerprint, name, created, json.loads(kpis)),
                        plan_from_files(scenario, files)))
        return out

    def delete_run(self, fingerprint: str) -> None:
        with closing(self._connect()) as db, db:
            db.execute("delete from runs where fingerprint = ?", (fingerprint,))


def run_fingerprint(scenario: Scenario) -> str:
    """Changes whenever the scenario (org model, rules, objective, solver, edits, pins) or the
    bytes of its data files change. Scenarios with custom constraints from code have none."""
    digest = hashlib.sha256(STORE_VERSION.encode())
    digest.update(scenario_to_yaml(scenario.with_name("")).encode("utf-8"))
    for file in (scenario.reps_path, scenario.accounts_path, scenario.travel_path):
        if file is not None:
            digest.update(Path(file).read_bytes())
    return digest.hexdigest()


def scenario_from_yaml(text: str, name: str) -> Scenario:
    """A scenario from YAML text with absolute data paths (as the store writes them)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "scenario.yaml"
        path.write_text(text, encoding="utf-8")
        scenario = load_scenario(path)
    return scenario.model_copy(update={"source": f"saved scenario {name!r}",
                                       "source_dir": scenario.reps_path.parent})
