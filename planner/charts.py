"""Plotly figures of a company's demand and of plans, shared by the Streamlit app and notebooks.

Every builder is a pure function of plain inputs (a Company, a Plan, a DataFrame) that returns a
``plotly.graph_objects.Figure``: nothing here solves, reads files or imports streamlit. Where a
figure draws numbers worth checking, a table function computes them (``demand_capacity_table``,
``fit_by_team_dimension``, ``coverage_table``, ``flow_table``) and the figure draws that table,
so tests and notebooks can read the numbers without picking them out of traces.

Conventions:

- Every figure has a title, axis titles and hover text in words and units (hours per period,
  shares as percentages).
- Empty input (no demand, no reps, no teams, no hiring, no points) gives an empty figure whose
  title says there is nothing to show and why, never an exception.
- Plan tables are read with planner.kpis' converters, so a plan read back from its CSV files
  (strings) draws like one fresh from the solver (typed columns).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from planner.contracts import MANAGER, MANAGER_HIRING, MANAGER_SEPARATOR, TEAM_DIMENSION_COLUMNS
from planner.data import DIMENSIONS, Company
from planner.kpis import ids, line_index, numbers, rep_index
from planner.orgmodel import TEAM_SEPARATOR
from planner.plan import Plan
from planner.skills import MAX_PROFICIENCY, SkillTable

__all__ = [
    "demand_capacity_table", "demand_capacity_by", "utilization_distribution",
    "demand_vs_capacity_by_team", "fit_by_team_dimension", "skill_fit_heatmap",
    "coverage_table", "coverage_heatmap", "org_sunburst", "flow_table", "flow_sankey",
    "hiring_bars", "frontier_figure", "kpi_bars", "TERM_LABELS", "KPI_LABELS",
]

HOURS_TITLE = "hours per period"
#: The Sankey's node for lines without a rep (and reps missing from one side).
UNASSIGNED = "unassigned"
#: The bar of demand whose assignment rows name no team (today's unowned lines).
NO_TEAM = "(no team)"
#: The centre of the org sunburst (team ids never start with a parenthesis and a dot).
ROOT_ID = "(.organisation)"
TEMPLATE = "plotly_white"
COLORS = {"demand": "#4C78A8", "capacity": "#72B7B2", "unmet": "#E45756", "band": "#54A24B",
          "dominated": "#BAB0AC", "frontier": "#4C78A8", "manager": "#F58518",
          "current": "#7F7F7F", "round-robin": "#BAB0AC", "plan": "#4C78A8"}
#: Red (bad) to green (good) for shares from 0 to 1 or 0 to 100.
GOOD_SCALE = "RdYlGn"

#: Axis titles of the objective terms' unweighted values (planner.tradeoffs.term_shares).
TERM_LABELS = {
    "continuity": "continuity loss (share of owned potential)",
    "balance": "workload imbalance (load deviation, share of capacity)",
    "fit": "skill misfit (hours x (1 - fit), share of demand)",
    "travel": "travel (share of today's travel)",
    "preferences": "work outside preferred function (share of demand)",
    "unmet": "unmet demand (share of demand hours)",
}

#: Axis titles of the comparison table's columns (planner.compare.TABLE_COLUMNS).
KPI_LABELS = {
    "objective": "objective (weighted terms)",
    "gap": "gap to the best bound",
    "allocation_gap": "allocation gap (stage 2)",
    "solve_seconds": "solve time (s)",
    "teams": "teams",
    "reps": "reps",
    "managers": "managers",
    "utilization_min": "lowest utilization",
    "utilization_max": "highest utilization",
    "utilization_mean": "mean utilization",
    "utilization_std": "utilization spread (std)",
    "utilization_in_band_pct": "reps inside the utilization band (%)",
    "fit_mean": "skill fit (hours-weighted mean, 0-1)",
    "coverage_pct": "demand covered by qualified reps (%)",
    "unmet_hours": "unmet demand (hours per period)",
    "continuity_potential_pct": "potential kept with its current owner (%)",
    "continuity_accounts_pct": "owned accounts keeping their owner (%)",
    "reps_moved": "reps moved",
    "max_span": "largest span of control",
    "travel_total": "travel (total)",
}


# --- shared helpers -----------------------------------------------------------------------------

def _empty(title: str, reason: str) -> go.Figure:
    """A figure that says there is nothing to show and why (empty inputs are not errors)."""
    fig = go.Figure()
    fig.add_annotation(text=reason, x=0.5, y=0.5, xref="paper", yref="paper",
                       showarrow=False, font={"size": 14})
    fig.update_layout(title={"text": f"{title}: nothing to show"}, template=TEMPLATE,
                      xaxis={"visible": False}, yaxis={"visible": False})
    return fig


def _layout(fig: go.Figure, title: str, x: str | None, y: str | None,
            subtitle: str | None = None, **layout) -> go.Figure:
    """Title (and subtitle), axis titles and the shared template."""
    head = {"text": title}
    if subtitle:
        head["subtitle"] = {"text": subtitle}
    fig.update_layout(title=head, template=TEMPLATE, margin={"t": 90 if subtitle else 70},
                      **layout)
    if x is not None:
        fig.update_xaxes(title_text=x, automargin=True)
    if y is not None:
        fig.update_yaxes(title_text=y, automargin=True)
    return fig


def _check_dimension(dimension: str) -> None:
    if dimension not in DIMENSIONS:
        raise ValueError(f"unknown dimension {dimension!r}; use one of {', '.join(DIMENSIONS)}")


def _sum_by(keys, hours) -> pd.Series:
    """Hours summed per key (keys as str)."""
    return pd.Series(np.asarray(hours, dtype=float), index=ids(keys)).groupby(level=0).sum()


def plan_name(plan: Plan) -> str:
    """How a plan is named in titles: baselines by what they are (today's organisation is not
    the scenario's org model), solved plans by their scenario."""
    method = plan.kpis.get("method")
    if method == "current organisation":
        return "current organisation"
    if method == "round-robin":
        return f"round-robin ({plan.scenario.org_model})"
    return plan.scenario.name


def _hours(value: float) -> str:
    return f"{value:,.0f} h"


# --- 1. demand and capacity of the company ------------------------------------------------------

def demand_capacity_table(company: Company, dimension: str,
                          min_proficiency: float = 2.0) -> pd.DataFrame:
    """Demand hours and the capacity of the reps who could serve it, per value of a dimension.

    Who could serve a value: for region, the reps whose home region it is; for the other
    dimensions, the reps with proficiency >= min_proficiency in it (a rep counts under every
    value they can serve, so capacities of different values overlap).

    Columns: value, demand_hours, capacity_hours, ratio (demand / capacity: the utilization
    those reps would need; inf where nobody can serve it), reps (how many could serve it) and
    shortage_hours (demand above capacity, 0 where there is enough). Values are
    company.values(dimension), in its order."""
    _check_dimension(dimension)
    values = company.values(dimension)
    demand = _sum_by(company.lines[dimension], company.lines["hours"]).reindex(values).fillna(0.0)
    capacity = company.reps["capacity_hours"].to_numpy(dtype=float)
    home = ids(company.reps["home_region"])
    able = [home == v if dimension == "region"
            else company.proficiency(dimension, v) >= min_proficiency for v in values]
    cap = np.array([capacity[a].sum() for a in able], dtype=float)
    dem = demand.to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(cap > 0, dem / np.where(cap > 0, cap, 1.0),
                         np.where(dem > 0, np.inf, np.nan))
    return pd.DataFrame({"value": pd.Series(values, dtype=object), "demand_hours": dem,
                         "capacity_hours": cap, "ratio": ratio,
                         "reps": np.array([int(a.sum()) for a in able], dtype=np.int64),
                         "shortage_hours": np.maximum(dem - cap, 0.0)})


def demand_capacity_by(company: Company, dimension: str,
                       min_proficiency: float = 2.0) -> go.Figure:
    """Grouped bars of demand vs the capacity that could serve it, per value of a dimension,
    with the shortage written above each value that lacks people: the Data page's "where are
    we short of people?" (numbers: demand_capacity_table)."""
    table = demand_capacity_table(company, dimension, min_proficiency)
    title = f"Demand and capacity by {dimension}"
    if table.empty:
        return _empty(title, "the company has no demand lines")
    who = ("capacity: reps whose home region it is" if dimension == "region" else
           f"capacity: reps with {dimension} proficiency >= {min_proficiency:g} "
           "(a rep counts under every value they can serve)")
    x = table["value"].astype(str).tolist()
    ratio_text = [("nobody can serve it" if np.isinf(r) else f"demand / capacity {r:.0%}")
                  + (f", short {_hours(short)}" if short > 0 else "")
                  for r, short in zip(table["ratio"], table["shortage_hours"])]
    custom = np.column_stack([table["demand_hours"], table["capacity_hours"], table["reps"]])
    hover = (f"<b>{dimension} %{{x}}</b><br>demand %{{customdata[0]:,.0f}} h<br>"
             "capacity %{customdata[1]:,.0f} h from %{customdata[2]} reps<br>"
             "%{text}<extra></extra>")
    fig = go.Figure([
        go.Bar(name="demand", x=x, y=table["demand_hours"].to_numpy(), customdata=custom,
               text=ratio_text, textposition="none", hovertemplate=hover,
               marker_color=COLORS["demand"]),
        go.Bar(name="capacity", x=x, y=table["capacity_hours"].to_numpy(), customdata=custom,
               text=ratio_text, textposition="none", hovertemplate=hover,
               marker_color=COLORS["capacity"])])
    for value, row in zip(x, table.itertuples()):
        if row.shortage_hours > 0:
            fig.add_annotation(x=value, y=max(row.demand_hours, row.capacity_hours),
                               text=f"short {_hours(row.shortage_hours)}", showarrow=False,
                               yshift=12, font={"color": COLORS["unmet"]})
    return _layout(fig, title, dimension, HOURS_TITLE, subtitle=who, barmode="group")


# --- 2. utilization of reps, per organisation ---------------------------------------------------

def utilization_distribution(plans: Mapping[str, Plan],
                             band: tuple[float, float] | None = None) -> go.Figure:
    """One box (with every rep as a point) of reps' utilization per organisation, the band
    shaded: how evenly each organisation loads its people. band: (min, max) shares; None
    takes the first plan's rules.utilization. Reps with hours but no selling capacity
    (infinite utilization) cannot be drawn and are counted in the subtitle."""
    title = "Utilization of reps by organisation"
    plans = dict(plans)
    if not plans or all(len(p.reps) == 0 for p in plans.values()):
        return _empty(title, "no organisation with reps was given")
    if band is None:
        rules = next(iter(plans.values())).scenario.rules.utilization
        band = (rules.min, rules.max)
    fig = go.Figure()
    hidden = 0
    for name, plan in plans.items():
        reps = plan.reps
        util = numbers(reps["utilization"])
        shown = np.isfinite(util)
        hidden += int((~shown & ~np.isnan(util)).sum())
        text = [f"{r} ({t}, {role})" for r, t, role in
                zip(ids(reps["rep_id"])[shown], ids(reps["team_id"])[shown],
                    ids(reps["role"])[shown])]
        fig.add_trace(go.Box(
            y=util[shown], name=str(name), boxpoints="all", jitter=0.4, pointpos=0,
            hovertext=text, marker={"size": 5}, hoveron="points",
            hovertemplate="%{hovertext}<br>utilization %{y:.0%}<extra>" + str(name)
                          + "</extra>"))
    fig.add_hrect(y0=band[0], y1=band[1], fillcolor=COLORS["band"], opacity=0.12,
                  line_width=0, layer="below")
    fig.add_annotation(text=f"band {band[0]:.0%}-{band[1]:.0%}", xref="paper", x=1.0,
                       y=band[1], yref="y", xanchor="right", yanchor="bottom",
                       showarrow=False, font={"color": COLORS["band"]})
    note = (f"{hidden} rep(s) with hours but no selling capacity are not shown" if hidden
            else None)
    return _layout(fig, title, "organisation", "utilization (assigned / capacity)",
                   subtitle=note, showlegend=False, yaxis_tickformat=".0%")


# --- 3. demand vs capacity per team -------------------------------------------------------------

def _team_load(plan: Plan) -> pd.DataFrame:
    """team, demand_hours, capacity_hours, unmet_hours per team of the plan, sorted by team;
    assignment rows whose team is not in the teams table (today's unowned lines) form their
    own row, NO_TEAM for an empty team_id."""
    teams = plan.teams
    a = plan.assignments
    team_ids = ids(teams["team_id"])
    frame = pd.DataFrame({"team": team_ids, "demand_hours": numbers(teams["demand_hours"]),
                          "capacity_hours": numbers(teams["capacity_hours"])})
    a_team = ids(a["team_id"])
    label = np.where(a_team == "", NO_TEAM, a_team)
    hours = numbers(a["hours"])
    outside = ~np.isin(a_team, team_ids)
    extra = _sum_by(label[outside], hours[outside])
    frame = pd.concat([frame, pd.DataFrame({"team": extra.index.to_numpy(dtype=object),
                                            "demand_hours": extra.to_numpy(),
                                            "capacity_hours": 0.0})], ignore_index=True)
    frame = frame.groupby("team", as_index=False, sort=True)[["demand_hours",
                                                              "capacity_hours"]].sum()
    unmet_rows = ids(a["rep_id"]) == ""
    unmet = _sum_by(label[unmet_rows], hours[unmet_rows])
    frame["unmet_hours"] = unmet.reindex(frame["team"]).fillna(0.0).to_numpy()
    return frame


def demand_vs_capacity_by_team(plan: Plan) -> go.Figure:
    """Per team (sorted by id, so the branches of the tree sit together): a demand bar split
    into assigned and unmet hours, beside the team's selling capacity."""
    title = f"Demand and capacity per team: {plan_name(plan)}"
    load = _team_load(plan)
    if load.empty:
        return _empty(title, "the plan has no teams")
    x = load["team"].tolist()
    assigned = (load["demand_hours"] - load["unmet_hours"]).to_numpy()
    custom = np.column_stack([load["demand_hours"], load["unmet_hours"], load["capacity_hours"]])
    hover = ("<b>%{x}</b><br>demand %{customdata[0]:,.0f} h (unmet %{customdata[1]:,.0f} h)"
             "<br>capacity %{customdata[2]:,.0f} h<extra></extra>")
    fig = go.Figure([
        go.Bar(name="demand assigned", x=x, y=assigned, offsetgroup="demand",
               customdata=custom, hovertemplate=hover, marker_color=COLORS["demand"]),
        go.Bar(name="demand unmet", x=x, y=load["unmet_hours"].to_numpy(), base=assigned,
               offsetgroup="demand", customdata=custom, hovertemplate=hover,
               marker_color=COLORS["unmet"]),
        go.Bar(name="capacity", x=x, y=load["capacity_hours"].to_numpy(), offsetgroup="capacity",
               customdata=custom, hovertemplate=hover, marker_color=COLORS["capacity"])])
    return _layout(fig, title, "team", HOURS_TITLE, barmode="group")


# --- 4. skill fit per team and dimension --------------------------------------------------------

def fit_by_team_dimension(company: Company, plan: Plan) -> pd.DataFrame:
    """Per team and dimension: the hours-weighted mean, over the team's assigned lines, of the
    assigned rep's proficiency / 5 in the line's value of that dimension (region proficiency:
    5 in the home region unless a region column says otherwise). Shows which part of the fit
    a team lacks (right product, wrong channel...).

    Columns team_id, dimension, fit, hours (assigned hours behind it); dimensions in the
    contract's order (region, segment, product, channel, function); teams sorted; teams
    without assigned lines are left out."""
    a = plan.assignments
    line = line_index(company, a) if len(a) else np.zeros(0, dtype=np.int64)
    rep = rep_index(company, a["rep_id"]) if len(a) else np.zeros(0, dtype=np.int64)
    ok = (line >= 0) & (rep >= 0)
    hours = numbers(a["hours"])[ok]
    team = ids(a["team_id"])[ok]
    columns = ["team_id", "dimension", "fit", "hours"]
    if not ok.any():
        return pd.DataFrame(columns=columns)
    work = company.lines.iloc[line[ok]]
    skills = SkillTable(company, plan.scenario.rules)
    parts = []
    for dim in TEAM_DIMENSION_COLUMNS:
        score = skills.proficiency(dim, rep[ok], work[dim].to_numpy()) / MAX_PROFICIENCY
        sums = (pd.DataFrame({"team_id": team, "w": hours, "wf": hours * score})
                .groupby("team_id", sort=True)[["w", "wf"]].sum())
        sums = sums[sums["w"] > 0]
        parts.append(pd.DataFrame({"team_id": sums.index.to_numpy(dtype=object),
                                   "dimension": dim, "fit": (sums["wf"] / sums["w"]).to_numpy(),
                                   "hours": sums["w"].to_numpy()}))
    out = pd.concat(parts, ignore_index=True)
    order = {d: i for i, d in enumerate(TEAM_DIMENSION_COLUMNS)}
    out["_d"] = out["dimension"].map(order)
    return out.sort_values(["team_id", "_d"]).drop(columns="_d").reset_index(drop=True)[columns]


def skill_fit_heatmap(company: Company, plan: Plan) -> go.Figure:
    """Teams (rows) x dimensions (columns), each cell the team's hours-weighted proficiency / 5
    in that dimension (fit_by_team_dimension), 0 red to 1 green."""
    title = f"Skill fit per team and dimension: {plan_name(plan)}"
    table = fit_by_team_dimension(company, plan)
    if table.empty:
        return _empty(title, "no lines are assigned to reps")
    dims = [d for d in TEAM_DIMENSION_COLUMNS if d in set(table["dimension"])]
    z = table.pivot(index="team_id", columns="dimension", values="fit").reindex(columns=dims)
    teams = z.index.astype(str).tolist()
    hours = table.groupby("team_id")["hours"].first().reindex(z.index).to_numpy()
    custom = np.repeat(hours[:, None], len(dims), axis=1)
    fig = go.Figure(go.Heatmap(
        z=z.to_numpy(dtype=float), x=dims, y=teams, zmin=0, zmax=1, colorscale=GOOD_SCALE,
        customdata=custom, texttemplate="%{z:.2f}", hoverongaps=False,
        colorbar={"title": {"text": "proficiency / 5"}},
        hovertemplate="<b>%{y}</b><br>%{x}: proficiency / 5 = %{z:.2f}<br>"
                      "over %{customdata:,.0f} assigned h<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, title, "dimension", "team",
                   subtitle="hours-weighted mean of the assigned rep's proficiency / 5 in the "
                            "line's value")


# --- 5. coverage of region x product x channel --------------------------------------------------

def coverage_table(company: Company, plan: Plan) -> pd.DataFrame:
    """Per region x product x channel cell with demand: demand_hours (all its demand lines),
    covered_hours (hours assigned to a rep qualified for the line, as the coverage_pct KPI
    counts them) and coverage_pct (0-100). Sorted by region, product, channel."""
    keys = ["region", "product", "channel"]
    lines = company.lines
    columns = keys + ["demand_hours", "covered_hours", "coverage_pct"]
    if lines.empty:
        return pd.DataFrame(columns=columns)
    demand = (pd.DataFrame({k: ids(lines[k]) for k in keys} | {"h": lines["hours"].to_numpy()})
              .groupby(keys, sort=True)["h"].sum())
    a = plan.assignments
    covered = pd.Series(0.0, index=demand.index)
    if len(a):
        line, rep = line_index(company, a), rep_index(company, a["rep_id"])
        ok = (line >= 0) & (rep >= 0)
        work = lines.iloc[line[ok]]
        qualified = SkillTable(company, plan.scenario.rules).qualified(rep[ok], work)
        got = (pd.DataFrame({k: ids(work[k]) for k in keys}
                            | {"h": np.where(qualified, numbers(a["hours"])[ok], 0.0)})
               .groupby(keys)["h"].sum())
        covered = got.reindex(demand.index).fillna(0.0)
    out = demand.rename("demand_hours").reset_index()
    out["covered_hours"] = covered.to_numpy(dtype=float)
    out["coverage_pct"] = 100.0 * out["covered_hours"] / out["demand_hours"]
    return out[columns]


def coverage_heatmap(company: Company, plan: Plan) -> go.Figure:
    """Region (rows) x product (columns), one panel per channel, each cell the share of its
    demand covered by qualified reps; cells without demand stay empty. Every panel has the
    same rows and columns so they line up."""
    title = f"Coverage by qualified reps: {plan_name(plan)}"
    table = coverage_table(company, plan)
    if table.empty:
        return _empty(title, "the company has no demand lines")
    regions = sorted(table["region"].unique().tolist())
    products = sorted(table["product"].unique().tolist())
    channels = sorted(table["channel"].unique().tolist())
    fig = make_subplots(rows=1, cols=len(channels), shared_yaxes=True,
                        subplot_titles=[f"channel {c}" for c in channels],
                        horizontal_spacing=0.04)
    for col, channel in enumerate(channels, start=1):
        cell = table[table["channel"] == channel].set_index(["region", "product"])
        grid = pd.MultiIndex.from_product([regions, products])
        z = cell["coverage_pct"].reindex(grid).to_numpy(dtype=float).reshape(len(regions),
                                                                              len(products))
        custom = np.stack([cell[c].reindex(grid).to_numpy(dtype=float)
                           .reshape(len(regions), len(products))
                           for c in ("demand_hours", "covered_hours")], axis=-1)
        fig.add_trace(go.Heatmap(
            z=z, x=products, y=regions, customdata=custom, coloraxis="coloraxis",
            texttemplate="%{z:.0f}%", hoverongaps=False, name=f"channel {channel}",
            hovertemplate=(f"<b>%{{y}} x %{{x}} x {channel}</b><br>coverage %{{z:.1f}}%<br>"
                           "covered %{customdata[1]:,.0f} of %{customdata[0]:,.0f} h"
                           "<extra></extra>")), row=1, col=col)
        fig.update_xaxes(title_text="product", row=1, col=col)
    fig.update_yaxes(title_text="region", row=1, col=1)
    return _layout(fig, title, None, None,
                   subtitle="share of demand hours assigned to a qualified rep; empty: no demand",
                   coloraxis={"colorscale": GOOD_SCALE, "cmin": 0, "cmax": 100,
                              "colorbar": {"title": {"text": "covered %"}}})


# --- 6. the org as a sunburst -------------------------------------------------------------------

def org_sunburst(plan: Plan) -> go.Figure:
    """The org tree as a sunburst: rings follow the parts of each team id (" / "-joined path
    values), the centre is the organisation, sizes are headcounts; hover gives manager(s),
    demand and capacity hours of every node (sums over its teams)."""
    title = f"Organisation: {plan_name(plan)}"
    teams = plan.teams
    if len(teams) == 0:
        return _empty(title, "the plan has no teams")
    team_ids = ids(teams["team_id"])
    stats = pd.DataFrame({"headcount": numbers(teams["headcount"]),
                          "demand": numbers(teams["demand_hours"]),
                          "capacity": numbers(teams["capacity_hours"])}, index=team_ids).fillna(0.0)
    managers = _team_managers(teams)
    nodes: dict[str, dict] = {ROOT_ID: {"label": plan_name(plan), "parent": "", "teams": []}}
    for team in team_ids:
        parts = team.split(TEAM_SEPARATOR)
        for depth in range(1, len(parts) + 1):
            node = TEAM_SEPARATOR.join(parts[:depth])
            parent = TEAM_SEPARATOR.join(parts[:depth - 1]) if depth > 1 else ROOT_ID
            nodes.setdefault(node, {"label": parts[depth - 1], "parent": parent, "teams": []})
            nodes[node]["teams"].append(team)
        nodes[ROOT_ID]["teams"].append(team)
    node_ids = list(nodes)
    total = {n: stats.loc[nodes[n]["teams"]].sum() for n in node_ids}
    hover = [_node_hover(n, nodes[n]["teams"], total[n], managers, team_ids) for n in node_ids]
    fig = go.Figure(go.Sunburst(
        ids=node_ids, labels=[nodes[n]["label"] for n in node_ids],
        parents=[nodes[n]["parent"] for n in node_ids],
        values=[float(total[n]["headcount"]) for n in node_ids], branchvalues="total",
        hovertext=hover, hovertemplate="%{hovertext}<extra></extra>", maxdepth=-1))
    return _layout(fig, title, None, None, subtitle="size: headcount (managers included)")


def _team_managers(teams: pd.DataFrame) -> dict[str, str]:
    """Each team's manager(s) as text: its own, else its management unit's (a regional
    manager over several teams), else ''."""
    team_ids = ids(teams["team_id"])
    own = dict(zip(team_ids, ids(teams["manager_rep_id"])))
    if "management_unit" not in teams.columns:
        return own
    unit = ids(teams["management_unit"])
    unit_managers: dict[str, list[str]] = {}
    for u, m in zip(unit, own.values()):
        unit_managers.setdefault(u, []).extend(x for x in m.split(MANAGER_SEPARATOR) if x)
    return {t: own[t] or (f"{'; '.join(unit_managers.get(u, []))} (unit {u})"
                          if unit_managers.get(u) else "")
            for t, u in zip(team_ids, unit)}


def _node_hover(node: str, under: list[str], total: pd.Series, managers: dict[str, str],
                team_ids: np.ndarray) -> str:
    name = "whole organisation" if node == ROOT_ID else node
    head = f"<b>{name}</b>"
    if node in set(team_ids):
        head += f"<br>manager: {managers.get(node) or 'none'}"
    elif len(under) > 1:
        head += f"<br>{len(under)} teams"
    return (f"{head}<br>headcount {total['headcount']:,.0f}<br>demand {_hours(total['demand'])}"
            f"<br>capacity {_hours(total['capacity'])}")


# --- 7. flows from today's teams to the new ones ------------------------------------------------

def flow_table(before: Plan, after: Plan, what: str = "reps") -> pd.DataFrame:
    """The flows a Sankey draws, columns source, target, value, sorted:

    - what="reps": reps counted by rep_id from their team before to their team after (a rep
      missing on one side is UNASSIGNED there);
    - what="accounts": hours of each demand line (account_id, product, function) from the team
      of its rep before to the team of its rep after (UNASSIGNED where it has no rep)."""
    if what not in ("reps", "accounts"):
        raise ValueError(f"what must be 'reps' or 'accounts', not {what!r}")
    if what == "reps":
        left = pd.Series(ids(before.reps["team_id"]), index=ids(before.reps["rep_id"]))
        right = pd.Series(ids(after.reps["team_id"]), index=ids(after.reps["rep_id"]))
        left, right = (side[~side.index.duplicated()] for side in (left, right))
        rep_ids = list(dict.fromkeys([*left.index, *right.index]))
        frame = pd.DataFrame({"source": left.reindex(rep_ids).fillna(UNASSIGNED).to_numpy(),
                              "target": right.reindex(rep_ids).fillna(UNASSIGNED).to_numpy(),
                              "value": 1})
    else:
        key = ["account_id", "product", "function"]
        b, a = _line_teams(before), _line_teams(after)
        merged = b.merge(a, on=key, how="outer", suffixes=("_b", "_a"))
        frame = pd.DataFrame({
            "source": merged["team_b"].fillna(UNASSIGNED).to_numpy(dtype=object),
            "target": merged["team_a"].fillna(UNASSIGNED).to_numpy(dtype=object),
            "value": merged["hours_a"].fillna(merged["hours_b"]).to_numpy(dtype=float)})
    if frame.empty:
        return pd.DataFrame({"source": pd.Series(dtype=object),
                             "target": pd.Series(dtype=object), "value": pd.Series(dtype=float)})
    out = frame.groupby(["source", "target"], as_index=False, sort=True)["value"].sum()
    return out[out["value"] > 0].reset_index(drop=True)


def _line_teams(plan: Plan) -> pd.DataFrame:
    """account_id, product, function, hours and team: the team of the line's rep (from the
    plan's reps, else the row's team_id), UNASSIGNED where the line has no rep."""
    a = plan.assignments
    rep = ids(a["rep_id"])
    rep_team = pd.Series(ids(plan.reps["team_id"]), index=ids(plan.reps["rep_id"]))
    rep_team = rep_team[~rep_team.index.duplicated()]
    team = rep_team.reindex(rep).to_numpy(dtype=object)
    team = np.where(pd.isna(team), ids(a["team_id"]), team)
    team = np.where(rep == "", UNASSIGNED, team)
    return pd.DataFrame({"account_id": ids(a["account_id"]), "product": ids(a["product"]),
                         "function": ids(a["function"]), "hours": numbers(a["hours"]),
                         "team": team})


def flow_sankey(before: Plan, after: Plan, what: str = "reps") -> go.Figure:
    """Sankey of flow_table: teams before on the left, teams after on the right (UNASSIGNED
    last on each side); a team name on both sides is two nodes."""
    unit = "reps" if what == "reps" else "account hours"
    title = f"Where {unit} go: {plan_name(before)} to {plan_name(after)}"
    table = flow_table(before, after, what)
    if table.empty:
        return _empty(title, f"neither plan has {unit}")
    left = _side_order(table["source"])
    right = _side_order(table["target"])
    labels = left + right
    side = ["before"] * len(left) + ["after"] * len(right)
    color = [COLORS["unmet"] if n == UNASSIGNED else
             (COLORS["current"] if s == "before" else COLORS["plan"])
             for n, s in zip(labels, side)]
    source = [left.index(s) for s in table["source"]]
    target = [len(left) + right.index(t) for t in table["target"]]
    fmt = "%{value:,.0f} reps" if what == "reps" else "%{value:,.0f} h"
    fig = go.Figure(go.Sankey(
        node={"label": labels, "color": color, "customdata": side, "pad": 12,
              "hovertemplate": "%{label} (%{customdata})<br>" + fmt + "<extra></extra>"},
        link={"source": source, "target": target, "value": table["value"].to_numpy(),
              "hovertemplate": "%{source.label} to %{target.label}<br>" + fmt
                               + "<extra></extra>"}))
    return _layout(fig, title, None, None,
                   subtitle=f"left: {plan_name(before)}; right: {plan_name(after)}")


def _side_order(names: pd.Series) -> list[str]:
    """Node names of one side, sorted, UNASSIGNED last."""
    unique = sorted(set(names) - {UNASSIGNED})
    return unique + ([UNASSIGNED] if UNASSIGNED in set(names) else [])


# --- 8. hiring needs ----------------------------------------------------------------------------

def hiring_bars(plan: Plan) -> go.Figure:
    """Suggested hires (top) and unmet hours (bottom) per team x function x product, sorted by
    team; managers to hire are their own bars ("team: manager") in their own colour."""
    title = f"Hiring needs: {plan_name(plan)}"
    h = plan.hiring
    if len(h) == 0:
        return _empty(title, "no hiring needs: every hour of demand has a rep")
    frame = pd.DataFrame({"team": ids(h["team_id"]), "function": ids(h["function"]),
                          "product": ids(h["product"]), "unmet": numbers(h["unmet_hours"]),
                          "hires": numbers(h["suggested_hires"]),
                          "fte": numbers(h["fte"]) if "fte" in h.columns else np.nan})
    frame["manager"] = frame["function"] == MANAGER_HIRING
    frame = frame.sort_values(["team", "manager", "function", "product"]).reset_index(drop=True)
    frame["label"] = np.where(frame["manager"], frame["team"] + ": manager",
                              frame["team"] + ": " + frame["function"] + ", " + frame["product"])
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=["suggested hires", "unmet hours"])
    for is_manager, name, color in ((False, "reps to hire", COLORS["demand"]),
                                    (True, "managers to hire", COLORS["manager"])):
        part = frame[frame["manager"] == is_manager]
        if part.empty:
            continue
        custom = np.column_stack([part["unmet"], part["fte"].fillna(0.0)])
        fig.add_trace(go.Bar(
            name=name, x=part["label"].tolist(), y=part["hires"].to_numpy(), marker_color=color,
            customdata=custom, legendgroup=name,
            hovertemplate=("<b>%{x}</b><br>%{y:,.0f} to hire (%{customdata[1]:.2f} FTE)"
                           + ("" if is_manager else "<br>unmet %{customdata[0]:,.0f} h")
                           + "<extra></extra>")), row=1, col=1)
    reps = frame[~frame["manager"]]
    if not reps.empty:
        fig.add_trace(go.Bar(
            name="unmet hours", x=reps["label"].tolist(), y=reps["unmet"].to_numpy(),
            marker_color=COLORS["unmet"], customdata=reps["hires"].to_numpy(),
            hovertemplate="<b>%{x}</b><br>unmet %{y:,.0f} h<br>%{customdata:,.0f} to hire"
                          "<extra></extra>"), row=2, col=1)
    fig.update_xaxes(categoryorder="array", categoryarray=frame["label"].tolist())
    fig.update_xaxes(title_text="team: function, product", row=2, col=1)
    fig.update_yaxes(title_text="people", row=1, col=1)
    fig.update_yaxes(title_text=HOURS_TITLE, row=2, col=1)
    return _layout(fig, title, None, None, barmode="group")


# --- 9. trade-off frontier ----------------------------------------------------------------------

def term_label(term: str) -> str:
    """An objective term's axis title (the name itself for unknown terms)."""
    return TERM_LABELS.get(term, term)


def frontier_figure(points: pd.DataFrame, x: str, y: str) -> go.Figure:
    """Every plan of a trade-off as a point (dominated ones grey), the non-dominated ones
    joined by a line in order of x: what one term costs in the other. points: columns x, y
    and `dominated` (as planner.tradeoffs.pareto makes them; without `dominated` it is
    computed as pareto does, with an `unmet` column as a third criterion where present); KPI
    columns there are shown on hover."""
    title = f"Trade-off: {x} vs {y}"
    if points is None or len(points) == 0 or x not in points or y not in points:
        return _empty(title, "no plans were found for this trade-off")
    frame = points.reset_index(drop=True)
    if "dominated" in frame.columns:
        dominated = _bools(frame["dominated"])
    else:
        from planner.tradeoffs import dominated as find_dominated
        unmet = numbers(frame["unmet"]) if "unmet" in frame.columns and x != "unmet" \
            and y != "unmet" else None
        dominated = find_dominated(numbers(frame[x]), numbers(frame[y]), unmet)
    hover = [_point_hover(row, x, y) for _, row in frame.iterrows()]
    fig = go.Figure()
    best = frame[~dominated].assign(_hover=np.asarray(hover, dtype=object)[~dominated])
    best = best.sort_values(x, kind="stable")
    if dominated.any():
        fig.add_trace(go.Scatter(
            name="dominated", x=numbers(frame[x])[dominated], y=numbers(frame[y])[dominated],
            mode="markers", marker={"color": COLORS["dominated"], "size": 9},
            hovertext=np.asarray(hover, dtype=object)[dominated].tolist(),
            hovertemplate="%{hovertext}<extra>dominated</extra>"))
    fig.add_trace(go.Scatter(
        name="frontier", x=numbers(best[x]), y=numbers(best[y]), mode="lines+markers",
        marker={"color": COLORS["frontier"], "size": 10}, line={"color": COLORS["frontier"]},
        hovertext=best["_hover"].tolist(), hovertemplate="%{hovertext}<extra>frontier</extra>"))
    return _layout(fig, title, term_label(x), term_label(y),
                   subtitle="lower is better on both axes; grey points are dominated")


_POINT_KPIS = (("coverage_pct", "coverage {:.1f}%"), ("unmet_hours", "unmet {:,.0f} h"),
               ("utilization_std", "utilization std {:.3f}"), ("fit_mean", "fit {:.3f}"),
               ("continuity_potential_pct", "continuity {:.1f}% of potential"),
               ("reps_moved", "{:,.0f} reps moved"))


def _point_hover(row: pd.Series, x: str, y: str) -> str:
    parts = [f"{x} {_num(row[x]):.4f}", f"{y} {_num(row[y]):.4f}"]
    for col, fmt in _POINT_KPIS:
        if col in row.index and np.isfinite(_num(row[col])):
            parts.append(fmt.format(_num(row[col])))
    return "<br>".join(parts)


def _bools(values: pd.Series) -> np.ndarray:
    """Booleans, also when read back from CSV as text ("true" / "false")."""
    if values.dtype == bool:
        return values.to_numpy()
    return np.isin(np.char.lower(ids(values).astype(str)), ["true", "1", "yes", "1.0"])


def _num(value) -> float:
    return float(numbers([value])[0])


# --- 10. one KPI across organisations -----------------------------------------------------------

def kpi_label(kpi: str) -> str:
    """A KPI's axis title (the column name itself for unknown columns)."""
    return KPI_LABELS.get(kpi, kpi)


def kpi_bars(table: pd.DataFrame, kpi: str) -> go.Figure:
    """One bar per organisation (column `name`) of the comparison table
    (planner.compare.compare_scenarios) for one KPI, the current organisation first and
    coloured by kind (current, round-robin, plan); missing values show as "-"."""
    label = kpi_label(kpi)
    title = f"{label[:1].upper()}{label[1:]} by organisation"
    if table is None or len(table) == 0:
        return _empty(title, "the comparison table is empty")
    if kpi not in table.columns:
        raise ValueError(f"the comparison table has no column {kpi!r}; columns: "
                         f"{', '.join(map(str, table.columns))}")
    names = ids(table["name"])
    kind = (ids(table["kind"]) if "kind" in table.columns
            else np.where(names == "current organisation", "current", "plan"))
    first = np.argsort(np.where(kind == "current", 0, 1), kind="stable")
    names, kind = names[first], kind[first]
    values = numbers(table[kpi])[first]
    text = ["-" if np.isnan(v) else (f"{v:,.3f}" if abs(v) < 10 else f"{v:,.1f}")
            for v in values]
    fig = go.Figure(go.Bar(
        x=names.tolist(), y=values, text=text, textposition="outside",
        marker_color=[COLORS.get(k, COLORS["plan"]) for k in kind], customdata=kind,
        hovertemplate="<b>%{x}</b> (%{customdata})<br>" + label + ": %{text}<extra></extra>"))
    return _layout(fig, title, "organisation", label, showlegend=False)
