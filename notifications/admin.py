"""Tenant admin for messages: the tenant's own wording (checked on save, previewed on a sample booking) and
a read-only view of what was sent, for administrators looking into a complaint."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.admin import ReadOnlyMixin, TenantAdminForm, TenantModelAdmin, tenant_admin_site

from .models import Message, MessageChannel, MessageTemplate
from .rendering import VARIABLES, template_errors, template_errors_by_field, template_preview
from .sms import sms_segments


def variables_help() -> SafeString:
    items = format_html_join("", "<li><code>{{{{ {} }}}}</code>: {}</li>", VARIABLES.items())
    return format_html(
        "{}<ul>{}</ul>",
        _(
            "Write {{ variable }} for a variable, and {% if variable %} … {% else %} … {% endif %} for "
            "words that depend on one. A line holding only such a tag leaves no blank line. Variables:"
        ),
        items,
    )


class MessageTemplateForm(TenantAdminForm):
    class Meta:
        model = MessageTemplate
        fields = ["kind", "channel", "language", "subject", "body"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["subject"].help_text = _("Emails only; variables may be used. Leave it empty for texts.")
        self.fields["body"].help_text = variables_help()

    def clean_body(self) -> str:
        return self.cleaned_data["body"].replace("\r\n", "\n")  # browsers send CRLF; messages use LF

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        needed = ["kind", "channel", "language", "body"]
        if all(cleaned.get(name) for name in needed):
            errors = template_errors_by_field(
                kind=cleaned["kind"],
                channel=cleaned["channel"],
                subject=cleaned.get("subject", ""),
                body=cleaned["body"],
                language=cleaned["language"],
            )
            for field, problems in errors.items():
                for problem in problems:
                    self.add_error(field, problem)
        return cleaned


@admin.register(MessageTemplate, site=tenant_admin_site)
class MessageTemplateAdmin(TenantModelAdmin):
    """Without a template of its own for a kind, channel and language, a tenant sends the shipped wording."""

    form = MessageTemplateForm
    list_display = ["kind", "channel", "language", "subject", "updated_at"]
    list_filter = ["kind", "channel", "language"]
    search_fields = ["subject", "body"]
    fields = ["kind", "channel", "language", "subject", "body", "preview"]
    readonly_fields = ["preview"]

    @admin.display(description=gettext_lazy("preview with a sample booking"))
    def preview(self, template: MessageTemplate) -> str:
        wording = {
            "kind": template.kind,
            "channel": template.channel,
            "subject": template.subject,
            "body": template.body,
        }
        if not template.body:
            return _("Save the template to see a preview.")
        if template_errors(**wording, language=template.language):
            return _("The preview appears once the template has no mistakes.")
        rendered = template_preview(**wording, language=template.language)
        if template.channel == MessageChannel.SMS:
            budget = sms_segments(rendered.text)
            return format_html(
                '<pre style="white-space: pre-wrap">{}</pre><p>{}</p>',
                rendered.text,
                ngettext(
                    "%(segments)s part, %(characters)s characters in %(encoding)s.",
                    "%(segments)s parts, %(characters)s characters in %(encoding)s.",
                    budget.segments,
                )
                % budget._asdict(),
            )
        return format_html(
            '<p><strong>{}</strong> {}</p><pre style="white-space: pre-wrap">{}</pre>'
            '<iframe sandbox="" srcdoc="{}" title="{}" style="width: 100%; height: 28rem; border: 1px solid '
            '#b1b4b6"></iframe>',
            _("Subject:"),
            rendered.subject,
            rendered.text,
            escape(rendered.html),  # the whole page, as an attribute value (it is marked safe as HTML)
            _("The email as HTML"),
        )


@admin.register(Message, site=tenant_admin_site)
class MessageAdmin(ReadOnlyMixin, TenantModelAdmin):
    """What was sent, to whom and what became of it; written only by the outbox, never by hand."""

    list_display = ["created_at", "kind", "channel", "to", "status", "attempts", "sent_at"]
    list_filter = ["status", "channel", "kind"]
    search_fields = ["to", "topic", "recipient"]
    ordering = ["-created_at", "-pk"]
