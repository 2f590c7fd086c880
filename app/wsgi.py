"""WSGI entry point for gunicorn: `gunicorn app.wsgi:app`."""
from app import server_errors
from app.logs import configure_logging
from app.web import create_app

configure_logging()
server_errors.install()  # gunicorn's own 400/414/431 answers as problem details
app = create_app()
