from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from .forms import clean_message_text
from .models import Message, Room

# Close codes of our own (4000-4999 are for applications): the page tells the user why.
NOT_LOGGED_IN = 4401
NO_SUCH_ROOM = 4404


class ChatConsumer(AsyncJsonWebsocketConsumer):
    """One browser tab in one room. A message is stored, then sent to the room's group through the
    channel layer, so every tab in the room receives it, on whichever server process it is."""

    async def connect(self):
        self.room = None
        user = self.scope["user"]
        if not user.is_authenticated:
            # Logged in on the page but anonymous here: the websocket server does not share the
            # page's session (its own cookie name, SECRET_KEY or session store).
            await self.close(code=NOT_LOGGED_IN)
            return
        self.room = await self._room(self.scope["url_route"]["kwargs"]["name"])
        if self.room is None:
            # The room was created on another server whose database this one does not share.
            await self.close(code=NO_SUCH_ROOM)
            return
        await self.channel_layer.group_add(self.room.group_name, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if self.room is not None:
            await self.channel_layer.group_discard(self.room.group_name, self.channel_name)

    async def receive_json(self, content, **kwargs):
        text = clean_message_text(content.get("message"))
        if text is None:
            await self.send_json({"error": "Mesaj boş olamaz ve en fazla 500 karakter olabilir."})
            return
        event = await self._store(text)
        await self.channel_layer.group_send(
            self.room.group_name, {"type": "chat.message", "message": event}
        )

    async def chat_message(self, event):
        await self.send_json(event["message"])

    @database_sync_to_async
    def _room(self, name):
        return Room.objects.filter(name=name).first()

    @database_sync_to_async
    def _store(self, text):
        message = Message.objects.create(room=self.room, author=self.scope["user"], text=text)
        return message.as_event(settings.SERVER_INSTANCE)
