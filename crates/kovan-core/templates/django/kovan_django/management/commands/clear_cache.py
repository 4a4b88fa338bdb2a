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
# The server's match narrows the pass; redis_prefix.is_session decides.
SESSION_KEYS = b"*:django.contrib.sessions.cache*"


class Command(BaseCommand):
    help = (
        "Clear this instance's cache keys and/or sessions; other instances' are never touched. "
        "cache = every key but the cached sessions (users stay logged in); sessions = the cached "
        "sessions and the session rows (everyone is logged out); all = both."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--type", dest="part", choices=["all", "cache", "sessions"], default="cache"
        )
        parser.add_argument("--dry-run", action="store_true", help="count only; delete nothing")
        parser.add_argument(
            "--alias",
            dest="aliases",
            action="append",
            default=None,
            help="only this cache alias (repeatable); every alias Kovan declared without it",
        )

    def handle(self, *, part, dry_run, aliases, **options):
        self.dry_run = dry_run
        self.done = "would be deleted" if dry_run else "deleted"
        # "default" and the aliases of [instance.caches.NAME], each under its own prefix.
        declared = ["default", *settings.KOVAN_INSTANCES[settings.KOVAN_INSTANCE].get("caches", {})]
        unknown = [a for a in aliases or [] if a not in declared]
        if unknown:
            raise CommandError(f"no cache alias {unknown[0]!r}; this instance has {', '.join(declared)}")
        chosen = [a for a in declared if not aliases or a in aliases]
        report = []
        try:
            if part in ("all", "cache"):
                for alias in chosen:
                    # Sessions live in "default" only: another alias is cleared whole.
                    said = self.clear_cache(caches[alias], part if alias == "default" else "all")
                    report.append(said if len(declared) == 1 else f"{alias}: {said}")
            if part in ("all", "sessions"):
                report.extend(self.clear_sessions(part))
        except (DatabaseError, OSError) as exc:
            raise CommandError(f"{settings.KOVAN_INSTANCE}: {type(exc).__name__}: {exc}") from exc
        self.stdout.write(f"{settings.KOVAN_INSTANCE}: {', '.join(report)}")

    def clear_cache(self, cache, part):
        keep_sessions = part == "cache"
        if isinstance(cache, RedisCache):
            from kovan_django import redis_prefix

            if keep_sessions:
                keys = self.redis_keys(cache, b"*", lambda k: not redis_prefix.is_session(cache, k))
                return f"{keys} cache keys {self.done} (prefix {cache.key_prefix}; sessions kept)"
            keys = self.redis_keys(cache, b"*")
            return f"{keys} cache keys {self.done} (prefix {cache.key_prefix}; sessions included)"
        if isinstance(cache, LocMemCache):
            # This command's process has a LocMem of its own, empty; the server's is out of reach.
            return "cache not cleared: LocMemCache lives in the server (POST /health/cache/clear/)"
        if isinstance(cache, DummyCache):
            return "cache: nothing stored (DummyCache)"
        why = whole_cache.refusal(cache)
        if why is not None:
            raise CommandError(f"{settings.KOVAN_INSTANCE}: {why}")
        if keep_sessions and settings.SESSION_ENGINE in CACHE_ENGINES:
            # Only Redis singles keys out here: a file or table cache goes whole or not at all.
            return (
                f"cache not cleared: the sessions live in this {type(cache).__name__} and cannot "
                "be kept apart (use --type=all)"
            )
        if not self.dry_run:
            whole_cache.clear(cache)  # a file folder or a table of this instance's own
        return f"{type(cache).__name__} {'would be cleared' if self.dry_run else 'cleared'}"

    def clear_sessions(self, part):
        engine, alias = settings.SESSION_ENGINE, settings.SESSION_CACHE_ALIAS
        report = []
        # The cached sessions are recognised by their keys, whatever the engine says now (keys an
        # earlier engine left behind are sessions too); with --type=all the cache part took them.
        if part == "sessions":
            report.append(self.clear_cached_sessions(caches["default"]))
            if engine in CACHE_ENGINES and alias != "default":
                # Only "default" is per instance; another alias may be shared between instances.
                report.append(
                    f"cached sessions in cache {alias!r} not cleared: it is not this instance's own"
                )
        if engine in DB_ENGINES:
            # The instance's own database, so every row is this instance's.
            rows = import_module(engine).SessionStore.get_model_class().objects.all()
            report.append(
                f"{rows.count() if self.dry_run else rows.delete()[0]} db sessions {self.done}"
            )
        elif engine not in CACHE_ENGINES:
            report.append(
                f"sessions not cleared: {engine} keeps them neither in a cache nor in a database"
            )
        return report

    def clear_cached_sessions(self, cache):
        if isinstance(cache, RedisCache):
            from kovan_django import redis_prefix

            keys = self.redis_keys(cache, SESSION_KEYS, lambda k: redis_prefix.is_session(cache, k))
            return f"{keys} cached sessions {self.done}"
        if isinstance(cache, DummyCache) or settings.SESSION_ENGINE not in CACHE_ENGINES:
            return "0 cached sessions (none are kept in this cache)"
        # Only Redis lists keys by pattern here (the file cache names files by key hashes, and
        # LocMem lives in the server): elsewhere it is the whole cache or nothing.
        return "cached sessions not cleared: only Redis can single them out (use --type=all)"

    def redis_keys(self, cache, pattern_suffix, take=None):
        # Imported here: the redis package is only installed where an instance uses Redis.
        from redis.exceptions import RedisError

        from kovan_django import redis_prefix

        try:
            if self.dry_run:
                return redis_prefix.count_prefix(cache, pattern_suffix, take)
            # Never cache.clear() here: on Redis that is FLUSHDB, every instance's keys.
            return redis_prefix.delete_prefix(cache, pattern_suffix, take=take)
        except RedisError as exc:
            servers = ", ".join(redis_prefix.redacted(url) for url in cache._servers)
            raise CommandError(f"{settings.KOVAN_INSTANCE}: Redis at {servers}: {exc}") from exc
