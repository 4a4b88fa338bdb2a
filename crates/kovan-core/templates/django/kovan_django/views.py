import hmac
import os
import threading
import time

import django
from django.conf import settings
from django.core.cache import caches
from django.db import connection
from django.http import HttpResponse, HttpResponseForbidden, HttpResponseRedirect, JsonResponse
from django.utils.html import format_html
from django.utils.translation import get_language
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from . import scope, whole_cache

try:  # Django 5.1+: LoginRequiredMiddleware must let Kovan's probes through
    from django.contrib.auth.decorators import login_not_required
except ImportError:

    def login_not_required(view):
        return view



PROBE_KEY = "kovan:health-probe"
# An "all applied" answer is reused this long: /health/ is asked every 2 s, and building the
# migration graph on each would cost a large project tens of milliseconds.
MIGRATIONS_REUSED_FOR = 10.0
_migrations_lock = threading.Lock()
_migrations = {"checked": 0.0, "unapplied": None}


def _failure(exc):
    return f"{type(exc).__name__}: {exc}"


def unapplied_migrations():
    """The migrations `migrate` would apply to the default database, in its order."""
    from django.db.migrations.executor import MigrationExecutor

    with _migrations_lock:
        fresh = time.monotonic() - _migrations["checked"] < MIGRATIONS_REUSED_FOR
        if _migrations["unapplied"] == [] and fresh:
            return []
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    names = [f"{m.app_label}.{m.name}" for m, backwards in plan if not backwards]
    with _migrations_lock:
        _migrations.update(checked=time.monotonic(), unapplied=names)
    return names


def _migrations_message(names):
    shown = ", ".join(names[:5]) + (", …" if len(names) > 5 else "")
    noun = "migration" if len(names) == 1 else "migrations"
    return (
        f"{len(names)} {noun} not applied ({shown}): "
        f"kovan migrate {settings.KOVAN_INSTANCE}"
    )


def _database():
    report = {
        "vendor": connection.vendor,
        "name": str(connection.settings_dict["NAME"]),
        "ok": True,
        "unapplied_migrations": None,
    }
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # whatever the driver raises, the instance cannot serve
        report.update(ok=False, error=_failure(exc))
        return report, []
    try:
        names = unapplied_migrations()
    except Exception as exc:  # a broken migration module, a conflict: pages would fail too
        report.update(ok=False, error=f"migrations: {_failure(exc)}")
        return report, []
    report["unapplied_migrations"] = len(names)
    return report, names


def _cache(alias="default"):
    cache = caches[alias]
    report = {
        "backend": settings.CACHES[alias]["BACKEND"],
        "key_prefix": cache.key_prefix,
        "ok": True,
        # Only where no one outside this process can count: Kovan counts the other backends itself.
        "keys": None,
    }
    try:
        cache.get(PROBE_KEY)  # a read only: health never writes to the user's cache
        if isinstance(cache, scope.LocMemCache):
            report["keys"] = scope.count(cache)
    except Exception as exc:  # Redis down, cache table missing, ...
        report.update(ok=False, error=_failure(exc))
    return report


def _aliases():
    """Each cache alias Kovan declared beside "default", reported as `_cache` reports it: only a
    LocMem alias has its count here (Kovan counts the others itself)."""
    declared = settings.KOVAN_INSTANCES[settings.KOVAN_INSTANCE].get("caches", {})
    return {alias: _cache(alias) for alias in declared}


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
@login_not_required
@require_safe
def health(request):
    (database, unapplied), cache, channels = _database(), _cache(), _channels()
    # What keeps the instance from serving, each with its message: Kovan shows the first.
    failures = []
    if not database["ok"]:
        failures.append({"part": "database", "message": database["error"]})
    elif unapplied:
        failures.append({"part": "migrations", "message": _migrations_message(unapplied)})
    if not cache["ok"]:
        failures.append({"part": "cache", "message": cache["error"]})
    if channels is not None and not channels["ok"]:
        failures.append({"part": "channels", "message": channels["error"]})
    response = JsonResponse(
        {
            "status": "degraded" if failures else "ok",
            "instance": settings.KOVAN_INSTANCE,
            "pid": os.getpid(),
            "django": django.get_version(),
            "database": database,
            "cache": cache,
            "caches": _aliases(),
            "channels": channels,
            "session_cookie": settings.SESSION_COOKIE_NAME,
            "csrf_cookie": settings.CSRF_COOKIE_NAME,
            "failures": failures,
        },
        # 503 so that a readiness check does not pass an instance that cannot serve.
        status=503 if failures else 200,
    )
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt  # called by Kovan, not by a browser form; the token is the protection
@login_not_required
@require_POST
def clear_cache(request):
    token = settings.KOVAN_TOKEN.encode()
    given = request.headers.get("X-Kovan-Token", "").encode()
    # compare_digest: the time taken tells nothing about how much of the token was right.
    if not token or not hmac.compare_digest(given, token):
        return JsonResponse({"error": "missing or wrong X-Kovan-Token"}, status=403)
    # ?alias=NAME: one of the aliases Kovan declared for this instance; "default" without it.
    alias = request.GET.get("alias", "default")
    declared = settings.KOVAN_INSTANCES[settings.KOVAN_INSTANCE].get("caches", {})
    if alias != "default" and alias not in declared:
        return JsonResponse(
            {"instance": settings.KOVAN_INSTANCE, "error": f"no cache alias {alias!r}"}, status=404
        )
    try:
        deleted = scope.clear(caches[alias])
    except whole_cache.Refused as refused:
        return JsonResponse({"instance": settings.KOVAN_INSTANCE, "error": str(refused)}, status=409)
    except Exception as exc:  # reported to Kovan, which shows it on the instance's card
        return JsonResponse(
            {"instance": settings.KOVAN_INSTANCE, "error": _failure(exc)}, status=503
        )
    backend = settings.CACHES[alias]["BACKEND"]
    return JsonResponse(
        {"instance": settings.KOVAN_INSTANCE, "alias": alias, "backend": backend, "deleted": deleted}
    )


# ---- the console: the guide's "Cache Temizle" inside the project, for staff ----

TEXT = {
    "tr": {
        "title": "Kovan: {instance}",
        "keys": "{prefix} önekinde {count} anahtar",
        "unknown": "anahtar sayısı bu süreçten görülemiyor",
        "button": "Cache Temizle",
        "cleared": "{count} anahtar silindi. Diğer örneklerin anahtarlarına dokunulmadı.",
        "scope": "Yalnızca bu örneğin ({instance}) önbelleği temizlenir; cache.clear() asla.",
        "staff": "Bu sayfa yalnızca yöneticilere (is_staff) açıktır.",
        "no_auth": "Bu sayfa django.contrib.auth ve AuthenticationMiddleware ister.",
    },
    "en": {
        "title": "Kovan: {instance}",
        "keys": "{count} keys under the prefix {prefix}",
        "unknown": "the key count cannot be seen from this process",
        "button": "Clear cache",
        "cleared": "{count} keys deleted. Other instances' keys were not touched.",
        "scope": "Clears this instance's ({instance}) cache only; never cache.clear().",
        "staff": "This page is for staff users (is_staff) only.",
        "no_auth": "This page needs django.contrib.auth and AuthenticationMiddleware.",
    },
}


def _text():
    return TEXT["tr" if (get_language() or "").startswith("tr") else "en"]


def _login_url():
    from django.shortcuts import resolve_url
    from django.urls import NoReverseMatch, Resolver404, resolve, reverse

    url = resolve_url(settings.LOGIN_URL)
    try:
        resolve(url)
        return url
    except Resolver404:
        try:
            return reverse("admin:login")  # projects that log in through the admin only
        except NoReverseMatch:
            return url


@csrf_protect  # a POST that deletes keys: protected even where the middleware is not installed
@require_http_methods(["GET", "HEAD", "POST"])
def console(request):
    text = _text()
    user = getattr(request, "user", None)
    if user is None:
        return HttpResponseForbidden(text["no_auth"])
    if not user.is_authenticated:
        from django.contrib.auth.views import redirect_to_login

        return redirect_to_login(request.get_full_path(), _login_url())
    if not user.is_staff:
        return HttpResponseForbidden(text["staff"])
    cache = caches["default"]
    if request.method == "POST":
        try:
            deleted = scope.clear(cache)
        except whole_cache.Refused as refused:
            return HttpResponse(str(refused), status=409, content_type="text/plain; charset=utf-8")
        # Post/Redirect/Get: a refresh must not clear again.
        return HttpResponseRedirect(f"{request.path}?cleared={deleted if deleted is not None else ''}")
    count = scope.count(cache)
    cleared = request.GET.get("cleared")
    instance = settings.KOVAN_INSTANCE
    keys = (
        text["keys"].format(count=count, prefix=cache.key_prefix)
        if count is not None
        else text["unknown"]
    )
    body = format_html(
        '<!doctype html><html lang="{}"><head><meta charset="utf-8"><title>{}</title>'
        "<style>body{{font:16px system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}}"
        "button{{font:inherit;padding:.5rem 1rem}}.ok{{color:#166534}}</style></head><body>"
        "<h1>{}</h1><p>{}</p><p>{}</p>{}"
        '<form method="post"><input type="hidden" name="csrfmiddlewaretoken" value="{}">'
        '<button type="submit" data-kovan="clear">{}</button></form></body></html>',
        "tr" if text is TEXT["tr"] else "en",
        text["title"].format(instance=instance),
        text["title"].format(instance=instance),
        keys,
        text["scope"].format(instance=instance),
        format_html('<p class="ok" role="status">{}</p>', text["cleared"].format(count=cleared))
        if cleared is not None
        else "",
        _csrf_token(request),
        text["button"],
    )
    response = HttpResponse(body)
    response["Cache-Control"] = "no-store"
    return response


def _csrf_token(request):
    from django.middleware.csrf import get_token

    return get_token(request)
