"""Production refuses an unsafe identity setup (DESIGN.md §4): no issuer or key, or the development
key asked for. The web process, `correspondence run` and `correspondence token` say why and stop."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.web import UnsafeIdentitySetup, create_app

ROOT = Path(__file__).resolve().parents[2]
IDENTITY_VARIABLES = (
    "JWT_ISSUERS",
    "JWKS_URL",
    "JWT_PUBLIC_KEYS",
    "JWT_ISSUER",
    "DEV_TOKENS",
    "JWT_AUDIENCE",
)


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in IDENTITY_VARIABLES}
    env.update(
        CORRESPONDENCE_ENV="production",
        CORRESPONDENCE_DATA_DIR=str(tmp_path / "data"),
        PYTHONPATH=str(ROOT),
        **extra,
    )
    return env


def cli(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from app.cli import main; main()", *args],
        env=production_env(tmp_path, **extra),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_run_without_keys_does_not_start_and_names_the_variables(tmp_path):
    result = cli(tmp_path, "run", "--port", "0")
    assert result.returncode != 0
    assert (
        "JWT_ISSUERS" in result.stderr and "JWKS_URL" in result.stderr and "JWT_PUBLIC_KEYS" in result.stderr
    )
    assert not (tmp_path / "data").exists()  # nothing started, not even the data folder


def test_run_with_dev_tokens_in_production_refuses(tmp_path):
    result = cli(tmp_path, "run", "--port", "0", DEV_TOKENS="true", JWT_ISSUERS="https://maskinporten.no/")
    assert result.returncode != 0
    assert "DEV_TOKENS" in result.stderr


def test_token_refuses_in_production_and_creates_no_key(tmp_path):
    result = cli(tmp_path, "token", "--org", "991825827", JWT_ISSUERS="https://maskinporten.no/")
    assert result.returncode != 0
    assert "production" in result.stderr
    assert not list(tmp_path.rglob("*.pem"))


def test_the_web_process_does_not_start_and_says_why(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(ROOT / "gunicorn.conf.py"),
            "--bind",
            "127.0.0.1:0",
            "app.wsgi:app",
        ],
        env=production_env(tmp_path, DATABASE_URL="postgresql://127.0.0.1:1/none"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "refusing to start" in result.stderr and "JWT_ISSUERS" in result.stderr


def test_create_app_refuses_too(settings):
    with pytest.raises(UnsafeIdentitySetup, match="JWT_ISSUERS"):
        create_app(dataclasses.replace(settings, environment="production", dev_keys=False))
    with pytest.raises(UnsafeIdentitySetup, match="DEV_TOKENS"):
        create_app(
            dataclasses.replace(settings, environment="production", issuers=["https://maskinporten.no/"])
        )


def test_production_never_turns_the_dev_key_on_by_default(monkeypatch):
    from app.config import load_settings

    for name in IDENTITY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CORRESPONDENCE_ENV", "production")
    assert load_settings().dev_keys is False
    monkeypatch.setenv("CORRESPONDENCE_ENV", "development")
    assert load_settings().dev_keys is True
    monkeypatch.setenv(
        "JWT_ISSUERS", "https://maskinporten.no/, https://platform.altinn.no/authentication/api/v1/openid/"
    )
    settings = load_settings()
    assert settings.dev_keys is False
    assert settings.issuers == [
        "https://maskinporten.no/",
        "https://platform.altinn.no/authentication/api/v1/openid/",
    ]


def test_a_plain_http_issuer_beyond_loopback_is_refused(settings):
    with pytest.raises(UnsafeIdentitySetup, match="https"):
        create_app(dataclasses.replace(settings, issuers=["http://issuer.example/"]))
