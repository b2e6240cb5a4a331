"""One customer table judged like an export: rows quarantined with reasons, labels read as
0/1, ids pseudonymised, personal columns dropped, read = accepted + quarantined."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from crm_ml.contract.customer_table import TABLE, load_customer_table
from crm_ml.contract.errors import ContractError
from crm_ml.contract.privacy import pseudonymise_id

KEY = b"test-key"


def _write(tmp_path: Path, text: str, name: str = "table.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _load(path: Path, **kwargs):
    return load_customer_table(path, "Churn", "id", as_of="2025-01-31", key=KEY, **kwargs)


def test_bad_rows_are_quarantined_with_their_reasons_and_the_accounting_balances(
    tmp_path: Path,
) -> None:
    path = _write(
        tmp_path,
        "id,tenure,Churn\n"
        "a,1,Yes\n"
        " b ,2,no\n"  # whitespace around the id and lower case label are fine
        "b,3,No\n"  # the same id as the row before, once stripped
        ",4,Yes\n"
        "c,5,\n"
        "d,6,perhaps\n"
        "e,7,YES\n",
    )
    result = _load(path)
    accepted, rejected = result.tables[TABLE], result.quarantine[TABLE]
    assert accepted["Churn"].tolist() == [1, 0, 1]
    assert accepted["tenure"].tolist() == ["1", "2", "7"]
    assert rejected["reason"].tolist() == [
        "id: duplicate key of an earlier row",
        "id: missing required value",
        "Churn: missing required value",
        "Churn: 'perhaps' is neither 'yes' (left) nor 'no' (stayed)",
    ]
    assert rejected["record"].tolist() == ["3", "4", "5", "6"]  # line numbers of the rows
    (report,) = result.reports
    assert (report.read, report.accepted, report.quarantined, report.erased) == (7, 3, 4, 0)


def test_ids_are_pseudonymised_in_the_accepted_rows_and_the_quarantine(tmp_path: Path) -> None:
    path = _write(tmp_path, "id,Churn\nC001,1\nC002,0\nC002,0\n")
    result = _load(path)
    expected = [pseudonymise_id(v, KEY) for v in ("C001", "C002")]
    assert result.tables[TABLE]["id"].tolist() == expected
    assert result.quarantine[TABLE]["id"].tolist() == [expected[1]]


def test_personal_columns_are_dropped_by_name_or_by_their_e_mail_values(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "id,Surname,Phone Number,contact,plan,Churn\n"
        "a,Smith,+44 20 7946 0000,a@example.com,basic,1\n"
        "b,Jones,+44 20 7946 0001,b@example.org,pro,0\n",
    )
    result = _load(path)
    assert result.tables[TABLE].columns.tolist() == ["id", "plan", "Churn"]
    (note,) = result.reports[0].notes
    assert note.issue == "dropped as personal data" and note.count == 3
    assert "Smith" not in result.quarantine[TABLE].to_csv()


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["1", "0", "1"], [1, 0, 1]),
        (["True", "False", "false"], [1, 0, 0]),
        (["churned", "stayed", "stayed"], [1, 0, 0]),
    ],
)
def test_the_positive_value_is_recognised(tmp_path: Path, values, expected) -> None:
    path = _write(tmp_path, "id,Churn\n" + "".join(f"r{i},{v}\n" for i, v in enumerate(values)))
    assert _load(path).tables[TABLE]["Churn"].tolist() == expected


def test_a_parquet_table_with_a_boolean_label_is_read(tmp_path: Path) -> None:
    path = tmp_path / "table.parquet"
    pd.DataFrame({"id": ["a", "b"], "age": [30, 41], "Churn": [True, False]}).to_parquet(path)
    accepted = _load(path).tables[TABLE]
    assert accepted["Churn"].tolist() == [1, 0] and accepted["age"].tolist() == [30, 41]


def test_labels_without_a_known_yes_need_the_positive_setting(tmp_path: Path) -> None:
    path = _write(tmp_path, "id,Churn\na,gone\nb,here\nc,gone\n")
    with pytest.raises(ContractError, match=r"set data.table.positive"):
        _load(path)
    assert _load(path, positive="Gone").tables[TABLE]["Churn"].tolist() == [1, 0, 1]


def test_a_missing_column_names_the_file_the_setting_and_the_nearest_column(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, "ID,churn\na,1\n")
    with pytest.raises(ContractError, match=r"table.csv: no column 'id' \(data.table.id_column\)"):
        _load(path)
    with pytest.raises(ContractError, match="no such file"):
        _load(tmp_path / "absent.csv")


def test_consent_is_kept_as_marketing_consent_and_unreadable_consent_is_no_consent(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, "id,optin,Churn\na,yes,1\nb,no,0\nc,maybe,0\nd,,1\n")
    result = _load(path, consent_column="optin")
    table = result.tables[TABLE]
    assert "optin" not in table
    assert table["marketing_consent"].tolist() == [True, False, False, False]
    assert [n.column for n in result.reports[0].notes] == ["optin"]


def test_the_run_files_are_written_for_notebook_01(tmp_path: Path) -> None:
    from crm_ml.contract.summary import read_accounting, read_reasons

    path = _write(tmp_path, "id,Churn\na,1\na,0\nb,0\n")
    _load(path, quarantine_dir=tmp_path / "q", accepted_dir=tmp_path / "a")
    accounting = read_accounting(tmp_path / "q")
    assert accounting.to_dict("records") == [
        {"table": TABLE, "read": 3, "accepted": 2, "quarantined": 1, "erased": 0}
    ]
    assert read_reasons(tmp_path / "q")["count"].tolist() == [1]
    assert len(pd.read_parquet(tmp_path / "a" / f"{TABLE}.parquet")) == 2
