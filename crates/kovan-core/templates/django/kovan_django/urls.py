from importlib import import_module

from django.conf import settings
from django.urls import path
from django.views import defaults

from . import views

project_urls = import_module(settings.KOVAN_PROJECT_URLCONF)

# The project's patterns are spliced in rather than include()d: include() refuses i18n_patterns,
# which Django only allows (and LocaleMiddleware only detects) at the top of the root URLconf.
urlpatterns = [
    path("health/", views.health, name="kovan_health"),
    path("health/cache/clear/", views.clear_cache, name="kovan_clear_cache"),
    *(
        [path(settings.KOVAN_CONSOLE_PATH, views.console, name="kovan_console")]
        if getattr(settings, "KOVAN_CONSOLE_PATH", None)
        else []
    ),
    *project_urls.urlpatterns,
]

# Django looks up error handlers on the root URLconf only, which is now this module.
handler400 = getattr(project_urls, "handler400", defaults.bad_request)
handler403 = getattr(project_urls, "handler403", defaults.permission_denied)
handler404 = getattr(project_urls, "handler404", defaults.page_not_found)
handler500 = getattr(project_urls, "handler500", defaults.server_error)
