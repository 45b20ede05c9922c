"""Provider webhooks, on each tenant's host: Twilio's delivery reports and inbound texts, and the ESP's
delivery reports (anymail's tracking views, wrapped here).

They are public and take no session, so each proves who sent it before anything changes: Twilio signs
every request (X-Twilio-Signature, an HMAC of the URL it called and the form it posted, keyed with our auth
token); the ESP sends the HTTP basic auth in ANYMAIL["WEBHOOK_SECRET"]. A bad or missing proof is refused
(403, or anymail's 400) and changes nothing, and a body over WEBHOOK_MAX_BYTES is refused (413) unread.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from twilio.request_validator import RequestValidator

from .models import MessageChannel, MessageStatus
from .services import message_status_report, sms_inbound

E164 = re.compile(r"\+[1-9][0-9]{1,14}")
# Twilio's MessageStatus values, as our statuses; the others (receiving, received, read, canceled ...)
# say nothing about a text we sent.
TWILIO_STATUSES = {
    "accepted": MessageStatus.SENT,
    "queued": MessageStatus.SENT,
    "sending": MessageStatus.SENT,
    "sent": MessageStatus.SENT,
    "delivered": MessageStatus.DELIVERED,
    "undelivered": MessageStatus.FAILED,
    "failed": MessageStatus.FAILED,
}


def body_limited(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Refuses a body declaring more than WEBHOOK_MAX_BYTES before the view reads it (413). Django reads no
    more than the declared length, so the declaration is the limit."""

    @wraps(view)
    def limited(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return HttpResponse(status=400)
        if length > settings.WEBHOOK_MAX_BYTES:
            return HttpResponse(status=413)
        return view(request, *args, **kwargs)

    return limited


def signed_by_twilio(request: HttpRequest) -> bool:
    """Whether the X-Twilio-Signature is Twilio's for this URL, as Twilio called it (scheme and host as the
    proxy in front reports them: SECURE_PROXY_SSL_HEADER), and this form."""
    signature = request.headers.get("X-Twilio-Signature", "")
    if not signature or not settings.TWILIO_AUTH_TOKEN:
        return False
    validator = RequestValidator(settings.TWILIO_AUTH_TOKEN)
    return validator.validate(request.build_absolute_uri(), request.POST, signature)


@csrf_exempt
@require_POST
@body_limited
def twilio_status(request: HttpRequest) -> HttpResponse:
    """Twilio's report on a text we sent: it moves the message to sent, delivered or failed."""
    if not signed_by_twilio(request):
        return HttpResponseForbidden()
    status = TWILIO_STATUSES.get(request.POST.get("MessageStatus", ""))
    if status is not None:
        code = request.POST.get("ErrorCode", "")
        message_status_report(
            channel=MessageChannel.SMS,
            provider_id=request.POST.get("MessageSid", ""),
            status=status,
            error=f"Twilio error {code}" if code else "",
        )
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
@body_limited
def twilio_inbound(request: HttpRequest) -> HttpResponse:
    """A text sent to our number: STOP opts the number out of this tenant's texts, START back in. The reply
    is empty: Twilio itself answers STOP and START with its standard messages."""
    if not signed_by_twilio(request):
        return HttpResponseForbidden()
    number = request.POST.get("From", "")
    if E164.fullmatch(number):  # as Twilio gives every phone number (not a WhatsApp or other sender)
        sms_inbound(tenant_id=request.tenant.pk, number=number, text=request.POST.get("Body", ""))
    return HttpResponse('<?xml version="1.0" encoding="UTF-8"?><Response/>', content_type="text/xml")
