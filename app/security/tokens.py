"""Bearer JWT verification (RS256/ES256 only) and the development signing key (DESIGN.md §4)."""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from app.security.jwks import IssuerKeys, KeysUnavailable

if TYPE_CHECKING:
    from jwt.types import Options

ALLOWED_ALGORITHMS = ["RS256", "ES256"]
TIME_CLAIMS = ("exp", "nbf", "iat")  # NumericDate (RFC 7519 §2): a JSON number, never a string


class InvalidToken(Exception):
    """Missing, malformed, wrongly signed, expired or otherwise unacceptable token."""


def load_or_create_dev_key(path: Path) -> rsa.RSAPrivateKey:
    """The service's own development signing key, created on first use (mode 0600)."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(key, rsa.RSAPrivateKey)
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    try:
        os.link(tmp, path)  # first writer wins if two processes race
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return load_or_create_dev_key(path)


def dev_key_id(key: rsa.RSAPrivateKey) -> str:
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return uuid.uuid5(uuid.NAMESPACE_OID, der.hex()).hex[:16]


def mint_token(
    key: rsa.RSAPrivateKey,
    *,
    issuer: str,
    scopes: list[str],
    org: str | None = None,
    pid: str | None = None,
    ttl_seconds: int = 3600,
    extra: dict[str, Any] | None = None,
) -> str:
    """A token shaped like an Altinn token exchanged from Maskinporten (or a person's token)."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_seconds,
        "jti": str(uuid.uuid4()),
        "scope": " ".join(scopes),
    }
    if org:
        claims["consumer"] = json.dumps({"authority": "iso6523-actorid-upis", "ID": f"0192:{org}"})
        claims["urn:altinn:orgNumber"] = org
    if pid:
        claims["pid"] = pid
    if extra:
        claims.update(extra)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": dev_key_id(key)})


class TokenVerifier:
    """Verifies a token with its own issuer's keys (`issuers`: OpenID discovery), else with the
    configured PEM keys, a JWKS URL and/or the development key under the legacy issuer check."""

    def __init__(
        self,
        public_keys: list[Any],
        *,
        jwks_url: str | None = None,
        issuer: str | None = None,
        audience: str | list[str] | None = None,
        issuers: list[IssuerKeys] | None = None,
    ) -> None:
        self._keys = public_keys
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300) if jwks_url else None
        self._issuer = issuer
        self._audience = [audience] if isinstance(audience, str) else audience or None
        self._issuers = {i.issuer: i for i in issuers or []}
        # Verified claims by token, with their expiry, until the token expires: a client reuses its
        # token. An entry is good only while its issuer's keys are those it was verified with.
        self._cache: dict[str, tuple[float, int, dict[str, Any]]] = {}
        self._cache_size = 4096

    @staticmethod
    def load_public_key(value: str) -> Any:
        """A PEM public key given inline or as a file path."""
        text = value if "-----BEGIN" in value else Path(value).read_text()
        return serialization.load_pem_public_key(text.encode())

    @property
    def has_keys(self) -> bool:
        return bool(self._keys or self._jwks or self._issuers)

    def _generation(self, claims: dict[str, Any]) -> int:
        keys = self._issuers.get(claims.get("iss"))  # type: ignore[arg-type]
        return keys.generation if keys is not None else 0

    def verify(self, token: str) -> dict[str, Any]:
        cached = self._cache.get(token)
        if cached is not None:
            expires_at, generation, claims = cached
            if expires_at > time.time() and generation == self._generation(claims):
                return claims
            self._cache.pop(token, None)
        claims = self._verify(token)
        expires_at = _numeric_dates(claims)
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[token] = (expires_at, self._generation(claims), claims)
        return claims

    def _verify(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"malformed token: {exc}") from exc
        alg = header.get("alg")
        if alg not in ALLOWED_ALGORITHMS:
            raise InvalidToken(f"algorithm {alg!r} is not accepted")
        kid = header.get("kid") if isinstance(header.get("kid"), str) else None
        iss = unverified.get("iss")
        issuer_keys = self._issuers.get(iss) if isinstance(iss, str) else None
        if issuer_keys is not None:
            try:
                candidates = issuer_keys.keys_for(kid, alg)
            except KeysUnavailable as exc:
                raise InvalidToken(str(exc)) from exc
            return self._decode(token, candidates, issuer_keys.issuer)
        if not (self._keys or self._jwks):
            raise InvalidToken(f"issuer {iss!r} is not accepted")
        candidates = [k for k in self._keys if _fits(k, alg)]
        if self._jwks is not None:
            with contextlib.suppress(jwt.PyJWTError):
                candidates.insert(0, self._jwks.get_signing_key_from_jwt(token).key)
        return self._decode(token, candidates, self._issuer)

    def _decode(self, token: str, candidates: list[Any], issuer: str | None) -> dict[str, Any]:
        options: Options = {"require": ["exp"], "verify_aud": self._audience is not None}
        last: Exception | None = None
        for key in candidates:
            try:
                return jwt.decode(
                    token,
                    key,
                    algorithms=ALLOWED_ALGORITHMS,
                    issuer=issuer,
                    audience=self._audience,
                    options=options,
                    leeway=0,
                )
            except jwt.InvalidSignatureError as exc:
                last = exc
                continue
            except (jwt.PyJWTError, ValueError, TypeError) as exc:
                raise InvalidToken(str(exc)) from exc
        raise InvalidToken(f"signature not verified: {last}" if last else "no key to verify with")


def _fits(key: Any, alg: str) -> bool:
    """A key of the type the algorithm needs (an RSA key cannot check ES256, nor an EC key RS256)."""
    if alg == "RS256":
        return isinstance(key, rsa.RSAPublicKey)
    if alg == "ES256":
        return isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)
    return False


def _numeric_dates(claims: dict[str, Any]) -> float:
    """`exp` as a float, once `exp`, `nbf` and `iat` (when present) are finite JSON numbers.

    PyJWT reads these claims with `int()`, so it accepts `"exp": "1790000000"`; RFC 7519 does not.
    """
    for name in TIME_CLAIMS:
        if name not in claims:
            continue
        value = claims[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise InvalidToken(f"the {name} claim is not a number")
        try:
            if not math.isfinite(float(value)):
                raise InvalidToken(f"the {name} claim is not a finite number")
        except OverflowError:
            raise InvalidToken(f"the {name} claim is out of range") from None
    return float(claims["exp"])
