from django.core.cache import cache
from django.test import Client, TestCase, override_settings
from django.urls import reverse

from .views import HITS_KEY, MESSAGES_KEY

# Pin the tests to a private LocMem cache: setUp() clears it, and clear() on a
# shared Redis would be FLUSHDB, wiping every other instance's keys.
TEST_CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "chat-tests",
    }
}


@override_settings(CACHES=TEST_CACHES, SERVER_INSTANCE="chat_test")
class ChatViewTests(TestCase):
    def setUp(self):
        cache.clear()

    def test_index_counts_visits_in_session_and_cache(self):
        url = reverse("chat:index")
        self.client.get(url)
        response = self.client.get(url)

        self.assertEqual(response.status_code, 200)
        self.assertTemplateUsed(response, "chat/index.html")
        self.assertEqual(response.context["visits"], 2)
        self.assertEqual(response.context["cache_hits"], 2)
        self.assertEqual(cache.get(HITS_KEY), 2)
        self.assertContains(response, "chat_test")

    def test_post_stores_message_in_cache(self):
        response = self.client.post(reverse("chat:index"), {"text": "Merhaba"}, follow=True)

        self.assertRedirects(response, reverse("chat:index"))
        self.assertContains(response, "Mesajınız kaydedildi.")
        self.assertEqual(response.context["last_message"]["text"], "Merhaba")
        self.assertEqual(cache.get(MESSAGES_KEY)[0]["instance"], "chat_test")

        api = self.client.get(reverse("chat:messages_api")).json()
        self.assertEqual(api["instance"], "chat_test")
        self.assertEqual([m["text"] for m in api["messages"]], ["Merhaba"])

    def test_blank_message_is_rejected(self):
        response = self.client.post(reverse("chat:index"), {"text": "   "})

        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.context["form"].errors)
        self.assertIsNone(cache.get(MESSAGES_KEY))

    def test_post_without_csrf_token_is_forbidden(self):
        client = Client(enforce_csrf_checks=True)
        response = client.post(reverse("chat:index"), {"text": "Merhaba"})

        self.assertEqual(response.status_code, 403)
        self.assertIsNone(cache.get(MESSAGES_KEY))

    @override_settings(SESSION_COOKIE_NAME="sessionid_chat_test")
    def test_session_cookie_name_is_shown_and_used(self):
        response = self.client.get(reverse("chat:index"))

        self.assertContains(response, "sessionid_chat_test")
        self.assertIn("sessionid_chat_test", response.cookies)
