"""Human booking references, such as BK-7Q4M-2X."""

from __future__ import annotations

import secrets

from django.db import IntegrityError

REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: references are read aloud
# The unique constraint that decides whether a new reference is free (32^6: about a billion of them).
REFERENCE_CONSTRAINT = "booking_reference_unique_per_tenant"


def reference_new() -> str:
    """A random reference. Whether the tenant already has it is left to the unique constraint: the insert
    is refused (`reference_taken`) and the caller tries another, rather than every booking asking first."""
    code = "".join(secrets.choice(REFERENCE_ALPHABET) for _i in range(6))
    return f"BK-{code[:4]}-{code[4:]}"


def reference_taken(error: Exception) -> bool:
    """Whether a refused insert was refused for its reference alone."""
    cause = getattr(error, "__cause__", None)
    diag = getattr(cause, "diag", None)
    return (
        isinstance(error, IntegrityError) and getattr(diag, "constraint_name", None) == REFERENCE_CONSTRAINT
    )
