"""Forms of the console: they parse input; the services decide what is allowed."""

from typing import Any

from django import forms
from django.core.validators import MaxValueValidator

from sandbox import catalog
from sandbox.engine.spec import (
    EPHEMERAL_MAX_MB,
    EPHEMERAL_MIN_MB,
    MEMORY_MAX_MB,
    MEMORY_MIN_MB,
    TIMEOUT_MAX_S,
    TIMEOUT_MIN_S,
)
from sandbox.execution import MAX_RUNS_PER_SIZE, TUNING_MEMORY_SIZES
from sandbox.models import Architecture, Runtime


def _help(field: str) -> str:
    return catalog.CONFIG_HELP[field].text


def _range(what: str, low: int, high: int, unit: str) -> dict[str, Any]:
    """The bounds and one message for both ends of a range, naming it (Django's message names
    only the end crossed)."""
    message = f"{what} must be {low:,}-{high:,} {unit} on Lambda."
    return {
        "min_value": low,
        "max_value": high,
        "error_messages": {"min_value": message, "max_value": message},
    }


def parse_environment(text: str) -> dict[str, str]:
    """NAME=value lines into a dict; raises ValidationError naming the bad line."""
    environment: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip():
            raise forms.ValidationError(f"Line {number}: write NAME=value.")
        environment[name.strip()] = value.strip()
    return environment


def format_environment(environment: dict[str, str]) -> str:
    return "\n".join(f"{key}={value}" for key, value in environment.items())


class ConfigurationForm(forms.Form):
    """Settings shared by the New function and Configuration pages."""

    description = forms.CharField(max_length=256, required=False)
    handler = forms.CharField(max_length=128, initial=catalog.HANDLER, help_text=_help("handler"))
    memory_mb = forms.IntegerField(
        label="Memory (MB)",
        initial=128,
        **_range("Memory", MEMORY_MIN_MB, MEMORY_MAX_MB, "MB"),
        help_text=_help("memory_mb"),
    )
    timeout_s = forms.IntegerField(
        label="Timeout (seconds)",
        initial=3,
        **_range("The timeout", TIMEOUT_MIN_S, TIMEOUT_MAX_S, "seconds"),
        help_text=_help("timeout_s"),
    )
    ephemeral_storage_mb = forms.IntegerField(
        label="Ephemeral storage /tmp (MB)",
        initial=512,
        **_range("Ephemeral storage", EPHEMERAL_MIN_MB, EPHEMERAL_MAX_MB, "MB"),
        help_text=_help("ephemeral_storage_mb"),
    )
    architecture = forms.ChoiceField(
        choices=Architecture.choices, initial=Architecture.X86_64, help_text=_help("architecture")
    )
    environment = forms.CharField(
        label="Environment variables",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "TABLE_NAME=orders"}),
        help_text=_help("environment"),
    )
    reserved_concurrency = forms.IntegerField(
        required=False, min_value=0, max_value=1000, help_text=_help("reserved_concurrency")
    )
    provisioned_concurrency = forms.IntegerField(
        initial=0, min_value=0, max_value=10, help_text=_help("provisioned_concurrency")
    )

    lessons = {name: help.lesson_slug for name, help in catalog.CONFIG_HELP.items()}

    def clean_environment(self) -> dict[str, str]:
        return parse_environment(self.cleaned_data.get("environment") or "")

    def clean_provisioned_concurrency(self) -> int:
        return self.cleaned_data.get("provisioned_concurrency") or 0


class FunctionCreateForm(ConfigurationForm):
    name = forms.CharField(max_length=64, help_text=_help("name"))
    runtime = forms.ChoiceField(
        choices=Runtime.choices, initial=Runtime.PYTHON311, help_text=_help("runtime")
    )
    blueprint = forms.ChoiceField(
        label="Start from",
        choices=[(key, blueprint.title) for key, blueprint in catalog.BLUEPRINTS.items()],
        initial="blank",
        widget=forms.RadioSelect,
    )
    lesson = forms.SlugField(required=False, widget=forms.HiddenInput)

    field_order = ["blueprint", "name", "runtime", "handler", "memory_mb", "timeout_s"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        # A handler left at one runtime's default follows the runtime chosen (without
        # JavaScript it cannot follow the select): lambda_function.lambda_handler for Python,
        # index.handler for Node.js, as the Lambda console does.
        runtime = cleaned.get("runtime")
        defaults = {catalog.HANDLER, catalog.NODE_HANDLER}
        if runtime and cleaned.get("handler") in defaults:
            cleaned["handler"] = catalog.default_handler(runtime)
        return cleaned


class CodeForm(forms.Form):
    path = forms.CharField(max_length=200, initial=catalog.HANDLER_FILE)
    content = forms.CharField(required=False, strip=False, widget=forms.Textarea)


class CodeUploadForm(forms.Form):
    zip_file = forms.FileField(
        label="Upload from .zip file",
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}),
        error_messages={"required": "Choose a .zip file of your code to upload."},
    )


# What "Save event" names an event the learner did not name.
DEFAULT_EVENT_NAME = "my-event"


class EventForm(forms.Form):
    event = forms.CharField(strip=False, widget=forms.Textarea(attrs={"rows": 10}))
    event_name = forms.CharField(max_length=64, required=False, label="Save as")


class BurstForm(forms.Form):
    count = forms.IntegerField(label="Invocations at once", min_value=1, initial=5)
    event = forms.CharField(strip=False, initial="{}", widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, max_burst: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        count = self.fields["count"]
        assert isinstance(count, forms.IntegerField)
        count.max_value = max_burst
        count.validators.append(MaxValueValidator(max_burst))
        count.widget.attrs["max"] = max_burst
        count.help_text = f"Up to {max_burst}, fired in the same instant."


class ConcurrencySettingsForm(forms.Form):
    reserved_concurrency = forms.IntegerField(required=False, min_value=0, max_value=1000)
    provisioned_concurrency = forms.IntegerField(required=False, min_value=0, max_value=10)


class TuningForm(forms.Form):
    memory_sizes = forms.TypedMultipleChoiceField(
        choices=[(size, f"{size} MB") for size in TUNING_MEMORY_SIZES],
        coerce=int,
        initial=[128, 512, 1024, 1769],
        widget=forms.CheckboxSelectMultiple,
    )
    runs_per_size = forms.IntegerField(
        min_value=1,
        max_value=MAX_RUNS_PER_SIZE,
        initial=3,
        help_text=(
            "Each run starts a fresh environment (a cold start, INIT measured) and then invokes "
            "it once more warm: several runs show how much the figures vary."
        ),
    )
    event = forms.CharField(strip=False, initial="{}", widget=forms.Textarea(attrs={"rows": 3}))


class ColdStartRateForm(forms.Form):
    """The share of cold starts the tuning lab prices invocations at (read from the query)."""

    cold_rate = forms.IntegerField(
        label="Cold starts (% of invocations)",
        min_value=0,
        max_value=100,
        initial=10,
        help_text="Since 1 Aug 2025 a cold start's INIT is billed as part of its duration.",
    )

    def rate(self) -> float:
        """The chosen rate as a fraction, or the initial 10% when the form is not valid."""
        if self.is_valid():
            return self.cleaned_data["cold_rate"] / 100
        return 0.1


class RateForm(forms.Form):
    rate = forms.IntegerField(
        label="Invocations a month", min_value=0, max_value=10_000_000_000, initial=1_000_000
    )
