"""What the thread index does when a lower app's rows change (connected in ``ThreadsConfig``)."""

from __future__ import annotations

from typing import Any

from apps.deployments.models import Deployment
from apps.threads.models import PollState


def deployment_saved(
    sender: type[Deployment], instance: Deployment, raw: bool, using: str, **kwargs: Any
) -> None:
    # Beat's tick only leases the poll states that exist: an enabled deployment gets its state
    # (due at once) when it is saved, so the tick never looks for deployments without one. A
    # fixture being loaded (raw) must not touch other tables; the full sync creates its state.
    # The state goes to the database the deployment went to.
    if instance.enabled and not raw:
        PollState.objects.using(using).bulk_create(
            [PollState(deployment=instance)], ignore_conflicts=True
        )
