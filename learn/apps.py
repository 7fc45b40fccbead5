from django.apps import AppConfig
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save


class LearnConfig(AppConfig):
    name = "learn"
    verbose_name = "Learning"

    def ready(self) -> None:
        from learn.roles import sync_after_migrate

        # Runs after every app's permissions exist, so models added later are covered too.
        post_migrate.connect(sync_after_migrate, dispatch_uid="learn.instructors_group_sync")

        from learn.models import Lesson, Module
        from learn.services.content_cache import content_generation_bump

        # Cached lesson pages carry the content generation in their keys (learn.selectors).
        for model in (Lesson, Module):
            for signal in (post_save, post_delete):
                signal.connect(
                    content_generation_bump,
                    sender=model,
                    dispatch_uid=f"learn.bump.{model.__name__}.{id(signal)}",
                )
        m2m_changed.connect(
            content_generation_bump,
            sender=Lesson.prerequisites.through,
            dispatch_uid="bump-prerequisites",
        )
