"""Forms of the practice pages: they parse input; the services decide what it means."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms

from learn.practice.models import Rating, SelfGrade
from learn.practice.services.attempts import QUIZ_LENGTHS
from learn.practice.services.grading import Response


class QuizStartForm(forms.Form):
    # One lesson from a link (?lesson=), or any ticked in the picker.
    lesson = forms.SlugField(required=False)
    lessons = forms.MultipleChoiceField(required=False)
    topics = forms.MultipleChoiceField(required=False)
    length = forms.TypedChoiceField(
        choices=[(n, f"{n} questions") for n in QUIZ_LENGTHS], coerce=int, initial=10
    )

    def __init__(
        self, *args: Any, topic_slugs: list[str], lesson_slugs: Sequence[str] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        topics, lessons = self.fields["topics"], self.fields["lessons"]
        assert isinstance(topics, forms.MultipleChoiceField)
        assert isinstance(lessons, forms.MultipleChoiceField)
        topics.choices = [(slug, slug) for slug in topic_slugs]
        lessons.choices = [(slug, slug) for slug in lesson_slugs]


class MockStartForm(forms.Form):
    minutes = forms.TypedChoiceField(
        choices=[(10, "10 minutes"), (20, "20 minutes"), (30, "30 minutes")], coerce=int, initial=20
    )
    lessons = forms.MultipleChoiceField(required=False)

    def __init__(self, *args: Any, lesson_slugs: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        lessons = self.fields["lessons"]
        assert isinstance(lessons, forms.MultipleChoiceField)
        lessons.choices = [(slug, slug) for slug in lesson_slugs]


class AnswerForm(forms.Form):
    """One answer of any type; which fields matter depends on the question."""

    item = forms.IntegerField(min_value=1)
    truth = forms.ChoiceField(choices=[("true", "True"), ("false", "False")], required=False)
    number = forms.CharField(required=False, max_length=64)
    text = forms.CharField(required=False, max_length=10_000)
    code = forms.CharField(required=False, max_length=65_536, strip=False)

    def response(self) -> Response:
        data = self.cleaned_data
        choice_ids = []
        for raw in self.data.getlist("choice") if hasattr(self.data, "getlist") else []:
            try:
                choice_ids.append(int(raw))
            except ValueError:
                continue
        truth = data.get("truth")
        return Response(
            choice_ids=choice_ids,
            bool_value=None if not truth else truth == "true",
            numeric_raw=data.get("number") or "",
            text=data.get("text") or "",
            code=data.get("code") or "",
        )


RUBRIC = "rubric"


class SelfGradeForm(forms.Form):
    """Either a verdict (Missed it, Partly, Got it) or "rubric": grade from the ticked points."""

    grade = forms.ChoiceField(choices=[*SelfGrade.choices, (RUBRIC, "Grade from the rubric")])
    points = forms.TypedMultipleChoiceField(coerce=int, required=False)

    def __init__(self, *args: Any, point_ids: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        points = self.fields["points"]
        assert isinstance(points, forms.TypedMultipleChoiceField)
        points.choices = [(pk, pk) for pk in point_ids]


class RateForm(forms.Form):
    rating = forms.TypedChoiceField(choices=Rating.choices, coerce=int)


class GoalForm(forms.Form):
    # <input type="date"> only shows a value written as YYYY-MM-DD, whatever the locale.
    interview_date = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        label="Interview date",
    )


class RunTestsForm(forms.Form):
    code = forms.CharField(max_length=65_536, strip=False)
    # "Run with my event" sends the event; "Run tests" ignores it.
    event = forms.CharField(required=False, strip=False, max_length=6 * 1024 * 1024)
