from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest
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


def login_throttle_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str | None:
    """The account a sign-in attempt counts against (django-axes' AXES_USERNAME_CALLABLE).

    Sign-in matches email addresses case-insensitively, so the count does too: otherwise `A@x` and `a@x`
    would be two accounts' worth of guesses. The prefix keeps an account's counter apart from an address's
    (axes keys both by a bare hash), so no one can lock out an IP address by typing it as a user name.
    """
    typed = (credentials if credentials is not None else request.POST).get("username")
    if not isinstance(typed, str) or not typed.strip():
        return None
    return "account:" + typed.strip().lower()
