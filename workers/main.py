"""The Celery app of the process roles: `celery -A workers.main worker|beat` (Procfile, compose,
`correspondence run`), built from the environment's settings."""

from __future__ import annotations

from app.config import load_settings
from workers.celery_app import create_celery

app = create_celery(load_settings())
