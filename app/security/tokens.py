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
from cryptography.hazmat.primitives.asymmetric import rsa

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
    """Verifies signatures against configured PEM keys, a JWKS URL and/or the dev key."""

    def __init__(
        self,
        public_keys: list[Any],
        *,
        jwks_url: str | None = None,
        issuer: str | None = None,
        audience: str | None = None,
    ) -> None:
        self._keys = public_keys
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300) if jwks_url else None
        self._issuer = issuer
        self._audience = audience
        # Verified claims by token, with their expiry, until the token expires: a client reuses its token.
        self._cache: dict[str, tuple[float, dict[str, Any]]] = {}
        self._cache_size = 4096

    @staticmethod
    def load_public_key(value: str) -> Any:
        """A PEM public key given inline or as a file path."""
        text = value if "-----BEGIN" in value else Path(value).read_text()
        return serialization.load_pem_public_key(text.encode())

    def verify(self, token: str) -> dict[str, Any]:
        cached = self._cache.get(token)
        if cached is not None:
            expires_at, claims = cached
            if expires_at > time.time():
                return claims
            self._cache.pop(token, None)
        claims = self._verify(token)
        expires_at = _numeric_dates(claims)
        if len(self._cache) >= self._cache_size:
            self._cache.clear()
        self._cache[token] = (expires_at, claims)
        return claims

    def _verify(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"malformed token: {exc}") from exc
        if header.get("alg") not in ALLOWED_ALGORITHMS:
            raise InvalidToken(f"algorithm {header.get('alg')!r} is not accepted")
        candidates = list(self._keys)
        if self._jwks is not None:
            with contextlib.suppress(jwt.PyJWTError):
                candidates.insert(0, self._jwks.get_signing_key_from_jwt(token).key)
        options: Options = {"require": ["exp"], "verify_aud": self._audience is not None}
        last: Exception | None = None
        for key in candidates:
            try:
                return jwt.decode(
                    token,
                    key,
                    algorithms=ALLOWED_ALGORITHMS,
                    issuer=self._issuer,
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
