"""The plan files' contract (DESIGN.md, "File contracts"): names, columns and kpis.json keys,
written by the plan writer and checked by the verifier from this one place."""

from __future__ import annotations

PLAN_FILES = {"teams": "teams.csv", "reps": "reps.csv", "assignments": "assignments.csv",
              "hiring": "hiring.csv"}
KPIS_FILE = "kpis.json"

MANAGER = "manager"
MEMBER = "member"
#: hiring.csv rows with this function are managers to hire
MANAGER_HIRING = "manager"
#: teams.csv manager_rep_id holds several managers joined by this
MANAGER_SEPARATOR = ";"

#: the dimension columns of teams.csv, in the contract's order
TEAM_DIMENSION_COLUMNS = ("region", "segment", "product", "channel", "function")
TEAMS_COLUMNS = ("team_id", *TEAM_DIMENSION_COLUMNS, "manager_rep_id", "headcount",
                 "demand_hours", "capacity_hours")
#: extra teams.csv column: the management unit a team belongs to (rules.manager_level)
MANAGEMENT_UNIT = "management_unit"
REP_COLUMNS = ("rep_id", "team_id", "role", "assigned_hours", "capacity_hours", "utilization",
               "fit", "moved")
ASSIGNMENTS_COLUMNS = ("account_id", "product", "function", "hours", "team_id", "rep_id",
                       "kept_owner")
LINE_KEY = ("account_id", "product", "function")
HIRING_COLUMNS = ("team_id", "function", "product", "unmet_hours", "suggested_hires")
#: extra hiring.csv column: the unmet hours in full-time equivalents of a median rep
HIRING_EXTRA_COLUMNS = ("fte",)

#: The KPI keys of kpis.json, in the order of DESIGN.md.
KPI_KEYS = ("reps", "teams", "demand_hours", "capacity_hours", "utilization_min",
            "utilization_max", "utilization_mean", "utilization_std", "utilization_in_band_pct",
            "fit_mean", "coverage_pct", "unmet_hours", "continuity_potential_pct",
            "continuity_accounts_pct", "reps_moved", "managers", "max_span", "travel_total")
#: KPIs that are counts (compared exactly); the others are floats (travel_total may be None).
INTEGER_KPIS = frozenset({"reps", "teams", "reps_moved", "managers", "max_span"})
PLAN_KEYS = ("scenario", "org_model", "status", "objective", "best_bound", "gap", "solve_seconds")
KPIS_JSON_KEYS = PLAN_KEYS + KPI_KEYS
STATUSES = ("OPTIMAL", "FEASIBLE", "INFEASIBLE", "MODEL_INVALID", "UNKNOWN")
