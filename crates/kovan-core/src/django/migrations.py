# Run by Kovan with `python -c`, cwd at the Django root, under an instance's environment: the
# migrations `manage.py migrate` would apply to the instance's default database, found as migrate
# finds them, with nothing applied. Prints one marked JSON line.
import json
import os
import sys

MARK = "KOVAN-MIGRATIONS "


def failure(stage, exc):
    return {"state": "failed", "stage": stage, "message": f"{type(exc).__name__}: {exc}"}


def main():
    sys.path.insert(0, os.getcwd())
    try:
        import django

        django.setup()
    except BaseException as exc:  # settings that raise anything at all: reported, not a traceback
        return failure("setup", exc)
    from django.db import DEFAULT_DB_ALIAS, connections
    from django.db.migrations.executor import MigrationExecutor

    connection = connections[DEFAULT_DB_ALIAS]
    name = str(connection.settings_dict.get("NAME") or "")
    try:
        in_memory = name == ":memory:" or "mode=memory" in name
        if connection.vendor == "sqlite" and not in_memory and not os.path.exists(name):
            # Nothing is applied to a file that does not exist yet; looking must not create it.
            executor = MigrationExecutor(None)
        else:
            executor = MigrationExecutor(connection)
        conflicts = executor.loader.detect_conflicts()
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except BaseException as exc:
        return failure("database", exc)
    return {
        "state": "read",
        "vendor": connection.vendor,
        "database": name,
        "unapplied": [f"{m.app_label}.{m.name}" for m, backwards in plan if not backwards],
        "conflicts": {app: sorted(names) for app, names in conflicts.items()},
    }


print(MARK + json.dumps(main()), flush=True)
