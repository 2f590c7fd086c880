"""The per-process copy of resources and parties Initialize reads (app/db/registry_cache.py)."""

from __future__ import annotations

from app.db.registry_cache import RegistryCache, registry_changed
from app.domain.registry import Party, Resource

RESOURCE = Resource("svc", "991825827", None, None, "CorrespondenceService", {"nb": "Tjeneste"})
KARI = Party("urn:altinn:person:identifier-no:1", "Kari", ["kari@example.no"])
UNKNOWN = "urn:altinn:organization:identifier-no:310000001"


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_what_was_read_is_held_for_the_ttl_and_no_longer():
    clock = Clock()
    cache = RegistryCache(5, clock)
    cache.remember(RESOURCE, [KARI.urn], {KARI.urn: KARI})
    clock.now += 4.9
    assert cache.resource("svc") == RESOURCE
    assert cache.parties([KARI.urn]) == {KARI.urn: KARI}
    clock.now += 0.2
    assert cache.resource("svc") is None
    assert cache.parties([KARI.urn]) is None


def test_an_unknown_recipient_is_held_as_unknown_and_an_urn_never_read_is_a_miss():
    cache = RegistryCache(5, Clock())
    cache.remember(RESOURCE, [KARI.urn, UNKNOWN], {KARI.urn: KARI})
    assert cache.parties([UNKNOWN, KARI.urn]) == {KARI.urn: KARI}
    assert cache.parties([KARI.urn, "urn:altinn:person:identifier-no:2"]) is None


def test_an_unknown_resource_is_not_held():
    cache = RegistryCache(5, Clock())
    cache.remember(None, [], {})
    assert cache.resource("svc") is None


def test_a_registry_change_in_this_process_empties_every_cache():
    first, second = RegistryCache(60, Clock()), RegistryCache(60, Clock())
    for cache in (first, second):
        cache.remember(RESOURCE, [KARI.urn], {KARI.urn: KARI})
    registry_changed()
    for cache in (first, second):
        assert cache.resource("svc") is None
        assert cache.parties([KARI.urn]) is None


def test_a_full_cache_starts_over_instead_of_growing(monkeypatch):
    monkeypatch.setattr(RegistryCache, "MAX_ENTRIES", 2)
    cache = RegistryCache(60, Clock())
    urns = [f"urn:altinn:person:identifier-no:{i}" for i in range(4)]
    for urn in urns:
        cache.remember(None, [urn], {})
    assert len(cache._parties) <= 3
    assert cache.parties([urns[-1]]) == {}
