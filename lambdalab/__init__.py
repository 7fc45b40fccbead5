"""Lambda Lab: learn AWS Lambda and prepare for Lambda interviews."""

from lambdalab.celery import app as celery_app

__version__ = "0.1.0"
__all__ = ["__version__", "celery_app"]
