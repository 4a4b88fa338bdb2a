import hmac
import os
import time

import django
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

PROBE_KEY = "kovan:health-probe"


def _failure(exc):
    return f"{type(exc).__name__}: {exc}"


def _database():
    report = {
        "vendor": connection.vendor,
        "name": str(connection.settings_dict["NAME"]),
        "ok": True,
    }
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # whatever the driver raises, the instance cannot serve
        report.update(ok=False, error=_failure(exc))
    return report


def _live_locmem_entries(cache):
    """Entries not yet expired; the caller holds cache._lock."""
    # LocMemCache drops an expired entry only when it is next read, so len(_cache) overcounts.
    now = time.time()
    return sum(1 for expiry in cache._expire_info.values() if expiry is None or expiry > now)


def _cache():
    cache = caches["default"]
    report = {
        "backend": settings.CACHES["default"]["BACKEND"],
        "key_prefix": cache.key_prefix,
        "ok": True,
        # Only where no one outside this process can count: Kovan counts the other backends itself.
        "keys": None,
    }
    try:
        cache.get(PROBE_KEY)  # a read only: health never writes to the user's cache
        if isinstance(cache, LocMemCache):
            with cache._lock:
                report["keys"] = _live_locmem_entries(cache)
    except Exception as exc:  # Redis down, cache table missing, ...
        report.update(ok=False, error=_failure(exc))
    return report


# ---- the channel layer (Django Channels) ----

CHANNEL_ROUND_TRIP_TIMEOUT = 2  # seconds; Kovan's probe itself waits longer


def _channels():
    """The default channel layer: its backend, its prefix and a message sent to and received from
    a private channel of this process. None when the project defines no channel layer."""
    layers = getattr(settings, "CHANNEL_LAYERS", None)
    if not layers or "default" not in layers:
        return None
    report = {
        "backend": str(layers["default"].get("BACKEND", "")),
        "prefix": None,
        "ok": True,
        "round_trip_ms": None,
    }
    try:
        import asyncio

        from asgiref.sync import async_to_sync
        from channels.layers import get_channel_layer

        layer = get_channel_layer()
        # channels_redis' key prefix; the in-memory layer has none (it cannot span processes).
        report["prefix"] = getattr(layer, "prefix", None)

        async def round_trip():
            channel = await layer.new_channel()
            nonce = os.urandom(8).hex()
            started = time.perf_counter()
            await layer.send(channel, {"type": "kovan.health", "nonce": nonce})
            message = await asyncio.wait_for(layer.receive(channel), CHANNEL_ROUND_TRIP_TIMEOUT)
            if message.get("nonce") != nonce:
                raise RuntimeError("the private channel returned another message")
            return (time.perf_counter() - started) * 1000

        report["round_trip_ms"] = round(async_to_sync(round_trip)(), 2)
    except Exception as exc:  # Redis down, channels missing, a layer that does not deliver
        report.update(ok=False, error=_failure(exc))
    return report


@csrf_exempt  # so that a POST gets its 405 from require_safe, not a CSRF 403
@require_safe
def health(request):
    database, cache, channels = _database(), _cache(), _channels()
    ok = database["ok"] and cache["ok"] and (channels is None or channels["ok"])
    response = JsonResponse(
        {
            "status": "ok" if ok else "degraded",
            "instance": settings.KOVAN_INSTANCE,
            "pid": os.getpid(),
            "django": django.get_version(),
            "database": database,
            "cache": cache,
            "channels": channels,
            "session_cookie": settings.SESSION_COOKIE_NAME,
            "csrf_cookie": settings.CSRF_COOKIE_NAME,
        },
        # 503 so that a readiness check does not pass an instance that cannot serve.
        status=200 if ok else 503,
    )
    response["Cache-Control"] = "no-store"
    return response


def _clear_locmem(cache):
    # What LocMemCache.clear() does, with the count taken under the same lock, so the number
    # reported is exactly what was removed (clear() itself takes the lock, which is not reentrant).
    with cache._lock:
        live = _live_locmem_entries(cache)
        cache._cache.clear()
        cache._expire_info.clear()
    return live


@csrf_exempt  # called by Kovan, not by a browser form; the token is the protection
@require_POST
def clear_cache(request):
    token = settings.KOVAN_TOKEN.encode()
    given = request.headers.get("X-Kovan-Token", "").encode()
    # compare_digest: the time taken tells nothing about how much of the token was right.
    if not token or not hmac.compare_digest(given, token):
        return JsonResponse({"error": "missing or wrong X-Kovan-Token"}, status=403)

    cache = caches["default"]
    try:
        if isinstance(cache, RedisCache):
            # Imported here: the redis package is only installed where an instance uses Redis.
            from . import redis_prefix

            # Never cache.clear() here: on Redis that is FLUSHDB, every instance's keys.
            deleted = redis_prefix.delete_prefix(cache)
        elif isinstance(cache, LocMemCache):
            deleted = _clear_locmem(cache)
        else:
            cache.clear()  # file, db, dummy: this instance's alone by construction
            deleted = None
    except Exception as exc:  # reported to Kovan, which shows it on the instance's card
        return JsonResponse(
            {"instance": settings.KOVAN_INSTANCE, "error": _failure(exc)}, status=503
        )
    backend = settings.CACHES["default"]["BACKEND"]
    return JsonResponse(
        {"instance": settings.KOVAN_INSTANCE, "backend": backend, "deleted": deleted}
    )
