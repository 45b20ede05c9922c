"""Calendar sync forms: shape and input checks only (the services decide the rest)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from bookings.forms import PortalForm

from .addresses import calendar_url_problem
from .models import CalendarConnection

URL_MAX_LENGTH = CalendarConnection._meta.get_field("url").max_length
USERNAME_MAX_LENGTH = CalendarConnection._meta.get_field("username").max_length
PASSWORD_MAX_LENGTH = 500


class ButtonForm(PortalForm):
    """A button's POST names its action in a hidden field, so a POST that did not come from the page's
    button (an empty one, a forged one) changes nothing."""

    action = forms.ChoiceField(
        choices=[(a, a) for a in ("feed", "feed-revoke", "disconnect", "sync")], widget=forms.HiddenInput
    )


class FeedOptionsForm(PortalForm):
    include_customer_names = forms.BooleanField(
        label=_("Show customers' names (otherwise only the type of appointment and its reference)"),
        required=False,
    )
    include_absences = forms.BooleanField(label=_("Show my absences as busy time"), required=False)


class ConnectionForm(PortalForm):
    url = forms.URLField(
        label=_("Calendar address (CalDAV URL)"),
        max_length=URL_MAX_LENGTH,
        assume_scheme="https",
        widget=forms.TextInput(attrs={"inputmode": "url", "autocomplete": "url", "spellcheck": "false"}),
        help_text=_("The calendar's own address, starting https://, as your calendar provider gives it."),
        error_messages={"required": _("Enter the calendar's address."), "invalid": _("Enter a web address.")},
    )
    username = forms.CharField(
        label=_("User name"),
        max_length=USERNAME_MAX_LENGTH,
        error_messages={"required": _("Enter the user name for the calendar.")},
    )
    password = forms.CharField(
        label=_("Password or app password"),
        max_length=PASSWORD_MAX_LENGTH,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text=_("Where your provider offers app passwords (Apple, Fastmail, Nextcloud), use one."),
        error_messages={"required": _("Enter the password.")},
    )

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        if problem := calendar_url_problem(url):
            raise forms.ValidationError(problem)
        return url
