"""Count and delete one instance's keys in a Redis database that other instances share.

For Django's built-in RedisCache, whose keys are `{KEY_PREFIX}:{version}:{key}`. Its `clear()` is
FLUSHDB, which would also wipe the other instances' keys and sessions: never call it on Redis.
Keys stay bytes throughout: spaces, quotes, newlines, glob characters and non-UTF-8 are just data.
"""

import re
from itertools import islice
from urllib.parse import urlsplit, urlunsplit

from redis.exceptions import ResponseError

SCAN_COUNT = 1000  # SCAN's default of 10 keys per round trip is what makes `redis-cli --scan` slow


def client(cache):
    # The write client: with replicas configured, reads may go to a lagging one.
    return cache._cache.get_client(write=True)


def escape_glob(prefix):
    """The prefix as a literal in a SCAN MATCH pattern."""
    raw = prefix.encode() if isinstance(prefix, str) else prefix
    return re.sub(rb"([\\*?\[\]])", rb"\\\1", raw)


def _pattern(cache, pattern_suffix):
    suffix = pattern_suffix.encode() if isinstance(pattern_suffix, str) else pattern_suffix
    # The ":" keeps prefix "app_a" from matching the keys of "app_a2".
    return escape_glob(cache.key_prefix) + b":" + suffix


# After `{prefix}:`, what a cached session's key starts with (cache and cached_db engines): a
# numeric version, then Django's session key prefix ("…cache" also starts "…cached_db").
_SESSION = re.compile(rb"[0-9]+:django\.contrib\.sessions\.cache")


def is_session(cache, key):
    """Whether `key` (bytes, under this cache's prefix) is a cached session."""
    start = len(cache.key_prefix.encode()) + 1
    return _SESSION.match(key, start) is not None


def _scan(cache, pattern_suffix, take=None):
    keys = client(cache).scan_iter(match=_pattern(cache, pattern_suffix), count=SCAN_COUNT)
    return keys if take is None else (key for key in keys if take(key))


def count_prefix(cache, pattern_suffix="*", take=None):
    """How many keys match `{prefix}:{pattern_suffix}` (and `take`, a test on the key's bytes)."""
    # A set: SCAN may return a key twice while Redis resizes its hash table.
    return len(set(_scan(cache, pattern_suffix, take)))


def delete_prefix(cache, pattern_suffix="*", batch=1000, take=None):
    """Delete the keys matching `{prefix}:{pattern_suffix}` (and `take`, a test on the key's
    bytes); return how many were deleted."""
    conn = client(cache)
    # Deleting while scanning is safe: SCAN still returns every key that is there throughout.
    keys = _scan(cache, pattern_suffix, take)
    command = "UNLINK"  # frees the memory in the background, so a big flush does not block Redis
    deleted = 0
    while chunk := list(islice(keys, batch)):
        try:
            deleted += _run(conn, command, chunk)
        except ResponseError as exc:
            if command != "UNLINK" or "unknown command" not in str(exc).lower():
                raise
            command = "DEL"  # Redis before 4.0
            deleted += _run(conn, command, chunk)
    return deleted


def _run(conn, command, keys):
    # One round trip per batch. Not a transaction: there is nothing to roll back, and MULTI/EXEC
    # would hold off every other client for the whole batch. A key that is already gone (expired,
    # or returned twice by SCAN) counts 0.
    pipe = conn.pipeline(transaction=False)
    for key in keys:
        pipe.execute_command(command, key)
    return sum(pipe.execute())


def redacted(url):
    """A Redis URL fit for a message: the password, if any, replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{userinfo.partition(':')[0]}:***@{host}"))
