from django.apps import AppConfig
from django.conf import settings
from django.db.backends.signals import connection_created


def _shared_sqlite(sender, connection, **kwargs):
    # The servers of one site write one SQLite file at once. In WAL mode readers never wait for the
    # writer and the writer never waits for readers; with the busy timeout (OPTIONS "timeout") a
    # second writer waits for the first instead of failing with "database is locked".
    # synchronous=NORMAL is WAL's own recommendation: no fsync per commit, still never corrupt.
    if connection.vendor == "sqlite" and getattr(settings, "KOVAN_SHARED_SQLITE", False):
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")


class KovanConfig(AppConfig):
    name = "kovan_django"
    verbose_name = "Kovan"

    def ready(self):
        connection_created.connect(_shared_sqlite, dispatch_uid="kovan_shared_sqlite")
