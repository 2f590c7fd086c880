"""WSGI entry point for gunicorn: `gunicorn app.wsgi:app`."""

import gc

from app import server_errors
from app.logs import configure_logging
from app.web import create_app

configure_logging()
server_errors.install()  # gunicorn's own 400/414/431 answers as problem details
app = create_app()
# What import and start-up built lives as long as the process: keep it out of the cyclic collector's
# generations, so that its collections (triggered by each request's garbage) stay short
# (bench/service.py: ~10 % off a 500-recipient Initialize).
gc.collect()
gc.freeze()
