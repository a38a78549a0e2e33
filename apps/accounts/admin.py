"""Django admin for superusers: teams and memberships, each change audited like the console's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from apps.accounts.models import Invitation, Membership, Role, Team
from apps.accounts.services import MembershipError, check_change_role, check_remove_member
from apps.audit.services import record
from dashboard.admin_views import ViewOnlyAdmin

if TYPE_CHECKING:
    # The admin and form classes are generic only in the type stubs.
    TeamAdminBase = admin.ModelAdmin[Team]
    MembershipAdminBase = admin.ModelAdmin[Membership]
    MembershipFormBase = forms.ModelForm[Membership]
else:
    TeamAdminBase = MembershipAdminBase = admin.ModelAdmin
    MembershipFormBase = forms.ModelForm


def _team_state(team: Team) -> dict[str, Any]:
    return {"name": team.name, "slug": team.slug}


def _membership_state(membership: Membership) -> dict[str, Any]:
    return {
        "user": membership.user.get_username(),
        "team": membership.team.name,
        "role": membership.role,
    }


@admin.register(Team)
class TeamAdmin(TeamAdminBase):
    list_display = ["name", "slug", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}

    def save_model(
        self, request: HttpRequest, obj: Team, form: ModelForm[Team], change: bool
    ) -> None:
        with transaction.atomic():
            before = _team_state(Team.objects.get(pk=obj.pk)) if change else None
            super().save_model(request, obj, form, change)
            record(
                actor=request.user,
                action="team.update" if change else "team.create",
                target=obj,
                team_id=obj.pk,
                before=before,
                after=_team_state(obj),
                request=request,
            )

    def delete_model(self, request: HttpRequest, obj: Team) -> None:
        with transaction.atomic():
            # team_id stays None: the team (and its entries' link to it) is going away.
            record(
                actor=request.user,
                action="team.delete",
                target=obj,
                before=_team_state(obj),
                request=request,
            )
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Team]) -> None:
        with transaction.atomic():
            for team in queryset:
                self.delete_model(request, team)


class MembershipAdminForm(MembershipFormBase):
    class Meta:
        model = Membership
        fields = ["user", "team", "role"]

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        assert cleaned is not None
        if self.instance.pk is not None and "role" in cleaned:
            # The last-admin rule holds here too.
            current = Membership.objects.select_related("user", "team").get(pk=self.instance.pk)
            try:
                check_change_role(current, Role(cleaned["role"]))
            except MembershipError as error:
                raise forms.ValidationError(str(error)) from None
        return cleaned


@admin.register(Membership)
class MembershipAdmin(MembershipAdminBase):
    form = MembershipAdminForm
    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["role", "team"]
    search_fields = ["user__username", "team__name"]
    autocomplete_fields = ["team"]
    raw_id_fields = ["user"]

    def save_model(
        self, request: HttpRequest, obj: Membership, form: ModelForm[Membership], change: bool
    ) -> None:
        with transaction.atomic():
            before = _membership_state(Membership.objects.get(pk=obj.pk)) if change else None
            super().save_model(request, obj, form, change)
            record(
                actor=request.user,
                action="membership.change_role" if change else "membership.add",
                target=obj,
                team_id=obj.team_id,
                before=before,
                after=_membership_state(obj),
                request=request,
            )

    def has_delete_permission(self, request: HttpRequest, obj: Membership | None = None) -> bool:
        if obj is not None:
            try:
                check_remove_member(obj)
            except MembershipError:
                return False
        return super().has_delete_permission(request, obj)

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        with transaction.atomic():
            record(
                actor=request.user,
                action="membership.remove",
                target=obj,
                team_id=obj.team_id,
                before=_membership_state(obj),
                request=request,
            )
            super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        with transaction.atomic():
            for membership in queryset.select_related("user", "team"):
                try:
                    check_remove_member(membership)
                except MembershipError as error:
                    self.message_user(request, str(error), level=messages.ERROR)
                    continue
                self.delete_model(request, membership)


@admin.register(Invitation)
class InvitationAdmin(ViewOnlyAdmin):
    """Invitations are made and answered on the console's team pages, where the invited user
    accepts; here they are only looked at."""

    list_display = ["username", "team", "role", "invited_by", "created_at"]
    list_filter = ["role", "team"]
    search_fields = ["username", "team__name"]
