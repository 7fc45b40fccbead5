from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User


class SignUpForm(UserCreationForm):
    email = forms.EmailField(
        required=False, help_text="Optional; used only to reset your password."
    )
    # Filled in by static/js/site.js from the browser (Intl); changeable in account settings.
    time_zone = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    class Meta(UserCreationForm.Meta):  # type: ignore[name-defined]
        model = User
        fields = ("username", "email")
