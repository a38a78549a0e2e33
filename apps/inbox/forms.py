"""Forms of the inbox: the list filter, the decision form (built per interrupt), state edits and
the per-deployment policy.

The decision form is dynamic: its fields depend on each interrupt's format and actions. Field
names, for interrupt record ``pk`` and action ``j`` (0-based, in the request's order):

- ``i<pk>-a<j>-type``: the decision (legacy: accept / edit / response / ignore; middleware:
  approve / edit / reject / respond), only the allowed ones offered;
- ``i<pk>-a<j>-arg-<key>``: an edited argument (typed, see ``edits``);
- ``i<pk>-a<j>-text``: the reply (legacy response), or the message (reject / respond);
- ``i<pk>-json``: the answer to a generic interrupt, as JSON; or ``i<pk>-text``, for a question
  that asks for text, the answer as typed (sent as a JSON string, no quotes needed).

When several interrupts are pending, any of them may be left unanswered: they stay pending and
are answered later. The answers handed on are typed (``ActionDecision``), never bare dicts.

Plus ``checkpoint_id`` and ``interrupt_id`` (repeated): what the form was rendered from, for the
stale-decision guard; ``comment``; ``mode`` = ``answer`` | ``raw`` with ``raw`` (a whole resume
value, JSON); and ``step`` = ``review`` | ``confirm`` with ``preview_token``: edits are shown as a
diff and must be confirmed before they are sent.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.http import QueryDict

from apps.inbox.edits import ArgField, EditError, arg_fields, diff_args, parse_args
from apps.inbox.models import Interrupt, Kind
from apps.inbox.presenters import bounded
from apps.inbox.selectors import AGES, InboxFilter
from apps.inbox.services import AnswerInput
from dashboard.strict import JSONTextField, StrictInputError, parse_json

# The typed decision is not (yet) in the SDK's public names, which its parity test pins.
from switchboard._hitl import ActionDecision, jsonable_answer

LEGACY_LABELS = {
    "accept": "Accept",
    "edit": "Edit, then accept",
    "response": "Respond with text",
    "ignore": "Ignore",
}
MIDDLEWARE_LABELS = {
    "approve": "Approve",
    "edit": "Edit, then run",
    "reject": "Reject",
    "respond": "Respond as the tool",
}
# The decision types that carry text, and what the text is called on the form.
TEXT_LABELS = {
    "response": "Reply",
    "reject": "Reason (optional, shown to the agent)",
    "respond": "Answer (the tool's result)",
}


class InboxFilterForm(forms.Form):
    # Checkboxes: the templates iterate the choices (a select's options would print each name
    # twice, as a stray <option> and its label, and could not be ticked).
    deployment = forms.TypedMultipleChoiceField(
        coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    graph = forms.CharField(required=False, max_length=200)
    action = forms.CharField(required=False, max_length=200, label="Action or tool")
    kind = forms.ChoiceField(required=False, choices=[("", "Any kind"), *Kind.choices])
    age = forms.ChoiceField(
        required=False, choices=[("", "Any age"), *((k, v[0]) for k, v in AGES.items())]
    )
    sort = forms.ChoiceField(
        required=False, choices=[("oldest", "Oldest first"), ("newest", "Newest first")]
    )

    def __init__(self, data: QueryDict, *, deployments: list[tuple[int, str]]) -> None:
        super().__init__(data)
        self.fields["deployment"].choices = deployments  # type: ignore[attr-defined]

    def to_filter(self) -> InboxFilter:
        data = self.cleaned_data if self.is_valid() else {}
        return InboxFilter(
            deployment_ids=list(data.get("deployment") or []),
            graph=str(data.get("graph") or "").strip(),
            action=str(data.get("action") or "").strip(),
            kind=str(data.get("kind") or ""),
            age=str(data.get("age") or ""),
            newest_first=data.get("sort") == "newest",
        )


# --- the decision form -----------------------------------------------------------------------


@dataclass
class ActionForm:
    """One action of an interrupt, as the form shows it."""

    index: int
    name: str
    description: str
    allowed: list[tuple[str, str]]  # (value, label)
    fields: list[ArgField]
    args: dict[str, Any]
    prefix: str
    chosen: str = ""
    texts: dict[str, str] = field(default_factory=dict)
    text: str = ""

    @property
    def can_edit(self) -> bool:
        return any(value == "edit" for value, _ in self.allowed)

    @property
    def text_choices(self) -> list[str]:
        return [value for value, _ in self.allowed if value in TEXT_LABELS]

    @property
    def text_label(self) -> str:
        labels = [TEXT_LABELS[v] for v in self.text_choices]
        return " / ".join(labels) if labels else ""

    @property
    def bound_fields(self) -> list[tuple[ArgField, str]]:
        """Each argument with the text the form shows: what was typed, else the original."""
        return [(f, self.texts.get(f.key, f.text)) for f in self.fields]

    @property
    def args_json(self) -> str:
        return json.dumps(self.args, indent=2, ensure_ascii=False, default=str)


@dataclass
class InterruptForm:
    row: Interrupt
    prefix: str
    actions: list[ActionForm]
    json_text: str = ""
    text: str = ""

    @property
    def raw_json(self) -> str:
        return json.dumps(self.row.raw_value, indent=2, ensure_ascii=False, default=str)

    @property
    def raw_preview(self) -> str:
        """The start of ``raw_json`` (the page shows this; the whole value is one click away)."""
        return bounded(self.raw_json)

    @property
    def is_long(self) -> bool:
        return self.raw_preview != self.raw_json

    @property
    def asks_for_text(self) -> bool:
        """A plain-text question: a string, or a response schema of type string."""
        schema = self.row.response_schema
        return isinstance(self.row.raw_value, str) or (
            isinstance(schema, dict) and schema.get("type") == "string"
        )

    @property
    def options(self) -> list[tuple[str, str]]:
        """(label, the option as JSON) for each option the question offers."""
        value = self.row.raw_value
        found = value.get("options") if isinstance(value, dict) else None
        if not isinstance(found, list):
            return []
        return [(o if isinstance(o, str) else _json(o), _json(o)) for o in found[:20]]


def build_forms(rows: list[Interrupt], data: QueryDict | None = None) -> list[InterruptForm]:
    """The forms for the interrupts pending on one checkpoint (bound to ``data`` if given)."""
    out = []
    for row in rows:
        prefix = f"i{row.pk}"
        labels = LEGACY_LABELS if row.kind == Kind.LEGACY else MIDDLEWARE_LABELS
        actions = []
        for index, action in enumerate(row.actions if isinstance(row.actions, list) else []):
            args = action.get("args") if isinstance(action.get("args"), dict) else {}
            allowed = [str(d) for d in action.get("allowed_decisions") or []]
            a_prefix = f"{prefix}-a{index}"
            form = ActionForm(
                index=index,
                name=str(action.get("name", "")),
                description=str(action.get("description") or ""),
                allowed=[(d, labels.get(d, d.capitalize())) for d in allowed],
                fields=arg_fields(args, action.get("args_schema")),
                args=args,
                prefix=a_prefix,
                chosen=allowed[0] if len(allowed) == 1 else "",
            )
            if data is not None:
                form.chosen = data.get(f"{a_prefix}-type", form.chosen) or ""
                form.text = data.get(f"{a_prefix}-text", "")
                form.texts = {
                    f.key: str(data.get(f"{a_prefix}-arg-{f.key}", ""))
                    for f in form.fields
                    if f"{a_prefix}-arg-{f.key}" in data
                }
            actions.append(form)
        json_text = data.get(f"{prefix}-json", "") if data is not None else ""
        text = data.get(f"{prefix}-text", "") if data is not None else ""
        out.append(
            InterruptForm(row=row, prefix=prefix, actions=actions, json_text=json_text, text=text)
        )
    return out


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


class FormProblem(ValueError):
    """What the operator must fix in the form (shown next to it; nothing was sent)."""


@dataclass
class ParsedDecision:
    answers: list[AnswerInput]
    diffs: list[dict[str, Any]]

    @property
    def token(self) -> str:
        """Fingerprint of what would be sent: a confirmation is only valid for these edits."""
        blob = json.dumps(
            [[a.interrupt_pk, jsonable_answer(a.value)] for a in self.answers],
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:24]


def _free_text(text: str) -> str:
    # What a browser sent for a textarea: its CRLF line breaks as the LF everyone else writes.
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _action_answer(
    row: Interrupt, form: ActionForm, data: QueryDict
) -> tuple[ActionDecision, str, dict[str, Any], list[dict[str, Any]]]:
    """(composer answer, summary, edited args or {}, diff rows) for one action."""
    kind = data.get(f"{form.prefix}-type", "")
    if not kind:
        # Sent as a decision without a type: the composer names the action and what is allowed.
        return ActionDecision(type=""), "(none)", {}, []
    text = _free_text(data.get(f"{form.prefix}-text", ""))
    legacy = row.kind == Kind.LEGACY
    if kind == "edit":
        try:
            edited = parse_args(form.fields, form.texts)
        except EditError as error:
            raise FormProblem(f"{form.name}: {error}") from None
        diff = diff_args(form.name, form.args, edited)
        plain = "accept" if legacy else "approve"
        if not diff and any(v == plain for v, _ in form.allowed):
            # Nothing was changed: send the plain approval, like agent-inbox does.
            return ActionDecision(type=plain), f"{plain} (no edits)", {}, []
        return ActionDecision(type="edit", args=edited), "edit", edited, diff
    if kind == "response" or (not legacy and kind == "respond"):
        return ActionDecision(type=kind, message=text), kind, {}, []
    if not legacy and kind == "reject":
        return ActionDecision(type=kind, message=text if text.strip() else None), kind, {}, []
    return ActionDecision(type=kind), kind, {}, []


def _generic_answer(form: InterruptForm) -> Any:
    """The answer to a generic interrupt, or ``_UNANSWERED``. Text typed in the text box is sent
    as a string; else the JSON box is read strictly. ``null`` is refused: it is no answer."""
    row = form.row
    where = row.node or "the question"
    if form.asks_for_text and form.text.strip():
        return _free_text(form.text)
    text = form.json_text.strip()
    if not text:
        return _UNANSWERED
    try:
        value = parse_json(text)
    except StrictInputError as error:
        raise FormProblem(f"The answer to {where} is not valid JSON: {error}") from None
    if value is None:
        raise FormProblem(
            f"The answer to {where} is null, which the graph cannot take as an answer: "
            'give a value (e.g. "approve"), or leave it empty to answer later.'
        )
    _check_schema(row, value)
    return value


class _Unanswered:
    pass


_UNANSWERED: Any = _Unanswered()


def parse_decision(rows: list[Interrupt], data: QueryDict) -> ParsedDecision:
    """The operator's answers, one per interrupt answered (with several pending, those left
    blank stay pending). Raises ``FormProblem`` for input that cannot be read (bad JSON, a number
    that is not one, null) or when nothing is answered; counts, types and ids are left to the
    SDK's composer, which refuses them with its own sentences."""
    forms_ = build_forms(rows, data)
    answers: list[AnswerInput] = []
    diffs: list[dict[str, Any]] = []
    for form in forms_:
        row = form.row
        if row.kind == Kind.GENERIC:
            value = _generic_answer(form)
            if value is not _UNANSWERED:
                answers.append(AnswerInput(interrupt_pk=row.pk, value=value, summary=_short(value)))
            continue
        # Actions answered are those the form sent, in order: a missing one is a wrong count.
        sent = [a for a in form.actions if f"{a.prefix}-type" in data]
        if not sent and len(forms_) > 1:
            continue
        values, summaries = [], []
        original: dict[str, Any] = {}
        edited: dict[str, Any] = {}
        row_diff: list[dict[str, Any]] = []
        for action in sent:
            value, summary, edit, diff = _action_answer(row, action, data)
            values.append(value)
            summaries.append(f"{summary} {action.name}")
            if edit:
                original[action.name] = action.args
                edited[action.name] = edit
            row_diff.extend(diff)
        answers.append(
            AnswerInput(
                interrupt_pk=row.pk,
                value=values if row.kind == Kind.MIDDLEWARE or len(values) != 1 else values[0],
                summary=", ".join(summaries) or "(no decision)",
                original=original or None,
                edited=edited or None,
                diff=row_diff,
            )
        )
        diffs.extend(row_diff)
    if not answers and forms_:
        only = len(forms_) == 1 and forms_[0].row.kind == Kind.GENERIC
        raise FormProblem(
            'The answer is empty: type one (JSON, e.g. "approve").'
            if only
            else "Nothing was answered: answer at least one of the interrupts shown."
        )
    return ParsedDecision(answers=answers, diffs=diffs)


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 120 else text[:119] + "…"


def _check_schema(row: Interrupt, value: Any) -> None:
    """The top-level type a generic interrupt's ``response_schema`` asks for, if it says."""
    schema = row.response_schema
    if not isinstance(schema, dict):
        return
    wanted = schema.get("type")
    checks = {
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str),
        "boolean": lambda v: isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "null": lambda v: v is None,
    }
    types = wanted if isinstance(wanted, list) else [wanted] if isinstance(wanted, str) else []
    if types and not any(checks.get(t, lambda v: True)(value) for t in types):
        raise FormProblem(
            f"The answer must be of type {' or '.join(types)} (the interrupt's response schema)."
        )
    if isinstance(value, dict):
        missing = [k for k in schema.get("required") or [] if k not in value]
        if missing:
            raise FormProblem(f"The answer lacks required keys: {', '.join(map(str, missing))}.")
    if "enum" in schema and value not in schema["enum"]:
        raise FormProblem(
            f"The answer must be one of: {', '.join(json.dumps(v) for v in schema['enum'])}."
        )


def parse_raw(text: str) -> Any:
    try:
        value = parse_json(text)
    except StrictInputError as error:
        raise FormProblem(f"The resume value is not valid JSON: {error}") from None
    if value is None:
        raise FormProblem("The resume value is null, which no interrupt takes as an answer.")
    return value


class EditStateForm(forms.Form):
    checkpoint_id = forms.UUIDField(widget=forms.HiddenInput)
    head_checkpoint_id = forms.CharField(required=False, widget=forms.HiddenInput)
    values = JSONTextField(
        widget=forms.Textarea(attrs={"rows": 12, "data-json": "1"}),
        initial="{}",
        help_text="JSON written as if the node below had just run (the graph's reducers apply): "
        "an object of keys to write, or null.",
    )
    as_node = forms.CharField(required=False, max_length=200, label="As node")
    then_continue = forms.BooleanField(
        required=False, initial=True, label="Then continue from the new checkpoint"
    )
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_values(self) -> Any:
        value = self.cleaned_data["values"]
        if value is not None and not isinstance(value, dict | list):
            raise forms.ValidationError("Write an object of keys (or a list of updates, or null).")
        return value


class PolicyForm(forms.Form):
    comment_required = forms.BooleanField(
        required=False, label="Require a comment on every decision"
    )
