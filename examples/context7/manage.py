#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""
import os
import sys


def main():
    """Run administrative tasks."""
    # Kovan: with DJANGO_SERVER_INSTANCE set, that instance's settings (kovan.toml).
    if os.environ.get("DJANGO_SERVER_INSTANCE"):
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard_project.multi_server_settings")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard_project.settings")
    try:
        from django.core.management import execute_from_command_line
    except ImportError as exc:
        raise ImportError(
            "Couldn't import Django. Are you sure it's installed and "
            "available on your PYTHONPATH environment variable? Did you "
            "forget to activate a virtual environment?"
        ) from exc
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
