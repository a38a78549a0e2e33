from __future__ import annotations

from django import forms

from apps.accounts.models import Role


class AddMemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)


class ChangeRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class SwitchTeamForm(forms.Form):
    team = forms.SlugField(max_length=100)
