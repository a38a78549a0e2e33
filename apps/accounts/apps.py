from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    default_auto_field = "django.db.models.BigAutoField"


class ConsoleAdminConfig(admin_apps.AdminConfig):
    """``django.contrib.admin`` with a site that logs in through the console's throttled login."""

    default = False  # named in INSTALLED_APPS; AccountsConfig stays this module's default
    default_site = "apps.accounts.adminsite.ConsoleLoginAdminSite"
