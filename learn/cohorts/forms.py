from django import forms

from learn.cohorts.models import AssignmentKind, SandboxQuota
from learn.models import Lesson, Module
from learn.practice.models import Question, QuestionType


class DateInput(forms.DateInput):
    input_type = "date"


class CohortForm(forms.Form):
    name = forms.CharField(max_length=120)
    target_date = forms.DateField(required=False, widget=DateInput)


class CohortSettingsForm(CohortForm):
    joining_open = forms.BooleanField(required=False, label="Learners may join with the code")


class JoinForm(forms.Form):
    code = forms.CharField(max_length=16, label="Join code")


class AssignmentForm(forms.Form):
    kind = forms.ChoiceField(choices=AssignmentKind.choices, label="Assign")
    module = forms.ModelChoiceField(queryset=Module.objects.all(), required=False)
    lesson = forms.ModelChoiceField(
        queryset=Lesson.objects.select_related("module"),
        required=False,
        help_text="For a lesson or a quiz on it.",
    )
    question = forms.ModelChoiceField(
        queryset=Question.objects.filter(type=QuestionType.CODE, current_version__isnull=False),
        required=False,
        label="Code challenge",
    )
    due_date = forms.DateField(widget=DateInput)


class QuotaForm(forms.ModelForm):
    class Meta:
        model = SandboxQuota
        fields = ["invocations_per_minute", "max_concurrent", "max_memory_mb", "max_timeout_s"]
        labels = {
            "invocations_per_minute": "Invocations per minute",
            "max_concurrent": "Concurrent invocations",
            "max_memory_mb": "Largest memory a learner may set (MB)",
            "max_timeout_s": "Longest timeout a learner may set (seconds)",
        }


class ImportForm(forms.Form):
    file = forms.FileField(
        help_text="A GIFT file (.gift or .txt), or questions in the learn/content format: "
        "one .md file or a .zip of them."
    )
    file_format = forms.ChoiceField(
        label="Format",
        choices=[("", "From the file name"), ("gift", "GIFT"), ("markdown", "Markdown")],
        required=False,
    )
    default_lesson = forms.ModelChoiceField(
        queryset=Lesson.objects.all(),
        required=False,
        to_field_name="slug",
        help_text="GIFT questions with no [lesson:] tag or $CATEGORY go here.",
    )

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        upload = cleaned.get("file")
        if upload is not None and not cleaned.get("file_format"):
            name = upload.name.lower()
            cleaned["file_format"] = "markdown" if name.endswith((".md", ".zip")) else "gift"
        return cleaned
