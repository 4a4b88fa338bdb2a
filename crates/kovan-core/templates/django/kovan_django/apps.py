from django.apps import AppConfig


class KovanConfig(AppConfig):
    name = "kovan_django"
    verbose_name = "Kovan"
