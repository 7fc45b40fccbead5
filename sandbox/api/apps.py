from django.apps import AppConfig


class SandboxApiConfig(AppConfig):
    """The Lambda REST API (2015-03-31) for boto3 and the AWS CLI, and learners' access keys."""

    name = "sandbox.api"
    label = "sandbox_api"
    verbose_name = "Lambda API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Connects the hook that follows asynchronous invocations' attempts (task_postrun).
        from sandbox.api import tasks  # noqa: F401
        from sandbox.api.views import answer_from_gateway
        from sandbox.aws.calls import answer_lambda

        # Handlers' calls to the `lambda` service: the gateway verifies and authorises them,
        # this API answers them.
        answer_lambda(answer_from_gateway)
