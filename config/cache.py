"""Django's Redis cache, keeping one redis-py client per connection pool, and `read_through` for the
version-keyed caches.

Django's client builds a new `redis.Redis` for every operation; its constructor alone (response callbacks,
options) costs about as much as a GET over the local socket. The client is thread-safe and holds no
connection of its own (each command borrows one from the pool), so one per pool serves every operation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = RedisCacheClient


def read_through(key: str, compute: Callable[[], Any], seconds: int, *, what: str) -> Any:
    """The value kept under `key`, else `compute()`, kept for `seconds` (a None result is not kept).

    With Redis unreachable (logged as a warning naming `what`), the value is computed afresh: a cache that
    is down slows pages, it never breaks them.
    """
    try:
        value = cache.get(key)
    except RedisError:
        logger.warning("%s cache unreachable: reading afresh", what, exc_info=True)
        return compute()
    if value is None:
        value = compute()
        if value is not None:
            try:
                cache.set(key, value, seconds)
            except RedisError:
                logger.warning("%s cache unreachable: not kept", what, exc_info=True)
    return value
