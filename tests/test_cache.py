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
