"""Webhook signing secrets at rest (docs/sending.md "Events to subscribers"): encrypted with Fernet.

`EVENTS_SECRET_KEYS` holds Fernet keys (`Fernet.generate_key()`: 32 url-safe base64 bytes), comma
separated: the first encrypts, every one decrypts (cryptography's MultiFernet), so a key is rotated
by putting the new one first, re-encrypting (`correspondence events reseal-secrets`), then dropping
the old one. Without it, development uses a key of its own kept under the data folder
(`keys/events-secret.key`, mode 0600, like the development signing key); production has none, and
a subscription is then refused (503) rather than stored with a clear-text secret.

A stored value is `fernet:<token>`; a value without that prefix is a secret stored in clear before
encryption came (`whsec_…`) and is read as it is until it is resealed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

ENV = "EVENTS_SECRET_KEYS"
SEALED = "fernet:"
DEV_KEY_FILE = Path("keys") / "events-secret.key"


class SecretsUnavailable(RuntimeError):
    """No usable key: a secret can be neither sealed nor, if sealed, opened."""


class SecretBox:
    def __init__(self, keys: Sequence[bytes | str] = (), problem: str | None = None) -> None:
        self._fernet: MultiFernet | None = None
        self.problem = problem
        if problem is None and not keys:
            self.problem = f"{ENV} is not set (production keeps no key of its own)"
        if self.problem is None:
            try:
                self._fernet = MultiFernet([Fernet(key) for key in keys])
            except (ValueError, TypeError):
                self.problem = f"{ENV}: every key must be a Fernet key (32 url-safe base64-encoded bytes)"

    def seal(self, secret: str) -> str:
        return SEALED + self._keys().encrypt(secret.encode()).decode()

    def open(self, stored: str) -> str:
        if not stored.startswith(SEALED):
            return stored  # stored in clear before secrets were encrypted
        try:
            return self._keys().decrypt(stored[len(SEALED) :].encode()).decode()
        except InvalidToken:
            raise SecretsUnavailable(f"a webhook secret was sealed with a key {ENV} does not hold") from None

    def reseal(self, stored: str) -> str:
        """The value sealed with the first key (a clear one sealed; one sealed with an older key again)."""
        if not stored.startswith(SEALED):
            return self.seal(stored)
        try:
            return SEALED + self._keys().rotate(stored[len(SEALED) :].encode()).decode()
        except InvalidToken:
            raise SecretsUnavailable(f"a webhook secret was sealed with a key {ENV} does not hold") from None

    def _keys(self) -> MultiFernet:
        if self._fernet is None:
            raise SecretsUnavailable(f"webhook secrets cannot be encrypted: {self.problem}")
        return self._fernet


def load_secret_box(data_dir: Path, production: bool) -> SecretBox:
    """The keys of EVENTS_SECRET_KEYS; else, outside production, the data folder's own key."""
    keys = [k.strip() for k in os.environ.get(ENV, "").split(",") if k.strip()]
    return _box(tuple(keys), None if keys or production else data_dir.resolve())


@lru_cache(maxsize=8)
def _box(keys: tuple[str, ...], data_dir: Path | None) -> SecretBox:
    if keys or data_dir is None:
        return SecretBox(keys)
    return SecretBox([load_or_create_key(data_dir / DEV_KEY_FILE)])


def load_or_create_key(path: Path) -> bytes:
    """A Fernet key kept in `path` (mode 0600), created on first use; the first writer wins a race."""
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(Fernet.generate_key())
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_bytes().strip()
