"""Staff forms for the diary and the appointment page: shape and input validation only."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from bookings.forms import PortalForm
from bookings.models import BookingStatus, CaseKind

CASE_REFERENCE_MAX_LENGTH = 100


class OutcomeForm(PortalForm):
    outcome = forms.ChoiceField(
        label=_("What happened?"),
        choices=[
            (BookingStatus.COMPLETED.value, _("The appointment took place")),
            (BookingStatus.NO_SHOW.value, _("The customer did not come (no-show)")),
        ],
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose whether the appointment took place.")},
    )
    notes = forms.CharField(
        label=_("Outcome notes"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    follow_up_needed = forms.BooleanField(label=_("A follow-up appointment is needed"), required=False)


class CaseLinkForm(PortalForm):
    """Both parts of a case link; removing a link is its own button (`remove`), never an empty form."""

    case_reference = forms.CharField(
        label=_("Case reference"),
        max_length=CASE_REFERENCE_MAX_LENGTH,
        error_messages={"required": _("Enter the case reference.")},
    )
    case_kind = forms.ChoiceField(
        label=_("Kind of case"),
        choices=[("", _("Choose the kind of case")), *CaseKind.choices],
        error_messages={"required": _("Choose the kind of case.")},
    )


class CaseSearchForm(PortalForm):
    ref = forms.CharField(
        label=_("Case reference"),
        max_length=CASE_REFERENCE_MAX_LENGTH,
        error_messages={"required": _("Enter a case reference.")},
    )
