"""Huikuan (回款): accounts-receivable collections for B2B companies."""

# Loaded with the package so that Celery workers and @shared_task use this app (Django's way).
from huikuan.celery import app as celery_app

__version__ = "0.1.0"
__all__ = ["__version__", "celery_app"]
