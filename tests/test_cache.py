"""The Redis cache keeps one redis-py client per connection pool (config.cache) and still behaves as
Django's: values round-trip, and increments stay atomic for the rate limits."""

from django.core.cache import cache

from config.cache import RedisCacheClient


def test_one_client_serves_every_operation_and_values_round_trip() -> None:
    client = cache._cache
    assert isinstance(client, RedisCacheClient)
    cache.set("cache-test:value", {"slots": [(1, 2)]}, 30)
    assert cache.get("cache-test:value") == {"slots": [(1, 2)]}
    assert client.get_client(write=False) is client.get_client(write=True)
    cache.delete("cache-test:value")
    assert cache.get("cache-test:value") is None


def test_increments_are_counted_by_the_server() -> None:
    cache.set("cache-test:count", 0, 30)
    for _ in range(3):
        cache.incr("cache-test:count")
    assert cache.get("cache-test:count") == 3
    cache.delete("cache-test:count")


def test_read_through_keeps_a_value_but_not_a_none_and_survives_redis_down() -> None:
    from unittest import mock

    from redis.exceptions import ConnectionError as RedisConnectionError

    from config.cache import read_through

    calls = []

    def compute(value):
        def run():
            calls.append(value)
            return value

        return run

    assert read_through("cache-test:kept", compute("open"), 30, what="test") == "open"
    assert read_through("cache-test:kept", compute("changed"), 30, what="test") == "open"  # kept
    assert read_through("cache-test:none", compute(None), 30, what="test") is None
    assert read_through("cache-test:none", compute(None), 30, what="test") is None
    assert calls == ["open", None, None]  # a None is computed each time, never kept
    down = RedisConnectionError("Connection refused")
    with mock.patch("config.cache.cache.get", side_effect=down):
        assert read_through("cache-test:kept", compute("fresh"), 30, what="test") == "fresh"
    cache.delete("cache-test:kept")
