# Run by Kovan with `python -c`, cwd at the Django root and DJANGO_SETTINGS_MODULE set: asks Django
# itself for the settings Kovan proposes a kovan.toml from, and prints one marked JSON line.
# Only the settings module is imported (no django.setup()), so apps and models are not loaded.
import json
import sys
import traceback

MARK = "KOVAN-DETECT "


def error_text(exc):
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def text(value):
    return None if value is None else str(value)


def locations(value):
    # LOCATION is a string (Redis: possibly several servers split by , or ;), a path, or a list.
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    if isinstance(value, str):
        return [part.strip() for part in value.replace(";", ",").split(",") if part.strip()]
    return [str(value)]


def installed(module):
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def version_of(distribution):
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def channels_part(settings):
    # Asked of the settings and of the interpreter, never of the source: a project uses Channels
    # when it names an ASGI application and Channels can be imported.
    apps = [str(app) for app in settings.INSTALLED_APPS]
    layers = getattr(settings, "CHANNEL_LAYERS", None) or {}
    default_layer = layers.get("default") if isinstance(layers, dict) else None
    servers = []
    if "daphne" in apps and installed("daphne"):
        servers.append("daphneRunserver")
    if installed("daphne"):
        servers.append("daphne")
    if installed("uvicorn"):
        servers.append("uvicorn")
    return {
        "asgiApplication": text(getattr(settings, "ASGI_APPLICATION", None)) or None,
        "channelsVersion": (version_of("channels") or "unknown") if installed("channels") else None,
        "channelLayerBackend": text(default_layer.get("BACKEND")) if isinstance(default_layer, dict) else None,
        "channelsRedisInstalled": installed("channels_redis"),
        "asgiServers": servers,
    }


def main():
    try:
        import django
    except Exception as exc:
        return {"state": "failed", "stage": "django", "message": error_text(exc)}
    try:
        from django.conf import settings

        caches = [
            {
                "alias": str(alias),
                "backend": text(conf.get("BACKEND")),
                "location": locations(conf.get("LOCATION")),
                "keyPrefix": text(conf.get("KEY_PREFIX")) or "",
            }
            for alias, conf in settings.CACHES.items()
        ]
        default_db = settings.DATABASES.get("default") or {}
        return {
            "state": "read",
            "djangoVersion": django.get_version(),
            "caches": caches,
            "database": {
                "engine": text(default_db.get("ENGINE")),
                "name": text(default_db.get("NAME")),
            },
            "sessionCookie": str(settings.SESSION_COOKIE_NAME),
            "csrfCookie": str(settings.CSRF_COOKIE_NAME),
            "djangoRedisInstalled": "django_redis" in list(settings.INSTALLED_APPS),
            **channels_part(settings),
        }
    except BaseException as exc:
        return {"state": "failed", "stage": "settings", "message": error_text(exc)}


print(MARK + json.dumps(main()), flush=True)
sys.exit(0)
