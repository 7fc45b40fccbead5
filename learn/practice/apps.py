from django.apps import AppConfig


class PracticeConfig(AppConfig):
    """Interview prep: the question bank, quizzes, mock interviews, reviews, code challenges.

    A separate app inside learn/ so its models and migrations evolve independently of lessons.
    """

    name = "learn.practice"
    label = "practice"
    verbose_name = "Interview prep"
