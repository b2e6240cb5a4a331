"""The 360 customer card: content, consent banner, raw-id lookup, clear not-found errors."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_ml.reports import CustomerNotFoundError, build_customer_card, write_customer_card
from crm_ml.reports.formatting import fmt_money, fmt_percent

CONSENTING = 0  # fabricated customers: every third one (index 2, 5, ...) has no consent
NOT_CONSENTING = 2


def scores_row(paths, index: int) -> dict:
    scores = pd.read_parquet(paths.scores / "customer_scores.parquet")
    return scores.iloc[index].to_dict()


def test_card_shows_reasons_offer_and_recommendations(make_run):
    paths = make_run()
    row = scores_row(paths, CONSENTING)
    html = build_customer_card(row["customer_id"], paths)
    for reason in (row["reason_1"], row["reason_2"], row["reason_3"]):
        assert reason in html
    assert row["offer_reason"] in html
    assert str(row["next_best_offer"]).capitalize() in html
    assert "customers like you also bought item" in html  # top recommendations
    assert 'data-consent="yes"' in html
    assert "Chance of buying, next 90 days" in html
    assert fmt_percent(row["p_spend"], 0) in html
    assert f"{fmt_money(row['spend_low'])} to {fmt_money(row['spend_high'])}" in html
    assert "No marketing contact" not in html


def test_card_without_consent_has_banner_and_withholds_offers(make_run):
    paths = make_run()
    row = scores_row(paths, NOT_CONSENTING)
    html = build_customer_card(row["customer_id"], paths)
    assert 'data-consent="no"' in html and "No marketing contact" in html
    assert row["offer_reason"] not in html
    assert "customers like you also bought item" not in html
    assert row["reason_1"] in html  # churn reasons are for service, still shown


def test_card_shows_service_history_against_targets(make_run, fabricated):
    paths = make_run()
    html = build_customer_card(fabricated.pseudonyms[0], paths)
    service = html[html.index('id="service"') : html.index('id="orders"')]
    assert "Complaint" in service and "Fault" in service
    assert "none yet (5 h)" in service  # open complaint, unanswered for 5 hours
    assert 'class="num bad"' in service  # ... which breaches its 30-minute target
    assert "resolved 2024-05-22" in service and "open" in service
    assert "Recent orders" in html and "Orders, last 365 days" in html


def test_raw_id_is_pseudonymised_and_never_shown(make_run, fabricated):
    paths = make_run()
    raw = fabricated.raw[CONSENTING]
    pseudonym = fabricated.pseudonyms[CONSENTING]
    by_raw = build_customer_card(raw, paths)
    assert by_raw == build_customer_card(pseudonym, paths)
    assert raw not in by_raw
    assert pseudonym in by_raw


def test_write_customer_card_names_file_by_pseudonym(make_run, fabricated):
    paths = make_run()
    path = write_customer_card(fabricated.raw[NOT_CONSENTING], paths)
    assert path == paths.report / "customers" / f"{fabricated.pseudonyms[NOT_CONSENTING]}.html"
    assert "No marketing contact" in path.read_text()


def test_card_of_an_id_that_is_not_a_pseudonym_stays_in_the_customers_folder(make_run):
    """Scores hold pseudonyms, but a card file is named by a safe_name of the id anyway."""
    paths = make_run()
    scores = pd.read_parquet(paths.scores / "customer_scores.parquet")
    scores.loc[0, "customer_id"] = "../../escape"
    scores.to_parquet(paths.scores / "customer_scores.parquet", index=False)
    path = write_customer_card("../../escape", paths)
    assert path.parent == paths.report / "customers"
    assert path.name.startswith("escape-") and path.suffix == ".html"
    assert path.resolve().is_relative_to((paths.report / "customers").resolve())


def test_unknown_raw_id_error_names_the_form_not_the_id(make_run):
    paths = make_run()
    with pytest.raises(CustomerNotFoundError, match="raw customer id") as error:
        build_customer_card("C99999", paths)
    assert "C99999" not in str(error.value)
    assert "CRM_ML_PSEUDONYM_KEY" in str(error.value)


def test_unknown_pseudonym_error_names_it(make_run):
    paths = make_run()
    with pytest.raises(
        CustomerNotFoundError, match=r"0{20}.*no scored customer has this pseudonym"
    ):
        build_customer_card("0" * 20, paths)


def test_raw_id_under_another_key_is_not_found(make_run, fabricated, monkeypatch):
    paths = make_run()
    build_customer_card(fabricated.raw[CONSENTING], paths)
    monkeypatch.setenv("CRM_ML_PSEUDONYM_KEY", "some-other-key")
    with pytest.raises(CustomerNotFoundError):
        build_customer_card(fabricated.raw[CONSENTING], paths)


def test_card_leaves_out_the_spend_outlook_when_the_scores_have_no_interval() -> None:
    from crm_ml.reports.card import _spend_outlook

    assert _spend_outlook({"clv_12m": 120.0}) == []
    assert _spend_outlook({"p_spend": 0.25, "spend_low": float("nan"), "spend_high": 9.0}) == []
    outlook = dict(_spend_outlook({"p_spend": 0.25, "spend_low": 10.0, "spend_high": 90.0}))
    assert outlook["Chance of buying, next 90 days"] == "25%"
    assert outlook["If they buy, 80% range"] == f"{fmt_money(10.0)} to {fmt_money(90.0)}"


def test_sample_customer_without_clv_scores_falls_back_to_spend() -> None:
    from crm_ml.reports.card import sample_customer

    scores = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "churn_probability": [0.9, 0.5, 0.8],
            "clv_12m": [float("nan")] * 3,
            "total_spend_365d": [10.0, 500.0, 100.0],
            "marketing_consent": [True, True, False],
        }
    )
    assert sample_customer(scores) == "b"
