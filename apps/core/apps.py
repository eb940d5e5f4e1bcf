from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    verbose_name = "Core"

    def ready(self):
        from .logs import access_log_without_query_strings

        # The ASGI server configured its loggers before it loaded the site; each worker process
        # loads it, so every worker's access log is covered.
        access_log_without_query_strings()
