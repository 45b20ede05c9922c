"""Which calendar server addresses the application will call: it is a server-side request to a URL that a
user typed, so only HTTPS to public addresses unless settings allow more (a local Radicale in tests)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _


def calendar_url_problem(url: str) -> str | None:
    """Why the application must not call `url`, in words for the form; None when it may."""
    parts = urlsplit(url)
    allow_local = settings.CALDAV_ALLOW_PRIVATE_ADDRESSES
    if parts.scheme != "https" and not (allow_local and parts.scheme == "http"):
        return _("Enter the calendar's https:// address.")
    if not parts.hostname:
        return _("Enter the calendar's full address, including the server name.")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return _("No server answers to that name. Check the address.")
    if not allow_local:
        for info in infos:
            address = ipaddress.ip_address(info[4][0])
            if not address.is_global:
                return _("That address is on a private network, which this service cannot reach.")
    return None
