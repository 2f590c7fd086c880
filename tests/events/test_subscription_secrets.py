"""Webhook signing secrets are encrypted at rest (issue 24, finding 4): Fernet keys from
EVENTS_SECRET_KEYS, the first encrypting, every one decrypting; secrets stored in clear before keep
working and are sealed by `correspondence events reseal-secrets`."""

from __future__ import annotations

import os
import stat

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet

from app.webhook_secrets import DEV_KEY_FILE, SEALED, SecretBox, SecretsUnavailable, load_secret_box
from tests.api.helpers import ok
from tests.events.conftest import EVENTS_URL, deliver, subscribe, subscribe_active
from tests.factories import ORG_RECIPIENT, initialize_request

INITIALIZE = "/correspondence/api/v1/correspondence"


def stored_secret(db, subscription_id: int) -> str:
    with db.transaction() as conn:
        return conn.execute(
            "SELECT secret FROM event_subscriptions WHERE id = %s", (subscription_id,)
        ).fetchone()["secret"]


def set_stored_secret(db, subscription_id: int, value: str) -> None:
    with db.transaction() as conn:
        conn.execute("UPDATE event_subscriptions SET secret = %s WHERE id = %s", (value, subscription_id))


def signed_initialized_event_arrives(client, sender, receiver, db) -> None:
    ok(client.post(INITIALIZE, json=initialize_request([ORG_RECIPIENT]), headers=sender))
    deliver(db)
    assert receiver.events("correspondenceinitialized")
    assert all(r["valid"] for r in receiver.events()), [r["headers"] for r in receiver.events()]


def test_the_secret_is_stored_encrypted_and_deliveries_are_signed_with_it(client, sender, receiver, db):
    body = subscribe_active(client, sender, receiver, db)
    stored = stored_secret(db, body["id"])
    assert stored.startswith(SEALED) and body["secret"] not in stored
    assert body["secret"].removeprefix("whsec_") not in stored
    signed_initialized_event_arrives(client, sender, receiver, db)


def test_a_secret_stored_in_clear_keeps_working_until_resealed(client, sender, receiver, db, database_url):
    body = subscribe_active(client, sender, receiver, db)
    set_stored_secret(db, body["id"], body["secret"])  # as an older version stored it
    signed_initialized_event_arrives(client, sender, receiver, db)

    from app.cli import main

    result = CliRunner().invoke(main, ["events", "reseal-secrets"], env={"DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    assert "resealed" in result.output
    assert stored_secret(db, body["id"]).startswith(SEALED)
    receiver.received.clear()
    signed_initialized_event_arrives(client, sender, receiver, db)


def test_keys_rotate_first_encrypts_all_decrypt():
    old, new = Fernet.generate_key(), Fernet.generate_key()
    sealed_with_old = SecretBox([old]).seal("whsec_c2VjcmV0")
    both = SecretBox([new, old])
    assert both.open(sealed_with_old) == "whsec_c2VjcmV0"
    resealed = both.reseal(sealed_with_old)
    assert SecretBox([new]).open(resealed) == "whsec_c2VjcmV0"  # the old key can go now
    with pytest.raises(SecretsUnavailable):
        SecretBox([new]).open(sealed_with_old)
    assert both.open("whsec_clear") == "whsec_clear"
    assert SecretBox([new]).open(both.reseal("whsec_clear")) == "whsec_clear"


def test_bad_or_missing_keys_are_reported_not_used():
    with pytest.raises(SecretsUnavailable, match="Fernet key"):
        SecretBox(["not-a-key"]).seal("whsec_x")
    with pytest.raises(SecretsUnavailable, match="EVENTS_SECRET_KEYS is not set"):
        SecretBox().seal("whsec_x")


def test_development_keeps_a_key_of_its_own_under_the_data_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("EVENTS_SECRET_KEYS", raising=False)
    box = load_secret_box(tmp_path, production=False)
    key_file = tmp_path / DEV_KEY_FILE
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    sealed = box.seal("whsec_dev")
    assert SecretBox([key_file.read_bytes()]).open(sealed) == "whsec_dev"
    with pytest.raises(SecretsUnavailable):
        load_secret_box(tmp_path, production=True).seal("whsec_prod")


def test_production_without_keys_refuses_to_store_a_subscription(client, sender, receiver, db, monkeypatch):
    monkeypatch.delenv("EVENTS_SECRET_KEYS")
    monkeypatch.setenv("CORRESPONDENCE_ENV", "production")
    with db.transaction() as conn:
        before = conn.execute("SELECT count(*) AS n FROM event_subscriptions").fetchone()["n"]
    resp = client.post(
        EVENTS_URL,
        json={"endPoint": receiver.url, "resourceFilter": "urn:altinn:resource:test-service"},
        headers=sender,
    )
    problem = resp.get_json()
    assert resp.status_code == 503 and "EVENTS_SECRET_KEYS" in problem["detail"], problem
    with db.transaction() as conn:
        assert conn.execute("SELECT count(*) AS n FROM event_subscriptions").fetchone()["n"] == before
    monkeypatch.delenv("CORRESPONDENCE_ENV")
    monkeypatch.setenv("EVENTS_SECRET_KEYS", Fernet.generate_key().decode())
    subscribe(client, sender, receiver)
