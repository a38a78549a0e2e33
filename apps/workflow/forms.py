from __future__ import annotations

from django import forms

from apps.accounts.models import Role, Team
from apps.deployments.models import Deployment
from apps.workflow.models import BulkAction, Channel, TimeoutAction
from apps.workflow.services import CLAIM_MINUTES, DECISION_TYPES


class ClaimForm(forms.Form):
    minutes = forms.TypedChoiceField(
        coerce=int, choices=[(m, f"{m} min") for m in CLAIM_MINUTES], initial=30
    )


class BreakClaimForm(forms.Form):
    reason = forms.CharField(required=False, max_length=500)


class BulkForm(forms.Form):
    decision = forms.ChoiceField(choices=BulkAction.choices)
    comment = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )
    confirm_total = forms.IntegerField(min_value=0, widget=forms.HiddenInput)


class ChannelForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.none())
    kind = forms.ChoiceField(choices=Channel.Kind.choices)
    name = forms.CharField(max_length=100)
    target = forms.CharField(
        max_length=1000,
        help_text="Email: addresses separated by commas. Webhooks: the URL to POST to.",
    )

    def __init__(self, *args: object, teams: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["team"].queryset = teams  # type: ignore[attr-defined]


class TimeoutForm(forms.Form):
    deployment = forms.ModelChoiceField(queryset=Deployment.objects.none())
    graph_id = forms.CharField(required=False, max_length=200, label="Graph (empty: every graph)")
    after_minutes = forms.IntegerField(min_value=1, max_value=60 * 24 * 30, label="After (minutes)")
    action = forms.ChoiceField(choices=TimeoutAction.choices)

    def __init__(self, *args: object, deployments: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["deployment"].queryset = deployments  # type: ignore[attr-defined]


class ApprovalRuleForm(forms.Form):
    team = forms.ModelChoiceField(queryset=Team.objects.none())
    deployment = forms.ModelChoiceField(
        queryset=Deployment.objects.none(), required=False, empty_label="Every deployment"
    )
    tool = forms.CharField(required=False, max_length=200, label="Tool or action (empty: any)")
    decision = forms.ChoiceField(
        required=False, choices=[("", "Any decision"), *((d, d) for d in DECISION_TYPES)]
    )
    min_role = forms.ChoiceField(
        choices=[(Role.OPERATOR, "Operator"), (Role.ADMIN, "Admin")], label="Who may decide"
    )
    risky = forms.BooleanField(required=False, label="Risky: needs two distinct approvers")

    def __init__(self, *args: object, teams: object, deployments: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["team"].queryset = teams  # type: ignore[attr-defined]
        self.fields["deployment"].queryset = deployments  # type: ignore[attr-defined]


class MetricsForm(forms.Form):
    days = forms.TypedChoiceField(
        coerce=int, required=False, choices=[(7, "7 days"), (30, "30 days"), (90, "90 days")]
    )
    deployment = forms.TypedMultipleChoiceField(
        coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
