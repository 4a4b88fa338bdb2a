from importlib import import_module

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from kovan_django import whole_cache

ENGINES = "django.contrib.sessions.backends."
CACHE_ENGINES = {ENGINES + "cache", ENGINES + "cached_db"}
DB_ENGINES = {ENGINES + "db", ENGINES + "cached_db"}
# Any version; "cache*" also covers cached_db's keys, "django.contrib.sessions.cached_db<id>".
SESSION_KEYS = b"*:django.contrib.sessions.cache*"


class Command(BaseCommand):
    help = (
        "Clear this instance's cache keys and/or sessions; other instances' are never touched. "
        "all = the cache (cached sessions included) and the session rows."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--type", dest="part", choices=["all", "cache", "sessions"], default="all"
        )
        parser.add_argument("--dry-run", action="store_true", help="count only; delete nothing")

    def handle(self, *, part, dry_run, **options):
        self.dry_run = dry_run
        self.done = "would be deleted" if dry_run else "deleted"
        report = []
        try:
            if part in ("all", "cache"):
                report.append(self.clear_cache(caches["default"]))
            if part in ("all", "sessions"):
                report.extend(self.clear_sessions(part))
        except (DatabaseError, OSError) as exc:
            raise CommandError(f"{settings.KOVAN_INSTANCE}: {type(exc).__name__}: {exc}") from exc
        self.stdout.write(f"{settings.KOVAN_INSTANCE}: {', '.join(report)}")

    def clear_cache(self, cache):
        if isinstance(cache, RedisCache):
            return (
                f"{self.redis_keys(cache, b'*')} cache keys {self.done} (prefix {cache.key_prefix})"
            )
        if isinstance(cache, LocMemCache):
            # This command's process has a LocMem of its own, empty; the server's is out of reach.
            return "cache not cleared: LocMemCache lives in the server (POST /health/cache/clear/)"
        if isinstance(cache, DummyCache):
            return "cache: nothing stored (DummyCache)"
        why = whole_cache.refusal(cache)
        if why is not None:
            raise CommandError(f"{settings.KOVAN_INSTANCE}: {why}")
        if not self.dry_run:
            whole_cache.clear(cache)  # a file folder or a table of this instance's own
        return f"{type(cache).__name__} {'would be cleared' if self.dry_run else 'cleared'}"

    def clear_sessions(self, part):
        engine, alias = settings.SESSION_ENGINE, settings.SESSION_CACHE_ALIAS
        if engine not in CACHE_ENGINES | DB_ENGINES:
            return [
                f"sessions not cleared: {engine} keeps them neither in a cache nor in a database"
            ]
        report = []
        if engine in CACHE_ENGINES:
            if alias != "default":
                # Only "default" is per instance; another alias may be shared between instances.
                report.append(
                    f"cached sessions not cleared: cache {alias!r} is not this instance's own"
                )
            elif part == "sessions":  # with --type=all the cache part has taken them already
                report.append(self.clear_cached_sessions(caches[alias]))
        if engine in DB_ENGINES:
            # The instance's own database, so every row is this instance's.
            rows = import_module(engine).SessionStore.get_model_class().objects.all()
            report.append(
                f"{rows.count() if self.dry_run else rows.delete()[0]} sessions {self.done}"
            )
        return report

    def clear_cached_sessions(self, cache):
        if isinstance(cache, RedisCache):
            return f"{self.redis_keys(cache, SESSION_KEYS)} cached sessions {self.done}"
        # Only Redis lists keys by pattern here (the file cache names files by key hashes, and
        # LocMem lives in the server): elsewhere it is the whole cache or nothing.
        return "cached sessions not cleared: only Redis can single them out (use --type=cache)"

    def redis_keys(self, cache, pattern_suffix):
        # Imported here: the redis package is only installed where an instance uses Redis.
        from redis.exceptions import RedisError

        from kovan_django import redis_prefix

        try:
            if self.dry_run:
                return redis_prefix.count_prefix(cache, pattern_suffix)
            # Never cache.clear() here: on Redis that is FLUSHDB, every instance's keys.
            return redis_prefix.delete_prefix(cache, pattern_suffix)
        except RedisError as exc:
            servers = ", ".join(redis_prefix.redacted(url) for url in cache._servers)
            raise CommandError(f"{settings.KOVAN_INSTANCE}: Redis at {servers}: {exc}") from exc
