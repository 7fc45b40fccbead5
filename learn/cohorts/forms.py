from django import forms

from learn.cohorts.models import AssignmentKind, SandboxQuota
from learn.models import Lesson, Module
from learn.practice.models import Difficulty, Question, QuestionType, Tag


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


CHOICE_ROWS = 6


class QuestionEditForm(forms.Form):
    """The fields a question of any editable type has; the template shows its type's."""

    title = forms.CharField(max_length=120, required=False)
    lesson = forms.ChoiceField()
    difficulty = forms.ChoiceField(choices=Difficulty.choices)
    tags = forms.CharField(help_text="Topics, separated by commas: limits, timeouts")
    interview = forms.BooleanField(required=False, label="One of the eight interview questions")
    prompt = forms.CharField(
        label="Question (Markdown)",
        widget=forms.Textarea(attrs={"rows": 8, "class": "code-editor"}),
        strip=False,
    )
    explanation = forms.CharField(
        label="Explanation (Markdown)",
        widget=forms.Textarea(attrs={"rows": 6, "class": "code-editor"}),
        strip=False,
    )
    answer = forms.ChoiceField(
        choices=[("true", "True"), ("false", "False")], required=False, widget=forms.RadioSelect
    )
    numeric_answer = forms.CharField(required=False, label="Answer")
    numeric_tolerance = forms.CharField(required=False, label="Tolerance (±)")
    numeric_unit = forms.CharField(required=False, label="Unit", max_length=40)
    key_points = forms.CharField(
        required=False,
        label="Key points (one a line)",
        widget=forms.Textarea(attrs={"rows": 4}),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["lesson"].choices = [  # type: ignore[attr-defined]
            (lesson.slug, f"{lesson.module.title} · {lesson.title}")
            for lesson in Lesson.objects.select_related("module")
        ]
        for n in range(CHOICE_ROWS):
            self.fields[f"choice_{n}_text"] = forms.CharField(
                required=False, label=f"Choice {n + 1}", max_length=500
            )
            self.fields[f"choice_{n}_correct"] = forms.BooleanField(required=False, label="Correct")
            self.fields[f"choice_{n}_why"] = forms.CharField(
                required=False, label="Why", max_length=1000
            )

    def choice_rows(self) -> list[tuple[forms.BoundField, forms.BoundField, forms.BoundField]]:
        return [
            (self[f"choice_{n}_text"], self[f"choice_{n}_correct"], self[f"choice_{n}_why"])
            for n in range(CHOICE_ROWS)
        ]


class QuestionFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search")
    type = forms.ChoiceField(choices=[("", "Any type"), *QuestionType.choices], required=False)
    difficulty = forms.ChoiceField(
        choices=[("", "Any difficulty"), *Difficulty.choices], required=False
    )
    tag = forms.ChoiceField(required=False, label="Topic")
    status = forms.ChoiceField(
        choices=[("", "Any status"), ("published", "Published"), ("unpublished", "Unpublished")],
        required=False,
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["tag"].choices = [("", "Any topic")] + [  # type: ignore[attr-defined]
            (tag.slug, tag.slug) for tag in Tag.objects.all()
        ]
