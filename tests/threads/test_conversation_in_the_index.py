"""Thread rows show the first human message and the last message, from the index, and a search
for a word said in the conversation finds the thread."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client

from apps.deployments.models import Deployment
from apps.threads.models import ThreadIndex
from apps.threads.selectors import ThreadFilter, filter_threads
from apps.threads.services import sync_deployment
from tests.fixtures.threads import DemoThreads, index_row

ASK = "Order A-1001 arrived broken. Please refund $42.50 and email jane@example.com."


def test_the_sync_stores_the_first_human_and_the_last_message_of_a_real_thread(
    deployment_a: Deployment, demo_threads: DemoThreads
) -> None:
    sync_deployment(deployment_a.pk)

    row = ThreadIndex.objects.get(deployment=deployment_a, thread_id=demo_threads.support)
    assert row.first_message == ASK
    assert row.last_message.startswith("ai: ")
    assert "jane@example.com" in row.messages_text


def test_thread_rows_show_the_first_and_the_last_message_cut_short(
    client: Client, bob: User, deployment_a: Deployment
) -> None:
    long_reply = "I refunded the order. " * 30
    index_row(
        deployment_a,
        first_message="Where is my parcel?",
        last_message=("ai: " + long_reply)[:200],
        messages_text="where is my parcel? " + long_reply.lower(),
    )
    client.force_login(bob)

    body = client.get("/threads/").content.decode()

    assert '<div class="said first" title="Where is my parcel?">Where is my parcel?</div>' in body
    shown = re.search(r'<div class="said last muted"[^>]*>([^<]*)</div>', body)
    assert shown is not None
    assert shown.group(1).startswith("ai: I refunded the order.")
    assert len(shown.group(1)) <= 90


def test_a_search_for_a_word_in_a_message_finds_the_thread(
    client: Client, bob: User, deployment_a: Deployment
) -> None:
    said = index_row(deployment_a, messages_text="my parcel never arrived, please refund it")
    other = index_row(deployment_a, messages_text="what are your opening hours?")
    client.force_login(bob)

    body = client.get("/threads/?q=Refund").content.decode()

    assert said.thread_id in body
    assert other.thread_id not in body


@pytest.mark.parametrize("counting", [False, True], ids=["page", "counts"])
def test_on_postgresql_the_message_search_is_answered_by_the_full_text_index(
    deployment_a: Deployment, counting: bool
) -> None:
    query = filter_threads(
        ThreadIndex.objects.all(), ThreadFilter(text="refund"), counting=counting
    )
    sql, params = query.query.sql_with_params()
    if connection.vendor != "postgresql":
        assert "messages_text" in sql
        return
    with connection.cursor() as cursor:
        # The table is tiny here: forbid the sequential scan to see which index would answer.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "threads_messages_fts" in plan
