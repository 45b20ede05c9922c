"""The satisfaction survey: asked once after a completed appointment, answered once through a signed link
on the tenant's portal (English or Welsh); bad, expired or foreign links store nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django_scopes import scope

from accounts.models import Role
from bookings.contacts import ContactDetails
from bookings.errors import SurveyAnswered
from bookings.models import Booking, SurveyResponse
from bookings.services import (
    booking_create,
    booking_mark_no_show,
    booking_outcome_record,
    survey_answer,
)
from bookings.tokens import public_id_from_survey_token, survey_token
from notifications.models import Message
from tests import builders as b
from tests.builders import MONDAY, NOW, at

DONE = at(MONDAY, 11)  # the appointment (10:00 to 11:00) is over
ANN = ContactDetails(
    name="Ann Jones", email="ann@example.org", phone="07700 900123", by_sms=True, consent=True
)


@pytest.fixture
def frozen():
    with time_machine.travel(DONE, tick=False):
        yield


def booked(tenant, *, contact: ContactDetails = ANN, **type_fields) -> Booking:
    """A booking from 10:00 to 11:00 on MONDAY, with an officer, a type and a customer of its own."""
    with scope(tenant=tenant):
        b.officer(tenant)
        kind = b.appointment_type(tenant, **type_fields)
        return booking_create(
            appointment_type=kind,
            starts_at=at(MONDAY, 10),
            customer=b.customer(tenant, Booking.objects.count() + 1),
            contact=contact,
            now=NOW,
        )


def completed(tenant, **kwargs) -> Booking:
    booking = booked(tenant, **kwargs)
    with scope(tenant=tenant):
        return booking_outcome_record(
            booking=booking, outcome="completed", notes="", follow_up_needed=False, actor=None, now=DONE
        )


def surveys(booking: Booking) -> list[Message]:
    with scope(tenant=booking.tenant):
        return list(
            Message.objects.filter(topic=f"booking:{booking.reference}", kind="survey").order_by("pk")
        )


def answers(tenant) -> list[tuple]:
    with scope(tenant=tenant):
        return list(SurveyResponse.objects.values_list("booking__reference", "score", "comment"))


def link(booking: Booking) -> str:
    return f"/survey/{survey_token(tenant_id=booking.tenant_id, public_id=booking.public_id)}/"


# --- asking ------------------------------------------------------------------------------------------------


def test_completing_an_appointment_asks_once_for_a_score_on_each_chosen_channel(tenant) -> None:
    booking = completed(tenant)
    with scope(tenant=tenant):
        booking_outcome_record(  # recorded again (notes changed): not asked again
            booking=booking,
            outcome="completed",
            notes="All fine",
            follow_up_needed=False,
            actor=None,
            now=DONE,
        )

    messages = surveys(booking)

    assert [(m.channel, m.to, m.fallback_channel) for m in messages] == [
        ("email", "ann@example.org", ""),
        ("sms", "+447700900123", ""),
    ]
    for message in messages:
        assert (message.due_at, message.expires_at) == (DONE, DONE + timedelta(days=14))
        assert message.invite is None and message.language == "en-gb"
    url = messages[0].context["survey_url"]
    assert url.startswith("https://northshire.localhost/survey/")
    token = url.removeprefix("https://northshire.localhost/survey/").removesuffix("/")
    assert public_id_from_survey_token(token, tenant_id=tenant.pk) == booking.public_id
    assert messages[0].context["reference"] == booking.reference


def test_no_survey_for_a_type_without_one_or_for_a_no_show(tenant) -> None:
    quiet = completed(tenant, survey_enabled=False)
    assert surveys(quiet) == []
    absent = booked(tenant, contact=ContactDetails(name="Bob", email="bob@example.org"))
    with scope(tenant=tenant):
        booking_mark_no_show(booking=absent, now=DONE)
    assert surveys(absent) == []


# --- answering -------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("frozen")
def test_the_survey_page_offers_five_labelled_scores_and_a_comment(tenant, client_for) -> None:
    booking = completed(tenant)
    page = client_for(tenant).get(link(booking))
    html = page.content.decode()
    assert page.status_code == 200 and "Tell us how your appointment went" in html
    assert "<legend" in html and "How satisfied were you with your appointment?" in html
    radios = re.findall(r'<input type="radio" name="score" value="(\d)" id="([^"]+)"', html)
    assert sorted(value for value, _ in radios) == ["1", "2", "3", "4", "5"]
    for _value, radio_id in radios:
        assert f'<label for="{radio_id}"' in html  # every score has its own label
    assert "5 – Very satisfied" in html and "1 – Very dissatisfied" in html
    assert '<textarea name="comment"' in html and 'maxlength="2000"' in html


@pytest.mark.usefixtures("frozen")
def test_a_survey_is_answered_once_and_a_second_answer_changes_nothing(tenant, client_for) -> None:
    booking = completed(tenant)
    client = client_for(tenant)

    first = client.post(link(booking), {"score": "4", "comment": "Helpful officer."})
    assert first.status_code == 303 and first.url == link(booking) + "?answered=1"
    assert "We have your answer" in client.get(first.url).content.decode()
    assert answers(tenant) == [(booking.reference, 4, "Helpful officer.")]

    second = client.post(link(booking), {"score": "1", "comment": "Changed my mind."})
    assert second.status_code == 409
    assert "You have already answered this survey" in second.content.decode()
    assert answers(tenant) == [(booking.reference, 4, "Helpful officer.")]
    again = client.get(link(booking)).content.decode()
    assert "You have already answered this survey" in again and 'name="score"' not in again


@pytest.mark.usefixtures("frozen")
@pytest.mark.parametrize(
    "data", [{}, {"score": "0"}, {"score": "6"}, {"score": "five"}, {"score": "3", "comment": "x" * 2001}]
)
def test_a_bad_answer_is_a_form_error_and_stores_nothing(tenant, client_for, data) -> None:
    booking = completed(tenant)
    response = client_for(tenant).post(link(booking), data)
    assert response.status_code == 422 and "There is a problem" in response.content.decode()
    assert answers(tenant) == []


@pytest.mark.usefixtures("frozen")
def test_the_survey_speaks_the_bookings_language(tenant, client_for) -> None:
    tenant.welsh_enabled = True
    tenant.save(update_fields=["welsh_enabled"])
    welsh = ContactDetails(name="Siân", email="sian@example.org", language="cy", consent=True)
    booking = completed(tenant, contact=welsh)
    assert surveys(booking)[0].language == "cy"
    html = client_for(tenant).get(link(booking)).content.decode()
    assert '<html lang="cy">' in html
    assert "Dywedwch wrthym sut aeth eich apwyntiad" in html and "5 – Bodlon iawn" in html
    answered = client_for(tenant).post(link(booking), {"score": "9"}).content.decode()
    assert "Dewiswch sgôr o 1 i 5." in answered


@pytest.mark.usefixtures("frozen")
def test_forged_expired_and_foreign_links_get_a_clear_page_and_store_nothing(
    tenant, other_tenant, client_for
) -> None:
    ours = completed(tenant)
    theirs = completed(other_tenant, contact=ContactDetails(name="Cai", email="cai@example.org"))
    client = client_for(tenant)

    forged = client.post(link(ours)[:-3] + "xx/", {"score": "5"})
    assert forged.status_code == 400 and "This link does not work" in forged.content.decode()
    foreign = client.post(link(theirs), {"score": "5"})  # another tenant's link on our host
    assert foreign.status_code == 400 and "This link does not work" in foreign.content.decode()
    assert client_for(other_tenant).post(link(ours), {"score": "5"}).status_code == 400
    manage_style = client.get("/survey/not-a-token/")
    assert manage_style.status_code == 400
    sent = link(ours)  # signed now, when the message is queued
    with time_machine.travel(DONE + timedelta(days=14, minutes=1), tick=False):
        expired = client.post(sent, {"score": "5"})
    assert expired.status_code == 400 and "This survey has closed" in expired.content.decode()
    assert answers(tenant) == [] and answers(other_tenant) == []


@pytest.mark.usefixtures("frozen")
def test_answers_are_rate_limited_like_other_public_forms(tenant, client_for, settings) -> None:
    settings.PORTAL_SUBMIT_RATE = "2/m"
    booking = completed(tenant)
    client = client_for(tenant)
    assert [client.post(link(booking), {"score": "x"}).status_code for _ in range(2)] == [422, 422]
    limited = client.post(link(booking), {"score": "5"})
    assert limited.status_code == 429 and "Retry-After" in limited
    assert answers(tenant) == []


def test_the_database_keeps_one_answer_per_booking_with_a_score_of_1_to_5(tenant) -> None:
    booking = completed(tenant)
    with scope(tenant=tenant):
        survey_answer(booking=booking, score=5, now=DONE)
        with pytest.raises(SurveyAnswered):
            survey_answer(booking=booking, score=2, comment="again", now=DONE)
        for fields in (
            {"booking": booking, "score": 3},
            {"booking": booked(tenant, contact=ANN), "score": 6},
        ):
            with pytest.raises(IntegrityError), transaction.atomic():
                SurveyResponse.objects.create(tenant=tenant, **fields)
    assert answers(tenant) == [(booking.reference, 5, "")]


def test_administrators_read_their_own_tenants_answers_in_the_admin(
    tenant, other_tenant, client_for, member_of
) -> None:
    ours = completed(tenant)
    theirs = completed(other_tenant, contact=ContactDetails(name="Cai", email="cai@example.org"))
    with scope(tenant=tenant):
        survey_answer(booking=ours, score=5, comment="Prompt and kind.", now=DONE)
    with scope(tenant=other_tenant):
        survey_answer(booking=theirs, score=1, comment="Their secret complaint.", now=DONE)
    admin = client_for(tenant, member_of(tenant, Role.ADMINISTRATOR))
    page = admin.get("/admin/bookings/surveyresponse/").content.decode()
    assert "Prompt and kind." in page and "Their secret complaint." not in page
    assert admin.get("/admin/bookings/surveyresponse/add/").status_code == 403  # answers come from customers
