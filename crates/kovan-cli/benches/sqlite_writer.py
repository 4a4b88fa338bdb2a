"""One site member writing the example's shared SQLite database as fast as it can, for the sites
benchmark (crates/kovan-cli/benches/sites.rs, docs/PERFORMANCE.md).

Run from the Django root with the member's environment (its env file loaded):
    python sqlite_writer.py SECONDS ROOM USER
Each write is one chat message saved in autocommit, as the websocket consumer saves it. Prints one
JSON line: writes, "database is locked" errors, other errors, and write latencies.
"""
import json
import os
import sys
import time

import django

# Run as a file, Python puts this script's folder first on the path, not the Django root.
sys.path.insert(0, os.getcwd())
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import OperationalError, connection  # noqa: E402

from chat.models import Message, Room  # noqa: E402

seconds, room_name, user_name = float(sys.argv[1]), sys.argv[2], sys.argv[3]
room = Room.objects.get(name=room_name)
author = get_user_model().objects.get(username=user_name)
with connection.cursor() as cursor:
    cursor.execute("PRAGMA journal_mode")
    journal_mode = cursor.fetchone()[0]

writes = locked = other = 0
latencies = []
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    started = time.perf_counter()
    try:
        Message.objects.create(room=room, author=author, text=f"bench {writes}")
        writes += 1
        latencies.append(time.perf_counter() - started)
    except OperationalError as exc:
        if "locked" in str(exc):
            locked += 1
        else:
            other += 1
latencies.sort()


def quantile(q):
    return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 3) if latencies else None


print(json.dumps({
    "writes": writes, "locked": locked, "other_errors": other, "seconds": seconds,
    "journal_mode": journal_mode, "p50_ms": quantile(0.5), "p99_ms": quantile(0.99),
    "max_ms": round(latencies[-1] * 1000, 3) if latencies else None,
}), flush=True)
