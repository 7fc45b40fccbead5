"""Lesson authoring forms: objectives, takeaways and the "Try it" block as plain fields rather
than raw JSON. The admin and the instructor's lesson editor (/instructor/lessons/<slug>/edit/)
share them."""

import json
from typing import Any

from django import forms
from django.urls import reverse_lazy

from learn.models import Lesson
from learn.services.content import ContentError
from learn.services.content import _check_try_it as check_try_it


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


class LessonAdminForm(forms.ModelForm):
    """Objectives, takeaways and the "Try it" block as plain fields rather than raw JSON."""

    objectives_text = forms.CharField(
        label="Objectives",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One a line: what a learner can do after the lesson.",
    )
    takeaways_text = forms.CharField(
        label="Takeaways",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One a line.",
    )
    try_it_title = forms.CharField(label="Try it: title", required=False, max_length=200)
    try_it_description = forms.CharField(
        label="Try it: what to do (Markdown)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    try_it_handler = forms.CharField(
        label="Try it: handler", required=False, initial="app.handler", max_length=100
    )
    try_it_memory_mb = forms.IntegerField(
        label="Try it: memory (MB)", required=False, initial=128, min_value=128, max_value=10_240
    )
    try_it_timeout_s = forms.IntegerField(
        label="Try it: timeout (s)", required=False, initial=3, min_value=1, max_value=900
    )
    try_it_code = forms.CharField(
        label="Try it: code of the handler's file",
        required=False,
        strip=False,
        widget=forms.Textarea(
            attrs={"rows": 12, "class": "vLargeTextField", "spellcheck": "false"}
        ),
        help_text="Other files of the block, if any, are kept as they are.",
    )
    try_it_event = forms.CharField(
        label="Try it: event (JSON)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
    )
    try_it_lab = forms.CharField(
        label="Try it: lab (JSON)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text="The resources, role, trigger, steps and expectations it sets up in the "
        "learner's lab account (see learn/content/README.md); empty for none.",
    )

    class Meta:
        model = Lesson
        fields = [
            "module",
            "slug",
            "title",
            "order",
            "summary",
            "estimated_minutes",
            "prerequisites",
            "published",
            "body_markdown",
        ]
        widgets = {
            # The textarea posts itself (and, being inside the form, the CSRF token) to the
            # preview view as the author types; the result lands in #lesson-preview.
            "body_markdown": forms.Textarea(
                attrs={
                    "rows": 30,
                    "class": "vLargeTextField lesson-markdown",
                    "hx-post": reverse_lazy("lesson_preview"),
                    "hx-trigger": "load, input changed delay:400ms",
                    "hx-target": "#lesson-preview",
                    "hx-swap": "innerHTML",
                    "hx-sync": "this:replace",
                }
            )
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        lesson = self.instance
        self.initial.setdefault("objectives_text", "\n".join(lesson.objectives or []))
        self.initial.setdefault("takeaways_text", "\n".join(lesson.takeaways or []))
        try_it = lesson.try_it or {}
        if try_it:
            module = try_it.get("handler", "").rsplit(".", 1)[0].replace(".", "/") + ".py"
            self.initial.update(
                try_it_title=try_it.get("title", ""),
                try_it_description=try_it.get("description", ""),
                try_it_handler=try_it.get("handler", ""),
                try_it_memory_mb=try_it.get("memory_mb"),
                try_it_timeout_s=try_it.get("timeout_s"),
                try_it_code=try_it.get("files", {}).get(module, ""),
                try_it_event=json.dumps(try_it.get("event"), indent=2) if "event" in try_it else "",
                try_it_lab=json.dumps(try_it["lab"], indent=2) if try_it.get("lab") else "",
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        self.instance.objectives = _lines(cleaned.get("objectives_text", ""))
        self.instance.takeaways = _lines(cleaned.get("takeaways_text", ""))
        if not (cleaned.get("try_it_code") or "").strip():
            self.instance.try_it = None  # no code: the lesson has no "Try it" block
            return cleaned
        handler = (cleaned.get("try_it_handler") or "app.handler").strip()
        module = handler.rsplit(".", 1)[0].replace(".", "/") + ".py"
        old = self.instance.try_it or {}
        old_module = old.get("handler", "").rsplit(".", 1)[0].replace(".", "/") + ".py"
        files = {k: v for k, v in (old.get("files") or {}).items() if k != old_module}
        files[module] = cleaned["try_it_code"]
        try_it: dict[str, Any] = {
            "title": cleaned.get("try_it_title") or "",
            "description": cleaned.get("try_it_description") or "",
            "handler": handler,
            "memory_mb": cleaned.get("try_it_memory_mb") or 128,
            "timeout_s": cleaned.get("try_it_timeout_s") or 3,
            "files": files,
        }
        for key in ("event", "lab"):
            text = (cleaned.get(f"try_it_{key}") or "").strip()
            if not text:
                continue
            try:
                try_it[key] = json.loads(text)
            except ValueError as exc:
                self.add_error(f"try_it_{key}", f"Not JSON: {exc}")
                return cleaned
        try:
            check_try_it(try_it)
        except ContentError as exc:
            self.add_error(None, str(exc))
            return cleaned
        self.instance.try_it = try_it
        return cleaned


class LessonEditForm(LessonAdminForm):
    """The same fields on the instructor's lesson editor, whose whole form drives the preview
    (the admin's body textarea posts only itself to the admin's preview)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        body = self.fields["body_markdown"].widget
        body.attrs = {"rows": 24, "class": "lesson-markdown", "spellcheck": "true"}
        self.fields["prerequisites"].required = False
        self.fields["prerequisites"].help_text = "Hold Ctrl (Cmd on a Mac) to choose several."

    def try_it_data(self) -> dict[str, Any] | None:
        """The "Try it" block as cleaned (None when it has no code); call after is_valid()."""
        return self.instance.try_it
