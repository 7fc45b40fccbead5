from zoneinfo import available_timezones

from django import forms

from learn.study.models import SESSION_MINUTES, GoalKind


def time_zone_choices() -> list[tuple[str, str]]:
    return [(name, name.replace("_", " ")) for name in sorted(available_timezones())]


class StartForm(forms.Form):
    minutes = forms.TypedChoiceField(
        choices=[(m, f"{m} minutes") for m in SESSION_MINUTES],
        coerce=int,
        widget=forms.RadioSelect,
    )


class HeartbeatForm(forms.Form):
    visible = forms.BooleanField(required=False)


class StudySettingsForm(forms.Form):
    time_zone = forms.ChoiceField(label="Time zone", choices=time_zone_choices)
    goal_kind = forms.ChoiceField(label="Daily goal", choices=GoalKind.choices)
    goal_target = forms.IntegerField(
        label="Goal per day", min_value=1, max_value=600, help_text="Minutes or reviews a day."
    )


class DeleteAccountForm(forms.Form):
    confirm_username = forms.CharField(
        label="Type your username to confirm", max_length=150, strip=True
    )
