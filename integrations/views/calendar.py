"""Officers' calendar sync pages: the subscription feed and the connected CalDAV calendar."""

from django.urls import URLPattern

urls: list[URLPattern] = []
