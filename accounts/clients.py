"""Who is asking: the client's real address, behind any proxies the deployment trusts."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries if entry.strip())


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    """REMOTE_ADDR, unless that is one of TRUSTED_PROXIES: then the right-most X-Forwarded-For address
    that is not itself a trusted proxy (each proxy appends the address it saw, so everything left of the
    first untrusted hop may be forged by the client and is ignored)."""
    remote = request.META.get("REMOTE_ADDR", "")
    proxies = _networks(tuple(settings.TRUSTED_PROXIES))
    remote_address = _address(remote)
    if not proxies or remote_address is None or not any(remote_address in net for net in proxies):
        return remote
    hops = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return remote  # a malformed chain: trust only what we saw ourselves
        if not any(address in net for net in proxies):
            return str(address)
    return remote
