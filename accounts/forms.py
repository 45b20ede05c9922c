from __future__ import annotations

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from .models import Membership


class TenantLoginForm(AuthenticationForm):
    """Email and password; only members of the tenant whose host this is may sign in here."""

    username = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("Enter a correct email address and password."),
        "not_member": _("Enter a correct email address and password."),
    }

    def confirm_login_allowed(self, user) -> None:  # type: ignore[no-untyped-def]
        super().confirm_login_allowed(user)
        # The same message as a wrong password: do not reveal that the account exists elsewhere.
        if not Membership.objects.filter(user=user, is_active=True).exists():
            raise forms.ValidationError(self.error_messages["not_member"], code="not_member")
