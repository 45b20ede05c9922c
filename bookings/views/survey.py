"""The satisfaction survey on the tenant's portal: one signed link per completed booking, answered once."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils import translation
from django.views.decorators.http import require_http_methods

from bookings.errors import SurveyAnswered
from bookings.forms.survey import SurveyForm
from bookings.models import Booking, SurveyResponse
from bookings.services import survey_answer
from bookings.tokens import BadLink, public_id_from_survey_token

from .portal import rate_limited


def access_surveyed_booking(request: HttpRequest, token: str) -> Booking:
    """The booking a survey link names; BadLink for a forged, expired or other tenant's link."""
    public_id = public_id_from_survey_token(token, tenant_id=request.tenant.pk)
    return get_object_or_404(Booking.objects.select_related("appointment_type"), public_id=public_id)


@require_http_methods(["GET", "POST"])
@rate_limited("PORTAL_SUBMIT_RATE", method="POST")
def survey(request: HttpRequest, token: str) -> HttpResponse:
    try:
        booking = access_surveyed_booking(request, token)
    except BadLink as error:
        return render(request, "bookings/portal/survey_bad_link.html", {"expired": error.expired}, status=400)
    _speak_their_language(request, booking)
    context = {"booking": booking, "token": token}
    if SurveyResponse.objects.filter(booking=booking).exists():
        answered = request.method == "GET" and request.GET.get("answered") == "1"
        return _answered(request, context, just_now=answered, status=200 if request.method == "GET" else 409)
    form = SurveyForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not form.is_valid():
            return render(request, "bookings/portal/survey.html", {**context, "form": form}, status=422)
        try:
            survey_answer(
                booking=booking, score=form.cleaned_data["score"], comment=form.cleaned_data["comment"]
            )
        except SurveyAnswered:
            return _answered(request, context, just_now=False, status=409)
        return HttpResponseRedirect(reverse("bookings:survey", args=[token]) + "?answered=1", status=303)
    return render(request, "bookings/portal/survey.html", {**context, "form": form})


def _speak_their_language(request: HttpRequest, booking: Booking) -> None:
    """The link comes from a message in the booking's language: the page opens in it too, unless this
    browser chose a language on the portal (the switch still works)."""
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if not chosen and booking.contact_language in request.tenant.language_codes:
        translation.activate(booking.contact_language)
        request.LANGUAGE_CODE = booking.contact_language


def _answered(request: HttpRequest, context: dict, *, just_now: bool, status: int) -> HttpResponse:
    return render(
        request, "bookings/portal/survey_answered.html", {**context, "just_now": just_now}, status=status
    )


urls = [path("survey/<str:token>/", survey, name="survey")]
