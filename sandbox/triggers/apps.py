from django.apps import AppConfig


class SandboxTriggersConfig(AppConfig):
    """What runs learners' functions besides a direct invoke: event source mappings (SQS) and
    the other triggers of the lab's AWS services."""

    name = "sandbox.triggers"
    label = "sandbox_triggers"
    verbose_name = "Triggers"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from sandbox.api import services as api_services
        from sandbox.aws import rebuild
        from sandbox.triggers import services

        rebuild.rebuild_also(
            "triggers", lambda account_id: services.triggers_rebuild(account_id=account_id)
        )
        api_services.on_retry(services.invocation_trigger_carry)
