"""One token issuer's signing keys, found through its OpenID discovery document (DESIGN.md §4).

`<issuer>/.well-known/openid-configuration` names `jwks_uri`; the keys there are cached. A token
whose `kid` is not among them makes one refetch, at most once per `min_refetch_seconds`, so that a
key rotation is picked up without a restart; the keys are also refetched when older than
`max_age_seconds`, so that a removed key stops being trusted. A failing endpoint keeps the last good
keys and is tried again after `min_refetch_seconds`.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import jwt

log = logging.getLogger(__name__)

# alg → the JWK key type that can verify it
KEY_TYPE_OF_ALG = {"RS256": "RSA", "ES256": "EC"}
MAX_DOCUMENT_BYTES = 1024 * 1024

Fetch = Callable[[str], Any]


class KeysUnavailable(Exception):
    """The issuer's keys could not be fetched and none were fetched before."""


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_problem(url: str) -> str | None:
    """Why `url` may not be fetched keys from: https, or http on loopback only."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return None
    if parts.scheme == "http" and is_loopback_host(parts.hostname):
        return None
    return f"{url!r} is not an https:// URL (http:// is allowed on loopback only)"


def fetch_json(url: str, timeout: float = 5.0) -> Any:
    problem = url_problem(url)
    if problem:
        raise KeysUnavailable(problem)
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        body = response.read(MAX_DOCUMENT_BYTES + 1)
    if len(body) > MAX_DOCUMENT_BYTES:
        raise KeysUnavailable(f"{url}: the document is larger than {MAX_DOCUMENT_BYTES} bytes")
    return json.loads(body)


def keys_of_jwks(document: Any) -> list[jwt.PyJWK]:
    """The usable signing keys of a JWKS document (RS256/ES256; others and broken ones skipped)."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise KeysUnavailable("the JWKS document has no `keys` list")
    keys = []
    for data in document["keys"]:
        if not isinstance(data, dict) or data.get("use", "sig") != "sig":
            continue
        try:
            key = jwt.PyJWK(data)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as exc:
            log.info("skipping a JWKS key (%s): %s", data.get("kid"), exc)
            continue
        if key.algorithm_name in KEY_TYPE_OF_ALG:
            keys.append(key)
    return keys


class IssuerKeys:
    """The keys of one issuer; thread-safe (and gevent-safe: the lock is patched with the rest)."""

    def __init__(
        self,
        issuer: str,
        *,
        fetch: Fetch = fetch_json,
        min_refetch_seconds: float = 10.0,
        max_age_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer = issuer
        self._fetch = fetch
        self._min_refetch = min_refetch_seconds
        self._max_age = max_age_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: list[jwt.PyJWK] | None = None
        self._fetched_at = 0.0  # last successful fetch
        self._tried_at: float | None = None  # last attempt, successful or not
        self.generation = 0  # grows each time the set of keys changes

    @property
    def discovery_url(self) -> str:
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"

    def keys_for(self, kid: str | None, alg: str) -> list[Any]:
        """Keys that may have signed a token with this `kid` and `alg` (empty: none can)."""
        now = self._clock()
        if self._keys is None or now - self._fetched_at >= self._max_age:
            self._refresh(now)
        found = self._matching(kid, alg)
        if not found and kid is not None:
            self._refresh(now)  # an unknown kid: perhaps a rotation
            found = self._matching(kid, alg)
        if self._keys is None:
            raise KeysUnavailable(f"no keys could be fetched for issuer {self.issuer}")
        return found

    def _matching(self, kid: str | None, alg: str) -> list[Any]:
        wanted = KEY_TYPE_OF_ALG.get(alg)
        return [
            k.key
            for k in self._keys or []
            if k.algorithm_name == alg
            and k.key_type == wanted
            and (kid is None or k.key_id is None or k.key_id == kid)
        ]

    def _refresh(self, now: float) -> None:
        with self._lock:
            if self._tried_at is not None and now - self._tried_at < self._min_refetch:
                return  # fetched (or tried) a moment ago, perhaps by another request
            self._tried_at = now
            try:
                keys = self._load()
            except Exception as exc:  # noqa: BLE001 - any failure keeps the last good keys
                log.warning("keys of issuer %s not refreshed: %s", self.issuer, exc)
                return
            before = {(k.key_id, json.dumps(_public_numbers(k), sort_keys=True)) for k in self._keys or []}
            after = {(k.key_id, json.dumps(_public_numbers(k), sort_keys=True)) for k in keys}
            if before != after:
                self.generation += 1
            self._keys, self._fetched_at = keys, now

    def _load(self) -> list[jwt.PyJWK]:
        document = self._fetch(self.discovery_url)
        if not isinstance(document, dict):
            raise KeysUnavailable("the discovery document is not a JSON object")
        if document.get("issuer") not in (None, self.issuer):
            raise KeysUnavailable(f"the discovery document names issuer {document.get('issuer')!r}")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise KeysUnavailable("the discovery document has no jwks_uri")
        problem = url_problem(jwks_uri)
        if problem:
            raise KeysUnavailable(problem)
        return keys_of_jwks(self._fetch(jwks_uri))


def _public_numbers(key: jwt.PyJWK) -> dict[str, Any]:
    """What identifies a key's material (for change detection), not its metadata."""
    from jwt.algorithms import ECAlgorithm, RSAAlgorithm

    algorithm = RSAAlgorithm if key.key_type == "RSA" else ECAlgorithm
    data = json.loads(algorithm.to_jwk(key.key))
    return {k: v for k, v in data.items() if k in {"n", "e", "x", "y", "crv"}}
