import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "neighborhood.settings")

app = Celery("neighborhood")
# Every CELERY_* setting lives in neighborhood/settings.py, read from the environment there.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
