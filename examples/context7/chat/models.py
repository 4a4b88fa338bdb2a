from django.conf import settings
from django.db import models


class Room(models.Model):
    # The slug is the room's address (/rooms/<name>/, ws/rooms/<name>/) and its channel-layer group.
    name = models.SlugField("oda adı", max_length=50, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="rooms_created"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "oda"
        verbose_name_plural = "odalar"

    def __str__(self):
        return self.name

    @property
    def group_name(self):
        # Channel-layer group names allow ASCII letters, digits, -, _ and . only: a slug fits.
        return f"room.{self.name}"


class Message(models.Model):
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    text = models.CharField("mesaj", max_length=500)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = "mesaj"
        verbose_name_plural = "mesajlar"

    def __str__(self):
        return f"{self.author}: {self.text[:40]}"

    def as_event(self, instance):
        """The message as the consumers send it to the browser."""
        return {
            "id": self.pk,
            "room": self.room.name,
            "user": self.author.get_username(),
            "text": self.text,
            "at": self.created_at.isoformat(timespec="seconds"),
            # Which server stored it: through a front door this is the websocket role.
            "instance": instance,
        }
