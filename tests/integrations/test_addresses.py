import pytest

from integrations.addresses import calendar_url_problem


@pytest.mark.parametrize(
    "url",
    ["http://calendar.example.com/dav/", "ftp://x/", "https:///nohost", "javascript:alert(1)"],
)
def test_only_https_with_a_host_is_called(settings, url: str) -> None:
    settings.CALDAV_ALLOW_PRIVATE_ADDRESSES = False
    assert calendar_url_problem(url) is not None


@pytest.mark.parametrize("url", ["https://127.0.0.1/dav/", "https://10.0.0.5/", "https://[::1]:5232/"])
def test_private_addresses_are_refused_in_production(settings, url: str) -> None:
    settings.CALDAV_ALLOW_PRIVATE_ADDRESSES = False
    assert "private network" in calendar_url_problem(url)


def test_a_local_server_is_allowed_where_settings_say_so(settings) -> None:
    settings.CALDAV_ALLOW_PRIVATE_ADDRESSES = True
    assert calendar_url_problem("http://127.0.0.1:5232/user/calendar/") is None
