"""Text-message budgets: how many parts (segments) a text costs, and shortening one to fit.

A text is sent in GSM-7 when every character is in the GSM 03.38 alphabet (its basic set, or the extension
table, whose characters take an escape septet and so count twice); otherwise the whole text goes as UCS-2,
which counts UTF-16 code units (an emoji takes two). One part holds 160 septets or 70 code units; a longer
text is split into parts of 153 or 67, each losing room to the header that joins them, and an extension
character or a surrogate pair is never split between two parts. Pure Python: no Django, no database.
"""

from __future__ import annotations

from typing import NamedTuple

GSM7 = "GSM-7"
UCS2 = "UCS-2"

# GSM 03.38 basic character set (0x1B, the escape to the extension table, is not a character of its own).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each costs the escape septet plus its own.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

# (one part alone, each part of a longer text), in septets or UTF-16 code units.
_PART_SIZES = {GSM7: (160, 153), UCS2: (70, 67)}


class SmsBudget(NamedTuple):
    encoding: str  # "GSM-7" or "UCS-2"
    segments: int
    characters: int  # what the encoding counts: septets for GSM-7, UTF-16 code units for UCS-2


def sms_encoding(text: str) -> str:
    return GSM7 if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text) else UCS2


def _costs(text: str, encoding: str) -> list[int]:
    if encoding == GSM7:
        return [2 if c in GSM7_EXTENSION else 1 for c in text]
    return [2 if ord(c) > 0xFFFF else 1 for c in text]


def sms_segments(text: str) -> SmsBudget:
    """The encoding a text will be sent in, how many parts it costs, and how much room it takes."""
    encoding = sms_encoding(text)
    costs = _costs(text, encoding)
    total = sum(costs)
    single, part = _PART_SIZES[encoding]
    if total <= single:
        return SmsBudget(encoding, 1 if text else 0, total)
    segments, used = 1, 0
    for cost in costs:  # a two-unit character that would straddle parts starts the next one
        if used + cost > part:
            segments, used = segments + 1, 0
        used += cost
    return SmsBudget(encoding, segments, total)


def sms_fit(text: str, max_segments: int) -> str:
    """The text itself if it fits in `max_segments` parts, otherwise as much of it as fits, ending at a
    whole word (a link is dropped, never broken) and an ellipsis.

    The ellipsis is "…" only in a text that is UCS-2 anyway; in GSM-7 it is "...", since "…" would turn
    the whole text into UCS-2 and cost more than half its room.
    """
    if max_segments < 1:
        raise ValueError("max_segments must be at least 1")
    if sms_segments(text).segments <= max_segments:
        return text
    best, best_length = "", -1
    for ellipsis in ("...", "…"):
        kept = _longest_prefix(text, ellipsis, max_segments)
        if ellipsis == "…" and sms_encoding(kept) == GSM7:
            continue  # the ellipsis alone would change the encoding
        if len(kept) >= best_length:  # on a tie, UCS-2 text keeps its own "…"
            best, best_length = kept + ellipsis, len(kept)
    return best


def _longest_prefix(text: str, ellipsis: str, max_segments: int) -> str:
    # A longer prefix never costs fewer parts, so the longest that fits is found by bisection.
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if sms_segments(text[:middle].rstrip() + ellipsis).segments <= max_segments:
            low = middle
        else:
            high = middle - 1
    kept = text[:low]
    if low < len(text) and not text[low].isspace():
        word_start = max(kept.rfind(" "), kept.rfind("\n"))
        if word_start > 0:  # a broken word (or link) is worse than none
            kept = kept[:word_start]
    return kept.rstrip()
