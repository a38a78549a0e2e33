from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.apps import apps as django_apps
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.http import HttpRequest

from apps.accounts.models import Team
from apps.accounts.services import demo_team
from apps.audit.services import record
from apps.deployments.crypto import EncryptedTextField, decrypt, encrypt, rotate
from apps.deployments.models import Deployment

DEMO_NAME = "Local demo"


@transaction.atomic
def register_demo_deployment(url: str) -> tuple[Deployment, bool]:
    """Register (or re-point) the embedded graph server as the Demo team's "Local demo".

    Idempotent: however often the launcher starts, there is one demo deployment; only a change of
    URL (the launcher may pick another free port) writes, and is audited as done by the system.
    """
    deployment = Deployment.objects.select_for_update().filter(is_demo=True).first()
    if deployment is None:
        deployment = Deployment.objects.create(
            team=demo_team(), name=DEMO_NAME, url=url, is_demo=True
        )
        record(
            actor=None,
            action="deployment.register_demo",
            target=deployment,
            team_id=deployment.team_id,
            deployment_id=deployment.pk,
            after={"url": url},
        )
        return deployment, True
    if deployment.url != url:
        before = deployment.url
        deployment.url = url
        deployment.save(update_fields=["url", "updated_at"])
        record(
            actor=None,
            action="deployment.update",
            target=deployment,
            team_id=deployment.team_id,
            deployment_id=deployment.pk,
            before={"url": before},
            after={"url": url},
        )
    return deployment, False


@dataclass(frozen=True)
class DeploymentChanges:
    """What a create/edit form asks for. ``api_key``/``headers`` None means "keep what is stored";
    the clear flags remove them."""

    name: str
    url: str
    read_only: bool
    enabled: bool
    api_key: str | None = None
    headers: dict[str, str] | None = None
    clear_api_key: bool = False
    clear_headers: bool = False
    # The admin confirmed that stored secrets may go to a new URL (see ``secrets_carried``).
    move_secrets: bool = False


class SecretsWouldMove(Exception):
    """The URL changes while stored secrets would be kept, and nobody confirmed they may go to
    the new host."""

    def __init__(self, carried: list[str]) -> None:
        super().__init__(", ".join(carried))
        self.carried = carried


def secrets_carried(deployment: Deployment, changes: DeploymentChanges) -> list[str]:
    """The stored secrets ``changes`` would send to a URL other than the one they were given
    for: kept (neither entered again nor removed) while the URL changes. A key is bound to the
    URL it was given for, so this needs the admin's confirmation, which the audit records."""
    if changes.url == deployment.secrets_url:
        return []
    carried = []
    if deployment.api_key_encrypted and not (changes.api_key or changes.clear_api_key):
        carried.append("api_key")
    if deployment.headers_encrypted and changes.headers is None and not changes.clear_headers:
        carried.append("headers")
    return carried


def snapshot(deployment: Deployment) -> dict[str, Any]:
    """What the audit log keeps of a deployment: never a secret, only whether one is set (and the
    extra headers' names, which are not secret)."""
    raw_headers = decrypt(deployment.headers_encrypted)
    return {
        "name": deployment.name,
        "url": deployment.url,
        "read_only": deployment.read_only,
        "enabled": deployment.enabled,
        "api_key": "set" if deployment.api_key_encrypted else "not set",
        "headers": sorted(json.loads(raw_headers)) if raw_headers else [],
    }


def _apply(deployment: Deployment, changes: DeploymentChanges) -> list[str]:
    """Apply ``changes``; return which secrets changed (the snapshot cannot show it)."""
    deployment.name = changes.name
    deployment.url = changes.url
    # Whatever is stored now was given (or confirmed: ``secrets_carried``) for this URL.
    deployment.secrets_url = changes.url
    deployment.read_only = changes.read_only
    deployment.enabled = changes.enabled
    changed: list[str] = []
    if changes.clear_api_key:
        if deployment.api_key_encrypted:
            changed.append("api_key")
        deployment.api_key_encrypted = ""
    elif changes.api_key and changes.api_key != decrypt(deployment.api_key_encrypted):
        changed.append("api_key")
        deployment.api_key_encrypted = encrypt(changes.api_key)
    stored = decrypt(deployment.headers_encrypted)
    if changes.clear_headers:
        if stored:
            changed.append("headers")
        deployment.headers_encrypted = ""
    elif changes.headers is not None and changes.headers != (json.loads(stored) if stored else {}):
        changed.append("headers")
        deployment.headers_encrypted = encrypt(json.dumps(changes.headers))
    return changed


def do_create_deployment(
    *,
    actor: AbstractBaseUser,
    team: Team,
    changes: DeploymentChanges,
    request: HttpRequest | None = None,
) -> Deployment:
    """Create a deployment for ``team``. The caller has checked the actor administers ``team`` and
    validated the URL (``DeploymentForm``)."""
    with transaction.atomic():
        deployment = Deployment(team=team)
        _apply(deployment, changes)
        deployment.save()
        record(
            actor=actor,
            action="deployment.create",
            target=deployment,
            team_id=team.pk,
            deployment_id=deployment.pk,
            after=snapshot(deployment),
            request=request,
        )
    return deployment


def do_update_deployment(
    *,
    actor: AbstractBaseUser,
    deployment: Deployment,
    changes: DeploymentChanges,
    request: HttpRequest | None = None,
) -> Deployment:
    """Edit a deployment; writes (and audits) only when something changed. Raises
    ``SecretsWouldMove`` when the URL changes and stored secrets would follow unconfirmed."""
    with transaction.atomic():
        deployment = Deployment.objects.select_for_update().get(pk=deployment.pk)
        carried = secrets_carried(deployment, changes)
        if carried and not changes.move_secrets:
            raise SecretsWouldMove(carried)
        before = snapshot(deployment)
        bound_to = deployment.secrets_url
        secrets_changed = _apply(deployment, changes)
        after = snapshot(deployment)
        if before == after and not secrets_changed and deployment.secrets_url == bound_to:
            return deployment
        if secrets_changed:
            after["secrets_changed"] = secrets_changed
        if carried:
            after["secrets_moved_to_new_url"] = carried
        deployment.save()
        record(
            actor=actor,
            action="deployment.update",
            target=deployment,
            team_id=deployment.team_id,
            deployment_id=deployment.pk,
            before=before,
            after=after,
            request=request,
        )
    return deployment


@transaction.atomic
def do_rotate_keys() -> int:
    """Re-encrypt every deployment secret under the first ``FIELD_ENCRYPTION_KEY``, and every
    other secret stored in an ``EncryptedTextField``; return how many rows had secrets. The
    plain values do not change, so ``updated_at`` (and the clients cached on it) is left alone;
    each rotation is audited as done by the system."""
    rotated = 0
    for deployment in Deployment.objects.select_for_update().order_by("pk"):
        if not (deployment.api_key_encrypted or deployment.headers_encrypted):
            continue
        Deployment.objects.filter(pk=deployment.pk).update(
            api_key_encrypted=rotate(deployment.api_key_encrypted),
            headers_encrypted=rotate(deployment.headers_encrypted),
        )
        record(
            actor=None,
            actor_label="rotate_deployment_keys",
            action="deployment.rotate_keys",
            target=deployment,
            team_id=deployment.team_id,
            deployment_id=deployment.pk,
        )
        rotated += 1
    return rotated + _rotate_encrypted_fields()


def _rotate_encrypted_fields() -> int:
    # Found through the model registry (webhook URLs in apps.workflow, ...), so this app
    # imports none of the apps above it. Reading decrypts; writing encrypts under the first key.
    rotated = 0
    for model in django_apps.get_models():
        names = [
            f.attname for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)
        ]
        if not names:
            continue
        for row in model._default_manager.select_for_update().order_by("pk"):
            model._default_manager.filter(pk=row.pk).update(
                **{name: getattr(row, name) for name in names}
            )
            record(
                actor=None,
                actor_label="rotate_deployment_keys",
                action="secrets.rotate_keys",
                target=row,
                team_id=getattr(row, "team_id", None),
            )
            rotated += 1
    return rotated
