"""WSGI entry point for gunicorn: `gunicorn app.wsgi:app`."""
from app.logs import configure_logging
from app.web import create_app

configure_logging()
app = create_app()
