from django.urls import path

from .consumers import ChatConsumer

# nginx sends /ws/ to the websocket role, so every consumer lives under it.
websocket_urlpatterns = [
    path("ws/rooms/<slug:name>/", ChatConsumer.as_asgi()),
]
