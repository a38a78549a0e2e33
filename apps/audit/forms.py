from __future__ import annotations

from typing import Any

from django import forms

from apps.accounts.models import Team
from apps.accounts.permissions import AnyUser, teams_for
from apps.audit.selectors import AuditFilters, deployments_administered
from dashboard.strict import DateField

# Every action name the console writes to the audit log, by the object it acts on. A test
# (tests/audit/test_audit_action_choices.py) finds each ``action=`` written in apps/ and fails on
# a name missing here. ``inbox.<decision>`` are the inbox's decision kinds.
ACTION_NAMES: dict[str, tuple[str, ...]] = {
    "audit": ("audit.purge",),
    "deployment": (
        "deployment.create",
        "deployment.register_demo",
        "deployment.rotate_keys",
        "deployment.update",
    ),
    "gate": ("gate.intent", "gate.outcome"),
    "inbox": (
        "inbox.answer",
        "inbox.continue",
        "inbox.decide",
        "inbox.edit_state",
        "inbox.policy",
        "inbox.raw",
        "inbox.resolve",
        "inbox.update_state",
    ),
    "membership": (
        "membership.accept",
        "membership.add",
        "membership.change_role",
        "membership.decline_invitation",
        "membership.invite",
        "membership.remove",
    ),
    "run": ("run.cancel", "run.start", "run.watch"),
    "secrets": ("secrets.rotate_keys",),
    "team": ("team.create", "team.delete", "team.update"),
    "user": ("user.activate", "user.create", "user.deactivate"),
    "workflow": (
        "workflow.approval_rule",
        "workflow.approval_rule_delete",
        "workflow.break_claim",
        "workflow.bulk",
        "workflow.channel_create",
        "workflow.channel_delete",
        "workflow.claim",
        "workflow.first_approval",
        "workflow.release",
        "workflow.timeout",
        "workflow.timeout_rule",
        "workflow.timeout_rule_delete",
    ),
}


def action_choices() -> list[tuple[str, Any]]:
    """ "Any action", then per object a choice for all its actions ("deployment.": the filter
    matches by prefix) followed by each action."""
    choices: list[tuple[str, Any]] = [("", "Any action")]
    for group, names in ACTION_NAMES.items():
        options = [(f"{group}.", f"every {group} action")] + [(name, name) for name in names]
        choices.append((group.capitalize(), options))
    return choices


class AuditFilterForm(forms.Form):
    """The audit page's filters, read from the query string."""

    actor = forms.CharField(required=False, max_length=150)
    action = forms.ChoiceField(required=False, choices=action_choices)
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
