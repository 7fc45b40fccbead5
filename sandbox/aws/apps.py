from django.apps import AppConfig


class SandboxAwsConfig(AppConfig):
    """The lab's AWS services (moto in server mode): one AWS account per learner."""

    name = "sandbox.aws"
    label = "sandbox_aws"
    verbose_name = "Lab AWS services"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The gateway's observers: our records of learners' resources.
        from sandbox.aws import records  # noqa: F401
