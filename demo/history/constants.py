"""What the demo history is made of: its size, seed, rhythm and the words staff and customers used."""

from __future__ import annotations

from bookings.models import (
    CaseKind,
)
from demo.diaries import (
    FOOD,
    JOINT,
    LICENSING,
    PHONE,
    SAFETY,
)

HISTORY_DAYS = 182
SEED = 20260601
REFERENCE_PREFIX = "DH-"
DEDUPE_PREFIX = "demo-history:"
REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
LICENSING_SKILL = "Licensing"

# Appointments per officer and working day, Monday to Friday, before the trend: Fridays are quieter.
WEEKDAY_LOAD = [5.2, 5.0, 5.3, 4.9, 3.6]
# The trend: from this share of the weekday load six months ago to the last, linearly.
TREND = (0.78, 1.08)

# Reasons as staff type them: the same few, in varying case and spacing, now and then none.
CANCELLATION_REASONS = [
    ("Customer asked to cancel", 30),
    ("customer asked to cancel", 6),
    ("Customer asked to cancel ", 3),
    ("Customer asked to cancel - feeling unwell", 2),
    ("Business closed", 10),
    ("business closed", 3),
    ("Business closed down", 2),
    ("Officer unavailable", 9),
    ("officer unavailable ", 2),
    ("Booked by mistake", 7),
    ("booked by mistake", 2),
    ("Duplicate booking", 6),
    ("duplicate  booking", 2),
    ("Premises being refurbished", 2),
    ("", 8),
]
DISPLACEMENT_REASONS = [
    "Urgent visit: serious accident reported at a workplace",
    "Urgent visit: suspected food poisoning outbreak",
    "Urgent visit: dangerous structure reported",
    "Urgent visit: rats seen in a food preparation area",
]
URGENT_NOTES = {
    FOOD: "Complaint of illness after eating there; visit the same day if possible.",
    SAFETY: "Reported injury (RIDDOR); the site is to be seen before work restarts.",
    PHONE: "Caller reports a gas smell at a takeaway; advice needed urgently.",
}
SURVEY_SCORES = [(5, 52), (4, 30), (3, 9), (2, 5), (1, 4)]
SURVEY_COMMENTS = {
    5: [
        "Very helpful, thank you.",
        "The officer explained everything clearly.",
        "On time and friendly.",
        "Quick and easy to book online.",
        "Really useful advice for our new menu.",
        "Excellent, thank you!",
    ],
    4: [
        "Good visit, a bit rushed at the end.",
        "Helpful. Would have liked the report sooner.",
        "Fine overall.",
        "Good advice, the call came ten minutes late.",
    ],
    3: [
        "OK, but I had to wait in for most of the morning.",
        "Advice was fine, the booking page was confusing.",
        "Average.",
    ],
    2: [
        "The officer arrived late and did not apologise.",
        "Had to explain everything twice.",
    ],
    1: [
        "Nobody told me the time had changed.",
        "Came all the way in and the room was double booked.",
        "Unhelpful.",
    ],
}
EMAIL_ERRORS = ["550 5.1.1 Mailbox unavailable", "552 5.2.2 Mailbox full", "550 5.7.1 Message rejected"]
SMS_ERRORS = ["30003: Unreachable destination handset", "30005: Unknown destination handset"]
CASE_KINDS = {
    FOOD: [("FH", CaseKind.INSPECTION)] * 3 + [("CMP", CaseKind.COMPLAINT)],
    SAFETY: [("CMP", CaseKind.COMPLAINT), ("ENF", CaseKind.ENFORCEMENT), ("FH", CaseKind.INSPECTION)],
    JOINT: [("CMP", CaseKind.COMPLAINT), ("ENF", CaseKind.ENFORCEMENT)],
    LICENSING: [("LA", CaseKind.LICENCE_APPLICATION)],
    PHONE: [("ADV", CaseKind.ADVICE)],
}
CASE_SHARE = {FOOD: 0.7, SAFETY: 0.8, JOINT: 0.9, LICENSING: 0.7, PHONE: 0.2}
