from django.urls import path

from . import views

app_name = "chat"

urlpatterns = [
    path("", views.index, name="index"),
    path("rooms/<slug:name>/", views.room, name="room"),
    # The API role's part of the site: nginx sends /api/ to chat_api.
    path("api/me/", views.api_me, name="api_me"),
    path("api/rooms/", views.api_rooms, name="api_rooms"),
    path("api/rooms/<slug:name>/messages/", views.api_messages, name="api_messages"),
]
