"""Django's error pages and reports without passwords: the project's exception reporter filter,
with the password of every URL in settings, the request's environment and local variables masked
(Django masks by name only, and a cache LOCATION or REDIS_URL is not named like a secret)."""

import re

from django.conf import settings
from django.utils.module_loading import import_string

# scheme://user:password@host: the user stays readable, the password goes.
_URL_PASSWORD = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^:@/\s]*):([^@/\s]+)@")
MASK = "********************"  # what Django's own filter shows


def mask(value):
    if isinstance(value, str):
        return _URL_PASSWORD.sub(rf"\1:{MASK}@", value)
    return value


_ProjectFilter = import_string(settings.KOVAN_PROJECT_EXCEPTION_REPORTER_FILTER)


class ExceptionReporterFilter(_ProjectFilter):
    def cleanse_setting(self, key, value):
        # Django recurses into dicts and lists through this method, so nested values pass here too.
        return mask(super().cleanse_setting(key, value))

    def get_safe_request_meta(self, request):
        return {k: mask(v) for k, v in super().get_safe_request_meta(request).items()}

    def get_traceback_frame_variables(self, request, tb_frame):
        return [(k, mask(v)) for k, v in super().get_traceback_frame_variables(request, tb_frame)]
