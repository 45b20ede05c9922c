"""Message wording: the tenant's templates or the shipped ones, checked on save and rendered at send time.

Templates are Django template language cut down to what an administrator needs and cannot misuse:
`{{ variable }}` for the documented variables (plain strings), and `{% if variable %}...{% elif ... %}
...{% else %}...{% endif %}` (conditions may combine variables with not, and, or). No filters, no other
tags, no attribute lookups: `template_errors` refuses anything else in words, so a broken template is
refused when it is saved, never found out when a message is sent. One template gives both the plain text
and the HTML of an email; a text message is fitted to `SMS_MAX_SEGMENTS` parts.

A line holding only tags is dropped from the output, so `{% if officer %}` may sit on a line of its own.
"""

from __future__ import annotations

import logging
import re
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.template import Context, Engine, Node, NodeList, TemplateSyntaxError
from django.template.base import FilterExpression, TextNode, Variable, VariableNode
from django.template.defaulttags import IfNode
from django.template.loader import render_to_string
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _
from django_scopes import scope

from .models import Message, MessageChannel, MessageKind, MessageTemplate
from .sms import sms_fit, sms_segments

logger = logging.getLogger(__name__)

SHIPPED = Path(settings.BASE_DIR) / "templates" / "notifications" / "messages"
LAYOUT = "notifications/email.html"
FALLBACK_LANGUAGE = "en-gb"

VARIABLES: dict[str, Any] = {
    "customer_name": gettext_lazy("The customer's name."),
    "reference": gettext_lazy("The booking reference, such as BK-7Q4M-2X."),
    "service": gettext_lazy("What is booked: the appointment type's name."),
    "date": gettext_lazy("The appointment's day in the message's language, such as Tuesday 8 December 2026."),
    "time": gettext_lazy("When the appointment starts, local time, such as 14:30."),
    "end_time": gettext_lazy("When the appointment ends, local time."),
    "location": gettext_lazy("Where the appointment is (the office's or the customer's address)."),
    "officer": gettext_lazy("The officer's name, or empty when none is assigned."),
    "council": gettext_lazy("Your organisation's name."),
    "council_phone": gettext_lazy("Your organisation's phone number, or empty."),
    "manage_url": gettext_lazy("The customer's own link to see, change or cancel the booking."),
    "survey_url": gettext_lazy("The link to the satisfaction survey (survey messages)."),
    "code": gettext_lazy("The one-time code (code messages)."),
    "minutes_valid": gettext_lazy("How many minutes the one-time code works for (code messages)."),
    "previous_date": gettext_lazy("The day the appointment was on before it moved (change of time)."),
    "previous_time": gettext_lazy("The time the appointment was at before it moved (change of time)."),
}

# As long as a real signed link: it takes most of a text message part.
_SAMPLE_TOKEN = (
    "eyJ0IjoxMiwicCI6IjJiYTIxZTE3LTlkN2EtNGUwOS04YzRmLWMxNmEzMGE4N2U1YyJ9:1xYLvA:"
    "sDLzAJ2adZRH03VseCQN_ZGuaEoVbdAvngLCS_D1zeQ"
)
SAMPLE_CONTEXT: dict[str, str] = {
    "customer_name": "Alex Morgan",
    "reference": "BK-7Q4M-2X",
    "service": "Food hygiene inspection",
    "date": "Tuesday 8 December 2026",
    "time": "14:30",
    "end_time": "15:15",
    "location": "Council Offices, 1 High Street, Northshire NS1 2AB",
    "officer": "Sam Patel",
    "council": "Northshire Council",
    "council_phone": "01632 960123",
    "manage_url": f"https://northshire.example/manage/{_SAMPLE_TOKEN}/",
    "survey_url": f"https://northshire.example/survey/{_SAMPLE_TOKEN}/",
    "code": "482913",
    "minutes_valid": "10",
    "previous_date": "Monday 7 December 2026",
    "previous_time": "10:00",
}
# The sample's dates as a Welsh message shows them.
_SAMPLE_DATES = {"cy": {"date": "Dydd Mawrth 8 Rhagfyr 2026", "previous_date": "Dydd Llun 7 Rhagfyr 2026"}}


class Rendered(NamedTuple):
    subject: str  # "" for a text message
    text: str
    html: str  # "" for a text message


def sample_context(language: str = FALLBACK_LANGUAGE) -> dict[str, str]:
    return SAMPLE_CONTEXT | _SAMPLE_DATES.get(language, {})


# --- checking -------------------------------------------------------------------------------------------

# Templates never load libraries, include files or escape output (the HTML is escaped separately).
_ENGINE = Engine(libraries={}, autoescape=False, string_if_invalid="")
_CONDITION_OPERATORS = {"not", "and", "or"}
# What a kind of message is for: a code message without the code tells the customer nothing.
_NEEDED = {MessageKind.CODE: ("code",), MessageKind.SURVEY: ("survey_url",)}


def _source_problems(source: str) -> tuple[str, ...]:
    return _source_problems_in(source, get_language())


@lru_cache(maxsize=512)
def _source_problems_in(source: str, language: str | None) -> tuple[str, ...]:
    """What is wrong with one template's source, in words of `language` (each text is checked once)."""
    try:
        template = _ENGINE.from_string(source)
    except TemplateSyntaxError as error:
        return (_syntax_error_in_words(str(error)),)
    return tuple(dict.fromkeys(_nodelist_problems(template.nodelist)))


def _nodelist_problems(nodelist: NodeList) -> list[str]:
    problems: list[str] = []
    for node in nodelist:
        if isinstance(node, TextNode):
            problems += _stray_braces(node)
        elif isinstance(node, VariableNode):
            problems += _expression_problems(node.filter_expression, _line(node))
        elif isinstance(node, IfNode):
            for condition, branch in node.conditions_nodelists:
                if condition is not None:
                    problems += _condition_problems(condition, _line(node))
                problems += _nodelist_problems(branch)
        else:
            tag = node.token.contents.split()[0] if node.token.contents else ""
            problems.append(
                _(
                    "Line %(line)s: {%% %(tag)s %%} cannot be used. Templates may use only "
                    "{{ variable }} and {%% if variable %%} … {%% else %%} … {%% endif %%}."
                )
                % {"line": _line(node), "tag": tag}
            )
    return problems


_BRACES = re.compile(r"\{\{|\}\}|\{%|%\}")


def _stray_braces(node: TextNode) -> list[str]:
    """Braces left in the text are a variable or tag typed wrongly, such as {{ reference }."""
    match = _BRACES.search(node.s)
    if match is None:
        return []
    line = _line(node) + node.s[: match.start()].count("\n")
    return [
        _("Line %(line)s: “%(braces)s” has no partner: write {{ variable }} or {%% if variable %%}.")
        % {"line": line, "braces": match[0]}
    ]


def _condition_problems(condition: Any, line: int) -> list[str]:
    if condition.id == "literal":
        return _expression_problems(condition.value, line)
    if condition.id not in _CONDITION_OPERATORS:
        return [
            _("Line %(line)s: “%(operator)s” cannot be used in a condition; use not, and, or.")
            % {"line": line, "operator": condition.id}
        ]
    return [
        p
        for part in (condition.first, condition.second)
        if part is not None
        for p in _condition_problems(part, line)
    ]


def _expression_problems(expression: FilterExpression, line: int) -> list[str]:
    problems = []
    variable = expression.var
    name = variable.var if isinstance(variable, Variable) and variable.literal is None else None
    if name is None:
        problems.append(
            _("Line %(line)s: “%(text)s” is not a variable. Use one of the variables listed below.")
            % {"line": line, "text": expression.token}
        )
    elif name not in VARIABLES:
        problems.append(
            _("Line %(line)s: there is no variable called “%(name)s”. Use one of the variables listed below.")
            % {"line": line, "name": name}
        )
    if expression.filters:
        problems.append(
            _("Line %(line)s: filters such as “|%(filter)s” cannot be used; write the variable on its own.")
            % {"line": line, "filter": expression.token.split("|")[1].split(":")[0]}
        )
    return problems


def _line(node: Node) -> int:
    return node.token.lineno


_UNKNOWN_TAG = re.compile(r"Invalid block tag on line (\d+): '([^']*)'")
_UNCLOSED_TAG = re.compile(r"Unclosed tag on line (\d+): '([^']*)'")
_UNKNOWN_FILTER = re.compile(r"Invalid filter: '([^']*)'")
_UNKNOWN_LIBRARY = re.compile(r"'([^']*)' is not a registered tag library")


def _syntax_error_in_words(message: str) -> str:
    if match := _UNKNOWN_TAG.match(message):
        return _(
            "Line %(line)s: {%% %(tag)s %%} has no matching tag before it, or cannot be used. Templates may "
            "use only {{ variable }} and {%% if variable %%} … {%% else %%} … {%% endif %%}."
        ) % {"line": match[1], "tag": match[2]}
    if match := _UNCLOSED_TAG.match(message):
        message = _("Line %(line)s: {%% %(tag)s %%} is never closed: add {%% end%(tag)s %%} where it ends.")
        return message % {"line": match[1], "tag": match[2]}
    if match := _UNKNOWN_FILTER.match(message):
        return _("Filters such as “|%(filter)s” cannot be used; write the variable on its own.") % {
            "filter": match[1]
        }
    if _UNKNOWN_LIBRARY.match(message):
        return _("{% load %} cannot be used: templates may use only {{ variable }} and {% if %}.")
    return _("The template cannot be read: %(error)s") % {"error": message}


def template_errors_by_field(
    *, kind: str, channel: str, subject: str, body: str, language: str = FALLBACK_LANGUAGE
) -> dict[str, list[str]]:
    """What stops a template from being saved, by form field ("subject", "body"); empty when it is fine.

    Beyond the syntax: an email needs a subject, a text message has none and must fit `SMS_MAX_SEGMENTS`
    parts when rendered for the sample booking, and a code or survey message must carry its code or link."""
    errors: dict[str, list[str]] = {}
    if channel == MessageChannel.EMAIL:
        if not subject.strip():
            errors.setdefault("subject", []).append(_("An email needs a subject."))
        elif "\n" in subject or "\r" in subject:
            errors.setdefault("subject", []).append(_("The subject must be one line."))
        else:
            errors.setdefault("subject", []).extend(_source_problems(subject))
    elif subject.strip():
        errors.setdefault("subject", []).append(_("Text messages have no subject: leave it empty."))
    if not body.strip():
        errors.setdefault("body", []).append(_("Write the message's text."))
    else:
        errors.setdefault("body", []).extend(_source_problems(body))
        for name in _NEEDED.get(kind, ()):
            if not re.search(r"\{\{\s*" + name + r"\s*\}\}", body):
                errors["body"].append(_("This kind of message must include {{ %(name)s }}.") % {"name": name})
    if channel == MessageChannel.SMS and not errors.get("body"):
        budget = sms_segments(_render(body, sample_context(language)))
        limit = settings.SMS_MAX_SEGMENTS
        if budget.segments > limit:
            errors["body"] = [
                _(
                    "For the sample booking this text message takes %(segments)s parts (%(characters)s "
                    "characters in %(encoding)s); the most allowed is %(limit)s. Make it shorter."
                )
                % {**budget._asdict(), "limit": limit}
            ]
    return {field: problems for field, problems in errors.items() if problems}


def template_errors(
    *, kind: str, channel: str, subject: str, body: str, language: str = FALLBACK_LANGUAGE
) -> list[str]:
    """Everything that stops a template from being saved, in words; empty when it is fine."""
    by_field = template_errors_by_field(
        kind=kind, channel=channel, subject=subject, body=body, language=language
    )
    return [problem for problems in by_field.values() for problem in problems]


# --- rendering ------------------------------------------------------------------------------------------

_TAG_ONLY_LINE = re.compile(r"^[ \t]*((?:\{%[^%]*%\}[ \t]*)+)\n", re.MULTILINE)
_LINK = re.compile(r"https?://[^\s<>\"]+")


@lru_cache(maxsize=512)
def _compiled(source: str) -> Any:
    return _ENGINE.from_string(_TAG_ONLY_LINE.sub(r"\1", source.replace("\r\n", "\n")))


def _render(source: str, context: dict[str, str]) -> str:
    text = _compiled(source).render(Context(context, autoescape=False))
    text = "\n".join(line.rstrip() for line in text.strip().splitlines())
    return re.sub(r"\n{3,}", "\n\n", text)


def _rendered(*, channel: str, language: str, subject: str, body: str, context: dict[str, str]) -> Rendered:
    text = _render(body, context)
    if channel == MessageChannel.SMS:
        return Rendered("", sms_fit(text, settings.SMS_MAX_SEGMENTS), "")
    subject = " ".join(_render(subject, context).split())
    html = render_to_string(
        LAYOUT,
        {
            "subject": subject,
            "council": context.get("council", ""),
            "language": language,
            "body": _html(text),
        },
    )
    return Rendered(subject, text, html)


def _html(text: str) -> SafeString:
    """The text as HTML: escaped, blank lines as paragraphs, line breaks kept, links made links."""
    paragraphs = re.split(r"\n\s*\n", text)
    return mark_safe(  # everything below is escaped piece by piece
        "\n".join("<p>" + "<br>\n".join(_linked(line) for line in p.split("\n")) + "</p>" for p in paragraphs)
    )


def _linked(line: str) -> str:
    parts, end = [], 0
    for match in _LINK.finditer(line):
        url = match[0].rstrip(".,;:!?)'")
        parts += [escape(line[end : match.start()]), f'<a href="{escape(url)}">{escape(url)}</a>']
        end = match.start() + len(url)
    return "".join([*parts, escape(line[end:])])


def _context(values: dict[str, Any]) -> dict[str, str]:
    """Only the documented variables reach a template, each as a string ("" when missing)."""
    return {name: str(values.get(name) or "") for name in VARIABLES}


@cache
def shipped_template(language: str, kind: str, channel: str) -> tuple[str, str]:
    """The shipped (subject, body) for a kind and channel, in the language or else in English."""
    if kind not in MessageKind.values or channel not in MessageChannel.values:
        raise ImproperlyConfigured(f"No message template for {kind!r} by {channel!r}")
    path = SHIPPED / language / f"{kind}.{channel}.txt"
    if language not in dict(settings.LANGUAGES) or not path.is_file():
        path = SHIPPED / FALLBACK_LANGUAGE / f"{kind}.{channel}.txt"
    text = path.read_text(encoding="utf-8")
    if channel != MessageChannel.EMAIL:
        return "", text
    first, _newline, body = text.partition("\n")
    if not first.startswith("Subject:"):
        raise ImproperlyConfigured(f"{path} must begin with a 'Subject: ...' line")
    return first.removeprefix("Subject:").strip(), body


@lru_cache(maxsize=512)
def _usable(kind: str, channel: str, subject: str, body: str, language: str) -> bool:
    return not template_errors(kind=kind, channel=channel, subject=subject, body=body, language=language)


def _wording(message: Message, wordings: dict[tuple[int, str, str, str], tuple[str, str]]) -> tuple[str, str]:
    """The tenant's own template for the message if it has one that passes the checks, else the shipped."""
    key = (message.tenant_id, message.kind, message.channel, message.language)
    if key not in wordings:
        wordings[key] = _wording_read(message)
    return wordings[key]


def _wording_read(message: Message) -> tuple[str, str]:
    kind, channel, language = message.kind, message.channel, message.language
    with scope(tenant=message.tenant_id):
        own = (
            MessageTemplate.objects.filter(
                tenant_id=message.tenant_id, kind=kind, channel=channel, language=language
            )
            .values_list("subject", "body")
            .first()
        )
    if own is not None:
        if _usable(kind, channel, *own, language):
            return own
        # Saved before a check it now fails (checks only grow stricter): the shipped wording still goes out.
        logger.warning(
            "The message template of tenant %s for %s by %s in %s fails its checks; sending the shipped one",
            message.tenant_id,
            kind,
            channel,
            language,
        )
    return shipped_template(language, kind, channel)


def message_render(
    message: Message, wordings: dict[tuple[int, str, str, str], tuple[str, str]] | None = None
) -> Rendered:
    """The subject, text and HTML of a message, from its variables (`Message.context`), at send time.

    Takes at most one query (the tenant's own template), none when `wordings` (a dict the caller keeps
    for a batch, such as one outbox sweep) already holds the wording; templates are compiled once per
    process."""
    subject, body = _wording(message, {} if wordings is None else wordings)
    return _rendered(
        channel=message.channel,
        language=message.language,
        subject=subject,
        body=body,
        context=_context(message.context),
    )


def template_preview(*, kind: str, channel: str, language: str, subject: str, body: str) -> Rendered:
    """A template as the sample booking's customer would get it, for the admin (the template must pass
    `template_errors`)."""
    return _rendered(
        channel=channel, language=language, subject=subject, body=body, context=sample_context(language)
    )
