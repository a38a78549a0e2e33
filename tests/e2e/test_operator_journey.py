"""The operator's journey in a real browser, against a real Daphne, relay worker and graph server.

alice (admin of team A) logs in, finds a thread in the list, opens it, starts the support agent on
it and watches its tokens arrive; the interrupt (two tool calls) appears in the inbox; she edits
the refund, approves the email, and watches the run resume live to its end; the timeline shows
the interrupted checkpoint, and a fork from it. Then she invites vera as a viewer, vera accepts,
and vera cannot decide the interrupt the fork stopped at. Every step leaves a screenshot under
``test-output/screenshots/<test>/``.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.contrib.auth.models import User

from apps.deployments.clients import sync_client_for
from apps.deployments.models import Deployment
from apps.threads.services import upsert_thread
from tests.fixtures.browser import Shots

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ASK = "Order B-2042 arrived broken. Please refund $42.50 and email jane@example.com to say sorry."
INPUT = {"messages": [{"role": "user", "content": ASK}]}
# Records every text the run page shows for each chat message as it changes, so the test can
# prove tokens arrived one by one (the page applies one websocket frame at a time).
RECORD_TOKENS = """
window.__texts = [];
new MutationObserver(() => {
  const box = document.getElementById("messages");
  if (!box) return;
  const texts = Array.from(box.querySelectorAll(".msg .msg-text"), (n) => n.textContent);
  window.__texts.push(texts.join("\\n"));
}).observe(document, {subtree: true, childList: true, characterData: true});
"""
RUN_TIMEOUT_MS = 60_000


@pytest.fixture
def indexed_thread(deployment_a: Deployment) -> str:
    """A thread on the deployment, already in the console's index (as the beat sync leaves it)."""
    client = sync_client_for(deployment_a)
    thread = client.create_thread(metadata={"customer": "jane@example.com", "suite": "e2e"})
    upsert_thread(deployment_a, client.get_thread(thread["thread_id"]))
    return str(thread["thread_id"])


def _wait_for_status(page: Any, label: str) -> None:
    page.wait_for_function(
        "label => document.getElementById('run-status')?.textContent.trim() === label",
        arg=label,
        timeout=RUN_TIMEOUT_MS,
    )


def _start_support_agent(page: Any, *, with_input: bool) -> None:
    # The graph is a choice among the deployment's graphs; choosing it swaps in its fields.
    page.select_option("#id_assistant_id", "support_agent")
    page.wait_for_selector("#example-input")
    if with_input:
        page.fill("#id_input", json.dumps(INPUT))
    for mode in ("messages-tuple", "values", "updates"):
        page.check(f"input[name=stream_mode][value='{mode}']")
    page.click("#start-run-form button[type=submit]")
    page.wait_for_url(re.compile(r"/runs/\d+/$"))


def test_an_operator_runs_decides_and_forks_and_a_viewer_cannot_decide(
    shots: Shots, alice: User, deployment_a: Deployment, indexed_thread: str
):
    vera = User.objects.create_user("vera", "vera@example.org", "password")
    shots.can_log_in(alice)
    page = shots.open()
    page.add_init_script(RECORD_TOKENS)

    # 1. Log in.
    page.goto("/threads/")
    page.wait_for_url(re.compile(r"/accounts/login/"))
    shots.step(page, "login form")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "password")
    page.click("form[action='/accounts/login/'] button[type=submit]")

    # 2. The thread list shows the thread.
    page.wait_for_url(re.compile(r"/threads/"))
    row = page.locator(f"tr[data-thread='{indexed_thread}']")
    row.wait_for()
    shots.step(page, "thread list")

    # 3. Open it.
    row.locator("a", has_text=indexed_thread).click()
    page.wait_for_url(re.compile(rf"/threads/{deployment_a.pk}/{indexed_thread}/"))
    page.locator("h1", has_text=indexed_thread).wait_for()
    shots.step(page, "thread detail")

    # 4. Start the support agent on it, and watch its tokens arrive.
    page.click(".thread-head .actions a:has-text('Run')")
    page.wait_for_url(re.compile(r"/runs/new/"))
    assert page.input_value("#id_thread_id") == indexed_thread
    _start_support_agent(page, with_input=True)
    shots.step(page, "run started")
    page.locator("#messages .msg", has_text="I'll refund 42.50 USD").wait_for(
        timeout=RUN_TIMEOUT_MS
    )
    _wait_for_status(page, "Interrupted")
    shots.step(page, "tokens arrived and the run stopped at the interrupt")
    texts = page.evaluate("window.__texts")
    plan = "I'll refund 42.50 USD on order B-2042 and email jane@example.com to confirm."
    growing = {text for text in texts if text and plan.startswith(text)}
    assert len(growing) >= 5, f"the plan did not arrive token by token: {texts[:20]}"

    # 5. The interrupt is in the inbox, with both tool calls.
    page.click("nav.mainnav a[href='/inbox/']")
    page.wait_for_url(re.compile(r"/inbox/$"))
    item = page.locator("table.inbox tr", has_text=indexed_thread[:11])
    assert item.count() == 1, (
        "The interrupt the run stopped at is not in the inbox: nothing synced the thread's "
        "interrupts when the run ended (the relay's finalisation should call "
        "apps.inbox.services.sync_thread_interrupts)."
    )
    assert "issue_refund" in item.inner_text()
    assert "send_email" in item.inner_text()
    shots.step(page, "inbox")

    # 6. Edit the refund's amount, approve the email; the diff is shown before anything is sent.
    item.locator("a", has_text="Decide").click()
    page.wait_for_url(re.compile(rf"/inbox/{deployment_a.pk}/{indexed_thread}/"))
    refund = page.locator(".action-card", has_text="issue_refund")
    email = page.locator(".action-card", has_text="send_email")
    refund.locator("input[type=radio][value=edit]").check()
    refund.locator("input[name$='-arg-amount']").fill("40")
    email.locator("input[type=radio][value=approve]").check()
    shots.step(page, "decision form with one edit and one approval")
    page.click("#decision-form button[name=step][value=review]")
    preview = page.locator("#edit-preview")
    preview.wait_for()
    assert "amount" in preview.inner_text()
    shots.step(page, "edit preview")
    page.click("#edit-preview button[name=step][value=confirm]")

    # 7. The run resumes live and completes, with the edited refund.
    page.wait_for_url(re.compile(r"/runs/\d+/$"))
    page.locator("#messages .msg", has_text="Here is what happened.").wait_for(
        timeout=RUN_TIMEOUT_MS
    )
    _wait_for_status(page, "Succeeded")
    answer = page.locator("#messages").inner_text()
    assert "I refunded 40.00 USD on order B-2042 (as edited by the reviewer)." in answer
    assert "I emailed jane@example.com" in answer
    shots.step(page, "resumed run completed")

    # 8. The timeline shows the checkpoint that waited for a person; fork from it.
    page.goto(f"/threads/{deployment_a.pk}/{indexed_thread}/")
    timeline = page.locator("#timeline")
    waited = timeline.locator("tr", has=page.locator(".badge.interrupted"))
    assert waited.count() >= 1, "the timeline does not mark the checkpoint that was interrupted"
    shots.step(page, "timeline after the decision")
    waited.first.locator("a", has_text="Fork from here").click()
    page.wait_for_url(re.compile(r"/runs/new/"))
    assert page.input_value("#id_checkpoint_id")
    _start_support_agent(page, with_input=False)
    _wait_for_status(page, "Interrupted")
    shots.step(page, "fork run stopped at the interrupt again")
    page.goto(f"/threads/{deployment_a.pk}/{indexed_thread}/")
    assert page.locator("#timeline .source.fork").count() == 1, "the timeline shows no fork"
    shots.step(page, "timeline shows the fork")

    # 9. alice invites vera to team A as a viewer, and vera accepts.
    page.goto("/accounts/teams/team-a/")
    members = page.locator("#members")
    members.locator("input[name=username]").fill("vera")
    members.locator("select[name=role]").last.select_option("viewer")
    members.locator("button", has_text="Add").click()
    page.locator("#members td", has_text="vera").wait_for()
    shots.step(page, "admin invited a viewer")
    assert not vera.memberships.exists()
    viewer = shots.open(vera)
    viewer.goto("/accounts/teams/")
    viewer.locator("#invitations button", has_text="Accept").click()
    viewer.locator("td", has_text="Team A").wait_for()
    shots.step(viewer, "viewer accepted the invitation")
    assert vera.memberships.get().role == "viewer"

    # 10. vera sees the pending interrupt but cannot decide it, in the page or around it.
    viewer.goto(f"/inbox/{deployment_a.pk}/{indexed_thread}/")
    submit = viewer.locator("#decision-form button[name=step][value=review]")
    submit.wait_for()
    assert submit.is_disabled()
    shots.step(viewer, "viewer cannot decide")
    form = viewer.locator("#decision-form")
    fields = {
        "csrfmiddlewaretoken": form.locator("input[name=csrfmiddlewaretoken]").input_value(),
        "checkpoint_id": form.locator("input[name=checkpoint_id]").input_value(),
        "interrupt_id": form.locator("input[name=interrupt_id]").first.input_value(),
        "mode": "raw",
        "raw": json.dumps({"decisions": [{"type": "approve"}, {"type": "approve"}]}),
    }
    forced = viewer.request.post(
        f"/inbox/{deployment_a.pk}/{indexed_thread}/",
        form=fields,
        headers={"Referer": viewer.url},
    )
    assert forced.status == 403
