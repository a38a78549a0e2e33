from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from apps.accounts.http import AuthenticatedHttpRequest
from apps.accounts.permissions import REQUIRED_ROLE, teams_for
from apps.audit import export
from apps.audit.forms import AuditFilterForm
from apps.audit.models import AuditEntry
from apps.audit.selectors import AuditFilters, audit_entries_for, filter_entries

PAGE_SIZE = 50


def _require_some_admin_role(request: AuthenticatedHttpRequest) -> None:
    if not teams_for(request.user, "administer").exists():
        needed = REQUIRED_ROLE["administer"].label.lower()
        raise PermissionDenied(f"The audit log needs the {needed} role on a team.")


def _filtered(request: AuthenticatedHttpRequest) -> tuple[AuditFilterForm, QuerySet[AuditEntry]]:
    form = AuditFilterForm(request.GET, user=request.user)
    entries = audit_entries_for(request.user)
    filters = form.filters() if form.is_valid() else AuditFilters()
    return form, filter_entries(entries, filters)


@require_GET
@login_required
def audit_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    _require_some_admin_role(request)
    form, entries = _filtered(request)
    status = 200 if form.is_valid() else 400
    page = Paginator(entries if form.is_valid() else entries.none(), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode()}
    if request.htmx:
        # htmx does not swap 4xx responses: filter errors must arrive as a 200 to be shown.
        return render(request, "audit/list.html#results", context)
    return render(request, "audit/list.html", context, status=status)


def _export_refused(form: AuditFilterForm) -> HttpResponse:
    parts = []
    for field, errors in form.errors.items():
        text = " ".join(str(error) for error in errors)
        parts.append(text if field == "__all__" else f"{field}: {text}")
    words = "; ".join(parts)
    return HttpResponse(f"Bad filter: {words}", status=400, content_type="text/plain")


@require_GET
@login_required
def audit_export_csv(request: AuthenticatedHttpRequest) -> HttpResponse | StreamingHttpResponse:
    _require_some_admin_role(request)
    form, entries = _filtered(request)
    if not form.is_valid():
        return _export_refused(form)
    return export.csv_download(entries.iterator(chunk_size=1000))


@require_GET
@login_required
def audit_export_json(request: AuthenticatedHttpRequest) -> HttpResponse | StreamingHttpResponse:
    _require_some_admin_role(request)
    form, entries = _filtered(request)
    if not form.is_valid():
        return _export_refused(form)
    response = StreamingHttpResponse(
        export.json_chunks(entries.iterator(chunk_size=1000)), content_type="application/json"
    )
    response["Content-Disposition"] = 'attachment; filename="switchboard-audit.json"'
    return response
