from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.db.models import QuerySet

from apps.deployments.models import Deployment
from apps.runs.services import DEFAULT_STREAM_MODES, STREAM_MODES
from dashboard.strict import StrictInputError, parse_json

MULTITASK_HELP = {
    "reject": "Refuse to start if the thread already has a run in flight (where the server "
    "enforces it: Aegra 0.11 does not, and starts the run anyway).",
    "enqueue": "Wait in line and start after the thread's current run finishes.",
    "interrupt": "Stop the thread's current run (keeping its steps so far), then start this one.",
    "rollback": "Stop the thread's current run and delete it with its checkpoints, then start.",
}
STREAM_MODE_HELP = {
    "values": "the full state after each step",
    "updates": "what each node wrote, step by step",
    "messages-tuple": "chat messages token by token",
    "messages": "chat messages, accumulated so far",
    "custom": "progress events the graph writes itself",
    "tasks": "task starts and results",
    "checkpoints": "each checkpoint as it is saved",
    "debug": "everything, for debugging",
    "events": "LangChain callback events (verbose)",
}
# Schema types a form field is built for; anything else is entered in the JSON box.
_SIMPLE = {"string", "integer", "number", "boolean"}
SCHEMA_PREFIX = "in__"
RELOAD_CHOICES = {
    "hx-get": "/runs/new/",
    "hx-trigger": "change",
    "hx-include": "closest form",
    "hx-target": "#run-choices",
    "hx-swap": "outerHTML",
}


def _uuid_or_blank(value: str, what: str) -> str:
    value = value.strip()
    if not value:
        return ""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise forms.ValidationError(f"{what} must be a UUID.") from None


def _nodes(value: str) -> list[str] | str | None:
    value = value.strip()
    if not value:
        return None
    if value == "*":
        return "*"
    nodes = [node.strip() for node in value.split(",") if node.strip()]
    if any(not node.replace("_", "").replace("-", "").isalnum() for node in nodes):
        raise forms.ValidationError("List node names separated by commas, or * for every node.")
    return nodes


def _simple_type(spec: dict[str, Any]) -> str | None:
    """The form-field type of a property: its ``type``, or for ``float | str`` (``anyOf``) the
    first simple one, so a number is offered as a number."""
    kind = spec.get("type")
    if isinstance(kind, str):
        return kind if kind in _SIMPLE else None
    options = spec.get("anyOf")
    if isinstance(options, list):
        for option in options:
            if isinstance(option, dict) and option.get("type") in _SIMPLE:
                return str(option["type"])
    return None


def required_inputs(schema: dict[str, Any] | None) -> list[str]:
    required = (schema or {}).get("required")
    return [str(name) for name in required] if isinstance(required, list) else []


def schema_fields(schema: dict[str, Any] | None) -> dict[str, forms.Field]:
    """Form fields for the top-level simple properties of a graph's input JSON schema."""
    fields: dict[str, forms.Field] = {}
    properties = (schema or {}).get("properties")
    if not isinstance(properties, dict):
        return fields
    required = set(required_inputs(schema))
    for name, spec in list(properties.items())[:30]:
        if not isinstance(spec, dict):
            continue
        kind = _simple_type(spec)
        label = str(spec.get("title") or name)[:100] + (" (required)" if name in required else "")
        help_text = str(spec.get("description") or "")[:300]
        options: dict[str, Any] = {"label": label, "help_text": help_text, "required": False}
        field: forms.Field
        if kind == "string" and isinstance(spec.get("enum"), list):
            choices = [("", "—")] + [(str(v), str(v)) for v in spec["enum"]]
            field = forms.ChoiceField(choices=choices, **options)
        elif kind == "string":
            field = forms.CharField(max_length=10_000, **options)
        elif kind == "integer":
            field = forms.IntegerField(**options)
        elif kind == "number":
            field = forms.FloatField(**options)
        elif kind == "boolean":
            field = forms.NullBooleanField(**options)
        else:
            continue
        field.widget.attrs["data-required"] = "true" if name in required else "false"
        fields[f"{SCHEMA_PREFIX}{name}"] = field
    return fields


_PLACEHOLDER: dict[str, Any] = {
    "string": "",
    "integer": 0,
    "number": 0,
    "boolean": False,
    "array": [],
    "object": {},
}


def example_input(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """An input that fills every property of the schema: its default or first example when the
    graph gives one, a chat turn for ``messages``, else an empty value of the property's type."""
    properties = (schema or {}).get("properties")
    if not isinstance(properties, dict) or not properties:
        return None
    example: dict[str, Any] = {}
    for name, spec in properties.items():
        spec = spec if isinstance(spec, dict) else {}
        if "default" in spec:
            example[name] = spec["default"]
        elif isinstance(spec.get("examples"), list) and spec["examples"]:
            example[name] = spec["examples"][0]
        elif isinstance(spec.get("enum"), list) and spec["enum"]:
            example[name] = spec["enum"][0]
        elif name == "messages":
            example[name] = [{"role": "user", "content": "Hello"}]
        else:
            kind = spec.get("type") if isinstance(spec.get("type"), str) else _simple_type(spec)
            example[name] = _PLACEHOLDER.get(str(kind))
    return example


class StartRunForm(forms.Form):
    deployment = forms.ModelChoiceField(queryset=Deployment.objects.none())
    assistant_id = forms.ChoiceField(
        label="Graph",
        help_text="The graphs this deployment serves (read from its assistants).",
    )
    thread_id = forms.CharField(
        label="Thread",
        max_length=64,
        required=False,
        help_text="Leave blank to start a new thread.",
    )
    checkpoint_id = forms.CharField(
        label="From checkpoint",
        max_length=64,
        required=False,
        help_text="Re-run (no input) or fork (with input) from this checkpoint.",
    )
    input = forms.CharField(
        label="Input (JSON)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text="Any JSON value. Leave blank for none (continue, re-run).",
    )
    stream_mode = forms.MultipleChoiceField(
        label="Stream modes",
        choices=[(mode, f"{mode}: {STREAM_MODE_HELP[mode]}") for mode in STREAM_MODES],
        widget=forms.CheckboxSelectMultiple,
        initial=DEFAULT_STREAM_MODES,
    )
    multitask_strategy = forms.ChoiceField(
        label="If the thread is busy",
        choices=[(key, f"{key}: {text}") for key, text in MULTITASK_HELP.items()],
        widget=forms.RadioSelect,
        initial="reject",
        # A server difference the SDK documents (stream_run): said where the choice is made.
        help_text="Not every server refuses: Aegra 0.11 starts a rejected run beside the one in "
        "flight.",
    )
    interrupt_before = forms.CharField(
        label="Pause before nodes", required=False, help_text="Comma-separated, or * for all."
    )
    interrupt_after = forms.CharField(
        label="Pause after nodes", required=False, help_text="Comma-separated, or * for all."
    )

    def __init__(
        self,
        *args: Any,
        deployments: QuerySet[Deployment],
        served: dict[str, str] | None = None,
        input_schema: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        deployment_field = self.fields["deployment"]
        assert isinstance(deployment_field, forms.ModelChoiceField)
        deployment_field.queryset = deployments
        # The graph (or assistant) names the chosen deployment serves: anything else is refused
        # here, before a run is started.
        graph_field = self.fields["assistant_id"]
        assert isinstance(graph_field, forms.ChoiceField)
        graph_field.choices = [("", "Choose a graph"), *(served or {}).items()]
        # Choosing reloads the graph list and the input fields (the view's "choices" partial).
        for name in ("deployment", "assistant_id"):
            self.fields[name].widget.attrs.update(RELOAD_CHOICES)
        self.required_inputs = required_inputs(input_schema)
        self.schema_names: list[str] = []
        for name, field in schema_fields(input_schema).items():
            self.fields[name] = field
            self.schema_names.append(name)

    @property
    def schema_bound_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.schema_names]

    def clean_thread_id(self) -> str:
        return _uuid_or_blank(self.cleaned_data["thread_id"], "The thread id")

    def clean_checkpoint_id(self) -> str:
        return _uuid_or_blank(self.cleaned_data["checkpoint_id"], "The checkpoint id")

    def clean_input(self) -> Any:
        raw = self.cleaned_data["input"].strip()
        if not raw:
            return None
        try:
            return parse_json(raw)
        except StrictInputError as error:
            raise forms.ValidationError(str(error)) from None

    def clean_interrupt_before(self) -> list[str] | str | None:
        return _nodes(self.cleaned_data["interrupt_before"])

    def clean_interrupt_after(self) -> list[str] | str | None:
        return _nodes(self.cleaned_data["interrupt_after"])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        from_schema = {
            name.removeprefix(SCHEMA_PREFIX): data[name]
            for name in self.schema_names
            if data.get(name) not in (None, "")
        }
        if from_schema:
            if data.get("input") is None:
                data["input"] = from_schema
            elif isinstance(data["input"], dict):
                data["input"] = {**data["input"], **from_schema}
            else:
                self.add_error("input", "Use either the fields or a non-object JSON input.")
        missing = self._missing_inputs(data)
        if missing:
            self.add_error(
                None,
                f"{data.get('assistant_id')} needs {', '.join(missing)} in its input: "
                "fill in the field or the JSON.",
            )
        if data.get("checkpoint_id") and not data.get("thread_id"):
            self.add_error("checkpoint_id", "A checkpoint belongs to a thread: give the thread.")
        return data

    def _missing_inputs(self, data: dict[str, Any]) -> list[str]:
        """Required inputs absent from a run that starts a new thread (a run on a thread may
        find them in the thread's state already; a continue has no input)."""
        if data.get("thread_id") or not self.required_inputs:
            return []
        given = data.get("input")
        if given is None or not isinstance(given, dict):
            return self.required_inputs if given is None else []
        return [name for name in self.required_inputs if name not in given]

    @property
    def kind(self) -> str:
        if self.cleaned_data.get("checkpoint_id"):
            return "fork" if self.cleaned_data.get("input") is not None else "rerun"
        return "input"


class CancelRunForm(forms.Form):
    action = forms.ChoiceField(
        choices=[
            ("interrupt", "Interrupt: stop it, keep the steps it finished"),
            ("rollback", "Roll back: stop it and delete it with its checkpoints"),
        ],
        widget=forms.RadioSelect,
        initial="interrupt",
    )
