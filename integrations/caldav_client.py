"""A thin wrapper over the caldav library for one officer's calendar: put, delete and read events.

Every failure comes out as one of two errors, because the sync treats them differently: `CredentialsRejected`
(the server said 401 or 403: retrying cannot help, a person must enter new details) and
`CalendarUnavailable` (the network, a timeout, a 5xx, or no calendar at the address: worth retrying). The
address is checked (`calendar_url_problem`) before any request, and redirects are not followed, so a
server cannot send the application somewhere the check would have refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import caldav
import requests
from caldav.lib import error as caldav_error
from django.conf import settings
from django.utils.translation import gettext as _

from .addresses import calendar_url_problem


class CalendarSyncError(Exception):
    """Something stopped one request to the calendar server; the message is for administrators."""


class CredentialsRejected(CalendarSyncError):
    """The server refused the user name or password (401/403): no retry will help."""


class CalendarUnavailable(CalendarSyncError):
    """The server could not be reached, timed out, failed (5xx) or has no calendar at the address."""


_ACCEPTED = {200, 201, 204}
_GONE = {404, 410}


def event_href_name(uid: str) -> str:
    """The resource name an event is stored under: the UID with anything unsafe in a path replaced, so the
    same UID always lands on the same resource and a second PUT overwrites the first."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", uid) + ".ics"


class CalendarClient:
    """One calendar collection on a CalDAV server, for the length of one sync."""

    def __init__(self, *, url: str, username: str, password: str, timeout: float | None = None) -> None:
        if problem := calendar_url_problem(url):
            raise CalendarUnavailable(problem)
        self.url = url if url.endswith("/") else f"{url}/"
        self.timeout = timeout if timeout is not None else settings.CALDAV_TIMEOUT_SECONDS
        self._client = caldav.DAVClient(self.url, username=username, password=password, timeout=self.timeout)
        self._client.session.max_redirects = 0

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> CalendarClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def put_event(self, uid: str, ical: bytes) -> None:
        """Writes the event under its UID's own resource, creating or overwriting it."""
        with self._classified():
            response = self._client.put(
                self.url + event_href_name(uid), ical, {"Content-Type": "text/calendar; charset=utf-8"}
            )
        if response.status not in _ACCEPTED:
            raise self._refused(response.status)

    def delete_event(self, uid: str) -> None:
        """Deletes the event; one that is already gone is fine."""
        with self._classified():
            response = self._client.delete(self.url + event_href_name(uid))
        if response.status not in _ACCEPTED | _GONE:
            raise self._refused(response.status)

    def events_between(self, start: datetime, end: datetime) -> list[str]:
        """The raw VCALENDAR text of every event resource with an occurrence in [start, end) (recurring
        ones whole, as stored: the caller expands them)."""
        calendar = caldav.Calendar(client=self._client, url=self.url)
        with self._classified():
            found = calendar.search(start=start, end=end, event=True, expand=False)
            return [str(item.data) for item in found if item.data]

    def _refused(self, status: int) -> CalendarSyncError:
        if status in (401, 403):
            return CredentialsRejected(_("The calendar server rejected the user name or password."))
        if status in (404, 409, 410):
            return CalendarUnavailable(_("There is no calendar at this address any more (%s).") % status)
        return CalendarUnavailable(_("The calendar server answered with an error (%s).") % status)

    @contextmanager
    def _classified(self) -> Iterator[None]:
        try:
            yield
        except caldav_error.AuthorizationError as exc:
            raise CredentialsRejected(_("The calendar server rejected the user name or password.")) from exc
        except caldav_error.NotFoundError as exc:
            raise CalendarUnavailable(_("There is no calendar at this address any more.")) from exc
        except requests.Timeout as exc:
            raise CalendarUnavailable(
                _("The calendar server did not answer within %s seconds.") % self.timeout
            ) from exc
        except requests.TooManyRedirects as exc:
            raise CalendarUnavailable(
                _("The calendar server sent us to another address; enter the calendar's own address.")
            ) from exc
        except requests.RequestException as exc:
            raise CalendarUnavailable(_("The calendar server could not be reached.")) from exc
        except caldav_error.DAVError as exc:
            raise CalendarUnavailable(
                _("The calendar server answered with an error (%s).") % (exc.reason or type(exc).__name__)
            ) from exc
        except (ValueError, SyntaxError) as exc:  # lxml's parse errors are SyntaxErrors
            raise CalendarUnavailable(_("The calendar server's answer could not be read.")) from exc
