from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client, TestCase, TransactionTestCase, override_settings
from django.urls import reverse

from dashboard_project.asgi import application

from .consumers import NO_SUCH_ROOM, NOT_LOGGED_IN
from .models import Message, Room
from .views import API_HITS_KEY, HITS_KEY

# Pin the tests to a private LocMem cache and an in-memory channel layer: setUp() clears the cache,
# and clear() on a shared Redis would be FLUSHDB, wiping every other instance's keys.
TEST_CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "chat-tests",
    }
}
TEST_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
ORIGIN = (b"origin", b"http://127.0.0.1")


@override_settings(CACHES=TEST_CACHES, SERVER_INSTANCE="chat_test")
class ViewTests(TestCase):
    def setUp(self):
        cache.clear()
        self.user = get_user_model().objects.create_user("ayse", password="gizli-parola-1")

    def test_pages_need_a_login(self):
        response = self.client.get(reverse("chat:index"))
        self.assertRedirects(response, f"{reverse('login')}?next=/")
        api = self.client.get(reverse("chat:api_rooms"))
        self.assertEqual(api.status_code, 401)
        self.assertEqual(api.json()["instance"], "chat_test")

    def test_login_is_a_form_post_with_its_csrf_token(self):
        client = Client(enforce_csrf_checks=True)
        page = client.get(reverse("login"))
        token = page.cookies["csrftoken"].value
        refused = client.post(reverse("login"), {"username": "ayse", "password": "gizli-parola-1"})
        self.assertEqual(refused.status_code, 403)
        response = client.post(
            reverse("login"),
            {"username": "ayse", "password": "gizli-parola-1", "csrfmiddlewaretoken": token},
        )
        self.assertRedirects(response, reverse("chat:index"))
        self.assertEqual(client.get(reverse("chat:api_me")).json()["user"], "ayse")

    def test_creating_a_room_opens_it(self):
        self.client.force_login(self.user)
        response = self.client.post(reverse("chat:index"), {"name": "Genel"}, follow=True)
        self.assertRedirects(response, reverse("chat:room", args=["genel"]))
        self.assertContains(response, "/ws/rooms/genel/")
        self.assertEqual(Room.objects.get().created_by, self.user)
        again = self.client.post(reverse("chat:index"), {"name": "genel"})
        self.assertEqual(again.status_code, 200)
        self.assertTrue(again.context["form"].errors)

    def test_index_counts_visits_in_session_and_cache(self):
        self.client.force_login(self.user)
        self.client.get(reverse("chat:index"))
        response = self.client.get(reverse("chat:index"))
        self.assertEqual(response.context["visits"], 2)
        self.assertEqual(cache.get(HITS_KEY), 2)
        self.assertContains(response, "chat_test")

    def test_api_lists_rooms_and_messages(self):
        self.client.force_login(self.user)
        room = Room.objects.create(name="genel", created_by=self.user)
        Message.objects.create(room=room, author=self.user, text="Merhaba")
        rooms = self.client.get(reverse("chat:api_rooms")).json()["rooms"]
        self.assertEqual(rooms, [{"name": "genel", "created_by": "ayse", "messages": 1}])
        messages = self.client.get(reverse("chat:api_messages", args=["genel"])).json()
        self.assertEqual([(m["user"], m["text"]) for m in messages["messages"]], [("ayse", "Merhaba")])
        self.assertEqual(cache.get(API_HITS_KEY), 2)

    def test_signup_logs_the_new_user_in(self):
        response = self.client.post(
            reverse("signup"),
            {"username": "mehmet", "password1": "uzun-bir-parola-9", "password2": "uzun-bir-parola-9"},
        )
        self.assertRedirects(response, reverse("chat:index"))
        self.assertEqual(self.client.get(reverse("chat:api_me")).json()["user"], "mehmet")


@override_settings(CACHES=TEST_CACHES, CHANNEL_LAYERS=TEST_LAYERS, SERVER_INSTANCE="chat_test")
class ConsumerTests(TransactionTestCase):
    """The consumer as the websocket server runs it: the project's ASGI application, its session
    middleware and its channel layer."""

    def setUp(self):
        self.user = get_user_model().objects.create_user("ayse", password="gizli-parola-1")
        self.room = Room.objects.create(name="genel", created_by=self.user)

    def _cookie_of(self, user):
        client = Client()
        client.force_login(user)
        return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"

    def _socket(self, room, cookie=None):
        headers = [ORIGIN]
        if cookie:
            headers.append((b"cookie", cookie.encode()))
        return WebsocketCommunicator(application, f"/ws/rooms/{room}/", headers=headers)

    def test_a_message_reaches_every_socket_of_the_room_with_its_author(self):
        async def scenario():
            cookie = await database_sync_to_async(self._cookie_of)(self.user)
            first, second = self._socket("genel", cookie), self._socket("genel", cookie)
            self.assertTrue((await first.connect())[0])
            self.assertTrue((await second.connect())[0])
            await first.send_json_to({"message": "  Merhaba  "})
            for socket in (first, second):
                event = await socket.receive_json_from(timeout=5)
                self.assertEqual((event["user"], event["text"], event["room"]), ("ayse", "Merhaba", "genel"))
                self.assertEqual(event["instance"], "chat_test")
            await first.disconnect()
            await second.disconnect()

        async_to_sync(scenario)()
        self.assertEqual(Message.objects.get().text, "Merhaba")

    def test_other_rooms_receive_nothing(self):
        Room.objects.create(name="diger", created_by=self.user)

        async def scenario():
            cookie = await database_sync_to_async(self._cookie_of)(self.user)
            here, there = self._socket("genel", cookie), self._socket("diger", cookie)
            await here.connect()
            await there.connect()
            await here.send_json_to({"message": "sadece burada"})
            await here.receive_json_from(timeout=5)
            self.assertTrue(await there.receive_nothing(timeout=0.5))
            await here.disconnect()
            await there.disconnect()

        async_to_sync(scenario)()

    def test_anonymous_and_unknown_rooms_are_refused_with_their_codes(self):
        async def scenario():
            connected, code = await self._socket("genel").connect()
            self.assertEqual((connected, code), (False, NOT_LOGGED_IN))
            cookie = await database_sync_to_async(self._cookie_of)(self.user)
            connected, code = await self._socket("yok", cookie).connect()
            self.assertEqual((connected, code), (False, NO_SUCH_ROOM))

        async_to_sync(scenario)()

    def test_an_empty_message_is_refused_and_not_sent(self):
        async def scenario():
            cookie = await database_sync_to_async(self._cookie_of)(self.user)
            socket = self._socket("genel", cookie)
            await socket.connect()
            await socket.send_json_to({"message": "   "})
            self.assertIn("error", await socket.receive_json_from(timeout=5))
            await socket.disconnect()

        async_to_sync(scenario)()
        self.assertFalse(Message.objects.exists())
