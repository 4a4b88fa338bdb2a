from django.conf import settings
from django.contrib import messages as flash
from django.core.cache import cache
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from .forms import MessageForm

MESSAGES_KEY = "chat:messages"
HITS_KEY = "chat:hits"
MAX_MESSAGES = 20


def _cached_messages():
    return cache.get(MESSAGES_KEY, [])


@require_http_methods(["GET", "POST"])
def index(request):
    if request.method == "POST":
        form = MessageForm(request.POST)
        if form.is_valid():
            message = {
                "text": form.cleaned_data["text"],
                "instance": settings.SERVER_INSTANCE,
                "at": timezone.now().isoformat(timespec="seconds"),
            }
            # Read-modify-write is not atomic; two simultaneous posts can lose one.
            # Acceptable for a demo whose point is where the key lives, not chat semantics.
            cache.set(MESSAGES_KEY, [message, *_cached_messages()][:MAX_MESSAGES])
            flash.success(request, "Mesajınız kaydedildi.")
            # Post/Redirect/Get: a browser refresh must not post the message again.
            return redirect("chat:index")
    else:
        form = MessageForm()
        request.session["visits"] = request.session.get("visits", 0) + 1
        # incr() raises on a missing key, so seed it first; timeout=None keeps the
        # seed from expiring between the two calls.
        cache.get_or_set(HITS_KEY, 0, timeout=None)
        cache.incr(HITS_KEY)

    cached = _cached_messages()
    return render(
        request,
        "chat/index.html",
        {
            "form": form,
            "instance": settings.SERVER_INSTANCE,
            "visits": request.session.get("visits", 0),
            "cache_hits": cache.get(HITS_KEY, 0),
            "cache_backend": settings.CACHES["default"]["BACKEND"],
            "last_message": cached[0] if cached else None,
            "chat_messages": cached,
            "session_cookie_name": settings.SESSION_COOKIE_NAME,
        },
    )


@require_GET
def messages_api(request):
    return JsonResponse({"instance": settings.SERVER_INSTANCE, "messages": _cached_messages()})
