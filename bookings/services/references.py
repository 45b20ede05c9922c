"""Human booking references, such as BK-7Q4M-2X."""

from __future__ import annotations

import secrets

from bookings.models import Booking

REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: references are read aloud


def reference_new() -> str:
    """A reference no booking of the active tenant has yet (the unique constraint backs this up)."""
    while True:
        code = "".join(secrets.choice(REFERENCE_ALPHABET) for _i in range(6))
        reference = f"BK-{code[:4]}-{code[4:]}"
        if not Booking.objects.filter(reference=reference).exists():
            return reference
