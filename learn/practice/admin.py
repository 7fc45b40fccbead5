"""Admin: browse and correct the bank (files stay the source of truth) and learners' records."""

from django.contrib import admin

from lambdalab.admin_records import LearnerRecordAdmin, LearnerRecordTabularInline
from learn.practice.models import (
    Answer,
    Attempt,
    AttemptItem,
    Choice,
    CodeTest,
    KeyPoint,
    LearnerGoal,
    Question,
    QuestionVersion,
    ReviewCard,
    ReviewLog,
    Submission,
    Tag,
    TestResult,
)


class ChoiceInline(admin.TabularInline):
    model = Choice
    extra = 0


class KeyPointInline(admin.TabularInline):
    model = KeyPoint
    extra = 0


class CodeTestInline(admin.StackedInline):
    model = CodeTest
    extra = 0


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["slug", "type", "lesson", "difficulty", "interview", "current_version"]
    list_filter = ["type", "difficulty", "interview", "lesson", "tags"]
    search_fields = ["slug", "versions__prompt_markdown"]
    filter_horizontal = ["tags"]
    raw_id_fields = ["current_version"]


@admin.register(QuestionVersion)
class QuestionVersionAdmin(admin.ModelAdmin):
    list_display = ["question", "number", "created_at", "content_hash"]
    list_filter = ["question__type"]
    search_fields = ["question__slug", "prompt_markdown"]
    inlines = [ChoiceInline, KeyPointInline, CodeTestInline]
    readonly_fields = ["content_hash", "created_at"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["slug"]


class AttemptItemInline(LearnerRecordTabularInline):
    model = AttemptItem
    extra = 0
    raw_id_fields = ["version"]


@admin.register(Attempt)
class AttemptAdmin(LearnerRecordAdmin):
    list_display = ["pk", "user", "kind", "status", "started_at", "finished_at"]
    list_filter = ["kind", "status"]
    search_fields = ["user__username"]
    raw_id_fields = ["user", "lesson"]
    inlines = [AttemptItemInline]


@admin.register(Answer)
class AnswerAdmin(LearnerRecordAdmin):
    list_display = ["item", "answered_at", "correct", "score", "self_grade"]
    list_filter = ["correct", "self_grade", "item__attempt__kind"]
    raw_id_fields = ["item", "submission", "selected_choices"]


@admin.register(ReviewCard)
class ReviewCardAdmin(LearnerRecordAdmin):
    list_display = ["question", "user", "state", "due", "stability", "difficulty", "last_review"]
    list_filter = ["state"]
    search_fields = ["user__username", "question__slug"]
    raw_id_fields = ["user", "question"]


@admin.register(ReviewLog)
class ReviewLogAdmin(LearnerRecordAdmin):
    list_display = ["card", "rating", "suggested_rating", "review_datetime", "due_after"]
    list_filter = ["rating"]
    raw_id_fields = ["card", "answer"]


class TestResultInline(LearnerRecordTabularInline):
    model = TestResult
    extra = 0
    raw_id_fields = ["test"]


@admin.register(Submission)
class SubmissionAdmin(LearnerRecordAdmin):
    list_display = ["pk", "user", "version", "status", "tests_passed", "tests_total", "created_at"]
    list_filter = ["status"]
    search_fields = ["user__username", "version__question__slug"]
    raw_id_fields = ["user", "version"]
    inlines = [TestResultInline]


@admin.register(LearnerGoal)
class LearnerGoalAdmin(LearnerRecordAdmin):
    list_display = ["user", "interview_date"]
    raw_id_fields = ["user"]
