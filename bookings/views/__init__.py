"""Views by audience: `portal` (customers, no account) and the staff workspace modules.

Each module lists its own URL patterns in `urls`; bookings/urls.py puts them together.
"""
