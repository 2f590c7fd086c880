"""Subscriptions API (Altinn Events' shape), validation handshake, SSRF refusals (issue 13 items 2, 4)."""

from __future__ import annotations

import base64

import pytest

from app.domain.endpoints import EndpointRefused, resolve_endpoint
from tests.conftest import READ
from tests.events.conftest import EVENTS_URL, deliver, subscribe, subscribe_active
from tests.lifecycle.helpers import PERSON_PID, recipient_headers


def test_subscribe_validate_list_get_delete(client, sender, receiver, db):
    body = subscribe(client, sender, receiver, typeFilter="no.altinn.correspondence.correspondencepublished")
    assert body["secret"].startswith("whsec_") and len(base64.b64decode(body["secret"][6:])) == 32
    assert body["status"] == "pending" and body["resourceFilter"] == "urn:altinn:resource:test-service"
    assert body["createdBy"] == "sender"
    deliver(db)
    [validation] = receiver.events("validatesubscription")
    assert validation["event"]["type"] == "platform.events.validatesubscription" and validation["valid"]
    assert validation["headers"]["content-type"] == "application/cloudevents+json"
    assert validation["headers"]["webhook-id"] == validation["event"]["id"]
    one = client.get(f"{EVENTS_URL}/{body['id']}", headers=sender).get_json()
    assert one["status"] == "active" and one["validated"] and "secret" not in one
    listed = client.get(EVENTS_URL, headers=sender).get_json()
    assert [s["id"] for s in listed["subscriptions"]] == [body["id"]]
    assert client.delete(f"{EVENTS_URL}/{body['id']}", headers=sender).status_code == 204
    assert client.get(f"{EVENTS_URL}/{body['id']}", headers=sender).status_code == 404


def test_validation_not_answered_2xx_keeps_it_pending(client, sender, receiver, db):
    receiver.answer = lambda event: 500
    body = subscribe(client, sender, receiver)
    deliver(db, budget=0.5)
    one = client.get(f"{EVENTS_URL}/{body['id']}", headers=sender).get_json()
    assert one["status"] == "pending" and one["deliveries"]["pending"] == 1


def test_sender_only_for_own_resources_recipient_only_own_subject(client, sender, tokens, receiver, db):
    resp = client.post(
        EVENTS_URL,
        json={"endPoint": receiver.url, "resourceFilter": "urn:altinn:resource:other-owner-service"},
        headers=sender,
    )
    assert resp.status_code == 403
    recipient = recipient_headers(tokens)
    other = f"urn:altinn:person:identifier-no:{PERSON_PID[:-1]}0"
    resp = client.post(
        EVENTS_URL,
        json={
            "endPoint": receiver.url,
            "resourceFilter": "urn:altinn:resource:test-service",
            "subjectFilter": other,
        },
        headers=recipient,
    )
    assert resp.status_code == 403
    mine = subscribe(client, recipient, receiver)
    assert mine["subjectFilter"] == f"urn:altinn:person:identifier-no:{PERSON_PID}"
    assert mine["createdBy"] == "recipient"
    # Someone else's subscription is not there for them.
    assert client.get(f"{EVENTS_URL}/{mine['id']}", headers=sender).status_code == 404
    assert client.delete(f"{EVENTS_URL}/{mine['id']}", headers=sender).status_code == 404
    no_scope = tokens.headers(scopes=("altinn:something.else",))
    assert client.get(EVENTS_URL, headers=no_scope).status_code == 403
    assert client.get(EVENTS_URL).status_code == 401


@pytest.mark.parametrize(
    "body",
    [
        {"endPoint": "http://example.com/hook", "resourceFilter": "test-service"},
        {
            "endPoint": "http://example.com/hook",
            "resourceFilter": "urn:altinn:resource:test-service",
            "typeFilter": "no.altinn.correspondence.nosuchevent",
        },
        {"resourceFilter": "urn:altinn:resource:test-service"},
    ],
)
def test_malformed_subscriptions_are_400(client, sender, body, events_env):
    assert client.post(EVENTS_URL, json=body, headers=sender).status_code == 400


@pytest.mark.parametrize(
    "end_point",
    [
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "gopher://127.0.0.1/",
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.1/",
        "http://172.16.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[fe80::1]/",
        "http://0.0.0.0/",
        "http://[::ffff:127.0.0.1]/",
        "http://100.64.0.1/",
        "http://user:pw@example.com/",
    ],
)
def test_ssrf_refused_at_subscribe(client, sender, end_point, monkeypatch):
    monkeypatch.delenv("EVENTS_ALLOW_PRIVATE_ENDPOINTS", raising=False)
    resp = client.post(
        EVENTS_URL,
        json={"endPoint": end_point, "resourceFilter": "urn:altinn:resource:test-service"},
        headers=sender,
    )
    assert resp.status_code == 400, end_point
    assert "endPoint" in resp.get_json()["detail"]


def test_ssrf_checked_on_every_resolved_address():
    def rebinding(host, port):
        return ["93.184.216.34", "10.0.0.7"]

    with pytest.raises(EndpointRefused, match="private"):
        resolve_endpoint("https://hooks.example.com/x", allow_private=False, resolver=rebinding)
    ok = resolve_endpoint(
        "https://hooks.example.com/x?a=1", allow_private=False, resolver=lambda h, p: ["93.184.216.34"]
    )
    assert (ok.host, ok.port, ok.path, ok.addresses) == (
        "hooks.example.com",
        443,
        "/x?a=1",
        ("93.184.216.34",),
    )


def test_ssrf_checked_again_at_delivery_and_redirects_not_followed(client, sender, receiver, db, monkeypatch):
    body = subscribe_active(client, sender, receiver, db)
    from workers.gateways.webhooks import post_event

    monkeypatch.delenv("EVENTS_ALLOW_PRIVATE_ENDPOINTS")
    refused = post_event(receiver.url, body["secret"], {"id": "x"}, allow_private=False)
    assert not refused.ok and "loopback" in refused.error
    receiver.answer = lambda event: 302
    moved = post_event(receiver.url, body["secret"], {"id": "y"}, allow_private=True)
    assert moved.status == 302 and not moved.ok
    assert [r["path"] for r in receiver.received if r["event"]["id"] == "y"] == ["/hook"]


def test_read_scope_caller_without_party_cannot_subscribe(client, tokens, receiver):
    headers = tokens.headers(org=None, pid=None, scopes=(READ,))
    resp = client.post(
        EVENTS_URL,
        json={"endPoint": receiver.url, "resourceFilter": "urn:altinn:resource:test-service"},
        headers=headers,
    )
    assert resp.status_code == 403
