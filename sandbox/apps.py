from django.apps import AppConfig


class SandboxConfig(AppConfig):
    name = "sandbox"
    verbose_name = "Sandbox"

    def ready(self) -> None:
        # Connects the Celery worker signals (jail check, stale sweep, heartbeat).
        from sandbox import worker  # noqa: F401
