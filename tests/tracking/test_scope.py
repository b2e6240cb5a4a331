"""Registered models are bound to their data source and pseudonym key."""

from crm_ml.contract.privacy import key_fingerprint
from crm_ml.tracking.scope import KEY_TAG, SOURCE_TAG, ModelScope


def test_registry_names_carry_the_source_and_never_collide():
    a, b = ModelScope("folder:/data/a", "k"), ModelScope("folder:/data/b", "k")
    assert a.registry_name("churn") != b.registry_name("churn")
    assert a.registry_name("churn").startswith("churn.folder_data_a-")
    assert ModelScope("cdnow", "k").registry_name("churn") == "churn.cdnow"
    assert "/" not in a.registry_name("propensity_books")


def test_mismatch_names_the_source_or_the_key():
    scope = ModelScope("cdnow", "key-1")
    assert scope.mismatch(scope.tags) is None
    assert "source 'synthetic:x'" in scope.mismatch({SOURCE_TAG: "synthetic:x", KEY_TAG: "key-1"})
    assert "another pseudonym key" in scope.mismatch({SOURCE_TAG: "cdnow", KEY_TAG: "key-2"})
    assert "no pseudonym key fingerprint" in scope.mismatch({})


def test_the_key_fingerprint_identifies_the_key_without_holding_it():
    one, other = key_fingerprint(b"secret-one"), key_fingerprint(b"secret-two")
    assert one != other and one == key_fingerprint(b"secret-one")
    assert "secret" not in one and len(one) == 16
