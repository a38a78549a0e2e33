from __future__ import annotations

import re
from typing import Any

from django import forms
from django.db.models import QuerySet

from apps.accounts.models import Team
from apps.deployments.models import Deployment
from apps.deployments.urlcheck import Policy, UnsafeURLError, check_url

# RFC 9110 token characters for a header name.
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
# Headers the HTTP client owns: letting a deployment set them would break or smuggle requests.
_RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "upgrade",
        "te",
        "trailer",
        "keep-alive",
        "proxy-authorization",
        "proxy-connection",
        "cookie",
    }
)
MAX_HEADERS = 20


def parse_headers(text: str) -> dict[str, str]:
    """``Name: value`` lines (blank lines ignored) into a dict, or ValidationError naming the line."""
    headers: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, value = line.partition(":")
        name, value = name.strip(), value.strip()
        if not sep or not name:
            raise forms.ValidationError(f"Line {number}: write each header as 'Name: value'.")
        if not _HEADER_NAME.match(name):
            raise forms.ValidationError(f"Line {number}: {name!r} is not a valid header name.")
        if name.lower() in _RESERVED_HEADERS:
            raise forms.ValidationError(
                f"Line {number}: {name} is set by the HTTP client and cannot be overridden."
            )
        if any(ord(ch) < 32 and ch != "\t" for ch in value):
            raise forms.ValidationError(f"Line {number}: the value has control characters.")
        if name.lower() in {existing.lower() for existing in headers}:
            raise forms.ValidationError(f"Line {number}: {name} is given twice.")
        headers[name] = value
    if len(headers) > MAX_HEADERS:
        raise forms.ValidationError(f"At most {MAX_HEADERS} extra headers.")
    return headers


class WriteOnlyTextarea(forms.Textarea):
    """A textarea that never renders a value back, like ``PasswordInput(render_value=False)``."""

    def format_value(self, value: Any) -> str | None:
        return None


class DeploymentForm(forms.Form):
    """Create or edit a deployment. The API key and the headers are write-only: the form never
    renders them back (only whether they are set), and leaving them empty keeps what is stored."""

    team = forms.ModelChoiceField(queryset=Team.objects.none(), empty_label=None)
    name = forms.CharField(max_length=100)
    url = forms.CharField(
        label="URL",
        max_length=500,
        help_text="The LangGraph server's base URL, e.g. https://my-agent.example.com",
    )
    api_key = forms.CharField(
        label="API key",
        required=False,
        max_length=2000,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    clear_api_key = forms.BooleanField(label="Remove the stored API key", required=False)
    headers = forms.CharField(
        label="Extra headers",
        required=False,
        max_length=8000,
        widget=WriteOnlyTextarea(attrs={"rows": 3, "autocomplete": "off", "spellcheck": "false"}),
        help_text="One 'Name: value' per line. Stored encrypted and never shown again.",
    )
    clear_headers = forms.BooleanField(label="Remove the stored extra headers", required=False)
    move_secrets = forms.BooleanField(
        label="Send the stored API key and extra headers to the new URL",
        required=False,
        help_text="Secrets stay with the URL they were given for: when the URL changes, enter "
        "them again, remove them, or confirm here that they go to the new host (audited).",
    )
    read_only = forms.BooleanField(
        required=False, help_text="Reads only: no runs, no decisions, no state edits."
    )
    enabled = forms.BooleanField(required=False, initial=True)

    def __init__(
        self,
        *args: Any,
        teams: QuerySet[Team] | None = None,
        deployment: Deployment | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.deployment = deployment
        team_field = self.fields["team"]
        assert isinstance(team_field, forms.ModelChoiceField)
        if deployment is not None:
            # A deployment stays with its team.
            del self.fields["team"]
        else:
            team_field.queryset = teams if teams is not None else Team.objects.none()
            del self.fields["clear_api_key"]
            del self.fields["clear_headers"]
            del self.fields["move_secrets"]

    def clean_url(self) -> str:
        # Checked on every save, an unchanged URL too: what its host resolves to, and what the
        # settings allow, may have changed since it was set (and the demo has no exemption).
        try:
            return check_url(self.cleaned_data["url"], Policy.from_settings())
        except UnsafeURLError as error:
            raise forms.ValidationError(str(error)) from None

    def clean_headers(self) -> dict[str, str] | None:
        text: str = self.cleaned_data["headers"]
        return parse_headers(text) if text.strip() else None

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        assert cleaned is not None
        name = cleaned.get("name")
        team = self.deployment.team if self.deployment is not None else cleaned.get("team")
        if name and team is not None:
            clash = Deployment.objects.filter(team=team, name=name)
            if self.deployment is not None:
                clash = clash.exclude(pk=self.deployment.pk)
            if clash.exists():
                self.add_error("name", f"{team.name} already has a deployment named {name!r}.")
        return cleaned
