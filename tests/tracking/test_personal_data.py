"""Nothing personal reaches the tracking store: direct identifiers, raw ids, e-mail values."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_ml.contract.privacy import pseudonymise_ids
from crm_ml.tracking import PersonalDataError
from crm_ml.tracking.personal_data import check_no_personal_data, check_no_personal_names

KEY = b"test-key"


def test_clean_feature_frame_passes():
    check_no_personal_data(pd.DataFrame({"orders_90d": [1.0], "region": ["north"]}), "example")


def test_every_direct_identifier_is_named_in_one_error():
    frame = pd.DataFrame({"Email": ["x"], "phone": ["1"], "name": ["Ann"], "orders": [1]})
    with pytest.raises(PersonalDataError) as caught:
        check_no_personal_data(frame, "input example")
    message = str(caught.value)
    assert "input example" in message
    assert all(column in message for column in ("Email", "phone", "name"))
    assert "orders" not in message


def test_customer_id_refused_unless_pseudonymised_and_allowed():
    raw = pd.Series(["C0001", "C0002"], name="customer_id")
    pseudonyms = pseudonymise_ids(raw, key=KEY)
    with pytest.raises(PersonalDataError, match="customer_id"):
        check_no_personal_data(pseudonyms.to_frame(), "table")
    check_no_personal_data(pseudonyms.to_frame(), "table", allow_pseudonymised_ids=True)
    with pytest.raises(PersonalDataError, match="not pseudonyms"):
        check_no_personal_data(raw.to_frame(), "table", allow_pseudonymised_ids=True)


def test_email_values_refused_whatever_the_column_is_called():
    frame = pd.DataFrame({"note": ["call back", "ann@example.com"]})
    with pytest.raises(PersonalDataError, match="note holds e-mail"):
        check_no_personal_data(frame, "baseline table")


def test_feature_name_lists_are_checked():
    check_no_personal_names(["orders_90d"], "feature list")
    with pytest.raises(PersonalDataError, match="email"):
        check_no_personal_names(["orders_90d", "email"], "feature list")
