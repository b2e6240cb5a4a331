"""A small subscriber table for examples, doctests and the benchmark battery.

One row per subscriber in the shape of the public telecom churn tables: a contract type,
tenure in months, monthly and total charges (total as text with a blank for new
subscribers, as those tables ship it), yes/no add-ons and a `Churn` column of "Yes"/"No".
Churn follows an additive logistic model of contract, tenure, internet service, payment
method and add-ons, so a logistic regression is close to the best possible model: the table
where boosted trees alone tend to lose. Seeded: same arguments, same table.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

ADDONS = ("OnlineSecurity", "OnlineBackup", "DeviceProtection", "TechSupport")


def subscriber_table(
    n: int = 2_000, *, seed: int = 0, churn_shift: float = 0.0, truth: bool = False
) -> pd.DataFrame:
    """A seeded subscriber table with a `customerID` column and a "Yes"/"No" `Churn` label.

    Parameters
    ----------
    n : int, default 2000
        Number of subscribers (rows).
    seed : int, default 0
        Seed of the generator.
    churn_shift : float, default 0.0
        Added to every subscriber's churn log-odds (0 gives about 26% churn).
    truth : bool, default False
        Also return `churn_probability`, the probability each `Churn` was drawn with (what
        a perfect model would predict; never a feature).

    Returns
    -------
    pandas.DataFrame
        customerID, 16 feature columns and Churn (and churn_probability with `truth`).

    Examples
    --------
    >>> table = subscriber_table(1_000, seed=1)
    >>> table.shape
    (1000, 18)
    >>> float(round((table["Churn"] == "Yes").mean(), 2))
    0.25
    """
    rng = np.random.default_rng(seed)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], n, p=[0.55, 0.21, 0.24])
    tenure = np.where(contract == "Month-to-month", rng.gamma(1.2, 14, n), rng.uniform(0, 72, n))
    tenure = tenure.clip(0, 72).round()
    internet = rng.choice(["DSL", "Fiber optic", "No"], n, p=[0.34, 0.44, 0.22])
    addons = {
        name: np.where(
            internet == "No", "No internet service", np.where(rng.random(n) < 0.4, "Yes", "No")
        )
        for name in ADDONS
    }
    payment = rng.choice(
        [
            "Electronic check",
            "Mailed check",
            "Bank transfer (automatic)",
            "Credit card (automatic)",
        ],
        n,
    )
    senior = (rng.random(n) < 0.16).astype(int)
    dependents = rng.choice(["Yes", "No"], n, p=[0.3, 0.7])
    paperless = rng.choice(["Yes", "No"], n, p=[0.6, 0.4])
    monthly = (
        20
        + 25 * (internet == "DSL")
        + 50 * (internet == "Fiber optic")
        + sum(5 * (value == "Yes") for value in addons.values())
        + rng.normal(0, 4, n)
    ).round(2)
    total = (monthly * tenure * rng.uniform(0.95, 1.05, n)).round(2)
    logit = (
        churn_shift
        - 1.0
        + 1.3 * (contract == "Month-to-month")
        - 0.9 * (contract == "Two year")
        - 1.8 * np.log1p(tenure) / np.log(73)
        + 0.7 * (internet == "Fiber optic")
        - 0.5 * (internet == "No")
        + 0.45 * (payment == "Electronic check")
        - 0.35 * (addons["OnlineSecurity"] == "Yes")
        - 0.35 * (addons["TechSupport"] == "Yes")
        + 0.3 * senior
        + 0.25 * (paperless == "Yes")
        - 0.15 * (dependents == "Yes")
        + 0.008 * (monthly - 65)
    )
    probability = 1 / (1 + np.exp(-logit))
    churn = rng.random(n) < probability
    table = pd.DataFrame(
        {
            "customerID": [f"{i:04d}-{seed:X}" for i in range(n)],
            "gender": rng.choice(["Male", "Female"], n),
            "SeniorCitizen": senior,
            "Partner": rng.choice(["Yes", "No"], n),
            "Dependents": dependents,
            "tenure": tenure.astype(int),
            "PhoneService": rng.choice(["Yes", "No"], n, p=[0.9, 0.1]),
            "InternetService": internet,
            **addons,
            "Contract": contract,
            "PaperlessBilling": paperless,
            "PaymentMethod": payment,
            "MonthlyCharges": monthly,
            "TotalCharges": np.where(tenure == 0, " ", total.astype(str)),
            "Churn": np.where(churn, "Yes", "No"),
        }
    )
    return table.assign(churn_probability=probability) if truth else table


EXAMPLE_TABLE_FILE = "customer_table.csv"


def write_subscriber_table(out_dir: Path, n: int = 5_000, seed: int = 0) -> Path:
    """Write `subscriber_table` as one file, the way a company exports such a table, for the
    `data.source: table` run (configs/table.yaml).

    Beside the table's columns it holds what real exports carry: a marketing-consent flag
    (about 80% yes) and an e-mail address per row, which the contract drops as personal
    data, and a few bad rows (a duplicated id, an empty label) for the quarantine.

    Parameters
    ----------
    out_dir : pathlib.Path
        The folder to write ``customer_table.csv`` and ``manifest.json`` into.
    n : int, default 5000
        Subscribers.
    seed : int, default 0
        Seed of the generator.

    Returns
    -------
    pathlib.Path
        `out_dir`.

    Examples
    --------
    >>> import tempfile
    >>> folder = write_subscriber_table(Path(tempfile.mkdtemp()), n=50)
    >>> pd.read_csv(folder / EXAMPLE_TABLE_FILE).shape
    (52, 20)
    """
    rng = np.random.default_rng(seed + 1)
    table = subscriber_table(n, seed=seed)
    table.insert(1, "email", [f"subscriber{i}@example.com" for i in range(n)])
    table["MarketingConsent"] = np.where(rng.random(n) < 0.8, "yes", "no")
    bad = table.iloc[[0, 1]].copy()
    bad.loc[bad.index[1], ["customerID", "Churn"]] = [f"extra-{seed}", ""]
    out_dir.mkdir(parents=True, exist_ok=True)
    pd.concat([table, bad], ignore_index=True).to_csv(out_dir / EXAMPLE_TABLE_FILE, index=False)
    manifest = {"source": "subscriber-example", "rows": n + 2, "seed": seed}
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return out_dir
