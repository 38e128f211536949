"""Tests for planner.generate: the synthetic company keeps the input contract and its promises."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner.data import load_company
from planner.generate import (FUNCTION_SETS, PRODUCTS, REGION_CITIES, generate_company,
                              write_company)

N_REPS, N_ACCOUNTS = 120, 3000
CLASSIC = FUNCTION_SETS["classic"]
STAGES = FUNCTION_SETS["stages"]
SEGMENTS = ("key_account", "smb", "individual")
CHANNELS = ("direct", "online", "partner")
ACCOUNT_ATTRIBUTES = ["account_name", "region", "segment", "channel", "current_owner", "lat", "lon"]


def rep_columns(functions: tuple[str, ...]) -> list[str]:
    return (["rep_id", "name", "home_region", "level", "capacity_hours", "can_manage",
             "current_team", "preferred_function", "lat", "lon"]
            + [f"function:{f}" for f in functions] + [f"product:{p}" for p in PRODUCTS]
            + [f"segment:{s}" for s in SEGMENTS] + [f"channel:{c}" for c in CHANNELS])


def account_columns(functions: tuple[str, ...]) -> list[str]:
    return (["account_id", "account_name", "region", "segment", "channel", "product",
             "potential", "current_owner"] + [f"hours:{f}" for f in functions] + ["lat", "lon"])


def hours_of(accounts: pd.DataFrame) -> pd.DataFrame:
    return accounts[[c for c in accounts.columns if c.startswith("hours:")]]


@pytest.fixture(scope="module")
def company() -> tuple[pd.DataFrame, pd.DataFrame]:
    return generate_company(N_REPS, N_ACCOUNTS, seed=0)


@pytest.fixture(scope="module")
def reps(company) -> pd.DataFrame:
    return company[0]


@pytest.fixture(scope="module")
def accounts(company) -> pd.DataFrame:
    return company[1]


# --- determinism and shape ---------------------------------------------------------------------

def test_same_seed_gives_identical_frames(company):
    again = generate_company(N_REPS, N_ACCOUNTS, seed=0)
    pd.testing.assert_frame_equal(company[0], again[0])
    pd.testing.assert_frame_equal(company[1], again[1])


def test_different_seed_gives_a_different_company(company):
    reps, accounts = generate_company(N_REPS, N_ACCOUNTS, seed=1)
    assert not reps.equals(company[0])
    assert not accounts.equals(company[1])


def test_columns_are_exactly_the_contract(reps, accounts):
    assert list(reps.columns) == rep_columns(CLASSIC)
    assert list(accounts.columns) == account_columns(CLASSIC)


def test_stages_function_set_names_hours_and_proficiency_columns():
    reps, accounts = generate_company(30, 200, seed=5, functions="stages")
    assert list(reps.columns) == rep_columns(STAGES)
    assert list(accounts.columns) == account_columns(STAGES)
    assert {"hours:lead", "hours:negotiation", "hours:contract"} <= set(accounts.columns)
    assert {"function:lead", "function:negotiation", "function:contract"} <= set(reps.columns)
    assert (hours_of(accounts).sum() > 0).all()


def test_ids_are_unique_and_padded(reps, accounts):
    assert reps["rep_id"].is_unique
    assert reps["rep_id"].str.fullmatch(r"R\d{3}").all()
    assert not accounts.duplicated(["account_id", "product"]).any()
    assert accounts["account_id"].str.fullmatch(r"A\d{5}").all()
    assert accounts["account_id"].nunique() == N_ACCOUNTS
    assert generate_company(2000, 5, seed=0)[0]["rep_id"].iloc[0] == "R0001"


def test_rows_of_one_account_share_its_attributes(accounts):
    assert (accounts.groupby("account_id")[ACCOUNT_ATTRIBUTES].nunique() == 1).all().all()
    per_account = accounts.groupby("account_id").size()
    assert per_account.between(1, 4).all()
    assert per_account.max() == 4


def test_values_come_from_the_fixed_vocabularies(reps, accounts):
    regions = set(REGION_CITIES)
    assert set(reps["home_region"]) == regions and set(accounts["region"]) == regions
    assert set(accounts["segment"]) == set(SEGMENTS)
    assert set(accounts["channel"]) == set(CHANNELS)
    assert set(accounts["product"]) == set(PRODUCTS)
    assert set(reps["level"]) == {1, 2, 3, 4, 5}
    skills = reps.loc[:, "function:hunting":]
    assert ((skills >= 0) & (skills <= 5)).all().all()
    assert set(reps["preferred_function"]) <= set(CLASSIC) | {""}
    assert reps["can_manage"].dtype == bool


# --- demand -------------------------------------------------------------------------------------

def test_every_row_has_some_hours_rounded_to_a_tenth(accounts):
    hours = hours_of(accounts)
    assert (hours.max(axis=1) > 0).all()
    assert (hours >= 0).all().all()
    assert np.allclose(hours * 10, np.round(hours * 10))


def test_prospects_need_only_first_function_and_customers_the_other_two(accounts):
    later = accounts[["hours:farming", "hours:service"]]
    prospect_row = (later == 0).all(axis=1)
    prospect = prospect_row.groupby(accounts["account_id"]).agg(["all", "any"])
    assert (prospect["all"] == prospect["any"]).all()
    assert (accounts.loc[prospect_row, "hours:hunting"] > 0).all()
    assert (later[~prospect_row] > 0).all().all()
    assert 0.25 <= prospect["all"].mean() <= 0.35
    upsell = accounts.loc[~prospect_row, "hours:hunting"] > 0
    assert 0.1 <= upsell.mean() <= 0.3


@pytest.mark.parametrize("seed", range(5))
def test_demand_is_a_little_under_capacity(seed):
    reps, accounts = generate_company(N_REPS, N_ACCOUNTS, seed=seed)
    ratio = hours_of(accounts).to_numpy().sum() / reps["capacity_hours"].sum()
    assert 0.88 <= ratio <= 0.98


def test_regions_are_lopsided(reps, accounts):
    demand = hours_of(accounts).sum(axis=1).groupby(accounts["region"]).sum()
    capacity = reps.groupby("home_region")["capacity_hours"].sum()
    ratio = demand / capacity
    assert ratio.max() / ratio.min() >= 1.5
    assert ratio["East"] > 1.0 > ratio["North"]


def test_key_accounts_fit_in_senior_capacity(reps, accounts):
    key = hours_of(accounts)[accounts["segment"] == "key_account"].to_numpy().sum()
    senior = reps.loc[reps["level"] >= 4, "capacity_hours"].sum()
    assert 0 < key < 0.6 * senior


def test_segments_products_and_potential_are_uneven(accounts):
    first = accounts.drop_duplicates("account_id")
    share = first["segment"].value_counts(normalize=True)
    assert 0.04 <= share["key_account"] <= 0.06 and 0.4 <= share["smb"] <= 0.5
    direct = first.groupby("segment")["channel"].apply(lambda c: (c == "direct").mean())
    online = first.groupby("segment")["channel"].apply(lambda c: (c == "online").mean())
    assert direct["key_account"] > 0.7 and online["individual"] > 0.6
    popularity = accounts["product"].value_counts()
    assert popularity["Cloud ERP"] > 2 * popularity["IoT Platform"]
    potential = accounts.groupby("segment")["potential"].median()
    assert (accounts["potential"] >= 0).all()
    assert potential["key_account"] > 10 * potential["smb"]
    assert potential["smb"] > 10 * potential["individual"]
    lines = accounts.groupby("account_id").size()
    mean_products = lines.groupby(first.set_index("account_id")["segment"]).mean()
    assert mean_products["key_account"] > mean_products["smb"] > mean_products["individual"]


def test_coordinates_lie_around_the_region_city(reps, accounts):
    for frame, region_col in ((reps, "home_region"), (accounts, "region")):
        city = np.array([REGION_CITIES[r] for r in frame[region_col]])
        distance = np.abs(frame[["lat", "lon"]].to_numpy() - city)
        assert np.median(distance) < 1.0
        assert distance.max() < 6.0


# --- roster -------------------------------------------------------------------------------------

def test_roster_levels_capacity_and_management(reps):
    assert reps["level"].value_counts(normalize=True)[3] == pytest.approx(0.30, abs=0.01)
    assert reps["capacity_hours"].between(800, 1700).all()
    part_time = (reps["capacity_hours"] <= 1000).mean()
    assert 0.03 <= part_time <= 0.2
    manage = reps.groupby("level")["can_manage"].mean()
    assert manage[1] == manage[2] == 0 and manage[3] < 0.4
    assert reps.loc[reps["level"] >= 4, "can_manage"].mean() > 0.6
    assert 0.25 <= (reps["preferred_function"] != "").mean() <= 0.55
    assert reps["name"].str.contains(r"[\u4e00-\u9fff]").any()


def test_every_rep_is_qualified_for_existing_work(reps, accounts):
    functions = reps[[f"function:{f}" for f in CLASSIC]].to_numpy()
    products = reps[[f"product:{p}" for p in PRODUCTS]].to_numpy()
    assert (functions.max(axis=1) >= 4).all()
    assert (products.max(axis=1) >= 3).all()
    assert ((products >= 3).sum(axis=1) >= 2).all()


def test_skill_mix_follows_the_demand_mix(reps, accounts):
    demand = hours_of(accounts).sum()
    demand_share = demand.to_numpy() / demand.sum()
    primary = reps[[f"function:{f}" for f in CLASSIC]].to_numpy().argmax(axis=1)
    primary_share = np.bincount(primary, minlength=3) / len(reps)
    assert np.abs(primary_share - demand_share).max() < 0.03
    senior = reps["level"] >= 4
    key_skill = reps["segment:key_account"]
    assert key_skill[senior].min() >= 3 > key_skill[~senior].min()


# --- today's organisation -----------------------------------------------------------------------

def test_current_owners_are_on_the_roster_and_mostly_local(reps, accounts):
    owned = accounts[accounts["current_owner"] != ""]
    assert owned["current_owner"].isin(reps["rep_id"]).all()
    home = reps.set_index("rep_id")["home_region"]
    assert (home[owned["current_owner"]].to_numpy() == owned["region"].to_numpy()).all()
    prospect = (accounts[["hours:farming", "hours:service"]] == 0).all(axis=1)
    first = accounts.assign(prospect=prospect).drop_duplicates("account_id")
    owned_share = (first["current_owner"] != "").groupby(first["prospect"]).mean()
    assert 0.75 <= owned_share[False] <= 0.95 and 0.4 <= owned_share[True] <= 0.6


def test_current_teams_name_region_and_function(reps):
    parts = reps["current_team"].str.split(" ", n=1, expand=True)
    region, function = parts[0], parts[1]
    assert (region == reps["home_region"]).all()
    assert function.isin(CLASSIC).all()


def test_todays_utilization_is_spread_widely(reps, accounts):
    load = (hours_of(accounts).sum(axis=1).groupby(accounts["current_owner"]).sum()
            .reindex(reps["rep_id"], fill_value=0.0))
    utilization = load.to_numpy() / reps["capacity_hours"].to_numpy()
    assert (utilization > 1.3).mean() >= 0.05
    assert (utilization < 0.5).mean() >= 0.1


# --- files --------------------------------------------------------------------------------------

def test_written_files_read_back_equal(tmp_path: Path, reps, accounts):
    out = tmp_path / "nested" / "demo"
    write_company(out, reps, accounts)
    assert sorted(p.name for p in out.iterdir()) == ["accounts.csv", "reps.csv"]
    raw = pd.read_csv(out / "reps.csv", encoding="utf-8", dtype=str, keep_default_na=False)
    assert set(raw["can_manage"]) == {"true", "false"}
    back_reps = pd.read_csv(out / "reps.csv", encoding="utf-8", keep_default_na=False)
    back_accounts = pd.read_csv(out / "accounts.csv", encoding="utf-8", keep_default_na=False)
    pd.testing.assert_frame_equal(back_reps, reps)
    pd.testing.assert_frame_equal(back_accounts, accounts)


def test_written_files_pass_the_loader(tmp_path: Path):
    reps, accounts = generate_company(40, 500, seed=2, functions="stages")
    write_company(tmp_path, reps, accounts)
    loaded = load_company(tmp_path / "reps.csv", tmp_path / "accounts.csv")
    assert loaded.functions == STAGES
    assert loaded.n_reps == 40
    assert loaded.lines["hours"].sum() == pytest.approx(hours_of(accounts).to_numpy().sum())


def test_rewriting_replaces_the_files_whole(tmp_path: Path):
    write_company(tmp_path, *generate_company(20, 300, seed=0))
    small = generate_company(3, 4, seed=0)
    write_company(tmp_path, *small)
    back = pd.read_csv(tmp_path / "accounts.csv", keep_default_na=False)
    assert back["account_id"].nunique() == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["accounts.csv", "reps.csv"]


# --- bad requests -------------------------------------------------------------------------------

@pytest.mark.parametrize("args, words", [
    ((0, 10), "at least one rep"),
    ((10, 0), "at least one account"),
    ((10, 10, 0, "matrix"), "unknown function set"),
])
def test_impossible_requests_raise_value_error(args, words):
    with pytest.raises(ValueError, match=words):
        generate_company(*args)
