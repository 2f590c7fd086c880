"""A short-lived copy, per process, of the registry rows Initialize reads (resources and parties).

Initialize reads its resource and its recipients' parties on every request; they change only when
the registry is loaded (`correspondence registry load`, `seed-demo`). A copy kept for a few seconds
(REGISTRY_CACHE_SECONDS, 5 by default; 0 turns it off) spares the common request its read round
trip. A registry load in this process empties every copy at once (`registry_changed`); one in another
process is seen here within the TTL: the real service caches its Register and Resource Registry
answers the same way.

An unknown recipient is remembered as unknown for as long (it is a recipient without a name or
contact points, not an error); an unknown resource is not kept (its answer is an error, read again
each time). Holds no SQL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Final

from app.domain.registry import Party, Resource

_generation = 0
_generation_lock = threading.Lock()


def registry_changed() -> None:
    """The registry was written in this process: every cache forgets what it holds."""
    global _generation
    with _generation_lock:
        _generation += 1


class RegistryCache:
    """Resources and parties by key, each kept `ttl_seconds` from when it was read."""

    MAX_ENTRIES: Final = 100_000

    def __init__(self, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl_seconds
        self._clock = clock
        self._generation = _generation
        self._resources: dict[str, tuple[float, Resource]] = {}
        self._parties: dict[str, tuple[float, Party | None]] = {}

    def _forget_if_changed(self) -> None:
        """A registry change in this process empties the copy."""
        if self._generation != _generation:
            self._generation = _generation
            self._resources = {}
            self._parties = {}

    def _fresh_since(self) -> float:
        """Entries read before this instant are stale."""
        self._forget_if_changed()
        return self._clock() - self.ttl

    def resource(self, resource_id: str) -> Resource | None:
        since = self._fresh_since()
        entry = self._resources.get(resource_id)
        if entry is None or entry[0] < since:
            return None
        return entry[1]

    def parties(self, urns: Iterable[str]) -> dict[str, Party] | None:
        """The parties of `urns` that exist, or None when any urn is not held (or is stale)."""
        since = self._fresh_since()
        found: dict[str, Party] = {}
        table = self._parties
        for urn in urns:
            entry = table.get(urn)
            if entry is None or entry[0] < since:
                return None
            if entry[1] is not None:
                found[urn] = entry[1]
        return found

    def remember(self, resource: Resource | None, urns: Iterable[str], parties: dict[str, Party]) -> None:
        """What one read found: the resource (if any), and for each urn read its party or None."""
        self._forget_if_changed()
        now = self._clock()
        if len(self._parties) > self.MAX_ENTRIES or len(self._resources) > self.MAX_ENTRIES:
            self._resources, self._parties = {}, {}
        if resource is not None:
            self._resources[resource.id] = (now, resource)
        for urn in urns:
            self._parties[urn] = (now, parties.get(urn))
