"""A battery of plain customer tables the trainer's defaults were not tuned on.

Each table is one row per customer: feature columns plus a 0/1 `label`, no split column, no
time axis, the shape a data scientist brings from outside the pipeline. They differ in size
(2,000 to 20,000 rows), width (9 to 85 columns), base rate (3% to 50%), industry, and in
what the truth looks like (additive and near-linear, where logistic regression is hard to
beat; interactions and thresholds, where trees win):

- `world_*`: point-in-time feature snapshots of synthetic worlds (retail, finance, b2b) with
  churn, category-purchase and campaign-response labels;
- `cdnow_repeat`: CDNOW's calibration-period purchase summary (weeks 1-39), labelled by a
  purchase in the holdout weeks 40-78 (a real public history);
- `telco_like`: a subscriber table in the style of public telecom churn tables (contract,
  tenure, charges as text with blanks, yes/no add-ons), an additive logistic truth;
- `wide_rare`: 85 columns, 6% positives, most columns noise, a few thresholds;
- `bank_like`: age x product-count interactions, as in public bank-churn tables;
- `phone_plan_like`: usage, plans and service calls with threshold churn, where trees win;
- `coil_like`: 85 integer-coded columns (categories as numbers), 6% positives, weak signal.

Tables are built once and cached as Parquet under `cache_dir`, so the battery reruns fast.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

LABEL = "label"
TRUTH = "true_probability"  # where the table is drawn from a known model: never a feature


@dataclass(frozen=True)
class BatteryTable:
    name: str
    frame: pd.DataFrame  # features + LABEL
    description: str

    @property
    def positive_rate(self) -> float:
        return float(self.frame[LABEL].mean())

    def features_and_truth(self) -> tuple[pd.DataFrame, pd.Series | None]:
        """The table without the truth column, and the truth (None where unknown)."""
        truth = self.frame[TRUTH] if TRUTH in self.frame.columns else None
        return self.frame.drop(columns=[TRUTH], errors="ignore"), truth


# --- synthetic worlds -------------------------------------------------------------------------


def _world_frame(
    root: Path, customers: int, industry: str, seed: int, label: str, horizon_days: int
) -> pd.DataFrame:
    """Features at the world's last fully observed cutoff with one label, ids dropped."""
    from crm_ml.contract import load_tables
    from crm_ml.datasets.synthetic import generate_world
    from crm_ml.features.builder import FeatureEngine
    from crm_ml.features.labels import LabelConfig, label_series

    world = root / f"world-{industry}-{customers}-{seed}"
    if not (world / "manifest.json").exists():
        generate_world(
            world, customers=customers, industry=industry, seed=seed, show_progress=False
        )
    tables = load_tables(world, quarantine_dir=None, progress=False).tables
    as_of = pd.Timestamp(pd.read_json(world / "manifest.json", typ="series")["as_of"])
    cutoff = (as_of - pd.Timedelta(days=horizon_days)).normalize().replace(day=1)
    with FeatureEngine(tables) as engine:
        features = engine.features(cutoff).set_index("customer_id")
        target = label_series(engine, cutoff, label, LabelConfig(horizon_days))
    frame = features.drop(columns="cutoff").join(target.rename(LABEL), how="inner")
    return frame.reset_index(drop=True)


def _rarest_category(root: Path, customers: int, industry: str, seed: int) -> str:
    products = pd.read_parquet(root / f"world-{industry}-{customers}-{seed}" / "products.parquet")
    return str(products["category"].value_counts().index[-1])


def _world(
    customers: int, industry: str, label: str, horizon: int = 90, seed: int = 7
) -> Callable[[Path], pd.DataFrame]:
    def build(root: Path) -> pd.DataFrame:
        name = label
        if label == "category:rarest":
            _world_frame(root, customers, industry, seed, "churn", horizon)  # writes the world
            name = f"category:{_rarest_category(root, customers, industry, seed)}"
        return _world_frame(root, customers, industry, seed, name, horizon)

    return build


# --- public and public-style tables -------------------------------------------------------------


def _cdnow_repeat(root: Path) -> pd.DataFrame:
    """CDNOW master, weeks 1-39 summary -> any purchase in weeks 40-78 (5,000 customers)."""
    from crm_ml.datasets.cdnow import cdnow_calibration_holdout, load_cdnow

    orders = load_cdnow(sample=False)["orders"]
    summary = cdnow_calibration_holdout(orders)
    cal = orders[orders["ts"] <= pd.Timestamp("1997-09-30T23:59:59", tz="UTC")]
    per_customer = cal.groupby("customer_id", observed=True).agg(
        first_amount=("amount", "first"),
        cds_total=("quantity", "sum"),
        spend_total=("amount", "sum"),
        records=("amount", "size"),
    )
    frame = summary.join(per_customer)
    frame[LABEL] = (frame.pop("frequency_holdout") > 0).astype(int)
    frame = frame.drop(columns="duration_holdout")
    return frame.sample(5_000, random_state=0).reset_index(drop=True)


def _telco_like(root: Path) -> pd.DataFrame:
    from crm_ml.datasets import subscriber_table

    table = subscriber_table(7_000, seed=11, truth=True).drop(columns="customerID")
    table = table.rename(columns={"churn_probability": TRUTH})
    return table.assign(**{LABEL: (table.pop("Churn") == "Yes").astype(int)})


def _wide_rare(root: Path, n: int = 5_000, width: int = 85, seed: int = 13) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    columns: dict[str, np.ndarray] = {}
    for j in range(width - 10):
        values = rng.lognormal(0, 1, n) if j % 3 == 0 else rng.normal(0, 1, n)
        values[rng.random(n) < 0.08] = np.nan
        columns[f"x{j:02d}"] = values
    for j in range(10):
        levels = [f"level_{k}" for k in range(3 + 3 * j)]
        columns[f"c{j}"] = rng.choice(levels, n)
    x = {k: np.nan_to_num(v) for k, v in columns.items() if k.startswith("x")}
    logit = (
        -4.0
        + 0.8 * x["x01"]
        + 0.9 * (x["x02"] > 1.0)
        + 0.5 * np.log1p(x["x03"])
        - 0.6 * x["x04"] * (x["x05"] > 0)
        + 0.4 * np.sin(2 * x["x07"])
        + 0.7 * (columns["c1"] == "level_2")
        + 0.5 * np.isin(columns["c4"], ["level_0", "level_3", "level_7"])
    )
    columns[TRUTH] = 1 / (1 + np.exp(-logit))
    columns[LABEL] = (rng.random(n) < columns[TRUTH]).astype(int)
    return pd.DataFrame(columns)


def _bank_like(root: Path, n: int = 10_000, seed: int = 17) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.normal(39, 10, n).clip(18, 92).round()
    products = rng.choice([1, 2, 3, 4], n, p=[0.5, 0.46, 0.03, 0.01])
    active = rng.integers(0, 2, n)
    balance = np.where(rng.random(n) < 0.36, 0.0, rng.normal(120_000, 30_000, n)).round(2)
    geography = rng.choice(["France", "Germany", "Spain"], n, p=[0.5, 0.25, 0.25])
    logit = (
        -1.6
        + 0.09 * np.clip(age - 40, -15, 20)
        - 0.004 * np.clip(age - 60, 0, None) ** 2
        + np.select([products == 1, products == 2], [0.4, -1.3], 3.0)
        - 0.9 * active
        + 0.35 * (age > 45) * (active == 0)
        + 0.7 * (geography == "Germany")
        + 0.2 * (balance > 0)
    )
    return pd.DataFrame(
        {
            "CreditScore": rng.normal(650, 95, n).clip(350, 850).round(),
            "Geography": geography,
            "Gender": rng.choice(["Male", "Female"], n),
            "Age": age,
            "Tenure": rng.integers(0, 11, n),
            "Balance": balance,
            "NumOfProducts": products,
            "HasCrCard": rng.integers(0, 2, n),
            "IsActiveMember": active,
            "EstimatedSalary": rng.uniform(100, 200_000, n).round(2),
            LABEL: (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int),
            TRUTH: 1 / (1 + np.exp(-logit)),
        }
    )


def _phone_plan_like(root: Path, n: int = 5_000, seed: int = 19) -> pd.DataFrame:
    """Usage per period of day with charges that are exact multiples of the minutes, a few
    plans and service calls; churn by thresholds and interactions (high total charge without
    a voice-mail plan, many service calls at low usage, an international plan used a lot),
    as in the public phone-plan churn tables where trees beat a linear model by far."""
    rng = np.random.default_rng(seed)
    columns: dict[str, np.ndarray] = {
        "state": rng.choice([f"S{k:02d}" for k in range(51)], n),
        "account_length": rng.normal(101, 40, n).clip(1, 243).round(),
        "area_code": rng.choice([408, 415, 510], n, p=[0.25, 0.5, 0.25]),
        "international_plan": rng.choice(["yes", "no"], n, p=[0.097, 0.903]),
        "voice_mail_plan": rng.choice(["yes", "no"], n, p=[0.277, 0.723]),
    }
    vmail = columns["voice_mail_plan"] == "yes"
    columns["number_vmail_messages"] = np.where(vmail, rng.normal(29, 7.5, n).clip(4).round(), 0)
    charge = {}
    for period, (mean, rate) in {
        "day": (180, 0.17),
        "eve": (200, 0.085),
        "night": (200, 0.045),
        "intl": (10, 0.27),
    }.items():
        minutes = rng.normal(mean, mean * 0.28, n).clip(0).round(1)
        columns[f"total_{period}_minutes"] = minutes
        calls = rng.poisson(4.5, n) if period == "intl" else rng.normal(100, 20, n).round()
        columns[f"total_{period}_calls"] = calls.clip(0)
        charge[period] = columns[f"total_{period}_charge"] = (minutes * rate).round(2)
    service_calls = rng.poisson(1.56, n)
    columns["customer_service_calls"] = service_calls
    total = sum(charge.values())
    intl = columns["international_plan"] == "yes"
    heavy_intl = (columns["total_intl_minutes"] > 13) | (columns["total_intl_calls"] < 3)
    logit = (
        -3.0
        + 4.0 * (total > 72) * ~vmail
        + 1.0 * (total > 72) * vmail
        + 0.8 * intl
        + 4.0 * intl * heavy_intl
        + (service_calls >= 4) * (0.6 + 2.6 * (columns["total_day_minutes"] < 160))
        - 0.6 * vmail
    )
    columns[TRUTH] = 1 / (1 + np.exp(-logit))
    columns[LABEL] = (rng.random(n) < columns[TRUTH]).astype(int)
    return pd.DataFrame(columns)


def _coil_like(root: Path, n: int = 5_800, seed: int = 23) -> pd.DataFrame:
    """85 integer-coded columns, as in the public insurance benchmark tables: neighbourhood
    shares coded 0-9 driven by two latent traits, a customer type coded 1-41 that is really a
    category, product contributions that are mostly 0; 6% buy, weakly and mostly additively."""
    rng = np.random.default_rng(seed)
    affluence, family = rng.normal(size=n), rng.normal(size=n)
    columns: dict[str, np.ndarray] = {
        "customer_subtype": rng.integers(1, 42, n),
        "customer_main_type": rng.integers(1, 11, n),
        "age_band": np.clip(np.round(3 + family * 0.8 + rng.normal(0, 0.6, n)), 1, 6),
    }
    for j in range(40):
        a, b = rng.normal(0, 1.2), rng.normal(0, 1.2)
        share = 4.5 + a * affluence + b * family + rng.normal(0, 1.5, n)
        columns[f"zip_share_{j:02d}"] = np.clip(np.round(share), 0, 9)
    car = np.select([affluence + rng.normal(0, 1, n) > 0.3, rng.random(n) < 0.35], [6, 5], 0)
    columns["contribution_car"] = car
    columns["contribution_fire"] = np.where(rng.random(n) < 0.45, rng.integers(1, 9, n), 0)
    for j in range(19):
        owned = rng.random(n) < rng.uniform(0.005, 0.08)
        columns[f"contribution_{j:02d}"] = np.where(owned, rng.integers(1, 10, n), 0)
        columns[f"number_{j:02d}"] = np.where(owned, rng.integers(1, 3, n), 0)
    columns["number_boat"] = (rng.random(n) < 0.006).astype(int)
    columns["number_car"] = (car > 0).astype(int) + (rng.random(n) < 0.05)
    logit = (
        -4.0
        + 1.3 * (car == 6)
        + 0.5 * (car == 5)
        + 0.35 * affluence
        + 0.5 * (columns["contribution_fire"] >= 3)
        + 1.8 * columns["number_boat"]
        + 0.6 * np.isin(columns["customer_subtype"], [8, 12, 33, 37])
        + 0.4 * (columns["contribution_03"] > 0)
    )
    columns[TRUTH] = 1 / (1 + np.exp(-logit))
    columns[LABEL] = (rng.random(n) < columns[TRUTH]).astype(int)
    return pd.DataFrame(columns)


BUILDERS: dict[str, tuple[Callable[[Path], pd.DataFrame], str]] = {
    "world_retail_2k_churn": (_world(2_000, "retail", "churn"), "retail world, 90-day churn"),
    "world_retail_5k_category": (
        _world(5_000, "retail", "category:rarest"),
        "retail world, next-90-day purchase of the rarest category",
    ),
    "world_retail_20k_churn": (_world(20_000, "retail", "churn", horizon=180), "180-day churn"),
    "world_finance_5k_churn": (_world(5_000, "finance", "churn"), "finance world, 90-day churn"),
    "world_b2b_5k_churn": (_world(5_000, "b2b", "churn", horizon=60), "b2b world, 60-day churn"),
    "world_retail_5k_response": (
        _world(5_000, "retail", "campaign_response"),
        "retail world, response to a campaign contact in 90 days",
    ),
    "cdnow_repeat": (_cdnow_repeat, "CDNOW weeks 1-39 -> a purchase in weeks 40-78"),
    "telco_like": (_telco_like, "subscriber table, additive logistic truth, 26% churn"),
    "wide_rare": (_wide_rare, "85 columns, 6% positives, thresholds and noise"),
    "bank_like": (_bank_like, "age x products interactions, 20% churn"),
    "phone_plan_like": (_phone_plan_like, "usage thresholds and plan interactions, 14% churn"),
    "coil_like": (_coil_like, "85 integer-coded columns, 6% buy, weak additive signal"),
}


def battery(cache_dir: Path, names: Iterable[str] | None = None) -> list[BatteryTable]:
    """The battery's tables (all, or those named), built once into `cache_dir`."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    tables = []
    for name in names or BUILDERS:
        build, description = BUILDERS[name]
        path = cache_dir / f"{name}.parquet"
        if path.exists():
            frame = pd.read_parquet(path)
        else:
            frame = build(cache_dir)
            frame.to_parquet(path, index=False)
        tables.append(BatteryTable(name, frame, description))
        log.info(
            "%s: %d rows, %d columns, %.1f%% positive",
            name,
            *frame.shape,
            100 * tables[-1].positive_rate,
        )
    return tables
