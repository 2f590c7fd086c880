FROM python:3.11-slim
WORKDIR /srv
COPY pyproject.toml setup.cfg README.md gunicorn.conf.py ./
COPY app ./app
COPY workers ./workers
RUN pip install --no-cache-dir .
ENV PYTHONUNBUFFERED=1
EXPOSE 8080
CMD ["gunicorn", "app.wsgi:app", "--bind", "0.0.0.0:8080", "--worker-class", "gthread", "--workers", "4", "--threads", "4", "--keep-alive", "0"]
