"""The Celery side: celery app, queues, tasks, gateways to other systems."""
