"""A re-plan that keeps relationships first (planner.whatif.minimal_disruption) builds each team
of stage 2 with its items' cheapest continuity choices only (planner.solve.team_instance,
planner.instance.allocation_instance with cheapest_kept): where a start proves that level on
them, the instance narrows to exactly what the whole team's narrows to
(models.allocation.narrow_to_first_level); where none does, the team is built whole."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest

from models.allocation import narrow_to_first_level
from planner import load_scenario, solve, whatif
from planner.instance import allocation_instance
from tests.helpers import generated_region_scenario, write_scenario
from tests.test_api import ACCOUNTS, REPS

#: The module (planner.solve), not the function planner.solve that the package exports.
planner_solve = importlib.import_module("planner.solve")
KEY = ["account_id", "product", "function"]


def _pairs(inst) -> list[tuple[int, int]]:
    return list(zip(inst.pair_item.tolist(), inst.pair_agent.tolist()))


def _assert_same_instance(a, b) -> None:
    assert _pairs(a) == _pairs(b)
    assert a.item_optional.tolist() == b.item_optional.tolist()
    assert a.pair_weight.tolist() == b.pair_weight.tolist()
    assert a.terms.keys() == b.terms.keys()
    for name, term in a.terms.items():
        for part in ("pair", "unassigned", "deviation", "travel"):
            mine, theirs = getattr(term, part), getattr(b.terms[name], part)
            assert (mine is None) == (theirs is None), (name, part)
            if mine is not None:
                assert np.array_equal(mine, theirs), (name, part)


@pytest.fixture
def built(monkeypatch):
    """Each team stage 2 builds, beside the whole team built the usual way."""
    seen = []
    real = planner_solve.team_instance

    def both(p, lines, agents, is_manager, quotas, settings):
        inst, items = real(p, lines, agents, is_manager, quotas, settings)
        whole, _ = allocation_instance(p, lines, agents, is_manager, quotas=quotas)
        seen.append((inst, whole, settings))
        return inst, items
    monkeypatch.setattr(planner_solve, "team_instance", both)
    return seen


def test_a_replans_teams_narrow_to_what_the_whole_teams_narrow_to(tmp_path, built):
    sc = load_scenario(generated_region_scenario(tmp_path))
    first = solve(sc, time_limit=3, workers=1, seed=0)
    a = first.assignments[first.assignments["rep_id"] != ""]
    leaver = str(a["rep_id"].value_counts().idxmax())
    built.clear()
    again = solve(whatif.minimal_disruption(whatif.rep_leaves(sc, leaver), first.to_csv(
        tmp_path / "first")), time_limit=3, workers=1, seed=0)
    cheap = 0
    for inst, whole, settings in built:
        narrowed = narrow_to_first_level(inst, settings, inst.hint_agent)
        if narrowed is None:  # (built whole: no start proved the first level)
            assert _pairs(inst) == _pairs(whole)
            continue
        cheap += len(inst.pair_item) < len(whole.pair_item)
        _assert_same_instance(narrowed, narrow_to_first_level(whole, settings, inst.hint_agent))
    assert len(built) == 15 and cheap >= 10
    both = a.merge(again.assignments, on=KEY, suffixes=("", "_after"))
    stayers = both[both["rep_id"] != leaver]
    assert (stayers["rep_id"] == stayers["rep_id_after"]).all()
    assert again.verify() == []


# test_api's two reps (10 h each) and three 4 h accounts: R1 owns all three in the previous
# plan, but the band now stops at 10 h: one account must move to R2, so no start keeps every
# owner, and the team is built whole (both reps for every account). The plan is the whole
# model's: one account moves (continuity 1/3 of 3).
PLAN = """\
account_id,product,function,hours,team_id,rep_id,kept_owner
A1,ERP,farming,4,East,R1,true
A2,ERP,farming,4,East,R1,true
A3,ERP,farming,4,East,R1,true
"""


def test_a_team_whose_owners_cannot_all_keep_their_lines_is_built_whole(tmp_path, built):
    sc = load_scenario(write_scenario(tmp_path, REPS, ACCOUNTS,
                                      rules={"utilization": {"min": 0, "max": 1.0}}))
    folder = tmp_path / "plan"
    folder.mkdir()
    (folder / "assignments.csv").write_text(PLAN, encoding="utf-8")
    again = solve(whatif.minimal_disruption(sc, folder), method="two-stage")
    assert len(built) == 1
    inst, whole, _ = built[0]
    assert _pairs(inst) == _pairs(whole) == [(0, 0), (1, 0), (2, 0), (0, 1), (1, 1), (2, 1)]
    owners = dict(zip(again.assignments["account_id"], again.assignments["rep_id"]))
    assert sorted(owners.values()) == ["R1", "R1", "R2"]
    assert again.kpis["objective_terms"]["continuity"] == pytest.approx(1 / 3)
    assert again.verify() == []


# Item 0's lines: 5 hours nobody owns yet, then 3 owned by rep 7 and 3 by rep 4: its owner is
# 7 (the first of its largest owned lines, not the larger new one), its hours 11, its class
# its first line's (2). Item 1: one line of rep 4's. Item 2: no owned line, owner -1.
def test_an_items_owner_is_who_owns_its_largest_owned_line():
    from planner.instance import _item_hours_class_owner
    lines = pd.DataFrame({"h": [5, 3, 3, 2, 4], "cls": [2, 0, 1, 1, 0],
                          "owner": [-1, 7, 4, 4, -1]})
    hours, cls, owner = _item_hours_class_owner(lines, np.array([0, 0, 0, 1, 2]), 3)
    assert hours.tolist() == [11, 2, 4] and cls.tolist() == [2, 1, 0]
    assert owner.tolist() == [7, 4, -1]
