"""Clearing a cache whole, for the backends that are this instance's alone by construction.

Kovan gives each instance its own cache folder (file) or table (db); a dummy cache holds nothing.
Every other backend may be shared between instances, and its clear() may be FLUSHDB: Django's
RedisCache and django-redis both run FLUSHDB, wiping every instance's keys and sessions. Those are
never cleared whole, whatever CACHES a project's own settings put in place after Kovan's.
"""

from django.core.cache.backends.db import DatabaseCache
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.filebased import FileBasedCache

OWN_WHOLE = (FileBasedCache, DatabaseCache, DummyCache)


class Refused(ValueError):
    """A cache that may be shared between instances was not cleared whole."""


def backend_path(cache):
    return f"{type(cache).__module__}.{type(cache).__qualname__}"


def refusal(cache):
    """Why `cache` is not cleared whole, or None when it may be."""
    if isinstance(cache, OWN_WHOLE):
        return None
    return (
        f"{backend_path(cache)} is not cleared: it is not a file, db or dummy cache of this "
        "instance's own, and clearing it whole may delete other instances' keys (FLUSHDB on a "
        "shared Redis). Use the cache backend kovan.toml names, or clear it with its own tools."
    )


def check(cache):
    """Raise Refused unless `cache` may be cleared whole."""
    why = refusal(cache)
    if why is not None:
        raise Refused(why)


def clear(cache):
    """Clear `cache` whole; raises Refused for any backend not in OWN_WHOLE."""
    check(cache)
    cache.clear()
