from django.apps import AppConfig
from django.db.models.signals import post_migrate


class LearnConfig(AppConfig):
    name = "learn"
    verbose_name = "Learning"

    def ready(self) -> None:
        from learn.roles import sync_after_migrate

        # Runs after every app's permissions exist, so models added later are covered too.
        post_migrate.connect(sync_after_migrate, dispatch_uid="learn.instructors_group_sync")
