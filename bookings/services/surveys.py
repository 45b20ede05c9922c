"""The satisfaction survey: a customer's one answer about a completed appointment."""

from __future__ import annotations

from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.tenancy import same_tenant_check
from bookings.errors import BookingError, SurveyAnswered
from bookings.models import SURVEY_COMMENT_MAX_LENGTH, Booking, SurveyResponse


def survey_answer(
    *, booking: Booking, score: int, comment: str = "", now: datetime | None = None
) -> SurveyResponse:
    """Records the customer's score (1 to 5) and comment, once per booking.

    A second answer (another tab, a double click, two requests at once) raises SurveyAnswered and changes
    nothing: the one-to-one key on the booking decides, whatever was checked before.
    """
    now = now or timezone.now()
    same_tenant_check(booking)
    if score not in range(1, 6):
        raise BookingError(_("Choose a score from 1 to 5."))
    if len(comment) > SURVEY_COMMENT_MAX_LENGTH:
        raise BookingError(_("Keep your comment to 2,000 characters or fewer."))
    try:
        with transaction.atomic():
            return SurveyResponse.objects.create(
                tenant_id=booking.tenant_id, booking=booking, score=score, comment=comment, created_at=now
            )
    except IntegrityError as error:
        if SurveyResponse.objects.filter(booking=booking).exists():
            raise SurveyAnswered(_("You have already answered this survey. Thank you.")) from error
        raise
