"""Interview prep data: the question bank (versioned), attempts and answers, FSRS cards, code
challenge submissions and each learner's target interview date.

Everything a learner does is stored as rows so instructors can analyse it; uniqueness
constraints, not checks in code, are what stop a double submit from counting twice.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from learn.models import Lesson, TimeStampedModel


class QuestionType(models.TextChoices):
    SINGLE = "single", "Single choice"
    MULTIPLE = "multiple", "Multiple choice"
    TRUE_FALSE = "true_false", "True or false"
    NUMERIC = "numeric", "Numeric"
    SHORT = "short", "Short answer"
    CODE = "code", "Code challenge"


CLOSED_TYPES = frozenset(
    {QuestionType.SINGLE, QuestionType.MULTIPLE, QuestionType.TRUE_FALSE, QuestionType.NUMERIC}
)


class Difficulty(models.TextChoices):
    EASY = "easy", "Easy"
    MEDIUM = "medium", "Medium"
    HARD = "hard", "Hard"


class Tag(models.Model):
    """A topic; questions carry several and readiness is reported per tag."""

    slug = models.SlugField(unique=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    @property
    def label(self) -> str:
        return self.slug.replace("-", " ")


class Question(TimeStampedModel):
    """A stable question identity (its slug); what it says lives in its versions."""

    slug = models.SlugField(unique=True)
    type = models.CharField(max_length=16, choices=QuestionType.choices)
    lesson = models.ForeignKey(Lesson, on_delete=models.PROTECT, related_name="questions")
    difficulty = models.CharField(max_length=8, choices=Difficulty.choices)
    interview = models.BooleanField(
        default=False, help_text="One of the course brief's eight interview questions."
    )
    title = models.CharField(
        max_length=120, blank=True, help_text="Short name shown in lists; code challenges have one."
    )
    tags = models.ManyToManyField(Tag, related_name="questions", blank=True)
    current_version = models.ForeignKey(
        "QuestionVersion",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    source_path = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["lesson__module__order", "lesson__order", "slug"]

    def __str__(self) -> str:
        return self.title or self.slug

    @property
    def is_closed(self) -> bool:
        return self.type in CLOSED_TYPES


class QuestionVersion(models.Model):
    """What a question said at one point in time, keyed by a digest of its source.

    Attempts point at a version, so editing a question never changes what old attempts show.
    """

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    content_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    prompt_markdown = models.TextField()
    prompt_html = models.TextField()
    explanation_markdown = models.TextField(blank=True)
    explanation_html = models.TextField(blank=True)
    # true_false
    answer_bool = models.BooleanField(null=True, blank=True)
    # numeric: Decimal, so that "within ± tolerance" is exact at the edges.
    numeric_answer = models.DecimalField(max_digits=24, decimal_places=10, null=True, blank=True)
    numeric_tolerance = models.DecimalField(max_digits=24, decimal_places=10, null=True, blank=True)
    numeric_unit = models.CharField(max_length=40, blank=True)
    # code
    handler = models.CharField(max_length=100, blank=True)
    starter_code = models.TextField(blank=True)
    solution_code = models.TextField(blank=True)
    budget_billed_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    budget_max_memory_mb = models.PositiveIntegerField(null=True, blank=True)
    # A lab challenge's resources, role and trigger (sandbox.labs); its tests are steps and
    # expectations, graded through the real trigger.
    lab = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["question", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["question", "content_hash"], name="practice_version_unique_hash"
            ),
            models.UniqueConstraint(
                fields=["question", "number"], name="practice_version_unique_number"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.question.slug} v{self.number}"


class Choice(models.Model):
    version = models.ForeignKey(QuestionVersion, on_delete=models.CASCADE, related_name="choices")
    order = models.PositiveSmallIntegerField()
    text = models.TextField()
    text_html = models.TextField()
    correct = models.BooleanField(default=False)
    why = models.TextField(blank=True)

    class Meta:
        ordering = ["version", "order"]
        constraints = [
            models.UniqueConstraint(fields=["version", "order"], name="practice_choice_order")
        ]

    def __str__(self) -> str:
        return self.text


class KeyPoint(models.Model):
    """What a good short answer must mention; the learner self-grades against these."""

    version = models.ForeignKey(
        QuestionVersion, on_delete=models.CASCADE, related_name="key_points"
    )
    order = models.PositiveSmallIntegerField()
    text = models.TextField()

    class Meta:
        ordering = ["version", "order"]
        constraints = [
            models.UniqueConstraint(fields=["version", "order"], name="practice_keypoint_order")
        ]

    def __str__(self) -> str:
        return self.text


class FollowUp(models.Model):
    """A question an interviewer asks next, shown with the model answer of an open question."""

    version = models.ForeignKey(
        QuestionVersion, on_delete=models.CASCADE, related_name="follow_ups"
    )
    order = models.PositiveSmallIntegerField()
    text = models.TextField()

    class Meta:
        ordering = ["version", "order"]
        constraints = [
            models.UniqueConstraint(fields=["version", "order"], name="practice_followup_order")
        ]

    def __str__(self) -> str:
        return self.text


class CodeTest(models.Model):
    """A test event of a code challenge. A hidden one is never rendered to learners, only its
    name and which property of the output failed; a sample one is shown whole (event, expected
    output, the handler's output and log), as LeetCode's examples are."""

    version = models.ForeignKey(QuestionVersion, on_delete=models.CASCADE, related_name="tests")
    order = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=200)
    event = models.JSONField()
    expected = models.JSONField()
    sample = models.BooleanField(default=False)

    class Meta:
        ordering = ["version", "order"]
        constraints = [
            models.UniqueConstraint(fields=["version", "order"], name="practice_codetest_order")
        ]

    def __str__(self) -> str:
        return self.name


class AttemptKind(models.TextChoices):
    QUIZ = "quiz", "Quiz"
    MOCK = "mock", "Mock interview"
    REVIEW = "review", "Review"


class AttemptStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    FINISHED = "finished", "Finished"


class Attempt(TimeStampedModel):
    """One quiz, mock interview or review session of one learner."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="practice_attempts"
    )
    kind = models.CharField(max_length=8, choices=AttemptKind.choices)
    status = models.CharField(
        max_length=12, choices=AttemptStatus.choices, default=AttemptStatus.IN_PROGRESS
    )
    lesson = models.ForeignKey(Lesson, on_delete=models.SET_NULL, null=True, blank=True)
    topics = models.ManyToManyField(Tag, blank=True, related_name="attempts")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    # Mock interviews: the deadline is authoritative and moves forward by the time spent paused.
    time_limit_s = models.PositiveIntegerField(null=True, blank=True)
    deadline = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["user", "kind", "-started_at"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="mock", deadline__isnull=False) | ~Q(kind="mock"),
                name="practice_mock_has_deadline",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} of {self.user}"


class AttemptItem(models.Model):
    """A question (at the version shown) placed in an attempt at a position."""

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveSmallIntegerField()
    version = models.ForeignKey(QuestionVersion, on_delete=models.PROTECT, related_name="items")

    class Meta:
        ordering = ["attempt", "position"]
        constraints = [
            models.UniqueConstraint(fields=["attempt", "position"], name="practice_item_position"),
            models.UniqueConstraint(fields=["attempt", "version"], name="practice_item_version"),
        ]

    def __str__(self) -> str:
        return f"{self.attempt_id}#{self.position}"


class SelfGrade(models.TextChoices):
    MISSED = "missed", "Missed it"
    PARTLY = "partly", "Partly"
    GOT_IT = "got_it", "Got it"


class Answer(models.Model):
    """The learner's one answer to an attempt item (the OneToOne is the double-submit guard)."""

    item = models.OneToOneField(AttemptItem, on_delete=models.CASCADE, related_name="answer")
    answered_at = models.DateTimeField()
    selected_choices = models.ManyToManyField(Choice, blank=True, related_name="answers")
    bool_value = models.BooleanField(null=True, blank=True)
    numeric_value = models.DecimalField(max_digits=24, decimal_places=10, null=True, blank=True)
    text_value = models.TextField(blank=True)
    submission = models.ForeignKey(
        "Submission", on_delete=models.SET_NULL, null=True, blank=True, related_name="answers"
    )
    # None until known: short answers wait for a self-grade, code for the grader.
    correct = models.BooleanField(null=True, blank=True)
    score = models.FloatField(null=True, blank=True, help_text="0 to 1.")
    self_grade = models.CharField(max_length=8, choices=SelfGrade.choices, blank=True)
    # The rubric points of an open answer that the learner ticked as covered.
    key_points_met = models.ManyToManyField(KeyPoint, blank=True, related_name="answers")

    def __str__(self) -> str:
        return f"answer to {self.item}"


class CardState(models.IntegerChoices):
    # The values of fsrs.State.
    LEARNING = 1, "Learning"
    REVIEW = 2, "Review"
    RELEARNING = 3, "Relearning"


class Rating(models.IntegerChoices):
    # The values of fsrs.Rating.
    AGAIN = 1, "Again"
    HARD = 2, "Hard"
    GOOD = 3, "Good"
    EASY = 4, "Easy"


class ReviewCard(TimeStampedModel):
    """An FSRS card: one per learner and question met. Fields mirror fsrs.Card; times in UTC."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_cards"
    )
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="cards")
    state = models.PositiveSmallIntegerField(choices=CardState.choices, default=CardState.LEARNING)
    step = models.PositiveSmallIntegerField(null=True, blank=True, default=0)
    stability = models.FloatField(null=True, blank=True)
    difficulty = models.FloatField(null=True, blank=True)
    due = models.DateTimeField()
    last_review = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due"]
        indexes = [models.Index(fields=["user", "due"])]
        constraints = [
            models.UniqueConstraint(fields=["user", "question"], name="practice_card_per_question")
        ]

    def __str__(self) -> str:
        return f"{self.question.slug} for {self.user}"


class ReviewLog(models.Model):
    """One rating of a card (fsrs.ReviewLog) and, when it came from an answer, which one."""

    card = models.ForeignKey(ReviewCard, on_delete=models.CASCADE, related_name="logs")
    rating = models.PositiveSmallIntegerField(choices=Rating.choices)
    suggested_rating = models.PositiveSmallIntegerField(
        choices=Rating.choices, null=True, blank=True
    )
    review_datetime = models.DateTimeField()
    review_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    due_after = models.DateTimeField()
    answer = models.OneToOneField(
        Answer, on_delete=models.SET_NULL, null=True, blank=True, related_name="review_log"
    )

    class Meta:
        ordering = ["-review_datetime"]

    def __str__(self) -> str:
        return f"{self.card} rated {self.get_rating_display()}"


class SubmissionStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
    ERROR = "error", "Could not run"


class ChallengeRuntime(models.TextChoices):
    """The languages a code challenge can be answered in: the same hidden tests for each."""

    PYTHON311 = "python3.11", "Python 3.11"
    NODEJS24 = "nodejs24.x", "Node.js 24"


class SubmissionKind(models.TextChoices):
    TESTS = "tests", "Tests"
    EVENT = "event", "Own event"


class Submission(TimeStampedModel):
    """One "Run tests" of a code challenge, or one run of the learner's code with an event of
    their own (kind "event": no tests, no grade, no effect on reviews). Kept forever: the
    learner's history."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="submissions"
    )
    version = models.ForeignKey(
        QuestionVersion, on_delete=models.PROTECT, related_name="submissions"
    )
    code = models.TextField()
    runtime = models.CharField(
        max_length=20, choices=ChallengeRuntime.choices, default=ChallengeRuntime.PYTHON311
    )
    kind = models.CharField(
        max_length=5, choices=SubmissionKind.choices, default=SubmissionKind.TESTS
    )
    event = models.JSONField(null=True, blank=True, help_text="An own event run's event.")
    status = models.CharField(
        max_length=8, choices=SubmissionStatus.choices, default=SubmissionStatus.QUEUED
    )
    tests_passed = models.PositiveSmallIntegerField(default=0)
    tests_total = models.PositiveSmallIntegerField(default=0)
    grade = models.FloatField(null=True, blank=True, help_text="Fraction of tests passed, 0 to 1.")
    error = models.TextField(blank=True, help_text="Why the run could not happen, if it did not.")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "version", "-created_at"])]

    def __str__(self) -> str:
        return f"submission #{self.pk} ({self.status})"

    @property
    def is_done(self) -> bool:
        return self.status not in {SubmissionStatus.QUEUED, SubmissionStatus.RUNNING}


class TestResult(models.Model):
    """The outcome of one test of a submission, or of its own event (no test). A hidden test's
    keeps neither output, error message nor log; a sample test's and an own event's keep all."""

    __test__ = False  # not a pytest class

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="results")
    test = models.ForeignKey(
        CodeTest, on_delete=models.PROTECT, related_name="results", null=True, blank=True
    )
    order = models.PositiveSmallIntegerField()
    passed = models.BooleanField()
    status = models.CharField(max_length=40, help_text="The engine's invocation status.")
    output = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    log = models.TextField(blank=True)
    billed_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    max_memory_used_mb = models.PositiveIntegerField(null=True, blank=True)
    cold_start = models.BooleanField(default=False)
    within_budget = models.BooleanField(default=True)
    problem = models.TextField(blank=True, help_text="Why it failed, in words.")

    class Meta:
        ordering = ["submission", "order"]
        constraints = [
            models.UniqueConstraint(fields=["submission", "order"], name="practice_result_order")
        ]

    def __str__(self) -> str:
        return f"{self.submission_id}#{self.order} {'pass' if self.passed else 'fail'}"


class LearnerGoal(TimeStampedModel):
    """The learner's target interview date, for the readiness forecast."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="practice_goal"
    )
    interview_date = models.DateField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.user}: {self.interview_date}"
