"""Snapshot tables (Telco-like, built in code): validation, typing, dropped columns."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from crm_ml.datasets.snapshot import SnapshotConfig, SnapshotError, load_snapshot

N_ROWS = 400


@pytest.fixture
def telco() -> pd.DataFrame:
    """A small Telco-churn-like table whose churn depends on contract and tenure."""
    rng = np.random.default_rng(7)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], N_ROWS, p=[0.5, 0.3, 0.2])
    tenure = rng.integers(0, 72, N_ROWS)
    monthly = rng.uniform(20, 110, N_ROWS).round(2)
    total = (tenure * monthly).round(2).astype(str).astype(object)
    total[tenure == 0] = " "  # the real file's trap: blanks in a numeric text column
    risk = 1.5 * (contract == "Month-to-month") - 0.04 * tenure + 0.01 * (monthly - 60)
    churn = rng.random(N_ROWS) < 1 / (1 + np.exp(-risk))
    return pd.DataFrame(
        {
            "customerID": [f"{i:04d}-ABCD" for i in range(N_ROWS)],
            "gender": rng.choice(["Female", "Male"], N_ROWS),
            "SeniorCitizen": rng.integers(0, 2, N_ROWS),
            "Partner": rng.choice(["Yes", "No"], N_ROWS),
            "tenure": tenure,
            "Contract": contract,
            "MonthlyCharges": monthly,
            "TotalCharges": total,
            "Country": "US",
            "row": np.arange(N_ROWS),
            "exported_at": pd.Timestamp("2024-01-31", tz="UTC"),
            "signup_ts": pd.to_datetime("2020-01-01", utc=True)
            + pd.to_timedelta(rng.integers(0, 1000, N_ROWS), unit="D"),
            "Churn": np.where(churn, "Yes", "No"),
        }
    )


def test_telco_like_table_becomes_model_ready_features(telco: pd.DataFrame) -> None:
    snap = load_snapshot(telco, label="Churn", id_column="customerID")
    assert snap.task == "binary"
    assert snap.label_name == "Churn"
    np.testing.assert_array_equal(snap.label.to_numpy(), (telco["Churn"] == "Yes").astype(int))
    assert list(snap.ids) == list(telco["customerID"])
    assert snap.features.index.equals(snap.ids)
    assert list(snap.features.columns) == [
        "gender",
        "SeniorCitizen",
        "Partner",
        "tenure",
        "Contract",
        "MonthlyCharges",
        "TotalCharges",
    ]
    for column in ("gender", "Partner", "Contract"):
        assert isinstance(snap.features[column].dtype, pd.CategoricalDtype), column
    assert set(snap.features["Contract"].cat.categories) == {
        "Month-to-month",
        "One year",
        "Two year",
    }
    total = snap.features["TotalCharges"]
    assert total.dtype == "float64"
    assert total.isna().sum() == (telco["tenure"] == 0).sum()
    assert set(snap.dropped) == {"Country", "row", "exported_at", "signup_ts"}
    assert snap.dropped["Country"] == "constant"
    assert "identifier-like" in snap.dropped["row"]
    assert "timestamp" in snap.dropped["signup_ts"]


def test_id_like_text_column_is_dropped_with_a_logged_note(
    telco: pd.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="crm_ml.datasets.snapshot"):
        snap = load_snapshot(telco, label="Churn")
    assert "customerID" not in snap.features.columns
    assert "identifier-like" in snap.dropped["customerID"]
    assert any("customerID" in r.getMessage() for r in caplog.records)
    assert snap.ids.equals(telco.index)


def test_small_tables_keep_distinct_valued_columns(telco: pd.DataFrame) -> None:
    small = telco.head(5).assign(Churn=["Yes", "No", "No", "Yes", "No"])
    snap = load_snapshot(small, label="Churn", config=SnapshotConfig(id_like_min_rows=20))
    assert "customerID" in snap.features.columns


def test_lightgbm_learns_from_the_categorical_features(telco: pd.DataFrame) -> None:
    lightgbm = pytest.importorskip("lightgbm")
    from sklearn.metrics import roc_auc_score

    snap = load_snapshot(telco, label="Churn", id_column="customerID")
    train, test = slice(0, 300), slice(300, None)
    model = lightgbm.LGBMClassifier(n_estimators=60, learning_rate=0.05, verbose=-1, seed=1)
    model.fit(snap.features.iloc[train], snap.label.iloc[train])
    assert model.booster_.pandas_categorical is not None  # categories used natively
    scores = model.predict_proba(snap.features.iloc[test])[:, 1]
    assert roc_auc_score(snap.label.iloc[test], scores) > 0.7


def test_csv_and_parquet_files_load_like_the_frame(telco: pd.DataFrame, tmp_path) -> None:
    expected = load_snapshot(telco, label="Churn", id_column="customerID")
    csv, parquet = tmp_path / "telco.csv", tmp_path / "telco.parquet"
    telco.drop(columns=["exported_at", "signup_ts"]).to_csv(csv, index=False)
    telco.to_parquet(parquet, index=False)
    for path in (csv, parquet):
        snap = load_snapshot(path, label="Churn", id_column="customerID")
        pd.testing.assert_frame_equal(snap.features, expected.features, check_index_type=False)
        pd.testing.assert_series_equal(snap.label, expected.label, check_index_type=False)


def test_features_like_shapes_a_scoring_frame(telco: pd.DataFrame) -> None:
    snap = load_snapshot(telco, label="Churn", id_column="customerID")
    scoring = telco.drop(columns="Churn").iloc[::-1].head(3).copy()
    scoring["Contract"] = ["Two year", "Lifetime", "One year"]  # "Lifetime" never seen
    shaped = snap.features_like(scoring[list(reversed(scoring.columns))])
    assert list(shaped.columns) == list(snap.features.columns)
    assert shaped.dtypes.equals(snap.features.dtypes)
    assert shaped["Contract"].isna().tolist() == [False, True, False]
    with pytest.raises(SnapshotError, match="tenure"):
        snap.features_like(scoring.drop(columns="tenure"))


def test_nullable_columns_become_float(telco: pd.DataFrame) -> None:
    frame = telco.assign(lines=pd.array([1, None, 2, 3] * (N_ROWS // 4), dtype="Int64"))
    snap = load_snapshot(frame, label="Churn", id_column="customerID")
    assert snap.features["lines"].dtype == "float64"
    assert snap.features["lines"].isna().sum() == N_ROWS // 4


@pytest.mark.parametrize(
    ("label", "task", "dtype"),
    [
        (np.tile([True, False], N_ROWS // 2), "binary", "int64"),
        (np.tile([0.0, 1.0], N_ROWS // 2), "binary", "int64"),
        (np.linspace(0, 500, N_ROWS), "regression", "float64"),
        (np.tile(["churned", "stayed"], N_ROWS // 2), "binary", "int64"),
    ],
)
def test_label_kinds(telco: pd.DataFrame, label: np.ndarray, task: str, dtype: str) -> None:
    snap = load_snapshot(telco.assign(target=label), label="target", id_column="customerID")
    assert snap.task == task
    assert snap.label.dtype == dtype
    if task == "binary":
        assert set(snap.label) == {0, 1}
        assert snap.label.iloc[0] == (1 if label[0] in (True, 1.0, "churned") else 0)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: f.drop(columns="Churn"), r"label column 'Churn' not found; columns are \["),
        (lambda f: f.assign(Churn=f["Churn"].where(f.index > 2)), "'Churn' has 3 empty rows"),
        (lambda f: f.assign(Churn="No"), "single value"),
        (lambda f: f.assign(Churn=np.tile(["a", "b", "c", "d"], 100)), "4 distinct values"),
        (lambda f: f.assign(Churn=np.tile(["A", "B"], 200)), "cannot tell which is positive"),
        (lambda f: f.assign(Churn=np.tile([1, 2], 200)), "recode it to 0/1"),
        (lambda f: f.assign(customerID="same"), "'customerID' has 399 duplicate values"),
        (lambda f: f.drop(columns="customerID"), "id column 'customerID' not found"),
        (lambda f: f[["customerID", "Country", "Churn"]], "no usable feature columns"),
    ],
)
def test_bad_snapshots_fail_with_a_clear_error(telco: pd.DataFrame, change, message: str) -> None:
    with pytest.raises(SnapshotError, match=message):
        load_snapshot(change(telco), label="Churn", id_column="customerID")


def test_file_errors_name_the_file(telco: pd.DataFrame, tmp_path) -> None:
    path = tmp_path / "telco.csv"
    telco.to_csv(path, index=False)
    with pytest.raises(SnapshotError, match=rf"{path}: label column 'churn' not found"):
        load_snapshot(path, label="churn")
    with pytest.raises(SnapshotError, match="snapshot file not found"):
        load_snapshot(tmp_path / "missing.csv", label="Churn")
    excel = tmp_path / "telco.xlsx"
    excel.write_bytes(b"not really excel")
    with pytest.raises(SnapshotError, match=r"telco.xlsx: unsupported file type"):
        load_snapshot(excel, label="Churn")
