"""The Flask application factory: configuration, services, blueprints, OpenAPI, error handling."""

from __future__ import annotations

import importlib.util
import logging
import threading
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, g, send_from_directory
from flask.json.provider import DefaultJSONProvider
from flask_smorest import Api

from app.api import (
    attachments,
    correspondences,
    download_all,
    health,
    lifecycle,
    notification_checks,
    observability,
    rate_limit,
)
from app.api import events as events_api
from app.api.blueprint import serve_plain_views
from app.api.problems import register_error_handlers, request_id
from app.config import DEV_ISSUER, Settings, load_settings
from app.db.pool import Database
from app.db.registry_cache import RegistryCache
from app.security.jwks import IssuerKeys
from app.security.tokens import TokenVerifier, load_or_create_dev_key
from workers.broker import Broker

if TYPE_CHECKING:
    from celery import Celery

log = logging.getLogger(__name__)

API_DESCRIPTION = (
    "The Altinn Correspondence API. Every error is `application/problem+json` (RFC 7807), except 406 "
    "(text/plain) and error 3023 (a JSON string). Rules no single schema keyword states: property names "
    "are case-insensitive and enums are read by name or number; text may not contain NUL (U+0000) or "
    "unpaired surrogates; JSON bodies nest at most 64 levels and are at most MAX_REQUEST_BYTES (413); "
    "lists and maps carry the maxItems/maxProperties shown (docs/operating.md, Limits)."
)
SWAGGER_UI_ASSETS = "/docs/assets/"


def swagger_ui_dist() -> Path:
    """The Swagger UI files shipped by the pinned flask-swagger-ui package (setup.cfg)."""
    spec = importlib.util.find_spec("flask_swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("flask-swagger-ui is not installed (it carries Swagger UI's files for /docs)")
    return Path(next(iter(spec.submodule_search_locations))) / "dist"


@dataclass
class Services:
    settings: Settings
    db: Database
    verifier: TokenVerifier
    # Resources and parties Initialize read lately (None: read every time).
    registry_cache: RegistryCache | None = None
    # Slots for `Prefer: wait` requests waiting at once in this process.
    waiters: threading.BoundedSemaphore = field(default_factory=lambda: threading.BoundedSemaphore(16))

    def check_database(self) -> None:
        with self.db.transaction() as conn:
            conn.execute("SELECT 1")

    @cached_property
    def celery(self) -> Celery:
        """The Celery app this web process publishes through (built on first use)."""
        from workers.celery_app import create_celery

        return create_celery(self.settings)

    def check_broker(self) -> None:
        if not self.settings.broker_url:
            raise RuntimeError("neither BROKER_URL nor REDIS_URL is configured")
        Broker(self.settings.broker_url).ping()


class UnsafeIdentitySetup(RuntimeError):
    """The identity configuration may not serve (production without real keys, or with dev keys)."""


def build_verifier(settings: Settings) -> TokenVerifier:
    problems = settings.identity_problems()
    if problems:
        raise UnsafeIdentitySetup(f"refusing to start ({settings.environment}): " + "; ".join(problems))
    keys: list[Any] = [TokenVerifier.load_public_key(k) for k in settings.public_keys]
    issuer = settings.issuer
    if settings.dev_keys:
        keys.append(load_or_create_dev_key(settings.dev_key_path).public_key())
        if issuer is None and not settings.public_keys and not settings.jwks_url:
            issuer = DEV_ISSUER
    issuers = [
        IssuerKeys(
            url,
            min_refetch_seconds=settings.jwks_min_refetch_seconds,
            max_age_seconds=settings.jwks_max_age_seconds,
        )
        for url in settings.issuers
    ]
    return TokenVerifier(
        keys, jwks_url=settings.jwks_url, issuer=issuer, audience=settings.audiences, issuers=issuers
    )


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or load_settings()
    if not settings.database_url:
        raise RuntimeError("DATABASE_URL is not set (use `correspondence run` for the embedded default)")
    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        API_TITLE="Correspondence dispatch service",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        API_SPEC_OPTIONS={"info": {"description": API_DESCRIPTION}},
        # Swagger UI's files come from a pinned package and are served here: /docs works offline.
        OPENAPI_SWAGGER_UI_URL=SWAGGER_UI_ASSETS,
        # No validator badge: it would ask validator.swagger.io about the spec.
        OPENAPI_SWAGGER_UI_CONFIG={"validatorUrl": None},
        JSON_SORT_KEYS=False,
    )
    assert isinstance(app.json, DefaultJSONProvider)  # Flask's own provider: the one with sort_keys
    app.json.sort_keys = False
    app.extensions["correspondence"] = Services(
        settings=settings,
        db=Database(settings.database_url, settings.db_pool_max),
        verifier=build_verifier(settings),
        waiters=threading.BoundedSemaphore(max(settings.max_waiters, 1)),
        registry_cache=RegistryCache(settings.registry_cache_seconds)
        if settings.registry_cache_seconds > 0
        else None,
    )
    api = Api(
        app,
        spec_kwargs={
            "components": {
                "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
            }
        },
    )
    api.DEFAULT_ERROR_RESPONSE_NAME = None  # errors are documented per status, as problem+json
    api.register_blueprint(correspondences.blp)
    serve_plain_views(app, correspondences.blp)
    api.register_blueprint(lifecycle.blp)
    api.register_blueprint(attachments.blp)
    api.register_blueprint(download_all.blp)
    api.register_blueprint(notification_checks.blp)
    api.register_blueprint(health.blp)
    api.register_blueprint(events_api.blp)
    register_error_handlers(app)
    dist = swagger_ui_dist()

    @app.get(SWAGGER_UI_ASSETS + "<path:filename>")
    def swagger_ui_asset(filename: str) -> Response:
        return send_from_directory(dist, filename, max_age=86400)

    observability.init_app(app)  # request id in logs, access log, /metrics
    rate_limit.init_app(app, settings.redis_url)  # off unless RATE_LIMIT_PER_SECOND is set

    @app.after_request
    def _common_headers(response: Response) -> Response:
        response.headers["X-Request-Id"] = getattr(g, "request_id", None) or request_id()
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Cache-Control", "no-store")
        if response.status_code in (204, 304):  # no content, so no Content-Type (Flask adds text/html)
            response.headers.pop("Content-Type", None)
        return response

    return app
