from django import forms
from django.contrib.auth.forms import BaseUserCreationForm
from django.contrib.auth.models import User


class SignUpForm(BaseUserCreationForm):
    """Sign-up that never says whether a username is taken.

    The uniqueness checks of UserCreationForm are left out: `account_sign_up` decides, after the
    form is valid, and the page looks the same either way, so the form cannot be used to list
    who has an account.
    """

    email = forms.EmailField(
        required=False, help_text="Optional; used only to reset your password."
    )
    # Filled in by static/js/site.js from the browser (Intl); changeable in account settings.
    time_zone = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    class Meta(BaseUserCreationForm.Meta):  # type: ignore[name-defined]
        model = User
        fields = ("username", "email")

    def validate_unique(self) -> None:
        # Deliberately empty: a "username already exists" error is the leak this form avoids.
        pass
