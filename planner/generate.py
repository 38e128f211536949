"""Synthetic companies in the input format: reps.csv and accounts.csv.

The generated company is deliberately lopsided, the way real departments are: accounts and reps
are spread over the regions in different proportions, products and segments are unevenly
popular, and today's region-based ownership leaves some reps overloaded and others idle. Total
demand is calibrated to a little under total capacity and key-account demand to well under
senior capacity, so that a good plan exists and is visibly better than today's organisation.

Everything is drawn from one `numpy.random.default_rng(seed)`, so a seed fixes the company.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from planner.files import as_if_created_normally

FUNCTION_SETS: dict[str, tuple[str, str, str]] = {
    "classic": ("hunting", "farming", "service"),
    "stages": ("lead", "negotiation", "contract"),
}

REGIONS = ("East", "South", "North", "Central", "West")
REGION_CITIES = {  # (lat, lon) of Shanghai, Guangzhou, Beijing, Wuhan, Chengdu
    "East": (31.23, 121.47), "South": (23.13, 113.26), "North": (39.90, 116.41),
    "Central": (30.59, 114.31), "West": (30.57, 104.07),
}
ACCOUNT_REGION_SHARE = (0.34, 0.26, 0.16, 0.14, 0.10)
REP_REGION_SHARE = (0.24, 0.18, 0.26, 0.14, 0.18)
REP_SPREAD_DEG = 0.5
ACCOUNT_SPREAD_DEG = 0.8

PRODUCTS = ("Cloud ERP", "CRM Suite", "Analytics", "Payments", "IoT Platform")
PRODUCT_POPULARITY = (0.32, 0.26, 0.19, 0.15, 0.08)

SEGMENTS = ("key_account", "smb", "individual")
KEY_ACCOUNT, SMB, INDIVIDUAL = range(3)
SEGMENT_SHARE = (0.05, 0.45, 0.50)
CHANNELS = ("direct", "online", "partner")
CHANNEL_BY_SEGMENT = ((0.85, 0.03, 0.12), (0.35, 0.25, 0.40), (0.05, 0.80, 0.15))
PRODUCTS_PER_ACCOUNT = ((0.15, 0.30, 0.35, 0.20), (0.50, 0.30, 0.15, 0.05), (0.85, 0.12, 0.03, 0.0))

PROSPECT_SHARE = 0.30
HOURS_MEDIAN = (40.0, 8.0, 1.5)
HOURS_SIGMA = (0.55, 0.6, 0.5)
HOURS_RANGE = ((10.0, 150.0), (2.0, 30.0), (0.5, 5.0))
FUNCTION_HOURS_WEIGHT = (1.0, 1.0, 0.7)
UPSELL_SHARE = 0.2
UPSELL_WEIGHT = 0.3
MIN_HOURS = 0.1
POTENTIAL_MEDIAN = (1_500_000.0, 60_000.0, 3_000.0)
POTENTIAL_SIGMA = (0.9, 1.0, 0.8)

DEMAND_RATIO_RANGE = (0.91, 0.96)
KEY_SENIOR_LOAD = 0.5

LEVELS = (1, 2, 3, 4, 5)
LEVEL_SHARE = (0.15, 0.25, 0.30, 0.20, 0.10)
SENIOR_LEVEL = 4
CAN_MANAGE_PROB = (0.0, 0.0, 0.2, 0.75, 0.95)
CAPACITY_RANGE = (1500, 1700)
PART_TIME_SHARE = 0.10
PART_TIME_RANGE = (800, 1000)
CAPACITY_STEP = 10
PREFERRED_SHARE = 0.40
PREFERRED_IS_PRIMARY = 0.75

STRONG_PRODUCTS = (2, 3)
STRONG_SCORES, STRONG_P = (3, 4, 5), (0.35, 0.40, 0.25)
WEAK_SCORES = (0, 1, 2, 3)
WEAK_P_JUNIOR, WEAK_P_SENIOR = (0.30, 0.40, 0.27, 0.03), (0.10, 0.30, 0.45, 0.15)
OTHER_FUNCTION_P = (0.10, 0.25, 0.35, 0.30)
JUNIOR_TOP_SHARE = 0.4
KEY_ACCOUNT_SCORES_BY_LEVEL = ((0, 1), (1, 2), (2, 3), (3, 4), (4, 5))
SMB_P = (0.0, 0.05, 0.15, 0.35, 0.30, 0.15)
INDIVIDUAL_P = (0.05, 0.10, 0.25, 0.30, 0.20, 0.10)
OTHER_CHANNEL_SCORES = (1, 2, 3)

OWNED_SHARE_CUSTOMER = 0.85
OWNED_SHARE_PROSPECT = 0.50
OWNER_PULL_SIGMA = 0.35
OWNER_MISFIT_WEIGHT = 0.15
OWNER_SENIOR_KEY_WEIGHT = 4.0
#: Today's owners mostly know the products they sell: weight x (floor + share of the
#: account's products the rep is proficient in) ** power.
OWNER_PRODUCT_FLOOR = 0.05
OWNER_PRODUCT_POWER = 3.0
OWNER_PRODUCT_PROFICIENCY = 2
CHINESE_NAME_SHARE = 0.12

SURNAMES = (("Wang", "王"), ("Li", "李"), ("Zhang", "张"), ("Liu", "刘"), ("Chen", "陈"),
            ("Yang", "杨"), ("Huang", "黄"), ("Zhao", "赵"), ("Wu", "吴"), ("Zhou", "周"),
            ("Xu", "徐"), ("Sun", "孙"), ("Ma", "马"), ("Zhu", "朱"), ("Hu", "胡"),
            ("Guo", "郭"), ("He", "何"), ("Lin", "林"), ("Gao", "高"), ("Luo", "罗"))
GIVEN_NAMES = (("Wei", "伟"), ("Fang", "芳"), ("Na", "娜"), ("Min", "敏"), ("Jing", "静"),
               ("Li", "丽"), ("Qiang", "强"), ("Lei", "磊"), ("Jun", "军"), ("Yang", "洋"),
               ("Yong", "勇"), ("Yan", "艳"), ("Jie", "杰"), ("Tao", "涛"), ("Ming", "明"),
               ("Chao", "超"), ("Xiulan", "秀兰"), ("Xia", "霞"), ("Ping", "平"), ("Gang", "刚"),
               ("Hui", "慧"), ("Jianguo", "建国"), ("Hao", "浩"), ("Yu", "宇"))
COMPANY_HEADS = ("Hua", "Zhong", "Xin", "Tian", "Jin", "Long", "Hai", "Dong", "Rui", "Kang",
                 "Sheng", "Heng", "Guo", "Tai", "Feng", "Ming", "Yuan", "Bai", "Chang", "Hong")
COMPANY_TAILS = ("xin", "da", "tai", "sheng", "yuan", "feng", "hui", "cheng", "an", "tong",
                 "rui", "bang", "li", "kai", "xiang", "hua")
INDUSTRIES = ("Logistics", "Electronics", "Foods", "Pharma", "Textiles", "Machinery", "Retail",
              "Trading", "Software", "Materials", "Energy", "Auto Parts", "Construction", "Media",
              "Hotels", "Chemicals", "Furniture", "Printing")
KEY_SUFFIXES = ("Group", "Holdings", "Group Co., Ltd.")
SMB_SUFFIXES = ("Co., Ltd.", "Technology Co.", "Industries", "Ltd.")



def generate_company(n_reps: int, n_accounts: int, seed: int = 0,
                     functions: str = "classic") -> tuple[pd.DataFrame, pd.DataFrame]:
    """A synthetic company as (reps, accounts) frames with exactly the contract columns.

    The same arguments always give the same frames. Hours are calibrated to the roster, so the
    per-line hours scale with accounts per rep; the segment profiles fix their relative sizes.
    """
    fns = _check_arguments(n_reps, n_accounts, functions)
    rng = np.random.default_rng(seed)
    reps = _draw_reps(n_reps, rng)
    acc = _draw_accounts(n_accounts, rng)
    rows = _expand_products(acc, rng)
    hours = _draw_hours(acc, rows, rng)
    hours = _calibrate_hours(hours, acc["segment"][rows["account"]], reps, rng)
    potential = _draw_potential(acc["segment"][rows["account"]], rng)
    skills = _draw_proficiency(reps, hours, acc, rows, rng)
    primary = skills.pop("primary")
    owner = _draw_owners(acc, reps, primary, rows, skills["product"], rng)
    reps_frame = _reps_frame(reps, primary, skills, fns, rng)
    accounts_frame = _accounts_frame(acc, rows, hours, potential, owner, reps, fns)
    return reps_frame, accounts_frame


def write_company(out_dir: Path, reps: pd.DataFrame, accounts: pd.DataFrame) -> None:
    """Write reps.csv and accounts.csv (UTF-8, no index, booleans as true/false) into out_dir.

    Both files are written to temporary names in out_dir first and only then moved into place
    with os.replace, so a crash or a full disk never leaves a half-written file behind.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    staged: list[tuple[str, Path]] = []
    try:
        for name, frame in (("reps.csv", reps), ("accounts.csv", accounts)):
            staged.append((_write_temp(out_dir, name, frame), out_dir / name))
        for temp, final in staged:
            os.replace(temp, final)
    finally:
        for temp, _ in staged:
            if os.path.exists(temp):
                os.unlink(temp)


def _write_temp(out_dir: Path, name: str, frame: pd.DataFrame) -> str:
    """Write frame as CSV to a fresh temporary file next to `name` and return its path."""
    fd, temp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out_dir)
    as_if_created_normally(Path(temp))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            _csv_ready(frame).to_csv(handle, index=False, lineterminator="\n")
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        os.unlink(temp)
        raise
    return temp


def _csv_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with boolean columns spelled true/false, as the input contract reads them."""
    bools = [c for c in frame.columns if pd.api.types.is_bool_dtype(frame[c])]
    if not bools:
        return frame
    return frame.assign(**{c: np.where(frame[c].to_numpy(), "true", "false") for c in bools})


def _check_arguments(n_reps: int, n_accounts: int, functions: str) -> tuple[str, str, str]:
    """The function names for `functions`; ValueError in plain words for impossible requests."""
    if int(n_reps) < 1:
        raise ValueError(f"a company needs at least one rep (n_reps was {n_reps})")
    if int(n_accounts) < 1:
        raise ValueError(f"a company needs at least one account (n_accounts was {n_accounts})")
    if functions not in FUNCTION_SETS:
        raise ValueError(f"unknown function set {functions!r}; choose one of "
                         f"{', '.join(sorted(FUNCTION_SETS))}")
    return FUNCTION_SETS[functions]


# --- helpers ---------------------------------------------------------------------------------

def _quota(n: int, shares: tuple[float, ...] | np.ndarray) -> np.ndarray:
    """Split n into counts proportional to shares, rounding by largest remainder."""
    shares = np.asarray(shares, dtype=float)
    exact = n * shares / shares.sum()
    counts = np.floor(exact).astype(np.int64)
    rest = n - counts.sum()
    counts[np.argsort(-(exact - counts), kind="stable")[:rest]] += 1
    return counts


def _shuffled_labels(n: int, shares: tuple[float, ...] | np.ndarray,
                     rng: np.random.Generator) -> np.ndarray:
    """n category codes in exactly the quota proportions, in random order.

    Quotas rather than independent draws keep small companies close to the intended mix.
    """
    return rng.permutation(np.repeat(np.arange(len(shares)), _quota(n, shares)))


def _choice_by_row(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One category per row of a probability matrix (rows sum to 1), vectorised."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs))[:, None] * cum[:, -1:]
    return np.minimum((u >= cum).sum(axis=1), probs.shape[1] - 1)


def _top_k_mask(weights: np.ndarray, k: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Per row, a weighted sample of k[i] columns without replacement (Gumbel top-k).

    Columns of weight 0 are never chosen; k is capped at the number of positive weights.
    """
    with np.errstate(divide="ignore"):
        keys = np.log(weights) + rng.gumbel(size=weights.shape)
    ranks = np.argsort(np.argsort(-keys, axis=1, kind="stable"), axis=1, kind="stable")
    k = np.minimum(k, (weights > 0).sum(axis=1))
    return ranks < k[:, None]


def _around(cities: np.ndarray, spread: float,
            rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates scattered around each region's city, rounded to 4 decimals."""
    centre = np.array([REGION_CITIES[r] for r in REGIONS])[cities]
    point = centre + rng.normal(0.0, spread, size=centre.shape)
    return np.round(point[:, 0], 4), np.round(point[:, 1], 4)


def _person_names(n: int, chinese_share: float, rng: np.random.Generator) -> list[str]:
    """Plausible names, surname first; some in Chinese characters to exercise UTF-8."""
    surname = rng.integers(len(SURNAMES), size=n)
    given = rng.integers(len(GIVEN_NAMES), size=n)
    chinese = rng.random(n) < chinese_share
    return [SURNAMES[s][1] + GIVEN_NAMES[g][1] if c else f"{SURNAMES[s][0]} {GIVEN_NAMES[g][0]}"
            for s, g, c in zip(surname.tolist(), given.tolist(), chinese.tolist())]


# --- reps ------------------------------------------------------------------------------------

def _draw_reps(n: int, rng: np.random.Generator) -> dict[str, np.ndarray | list[str]]:
    """Who is on the roster: region, level, capacity, management ability, name, location."""
    region = _shuffled_labels(n, REP_REGION_SHARE, rng)
    level = np.asarray(LEVELS)[_shuffled_labels(n, LEVEL_SHARE, rng)]
    if not (level >= SENIOR_LEVEL).any():
        level[int(np.argmax(level))] = SENIOR_LEVEL
    part_time = rng.random(n) < PART_TIME_SHARE
    full, part = (rng.integers(lo // CAPACITY_STEP, hi // CAPACITY_STEP + 1, n)
                  for lo, hi in (CAPACITY_RANGE, PART_TIME_RANGE))
    capacity = np.where(part_time, part, full) * CAPACITY_STEP
    can_manage = rng.random(n) < np.asarray(CAN_MANAGE_PROB)[level - 1]
    lat, lon = _around(region, REP_SPREAD_DEG, rng)
    width = len(str(n))
    return {"rep_id": np.array([f"R{i:0{width}d}" for i in range(1, n + 1)], dtype=object),
            "name": _person_names(n, CHINESE_NAME_SHARE, rng), "region": region,
            "level": level, "capacity": capacity, "can_manage": can_manage,
            "lat": lat, "lon": lon}


def _draw_proficiency(reps: dict, hours: np.ndarray, acc: dict, rows: dict,
                      rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Proficiency matrices 0-5 per dimension plus each rep's primary function.

    Primary functions are handed out in proportion to demand hours by function and strong
    products in proportion to demand by product, so the skills on the roster match the work.
    Only functions and products that have demand become a rep's strengths.
    """
    n = len(reps["level"])
    senior = reps["level"] >= SENIOR_LEVEL
    fn_demand = hours.sum(axis=0)
    primary = _shuffled_labels(n, fn_demand, rng)
    function = rng.choice(len(WEAK_SCORES), size=(n, hours.shape[1]), p=OTHER_FUNCTION_P)
    function[np.arange(n), primary] = np.where(senior | (rng.random(n) < JUNIOR_TOP_SHARE), 5, 4)

    prod_demand = np.bincount(rows["product"], weights=hours.sum(axis=1), minlength=len(PRODUCTS))
    k = rng.choice(STRONG_PRODUCTS, size=n)
    strong = _top_k_mask(np.broadcast_to(prod_demand, (n, len(PRODUCTS))), k, rng)
    weak_p = np.where(senior[:, None], WEAK_P_SENIOR, WEAK_P_JUNIOR)
    weak = np.asarray(WEAK_SCORES)[_choice_by_row(np.repeat(weak_p, len(PRODUCTS), axis=0), rng)]
    good = rng.choice(STRONG_SCORES, size=n * len(PRODUCTS), p=STRONG_P)
    products = np.where(strong, good.reshape(n, -1), weak.reshape(n, -1))

    key_lo = np.asarray(KEY_ACCOUNT_SCORES_BY_LEVEL)[reps["level"] - 1, 0]
    segment = np.column_stack([
        key_lo + rng.integers(0, 2, n),
        rng.choice(len(SMB_P), size=n, p=SMB_P),
        rng.choice(len(INDIVIDUAL_P), size=n, p=INDIVIDUAL_P)])

    row_channel = acc["channel"][rows["account"]]
    ch_demand = np.bincount(row_channel, weights=hours.sum(axis=1), minlength=len(CHANNELS))
    main_channel = _shuffled_labels(n, ch_demand, rng)
    channel = rng.choice(OTHER_CHANNEL_SCORES, size=(n, len(CHANNELS)))
    channel[np.arange(n), main_channel] = rng.choice(STRONG_SCORES, size=n, p=STRONG_P)
    return {"primary": primary, "function": function, "product": products,
            "segment": segment, "channel": channel}


# --- accounts --------------------------------------------------------------------------------

def _draw_accounts(n: int, rng: np.random.Generator) -> dict[str, np.ndarray | list[str]]:
    """Account-level attributes: region, segment, channel, prospect or customer, name, place."""
    region = _shuffled_labels(n, ACCOUNT_REGION_SHARE, rng)
    segment = _shuffled_labels(n, SEGMENT_SHARE, rng)
    channel = _choice_by_row(np.asarray(CHANNEL_BY_SEGMENT)[segment], rng)
    prospect = rng.random(n) < PROSPECT_SHARE
    lat, lon = _around(region, ACCOUNT_SPREAD_DEG, rng)
    return {"account_id": np.array([f"A{i:05d}" for i in range(1, n + 1)], dtype=object),
            "name": _account_names(segment, rng), "region": region, "segment": segment,
            "channel": channel, "prospect": prospect, "lat": lat, "lon": lon}


def _account_names(segment: np.ndarray, rng: np.random.Generator) -> list[str]:
    """Company-style names for key accounts and SMBs, person names for individuals."""
    n = len(segment)
    head = rng.integers(len(COMPANY_HEADS), size=n).tolist()
    tail = rng.integers(len(COMPANY_TAILS), size=n).tolist()
    industry = rng.integers(len(INDUSTRIES), size=n).tolist()
    key_suffix = rng.integers(len(KEY_SUFFIXES), size=n).tolist()
    smb_suffix = rng.integers(len(SMB_SUFFIXES), size=n).tolist()
    people = _person_names(n, CHINESE_NAME_SHARE / 2, rng)
    names = []
    for i, seg in enumerate(segment.tolist()):
        if seg == INDIVIDUAL:
            names.append(people[i])
            continue
        suffix = KEY_SUFFIXES[key_suffix[i]] if seg == KEY_ACCOUNT else SMB_SUFFIXES[smb_suffix[i]]
        names.append(f"{COMPANY_HEADS[head[i]]}{COMPANY_TAILS[tail[i]]} "
                     f"{INDUSTRIES[industry[i]]} {suffix}")
    return names


def _expand_products(acc: dict, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One row per account x product line: 1-4 lines each, more for key accounts.

    Rows come out grouped by account, products in catalogue order within an account.
    """
    n = len(acc["segment"])
    k = _choice_by_row(np.asarray(PRODUCTS_PER_ACCOUNT)[acc["segment"]], rng) + 1
    popularity = np.broadcast_to(np.asarray(PRODUCT_POPULARITY), (n, len(PRODUCTS)))
    chosen = _top_k_mask(popularity, k, rng)
    account, product = np.nonzero(chosen)
    return {"account": account, "product": product}


def _draw_hours(acc: dict, rows: dict, rng: np.random.Generator) -> np.ndarray:
    """Raw hours per row and function (rows x 3), before calibration to the roster.

    Prospects need only the first function. Customers need the other two, and some of their
    lines carry a little of the first function too (upsell).
    """
    seg = acc["segment"][rows["account"]]
    prospect = acc["prospect"][rows["account"]]
    n = len(seg)
    median, sigma = np.asarray(HOURS_MEDIAN)[seg], np.asarray(HOURS_SIGMA)[seg]
    lo, hi = np.asarray(HOURS_RANGE)[seg].T
    draw = np.exp(np.log(median)[:, None] + sigma[:, None] * rng.standard_normal((n, 3)))
    hours = np.clip(draw, lo[:, None], hi[:, None]) * np.asarray(FUNCTION_HOURS_WEIGHT)
    upsell = ~prospect & (rng.random(n) < UPSELL_SHARE)
    active = np.column_stack([prospect | upsell, ~prospect, ~prospect])
    hours[:, 0] *= np.where(upsell, UPSELL_WEIGHT, 1.0)
    return np.where(active, hours, 0.0)


def _calibrate_hours(hours: np.ndarray, seg: np.ndarray, reps: dict,
                     rng: np.random.Generator) -> np.ndarray:
    """Scale hours so demand is a little under capacity and key accounts fit the seniors.

    Total demand becomes a random share in DEMAND_RATIO_RANGE of total capacity; key-account
    demand is capped at KEY_SENIOR_LOAD of senior capacity and the other segments make up the
    rest. Hours are rounded to 0.1, and a line with work keeps at least 0.1 hours.
    """
    capacity = reps["capacity"].sum()
    senior_capacity = reps["capacity"][reps["level"] >= SENIOR_LEVEL].sum()
    target = rng.uniform(*DEMAND_RATIO_RANGE) * capacity
    is_key = seg == KEY_ACCOUNT
    raw_key, raw_other = hours[is_key].sum(), hours[~is_key].sum()
    share_key = raw_key / (raw_key + raw_other)
    key_target = min(share_key * target, KEY_SENIOR_LOAD * senior_capacity)
    key_factor = key_target / raw_key if raw_key > 0 else 0.0
    other_factor = (target - key_target) / raw_other if raw_other > 0 else 0.0
    scaled = hours * np.where(is_key, key_factor, other_factor)[:, None]
    return np.where(hours > 0, np.maximum(np.round(scaled, 1), MIN_HOURS), 0.0)


def _draw_potential(seg: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Revenue potential per row: lognormal, heavy-tailed, far larger for key accounts."""
    median, sigma = np.asarray(POTENTIAL_MEDIAN)[seg], np.asarray(POTENTIAL_SIGMA)[seg]
    return np.round(median * np.exp(sigma * rng.standard_normal(len(seg)))).astype(np.int64)


def _draw_owners(acc: dict, reps: dict, primary: np.ndarray, rows: dict,
                 product_skill: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Today's owner per account (rep index, -1 for none), region-based and unevenly loaded.

    Each rep draws accounts in proportion to capacity times a random 'pull', so loads spread
    widely without part-timers drowning. Owners mostly fit the work (first-function reps own
    prospects, seniors own key accounts, reps own accounts whose products they know), but not
    always. Reps of the account's region are chosen where the region has any.
    """
    account_products = np.zeros((len(acc["segment"]), product_skill.shape[1]))
    np.add.at(account_products, (rows["account"], rows["product"]), 1.0)
    account_products /= np.maximum(account_products.sum(axis=1, keepdims=True), 1.0)
    knows = (product_skill >= OWNER_PRODUCT_PROFICIENCY).astype(float)
    n = len(acc["segment"])
    owned = rng.random(n) < np.where(acc["prospect"], OWNED_SHARE_PROSPECT, OWNED_SHARE_CUSTOMER)
    pull = rng.lognormal(0.0, OWNER_PULL_SIGMA, len(primary)) * reps["capacity"]
    hunter = primary == 0
    senior = reps["level"] >= SENIOR_LEVEL
    owner = np.full(n, -1, dtype=np.int64)
    key = acc["segment"] == KEY_ACCOUNT
    for region in range(len(REGIONS)):
        pool = np.flatnonzero(reps["region"] == region)
        if pool.size == 0:
            pool = np.arange(len(primary))
        for is_prospect in (True, False):
            for is_key in (True, False):
                take = np.flatnonzero(owned & (acc["region"] == region)
                                      & (acc["prospect"] == is_prospect) & (key == is_key))
                if take.size == 0:
                    continue
                fits = hunter[pool] == is_prospect
                weight = pull[pool] * np.where(fits, 1.0, OWNER_MISFIT_WEIGHT)
                if is_key:
                    weight = weight * np.where(senior[pool], OWNER_SENIOR_KEY_WEIGHT, 1.0)
                share = account_products[take] @ knows[pool].T  # accounts x pool
                probs = weight[None, :] * (OWNER_PRODUCT_FLOOR + share) ** OWNER_PRODUCT_POWER
                owner[take] = pool[_choice_by_row(probs / probs.sum(axis=1, keepdims=True), rng)]
    return owner


# --- frames ----------------------------------------------------------------------------------

def _reps_frame(reps: dict, primary: np.ndarray, skills: dict, fns: tuple[str, ...],
                rng: np.random.Generator) -> pd.DataFrame:
    """reps.csv as a frame, columns in contract order."""
    n = len(primary)
    region = np.asarray(REGIONS, dtype=object)[reps["region"]]
    fn_names = np.asarray(fns, dtype=object)
    other = (primary + rng.integers(1, len(fns), n)) % len(fns)
    preferred = np.where(rng.random(n) < PREFERRED_IS_PRIMARY, primary, other)
    has_pref = rng.random(n) < PREFERRED_SHARE
    frame = {
        "rep_id": reps["rep_id"], "name": reps["name"], "home_region": region,
        "level": reps["level"].astype(np.int64),
        "capacity_hours": reps["capacity"].astype(np.int64),
        "can_manage": reps["can_manage"],
        "current_team": region + " " + fn_names[primary],
        "preferred_function": np.where(has_pref, fn_names[preferred], ""),
        "lat": reps["lat"], "lon": reps["lon"]}
    for dim, values in (("function", fns), ("product", PRODUCTS), ("segment", SEGMENTS),
                        ("channel", CHANNELS)):
        for j, value in enumerate(values):
            frame[f"{dim}:{value}"] = skills[dim][:, j].astype(np.int64)
    return pd.DataFrame(frame)


def _accounts_frame(acc: dict, rows: dict, hours: np.ndarray, potential: np.ndarray,
                    owner: np.ndarray, reps: dict, fns: tuple[str, ...]) -> pd.DataFrame:
    """accounts.csv as a frame, one row per account x product, columns in contract order."""
    a = rows["account"]
    owner_id = np.where(owner >= 0, reps["rep_id"][np.maximum(owner, 0)], "")
    frame = {
        "account_id": acc["account_id"][a],
        "account_name": np.asarray(acc["name"], dtype=object)[a],
        "region": np.asarray(REGIONS, dtype=object)[acc["region"][a]],
        "segment": np.asarray(SEGMENTS, dtype=object)[acc["segment"][a]],
        "channel": np.asarray(CHANNELS, dtype=object)[acc["channel"][a]],
        "product": np.asarray(PRODUCTS, dtype=object)[rows["product"]],
        "potential": potential,
        "current_owner": owner_id[a]}
    for j, f in enumerate(fns):
        frame[f"hours:{f}"] = hours[:, j]
    frame["lat"], frame["lon"] = acc["lat"][a], acc["lon"][a]
    return pd.DataFrame(frame)
