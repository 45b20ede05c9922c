"""The tenant admin for message templates (checked on save, previewed) and the read-only message log."""

from __future__ import annotations

import pytest
from django.test import Client
from django_scopes import scope

from accounts.models import Role, Tenant
from notifications.models import Message, MessageChannel, MessageKind, MessageStatus, MessageTemplate

ADD = "/admin/notifications/messagetemplate/add/"


@pytest.fixture
def admin_client(tenant: Tenant, client_for, member_of) -> Client:
    return client_for(tenant, member_of(tenant, Role.ADMINISTRATOR))


def template_post(**overrides: str) -> dict[str, str]:
    data = {
        "kind": MessageKind.REMINDER,
        "channel": MessageChannel.EMAIL,
        "language": "en-gb",
        "subject": "See you on {{ date }}",
        "body": "Dear {{ customer_name }},\r\n\r\nSee you at {{ time }}.\r\n{{ manage_url }}",
    }
    return data | overrides


def form_errors(response) -> dict[str, list[str]]:
    return response.context["adminform"].form.errors


def saved(tenant: Tenant) -> list[MessageTemplate]:
    with scope(tenant=tenant):
        return list(MessageTemplate.objects.all())


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        (
            "body",
            "Dear {{ customer_name }},\r\n{{ balance }}",
            "Line 2: there is no variable called “balance”.",
        ),
        ("body", "{% for x in service %}{{ x }}{% endfor %}", "Line 1: {% for %} cannot be used."),
        ("body", "{% if officer %}With {{ officer }}", "Line 1: {% if %} is never closed: add {% endif %}"),
        ("body", "{{ customer_name|safe }}", "filters such as “|safe” cannot be used"),
        ("subject", "Booking {{ reference }", "Line 1: “{{” has no partner"),
        ("subject", "", "An email needs a subject."),
    ],
    ids=["unknown variable", "tag", "unclosed", "filter", "broken subject", "no subject"],
)
def test_a_broken_template_is_refused_with_the_reason_and_nothing_saved(
    tenant, admin_client, field: str, value: str, expected: str
) -> None:
    response = admin_client.post(ADD, template_post(**{field: value}))

    assert response.status_code == 200
    assert expected in " ".join(form_errors(response)[field])
    assert expected in response.content.decode()
    assert saved(tenant) == []


def test_a_text_message_too_long_for_its_parts_is_refused(tenant, admin_client) -> None:
    body = "{{ manage_url }} {{ survey_url }} {{ location }} {{ location }} {{ location }} {{ service }}"
    response = admin_client.post(ADD, template_post(channel=MessageChannel.SMS, subject="", body=body))
    assert "takes 4 parts" in " ".join(form_errors(response)["body"])
    assert saved(tenant) == []


def test_a_good_template_is_saved_for_the_tenant_and_its_preview_shows(tenant, admin_client) -> None:
    response = admin_client.post(ADD, template_post(_continue="1"))

    assert response.status_code == 302
    [template] = saved(tenant)
    assert (template.tenant, template.kind, template.language) == (tenant, MessageKind.REMINDER, "en-gb")
    assert template.body == "Dear {{ customer_name }},\n\nSee you at {{ time }}.\n{{ manage_url }}"
    page = admin_client.get(response.url).content.decode()
    assert "See you on Tuesday 8 December 2026" in page  # the subject, for the sample booking
    assert "Dear Alex Morgan," in page and "See you at 14:30." in page
    assert 'sandbox="" srcdoc="' in page and "&lt;a href=&quot;https://northshire.example/manage/" in page


def test_a_saved_text_message_shows_its_parts(tenant, admin_client) -> None:
    data = template_post(channel=MessageChannel.SMS, subject="", body="{{ council }}: see you at {{ time }}.")
    response = admin_client.post(ADD, data | {"_continue": "1"})
    page = admin_client.get(response.url).content.decode()
    assert "Northshire Council: see you at 14:30." in page
    assert "1 part, 37 characters in GSM-7." in page


def test_the_form_lists_the_documented_variables(admin_client) -> None:
    page = admin_client.get(ADD).content.decode()
    assert "<code>{{ manage_url }}</code>: The customer&#x27;s own link to see, change or cancel" in page
    assert "<code>{{ previous_time }}</code>" in page
    assert "Save the template to see a preview." in page


def test_one_template_per_kind_channel_and_language(tenant, admin_client) -> None:
    assert admin_client.post(ADD, template_post()).status_code == 302
    again = admin_client.post(ADD, template_post())
    assert again.status_code == 200 and "already exists" in again.content.decode()
    assert admin_client.post(ADD, template_post(language="cy")).status_code == 302
    assert len(saved(tenant)) == 2


def test_an_administrator_sees_only_their_own_templates(tenant, other_tenant, admin_client) -> None:
    with scope(tenant=other_tenant):
        theirs = MessageTemplate.objects.create(
            tenant=other_tenant,
            kind=MessageKind.REMINDER,
            channel=MessageChannel.EMAIL,
            subject="Southern secret",
        )
    with scope(tenant=tenant):
        MessageTemplate.objects.create(
            tenant=tenant, kind=MessageKind.REMINDER, channel=MessageChannel.EMAIL, subject="Northern wording"
        )

    page = admin_client.get("/admin/notifications/messagetemplate/").content.decode()

    assert "Northern wording" in page and "Southern secret" not in page
    assert admin_client.get(f"/admin/notifications/messagetemplate/{theirs.pk}/change/").status_code == 302
    edit = admin_client.post(f"/admin/notifications/messagetemplate/{theirs.pk}/change/", template_post())
    assert edit.status_code == 302
    with scope(tenant=other_tenant):
        theirs.refresh_from_db()
    assert theirs.subject == "Southern secret"


# --- the message log -------------------------------------------------------------------------------------


def sent_message(tenant: Tenant, to: str, **fields: object) -> Message:
    values: dict[str, object] = {
        "kind": MessageKind.CONFIRMATION,
        "channel": MessageChannel.EMAIL,
        "dedupe_key": f"test:{to}",
        "topic": "booking:BK-7Q4M-2X",
        "recipient": "customer:7",
        "status": MessageStatus.DELIVERED,
    }
    with scope(tenant=tenant):
        return Message.objects.create(tenant=tenant, to=to, **(values | fields))


def test_messages_can_be_looked_at_but_not_added_changed_or_deleted(tenant, admin_client) -> None:
    message = sent_message(tenant, "ada@example.org")
    url = f"/admin/notifications/message/{message.pk}/change/"

    assert "ada@example.org" in admin_client.get("/admin/notifications/message/").content.decode()
    page = admin_client.get(url).content.decode()
    assert "booking:BK-7Q4M-2X" in page and 'name="_save"' not in page
    assert admin_client.get("/admin/notifications/message/add/").status_code == 403
    assert admin_client.post(url, {"to": "mallory@example.org"}).status_code == 403
    delete = admin_client.post(f"/admin/notifications/message/{message.pk}/delete/", {"post": "yes"})
    assert delete.status_code == 403
    with scope(tenant=tenant):
        message.refresh_from_db()
    assert message.to == "ada@example.org"


def test_messages_are_found_by_address_topic_or_recipient_and_filtered(
    tenant, other_tenant, admin_client
) -> None:
    sent_message(tenant, "ada@example.org")
    sent_message(
        tenant, "+447700900123", channel=MessageChannel.SMS, status=MessageStatus.FAILED, recipient="x"
    )
    sent_message(other_tenant, "their-customer@example.org")
    changelist = "/admin/notifications/message/"

    def shown(**query: str) -> set[str]:
        page = admin_client.get(changelist, query).content.decode()
        candidates = {"ada@example.org", "+447700900123", "their-customer@example.org"}
        return {to for to in candidates if to in page}

    assert shown() == {"ada@example.org", "+447700900123"}
    assert shown(q="customer:7") == {"ada@example.org"}
    assert shown(q="BK-7Q4M-2X") == {"ada@example.org", "+447700900123"}
    assert shown(status__exact="failed") == {"+447700900123"}
    assert shown(channel__exact="email") == {"ada@example.org"}
    assert shown(q="their-customer") == set()


PAGES = [
    "/admin/notifications/messagetemplate/",
    ADD,
    "/admin/notifications/message/",
]


@pytest.mark.parametrize("role", [Role.OFFICER, Role.CUSTOMER_SERVICE, Role.MANAGER])
def test_other_roles_reach_none_of_the_pages(tenant, client_for, member_of, role: Role) -> None:
    client = client_for(tenant, member_of(tenant, role))
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response.url, url


def test_administrators_reach_them(admin_client) -> None:
    for url in PAGES:
        assert admin_client.get(url).status_code == 200, url
