"""Message wording: the shipped templates, the checks a tenant's own template must pass, and rendering."""

from __future__ import annotations

import pytest
from django.test import override_settings
from django_scopes import scope

from accounts.models import Tenant
from notifications.models import Message, MessageChannel, MessageKind, MessageTemplate
from notifications.rendering import (
    SAMPLE_CONTEXT,
    VARIABLES,
    message_render,
    shipped_template,
    template_errors,
    template_errors_by_field,
    template_preview,
)
from notifications.sms import GSM7, sms_segments

LANGUAGES = ["en-gb", "cy"]
EVERY_TEMPLATE = [
    (language, kind, channel)
    for language in LANGUAGES
    for kind in MessageKind.values
    for channel in MessageChannel.values
]
EMAIL, SMS = MessageChannel.EMAIL, MessageChannel.SMS


def message(tenant: Tenant, **overrides: object) -> Message:
    fields: dict[str, object] = {
        "tenant": tenant,
        "kind": MessageKind.CONFIRMATION,
        "channel": EMAIL,
        "language": "en-gb",
        "context": dict(SAMPLE_CONTEXT),
    }
    return Message(**(fields | overrides))


def own_template(tenant: Tenant, **fields: object) -> MessageTemplate:
    values: dict[str, object] = {"kind": MessageKind.CONFIRMATION, "channel": EMAIL, "language": "en-gb"}
    with scope(tenant=tenant):
        return MessageTemplate.objects.create(tenant=tenant, **(values | fields))


# --- shipped templates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "kind", "channel"), EVERY_TEMPLATE, ids=lambda v: str(v))
def test_every_shipped_template_exists_passes_the_checks_and_renders(language, kind, channel) -> None:
    subject, body = shipped_template(language, kind, channel)

    assert template_errors(kind=kind, channel=channel, subject=subject, body=body, language=language) == []
    rendered = template_preview(kind=kind, channel=channel, language=language, subject=subject, body=body)
    assert "{" not in rendered.text + rendered.subject and "\n\n\n" not in rendered.text
    assert not rendered.text.startswith("Subject:")
    if channel == EMAIL:
        assert subject and rendered.subject and "Northshire Council" in rendered.html
    else:
        assert rendered.subject == rendered.html == ""
        # Only a customer's own details can make a shipped text UCS-2, which would cost twice the parts.
        assert sms_segments(rendered.text).encoding == GSM7


@pytest.mark.parametrize(
    ("kind", "channel"), [(k, c) for k in MessageKind.values for c in MessageChannel.values]
)
def test_the_welsh_templates_are_welsh(kind: str, channel: str) -> None:
    english_subject, english_body = shipped_template("en-gb", kind, channel)
    welsh_subject, welsh_body = shipped_template("cy", kind, channel)
    assert welsh_body != english_body and (channel == SMS or welsh_subject != english_subject)


@pytest.mark.parametrize(
    ("kind", "variable"),
    [
        (MessageKind.CONFIRMATION, "manage_url"),
        (MessageKind.RESCHEDULED, "manage_url"),
        (MessageKind.REMINDER, "manage_url"),
        (MessageKind.FOLLOW_UP, "manage_url"),
        (MessageKind.DISPLACED, "manage_url"),
        (MessageKind.SURVEY, "survey_url"),
        (MessageKind.CODE, "code"),
        (MessageKind.CODE, "minutes_valid"),
    ],
)
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("channel", MessageChannel.values)
def test_the_messages_carry_what_the_customer_acts_on(kind, variable, language, channel) -> None:
    subject, body = shipped_template(language, kind, channel)
    rendered = template_preview(kind=kind, channel=channel, language=language, subject=subject, body=body)
    assert SAMPLE_CONTEXT[variable] in rendered.text


def test_an_unknown_language_gets_the_english_wording() -> None:
    assert shipped_template("fr", MessageKind.REMINDER, SMS) == shipped_template(
        "en-gb", MessageKind.REMINDER, SMS
    )


# --- checks ----------------------------------------------------------------------------------------------


def errors(body: str, channel: str = EMAIL, subject: str = "Your booking", kind: str = "confirmation") -> str:
    return " ".join(template_errors(kind=kind, channel=channel, subject=subject, body=body))


def test_a_plain_template_with_conditions_passes() -> None:
    body = (
        "Dear {{ customer_name }},\n{% if officer and not location %}With {{ officer }}{% elif location %}"
        "At {{ location }}{% else %}Somewhere{% endif %}\n{{ manage_url }}"
    )
    assert (
        template_errors(kind="confirmation", channel=EMAIL, subject="Booked: {{ service }}", body=body) == []
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Hello {{ first_name }}", "Line 1: there is no variable called “first_name”"),
        ("Hello\n{{ customer_name|upper }}", "Line 2: filters such as “|upper” cannot be used"),
        ("{{ customer_name|nosuchfilter }}", "Filters such as “|nosuchfilter” cannot be used"),
        ("{{ customer_name.upper }}", "no variable called “customer_name.upper”"),
        ('{{ "text" }}', "is not a variable"),
        ("{% for x in reference %}{% endfor %}", "Line 1: {% for %} cannot be used"),
        ('{% include "base.html" %}', "{% include %} cannot be used"),
        ("{% load static %}", "{% load %} cannot be used"),
        ("a\n\n{% if customer_name %}Dear", "Line 3: {% if %} is never closed: add {% endif %}"),
        ("Hello {% endif %}", "Line 1: {% endif %} has no matching tag before it"),
        ('{% if officer == "Sam" %}x{% endif %}', "“==” cannot be used in a condition"),
        ("{% if secret %}x{% endif %}", "no variable called “secret”"),
        ("{{ }}", "The template cannot be read: Empty variable tag"),
        ("Dear customer,\n\nYour ref: {{ reference }.", "Line 3: “{{” has no partner"),
        ("Ref: { reference }}", "Line 1: “}}” has no partner"),
        ("   ", "Write the message's text."),
    ],
)
def test_what_a_template_may_not_do_is_said_in_words(body: str, expected: str) -> None:
    assert expected in errors(body)


def test_email_needs_a_one_line_subject_that_passes_the_same_checks() -> None:
    assert errors("Hello", subject="") == "An email needs a subject."
    assert errors("Hello", subject="Booked\nBcc: someone@example.org") == "The subject must be one line."
    by_field = template_errors_by_field(
        kind="reminder", channel=EMAIL, subject="{{ nope }}", body="{{ nope }}"
    )
    assert set(by_field) == {"subject", "body"} and "“nope”" in by_field["subject"][0]


def test_a_text_message_has_no_subject_and_must_fit_its_parts() -> None:
    assert errors("Hello", channel=SMS, subject="Hi") == "Text messages have no subject: leave it empty."
    assert errors("{{ manage_url }} " * 2, channel=SMS, subject="") == ""
    too_long = errors("{{ manage_url }} " * 3, channel=SMS, subject="")
    assert "this text message takes 4 parts (464 characters in GSM-7); the most allowed is 3." in too_long
    with override_settings(SMS_MAX_SEGMENTS=4):
        assert errors("{{ manage_url }} " * 3, channel=SMS, subject="") == ""


def test_welsh_characters_cost_parts_in_the_check() -> None:
    body = "Mae'r apwyntiad yn Nhŷ Glyndŵr: {{ location }}. " * 2
    assert errors(body, channel=SMS, subject="", kind="reminder") == ""
    assert "parts" in errors(body * 2, channel=SMS, subject="", kind="reminder")


def test_code_and_survey_messages_must_carry_their_code_or_link() -> None:
    assert "must include {{ code }}" in errors("Here is your code.", kind="code")
    assert "must include {{ survey_url }}" in errors("Tell us how we did.", kind="survey")
    assert errors("Your code is {{code}}.", kind="code") == ""


def test_every_variable_is_documented_and_in_the_sample() -> None:
    assert set(VARIABLES) == set(SAMPLE_CONTEXT)
    assert all(str(description) for description in VARIABLES.values())


# --- rendering a message ---------------------------------------------------------------------------------


def test_a_message_renders_the_shipped_wording_with_its_variables(
    tenant, django_assert_max_num_queries
) -> None:
    with django_assert_max_num_queries(1):
        rendered = message_render(message(tenant))

    assert rendered.subject == "Appointment booked: Food hygiene inspection, Tuesday 8 December 2026 at 14:30"
    assert rendered.text.startswith("Dear Alex Morgan,\n\nYour appointment is booked.\n\nWhat: Food hygiene")
    assert "Where: Council Offices, 1 High Street, Northshire NS1 2AB\nWith: Sam Patel\n" in rendered.text


def test_missing_variables_render_empty_and_leave_no_gaps(tenant) -> None:
    rendered = message_render(message(tenant, context={"service": "Pest control", "reference": "BK-2222-22"}))

    assert rendered.text.startswith("Dear customer,\n")
    assert "Where:" not in rendered.text and "With:" not in rendered.text
    assert "When: , " in rendered.text  # a missing variable is empty, never an error
    assert "\n\n\n" not in rendered.text and "call us on" not in rendered.text


def test_the_tenants_own_template_in_the_language_wins(tenant, other_tenant) -> None:
    own_template(tenant, language="cy", subject="Wedi'i drefnu", body="Helo {{ customer_name }}")
    own_template(other_tenant, subject="Theirs", body="Their wording {{ customer_name }}")

    welsh = message_render(message(tenant, language="cy"))
    english = message_render(message(tenant))
    theirs = message_render(message(other_tenant))

    assert (welsh.subject, welsh.text) == ("Wedi'i drefnu", "Helo Alex Morgan")
    assert english.subject.startswith("Appointment booked:")  # no English template of its own: shipped
    assert theirs.text == "Their wording Alex Morgan"


def test_a_template_without_welsh_falls_back_to_the_shipped_welsh(tenant) -> None:
    own_template(tenant, subject="Booked", body="Booked, {{ customer_name }}")
    rendered = message_render(message(tenant, language="cy"))
    assert rendered.subject.startswith("Apwyntiad wedi'i drefnu:")
    assert rendered.text.startswith("Annwyl Alex Morgan,")


def test_a_stored_template_that_fails_the_checks_is_not_sent(tenant, caplog) -> None:
    own_template(tenant, subject="Booked", body="{{ customer_name|upper }}")
    rendered = message_render(message(tenant))
    assert rendered.subject.startswith("Appointment booked:")
    assert "fails its checks" in caplog.text


def test_html_is_the_same_text_escaped_with_paragraphs_and_links(tenant) -> None:
    body = (
        "Dear {{ customer_name }},\r\n\r\nLine one\r\nLine two\r\n{% if officer %}\r\nWith {{ officer }}\r\n"
        "{% endif %}\r\nSee {{ manage_url }}."
    )
    own_template(tenant, subject="For {{ customer_name }}", body=body)
    context = SAMPLE_CONTEXT | {"customer_name": "<script>alert(1)</script> & Co", "officer": ""}
    own = message_render(message(tenant, context=context))
    shipped_welsh = message_render(message(tenant, context=context, language="cy"))

    assert own.text == (
        f"Dear <script>alert(1)</script> & Co,\n\nLine one\nLine two\nSee {SAMPLE_CONTEXT['manage_url']}."
    )
    assert "<script>" not in own.html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in own.html
    assert "<p>Line one<br>\nLine two<br>\nSee " in own.html
    link = SAMPLE_CONTEXT["manage_url"]
    assert f'<a href="{link}">{link}</a>.</p>' in own.html
    assert own.subject == "For <script>alert(1)</script> & Co"
    assert "<title>For &lt;script&gt;" in own.html and '<html lang="en-gb">' in own.html
    assert "Northshire Council</header>" in own.html
    assert '<html lang="cy">' in shipped_welsh.html and "&lt;script&gt;" in shipped_welsh.html


def test_a_text_that_runs_over_is_shortened_to_the_allowed_parts(tenant) -> None:
    long_name = {"service": "Inspection of premises " * 20}
    with override_settings(SMS_MAX_SEGMENTS=2):
        rendered = message_render(message(tenant, channel=SMS, context=SAMPLE_CONTEXT | long_name))
    assert rendered.text.startswith("Northshire Council: your Inspection of premises")
    assert rendered.text.endswith("...") and sms_segments(rendered.text).segments == 2
    assert (rendered.subject, rendered.html) == ("", "")


def test_the_preview_uses_the_sample_booking_in_the_language() -> None:
    subject, body = shipped_template("cy", MessageKind.REMINDER, EMAIL)
    preview = template_preview(kind="reminder", channel=EMAIL, language="cy", subject=subject, body=body)
    assert "Pryd: Dydd Mawrth 8 Rhagfyr 2026, 14:30 tan 15:15" in preview.text
    assert preview.subject == "Nodyn atgoffa: Food hygiene inspection, Dydd Mawrth 8 Rhagfyr 2026 am 14:30"
