from django.apps import AppConfig


class StudyConfig(AppConfig):
    """Study sessions, time on task, the daily goal and streak, and the learner's time zone.

    A separate app inside learn/ so its models and migrations evolve independently of lessons.
    """

    name = "learn.study"
    label = "study"
    verbose_name = "Study sessions"

    def ready(self) -> None:
        from learn.study import signals  # noqa: F401  (connects the login and day-total handlers)
