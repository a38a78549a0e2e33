"""The "test connection" action: can the console reach this deployment, and if not, why?"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from django.conf import settings

from apps.deployments.clients import probe_client_for
from apps.deployments.models import Deployment
from apps.deployments.urlcheck import Policy, UnsafeURLError, check_url
from switchboard import (
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    RedirectError,
    ServerError,
    SwitchboardError,
)


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    message: str


def _redirect_message(deployment: Deployment, status: int, location: str | None) -> str:
    if not location:
        return f"{deployment.url} answered {status} (a redirect) without saying where to."
    target = urljoin(deployment.url + "/", location)
    try:
        check_url(target, Policy.from_settings())
    except UnsafeURLError as error:
        return (
            f"{deployment.url} redirects to {target}, which the console refuses to follow: {error}"
        )
    return (
        f"{deployment.url} redirects to {target}. The console does not follow redirects: "
        "if that is the deployment's real address, save it as the URL."
    )


def _answer_problem(deployment: Deployment, answer: Any) -> str | None:
    # A LangGraph server answers GET /ok with {"ok": true}. Anything else (an empty body, a
    # login page of a proxy, a redirect the SDK passed through) is not a deployment.
    if isinstance(answer, dict) and answer.get("ok") is True:
        return None
    return (
        f'{deployment.url}/ok did not answer {{"ok": true}} as a LangGraph server does: is '
        "the URL the deployment's base URL (not a proxy, a login page or a redirect)?"
    )


def _secrets_held_back(deployment: Deployment) -> bool:
    stored = bool(deployment.api_key_encrypted or deployment.headers_encrypted)
    return stored and deployment.secrets_url != deployment.url


def probe_deployment(deployment: Deployment) -> ProbeResult:
    """Check the URL is still allowed (its host may resolve elsewhere now), then ask the
    deployment's ``/ok`` once, within ``DEPLOYMENT_TIMEOUT``, without following redirects."""
    try:
        check_url(deployment.url, Policy.from_settings())
    except UnsafeURLError as error:
        return ProbeResult(False, f"The URL is not allowed any more: {error}")
    timeout = float(settings.DEPLOYMENT_TIMEOUT)
    try:
        with probe_client_for(deployment, timeout=timeout) as client:
            answer = client.health()
    except AuthenticationError as error:
        if _secrets_held_back(deployment):
            return ProbeResult(
                False,
                f"{deployment.url} refused the request ({error.status_code}): the stored API key "
                f"and headers were given for {deployment.secrets_url} and were not sent. Enter "
                "them again for this URL, or confirm on the edit page that they go to it.",
            )
        return ProbeResult(
            False, f"{deployment.url} refused the API key or headers ({error.status_code}): {error}"
        )
    except APITimeoutError:
        return ProbeResult(False, f"{deployment.url} did not answer within {timeout:g} s.")
    except APIConnectionError as error:
        return ProbeResult(False, f"Could not connect to {deployment.url}: {error}")
    except ServerError as error:
        return ProbeResult(False, f"{deployment.url} answered with a server error: {error}")
    except RedirectError as error:
        return ProbeResult(
            False, _redirect_message(deployment, error.status_code or 302, error.location)
        )
    except SwitchboardError as error:
        return ProbeResult(False, f"{deployment.url} did not answer as a LangGraph server: {error}")
    problem = _answer_problem(deployment, answer)
    if problem is not None:
        return ProbeResult(False, problem)
    return ProbeResult(True, f"{deployment.url} answers.")
