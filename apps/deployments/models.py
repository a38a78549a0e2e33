from __future__ import annotations

from typing import Any

from django.db import models

from apps.accounts.models import Team


class Deployment(models.Model):
    """A server that speaks the LangGraph Server HTTP API, owned by one team."""

    team = models.ForeignKey(Team, models.CASCADE, related_name="deployments")
    name = models.CharField(max_length=100)
    url = models.CharField(max_length=500)
    # Fernet tokens (see apps.deployments.crypto); the plain key and headers never reach the
    # database, a template or a browser.
    api_key_encrypted = models.TextField(blank=True, default="")
    headers_encrypted = models.TextField(blank=True, default="")
    # The URL the stored key and headers were given (or explicitly confirmed) for. Clients send
    # them to that URL only, so a URL changed by any path other than the edit form (which asks)
    # reaches the new host without them.
    secrets_url = models.CharField(max_length=500, blank=True, default="", editable=False)
    read_only = models.BooleanField(default=False, help_text="Reads only: no runs, no decisions.")
    enabled = models.BooleanField(default=True)
    is_demo = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="deployment_name_per_team")
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.secrets_url:
            # A new row's secrets are given for its URL.
            self.secrets_url = self.url
        super().save(*args, **kwargs)
