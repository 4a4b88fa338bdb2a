from functools import wraps

from django.conf import settings
from django.contrib import messages as flash
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.core.cache import cache
from django.db.models import Count
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from .forms import RoomForm
from .models import Room

HITS_KEY = "chat:hits"
API_HITS_KEY = "chat:api-hits"
HISTORY = 50


def _count_hit(key):
    # incr() raises on a missing key, so seed it first; timeout=None keeps the seed from expiring
    # between the two calls.
    cache.get_or_set(key, 0, timeout=None)
    return cache.incr(key)


def _server(request):
    """What the page says about the server that rendered it: through a front door, which one."""
    return {
        "instance": settings.SERVER_INSTANCE,
        "cache_backend": settings.CACHES["default"]["BACKEND"],
        "session_cookie_name": settings.SESSION_COOKIE_NAME,
        "host": request.get_host(),
    }


@require_http_methods(["GET", "POST"])
def signup(request):
    form = UserCreationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user)
        flash.success(request, f"Hoş geldin, {user.get_username()}.")
        return redirect("chat:index")
    return render(request, "registration/signup.html", {"form": form, **_server(request)})


@login_required
@require_http_methods(["GET", "POST"])
def index(request):
    form = RoomForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            room = form.save(commit=False)
            room.created_by = request.user
            room.save()
            flash.success(request, f"“{room.name}” odası açıldı.")
            # Post/Redirect/Get: a browser refresh must not post the form again.
            return redirect("chat:room", name=room.name)
    else:
        request.session["visits"] = request.session.get("visits", 0) + 1
        _count_hit(HITS_KEY)
    return render(
        request,
        "chat/index.html",
        {
            "form": form,
            "rooms": Room.objects.all(),
            "visits": request.session.get("visits", 0),
            "cache_hits": cache.get(HITS_KEY, 0),
            **_server(request),
        },
    )


@login_required
@require_GET
def room(request, name):
    room = get_object_or_404(Room, name=name)
    history = list(room.messages.select_related("author").order_by("-created_at", "-id")[:HISTORY])
    return render(
        request,
        "chat/room.html",
        {
            "room": room,
            "history": reversed(history),
            "socket_path": f"/ws/rooms/{room.name}/",
            **_server(request),
        },
    )


def _api_login_required(view):
    # An API answers 401 in JSON; a redirect to the login page means nothing to a script.
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return JsonResponse(
                {"error": "not logged in", "instance": settings.SERVER_INSTANCE}, status=401
            )
        _count_hit(API_HITS_KEY)
        return view(request, *args, **kwargs)

    return wrapped


@require_GET
@_api_login_required
def api_me(request):
    return JsonResponse(
        {
            "user": request.user.get_username(),
            "instance": settings.SERVER_INSTANCE,
            "session_cookie": settings.SESSION_COOKIE_NAME,
        }
    )


@require_GET
@_api_login_required
def api_rooms(request):
    rooms = [
        {"name": r.name, "created_by": r.created_by.get_username(), "messages": r.message_count}
        for r in Room.objects.select_related("created_by").annotate(message_count=Count("messages"))
    ]
    return JsonResponse({"instance": settings.SERVER_INSTANCE, "rooms": rooms})


@require_GET
@_api_login_required
def api_messages(request, name):
    room = get_object_or_404(Room, name=name)
    history = room.messages.select_related("author", "room").order_by("-created_at", "-id")[:HISTORY]
    return JsonResponse(
        {
            "instance": settings.SERVER_INSTANCE,
            "room": room.name,
            "messages": [m.as_event(settings.SERVER_INSTANCE) for m in reversed(list(history))],
        }
    )

