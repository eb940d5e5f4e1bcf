from django.apps import AppConfig
from django.db.backends.signals import connection_created


class NearbyConfig(AppConfig):
    name = "apps.nearby"
    verbose_name = "Nearby"

    def ready(self):
        from .checks import sqlite_math_functions_present

        connection_created.connect(sqlite_math_functions_present, dispatch_uid="nearby-sqlite-math")
