"""Contact details as people type them, in the one form they are stored and compared in."""

from __future__ import annotations


def normalise_phone(phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit() or ch == "+")
    if digits.startswith("07") and len(digits) == 11:  # UK mobile written nationally
        digits = "+44" + digits[1:]
    return digits
