from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "huikuan.core"
    label = "core"
    verbose_name = "Huikuan core"
