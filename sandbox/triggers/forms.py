from django import forms

from sandbox.triggers.models import S3_EVENTS


class SqsTriggerForm(forms.Form):
    lessons: dict[str, str] = {}

    queue = forms.CharField(max_length=80, help_text="The name of a queue in your lab account.")
    batch_size = forms.IntegerField(min_value=1, max_value=10_000, initial=10)
    maximum_batching_window_s = forms.IntegerField(
        min_value=0, max_value=300, initial=0, label="Batching window (s)"
    )
    report_batch_item_failures = forms.BooleanField(
        required=False, label="Report batch item failures"
    )


class S3TriggerForm(forms.Form):
    lessons: dict[str, str] = {}

    bucket = forms.CharField(max_length=63, help_text="A bucket in your lab account.")
    events = forms.MultipleChoiceField(
        choices=[(name, name) for name in S3_EVENTS],
        initial=["s3:ObjectCreated:*"],
        widget=forms.CheckboxSelectMultiple,
    )
    key_prefix = forms.CharField(max_length=256, required=False, label="Prefix")
    key_suffix = forms.CharField(max_length=256, required=False, label="Suffix")


class SnsTriggerForm(forms.Form):
    lessons: dict[str, str] = {}

    topic = forms.CharField(max_length=256, help_text="The name of a topic in your lab account.")


class RuleTriggerForm(forms.Form):
    lessons: dict[str, str] = {}

    rule = forms.CharField(max_length=64, label="Rule name")
    bus_name = forms.CharField(max_length=256, initial="default", label="Event bus")
    event_pattern = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        initial='{"source": ["my.app"]}',
        help_text="Events put on the bus that match this pattern invoke the function.",
    )


class ScheduleTriggerForm(forms.Form):
    lessons: dict[str, str] = {}

    rule = forms.CharField(max_length=64, label="Schedule name")
    expression = forms.CharField(
        max_length=256,
        initial="rate(5 minutes)",
        help_text="rate(5 minutes) or cron(0 12 * * ? *), in UTC.",
    )


FORMS = {
    "sqs": SqsTriggerForm,
    "s3": S3TriggerForm,
    "sns": SnsTriggerForm,
    "events": RuleTriggerForm,
    "schedule": ScheduleTriggerForm,
}
