"""The Store page against the real `langgraph dev`: browse what the SDK put, and an admin's
edit and delete through the gate, asserted on the server and in the audit log."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture
def space(graph_client):
    """A namespace of its own on the server, with two items put by the SDK."""
    labels = ["memtest", uuid.uuid4().hex]
    graph_client.store.put_item(labels, "pref", {"colour": "teal", "note": "<b>bold</b>"})
    graph_client.store.put_item(labels, "other", {"colour": "red"})
    return labels


def _after(action: str) -> dict[str, Any]:
    """What the one audit entry ``action`` recorded."""
    return dict(AuditEntry.objects.get(action=action).after or {})


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _ns(space: list[str]) -> str:
    return ".".join(space)


def test_the_store_lists_namespaces_under_a_prefix_and_the_items_of_one(alice, deployment_a, space):
    page = _client(alice).get(
        f"/deployments/{deployment_a.pk}/store/", {"prefix": "memtest", "ns": _ns(space)}
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert _ns(space) in html
    assert "pref" in html
    assert "other" in html
    # Values from the deployment are escaped.
    assert "<b>bold</b>" not in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


def test_a_search_in_a_namespace_shows_what_the_server_answers(
    alice, deployment_a, space, graph_client
):
    page = _client(alice).get(
        f"/deployments/{deployment_a.pk}/store/", {"ns": _ns(space), "q": "teal"}
    )
    assert page.status_code == 200
    # Without a semantic index the server returns the namespace's items: the query is passed
    # on, and the page shows what the server answered.
    assert "pref" in page.content.decode()


def test_an_item_is_shown_as_pretty_escaped_json(alice, deployment_a, space):
    page = _client(alice).get(
        f"/deployments/{deployment_a.pk}/store/item/", {"ns": _ns(space), "key": "pref"}
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert "&quot;colour&quot;: &quot;teal&quot;" in html
    assert "<b>bold</b>" not in html


def test_a_huge_value_is_shown_cut_and_not_offered_for_editing(alice, deployment_a, graph_client):
    labels = ["memtest", uuid.uuid4().hex]
    graph_client.store.put_item(labels, "big", {"blob": "x" * 200_000})
    page = _client(alice).get(
        f"/deployments/{deployment_a.pk}/store/item/", {"ns": ".".join(labels), "key": "big"}
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert "cut at 20000 characters" in html
    assert "too large to edit in a form" in html
    assert len(html) < 60_000
    # The stylesheet that bounds a value's box is on the page.
    assert "css/memory" in html


def test_an_admin_edits_an_item_through_the_gate(alice, deployment_a, space, graph_client):
    response = _client(alice).post(
        f"/deployments/{deployment_a.pk}/store/put/",
        {"ns": _ns(space), "key": "pref", "value": json.dumps({"colour": "blue"})},
    )
    assert response.status_code == 302
    assert graph_client.store.get_item(space, "pref")["value"] == {"colour": "blue"}
    intent = AuditEntry.objects.get(action="gate.intent")
    assert _after("gate.intent")["action"] == "store.put"
    assert _after("gate.intent")["namespace"] == space
    assert _after("gate.intent")["key"] == "pref"
    outcome = AuditEntry.objects.get(action="gate.outcome")
    assert outcome.after == {"intent": intent.pk, "ok": True}
    assert outcome.pk > intent.pk


def test_an_admin_deletes_an_item_through_the_gate(alice, deployment_a, space, graph_client):
    response = _client(alice).post(
        f"/deployments/{deployment_a.pk}/store/delete/", {"ns": _ns(space), "key": "pref"}
    )
    assert response.status_code == 302
    assert graph_client.store.get_item(space, "pref") is None
    assert graph_client.store.get_item(space, "other") is not None
    assert _after("gate.intent")["action"] == "store.delete"
    assert _after("gate.outcome")["ok"] is True


@pytest.mark.parametrize("who", ["oscar", "bob"])
def test_an_operator_or_a_viewer_cannot_change_the_store(
    who, request, deployment_a, space, graph_client
):
    client = _client(request.getfixturevalue(who))
    put = client.post(
        f"/deployments/{deployment_a.pk}/store/put/",
        {"ns": _ns(space), "key": "pref", "value": "{}"},
    )
    delete = client.post(
        f"/deployments/{deployment_a.pk}/store/delete/", {"ns": _ns(space), "key": "pref"}
    )
    assert (put.status_code, delete.status_code) == (403, 403)
    assert graph_client.store.get_item(space, "pref")["value"]["colour"] == "teal"
    assert not AuditEntry.objects.filter(action__startswith="gate.").exists()
    # They still read it, without the forms.
    page = client.get(
        f"/deployments/{deployment_a.pk}/store/item/", {"ns": _ns(space), "key": "pref"}
    )
    assert page.status_code == 200
    assert "Delete this item" not in page.content.decode()


@pytest.mark.parametrize(
    "value",
    [
        '{"x": NaN}',
        '{"x": Infinity}',
        "[" * 150 + "]" * 150,
        json.dumps({"blob": "x" * 1_100_000}),
        "[1, 2]",
        "{not json",
    ],
    ids=["nan", "infinity", "deep", "huge", "not-an-object", "malformed"],
)
def test_bad_json_is_refused_with_a_sentence_and_nothing_is_sent(
    value, alice, deployment_a, space, graph_client
):
    response = _client(alice).post(
        f"/deployments/{deployment_a.pk}/store/put/",
        {"ns": _ns(space), "key": "pref", "value": value},
    )
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert graph_client.store.get_item(space, "pref")["value"]["colour"] == "teal"
    assert not AuditEntry.objects.filter(action__startswith="gate.").exists()


def test_a_read_only_deployment_refuses_an_admins_edit(alice, deployment_a, space, graph_client):
    deployment_a.read_only = True
    deployment_a.save()
    response = _client(alice).post(
        f"/deployments/{deployment_a.pk}/store/put/",
        {"ns": _ns(space), "key": "pref", "value": "{}"},
    )
    assert response.status_code == 403
    assert graph_client.store.get_item(space, "pref")["value"]["colour"] == "teal"


def test_a_namespace_with_an_empty_label_gets_a_sentence(alice, deployment_a):
    page = _client(alice).get(f"/deployments/{deployment_a.pk}/store/", {"ns": "a..b"})
    assert page.status_code == 400
    assert "empty label" in page.content.decode()


def test_the_deployment_page_links_to_the_store_crons_and_assistants(bob, deployment_a):
    html = _client(bob).get(f"/deployments/{deployment_a.pk}/").content.decode()
    for part in ("store", "crons", "assistants"):
        assert f"/deployments/{deployment_a.pk}/{part}/" in html
