"""This instance's cache scope, counted and cleared the same way by the clear endpoint, the
console page and `clear_cache`: by prefix on a shared Redis (never cache.clear(), which is FLUSHDB
there), under the lock for LocMem, whole for a file or table cache that is the instance's own."""

import time

from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.filebased import FileBasedCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache

from . import whole_cache


def live_locmem_entries(cache):
    """Entries not yet expired; the caller holds cache._lock."""
    # LocMemCache drops an expired entry only when it is next read, so len(_cache) overcounts.
    now = time.time()
    return sum(1 for expiry in cache._expire_info.values() if expiry is None or expiry > now)


def count(cache):
    """How many keys this instance has in its cache; None where this process cannot tell."""
    if isinstance(cache, RedisCache):
        # Imported here: the redis package is only installed where an instance uses Redis.
        from . import redis_prefix

        return redis_prefix.count_prefix(cache)
    if isinstance(cache, LocMemCache):
        with cache._lock:
            return live_locmem_entries(cache)
    if isinstance(cache, FileBasedCache):
        return len(cache._list_cache_files())
    if isinstance(cache, DatabaseCache):
        from django.db import connections, router

        db = router.db_for_read(cache.cache_model_class)
        connection = connections[db]
        table = connection.ops.quote_name(cache._table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM {table}")
            return cursor.fetchone()[0]
    if isinstance(cache, DummyCache):
        return 0
    return None


def clear(cache):
    """Delete this instance's keys; return how many were deleted (None where unknown)."""
    if isinstance(cache, RedisCache):
        from . import redis_prefix

        # Never cache.clear() here: on Redis that is FLUSHDB, every instance's keys.
        return redis_prefix.delete_prefix(cache)
    if isinstance(cache, LocMemCache):
        # What LocMemCache.clear() does, with the count taken under the same lock, so the number
        # reported is exactly what was removed (clear() takes the lock itself: not reentrant).
        with cache._lock:
            live = live_locmem_entries(cache)
            cache._cache.clear()
            cache._expire_info.clear()
        return live
    if isinstance(cache, DummyCache):
        return 0
    # Anything else is cleared whole only when it is a file or table cache of this instance's own;
    # whole_cache.Refused for the rest (django-redis, memcached: clear() may wipe everyone's keys).
    whole_cache.check(cache)
    before = count(cache)
    whole_cache.clear(cache)
    return before
