from __future__ import annotations

from typing import Any

from django import forms

from apps.accounts.models import Team
from apps.accounts.permissions import AnyUser, teams_for
from apps.audit.selectors import AuditFilters, deployments_administered
from dashboard.strict import DateField


class AuditFilterForm(forms.Form):
    """The audit page's filters, read from the query string."""

    actor = forms.CharField(required=False, max_length=150)
    action = forms.CharField(
        required=False, max_length=64, help_text="e.g. deployment. or membership.remove"
    )
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False)
    deployment = forms.ModelChoiceField(queryset=Team.objects.none(), required=False)
    date_from = DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, user: AnyUser, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        team_field = self.fields["team"]
        deployment_field = self.fields["deployment"]
        assert isinstance(team_field, forms.ModelChoiceField)
        assert isinstance(deployment_field, forms.ModelChoiceField)
        team_field.queryset = teams_for(user, "administer")
        deployment_field.queryset = deployments_administered(user).order_by("name")

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        assert cleaned is not None
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError("The 'from' date is after the 'to' date.")
        return cleaned

    def filters(self) -> AuditFilters:
        data = self.cleaned_data
        return AuditFilters(
            actor=data["actor"].strip(),
            action=data["action"].strip(),
            team=data["team"],
            deployment=data["deployment"],
            date_from=data["date_from"],
            date_to=data["date_to"],
        )
