"""WSGI entry point for gunicorn: `gunicorn app.wsgi:app`."""
import gc

from app.logs import configure_logging
from app.web import create_app

configure_logging()
app = create_app()
# What import and start-up built lives as long as the process: keep it out of the cyclic collector's
# generations, so that its collections (triggered by each request's garbage) stay short
# (bench/service.py: ~10 % off a 500-recipient Initialize).
gc.collect()
gc.freeze()
