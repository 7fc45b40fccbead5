from django.apps import AppConfig


class CohortsConfig(AppConfig):
    """Instructors' cohorts: membership by join code, assignments, sandbox quotas.

    A separate app inside learn/ so its models and migrations evolve on their own.
    """

    name = "learn.cohorts"
    label = "cohorts"
    verbose_name = "Cohorts"
