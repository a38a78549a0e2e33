from __future__ import annotations

from django import forms
from django.contrib.auth import password_validation

from apps.accounts.models import Role


class AddMemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)


class ChangeRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class SwitchTeamForm(forms.Form):
    team = forms.SlugField(max_length=100)


class CreateTeamForm(forms.Form):
    name = forms.CharField(max_length=100)
    slug = forms.SlugField(max_length=100, help_text="The team's address: letters, digits, -")


class CreateUserForm(forms.Form):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    password = forms.CharField(
        min_length=12,
        widget=forms.PasswordInput(render_value=False),
        help_text="At least 12 characters; give it to them through a safe channel.",
    )
    role = forms.ChoiceField(choices=Role.choices, initial=Role.VIEWER)

    def clean_password(self) -> str:
        password = str(self.cleaned_data["password"])
        password_validation.validate_password(password)
        return password


class ActiveForm(forms.Form):
    active = forms.BooleanField(required=False)
