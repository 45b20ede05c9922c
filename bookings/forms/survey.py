"""The satisfaction survey's form: a score from 1 to 5, each one labelled, and an optional comment."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from bookings.models import SURVEY_COMMENT_MAX_LENGTH

from . import PortalForm

SCORES = [
    (5, _("5 – Very satisfied")),
    (4, _("4 – Satisfied")),
    (3, _("3 – Neither satisfied nor dissatisfied")),
    (2, _("2 – Dissatisfied")),
    (1, _("1 – Very dissatisfied")),
]


class SurveyForm(PortalForm):
    score = forms.TypedChoiceField(
        label=_("How satisfied were you with your appointment?"),
        choices=SCORES,
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={
            "required": _("Choose a score from 1 to 5."),
            "invalid_choice": _("Choose a score from 1 to 5."),
        },
    )
    comment = forms.CharField(
        label=_("Is there anything you would like to tell us?"),
        required=False,
        max_length=SURVEY_COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"max_length": _("Keep your comment to 2,000 characters or fewer.")},
    )
