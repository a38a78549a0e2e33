"""A deterministic chat model for the demo graphs: no network, no randomness.

A script (a plain function of the conversation) decides each turn, so a resumed thread
picks up where it left off. The reply is streamed one token per chunk, which is what
makes `messages` stream mode show tokens arriving in the console.
"""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManager,
    AsyncCallbackManagerForLLMRun,
    CallbackManagerForLLMRun,
)
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.chat_models import generate_from_stream
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolCall
from langchain_core.messages.tool import tool_call_chunk
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult, LLMResult
from langchain_core.runnables import Runnable, RunnableConfig, ensure_config
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool


@dataclass(frozen=True)
class ScriptedTurn:
    """One model reply: text streamed a token per chunk, then any tool calls."""

    tokens: Iterable[str]
    tool_calls: Sequence[ToolCall] = field(default_factory=tuple)


Script = Callable[[Sequence[BaseMessage]], ScriptedTurn]


def tokenize(text: str) -> list[str]:
    """Split text the way hosted models stream it: each word with its leading space."""
    return re.findall(r"\s*\S+", text)


class _Pacer:
    """Spaces chunks 1/rate apart on a fixed schedule from the first chunk.

    A fixed schedule (rather than sleeping a full interval after each chunk) keeps the
    average rate exact even when the consumer is slow for a moment.
    """

    def __init__(self, per_second: float) -> None:
        self._interval = 1 / per_second if per_second > 0 else 0.0
        self._start = time.monotonic()
        self._sent = 0

    def delay(self) -> float:
        due = self._start + self._sent * self._interval
        self._sent += 1
        return max(0.0, due - time.monotonic())


class ScriptedChatModel(BaseChatModel):
    """A chat model whose replies come from `script`, streamed at `tokens_per_second`."""

    script: Script
    tokens_per_second: float = 0.0
    """0 streams as fast as the consumer takes chunks."""

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        # The script decides which tools to call; binding only has to keep the call
        # shape of a real provider so `create_agent` accepts the model.
        formatted = [convert_to_openai_tool(tool) for tool in tools]
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return generate_from_stream(self._stream(messages, stop, run_manager, **kwargs))

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        pacer = _Pacer(self.tokens_per_second)
        for chunk in _chunks(self.script(messages)):
            time.sleep(pacer.delay())
            yield ChatGenerationChunk(message=chunk)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        async for chunk in self._apaced(messages):
            yield ChatGenerationChunk(message=chunk)

    async def _apaced(self, messages: list[BaseMessage]) -> AsyncIterator[AIMessageChunk]:
        pacer = _Pacer(self.tokens_per_second)
        for chunk in _chunks(self.script(messages)):
            # Always yield to the event loop, even at full speed: the server drains
            # the stream on this loop, and a long reply must not pile up unsent.
            await asyncio.sleep(pacer.delay())
            yield chunk

    async def astream_text(
        self, messages: list[BaseMessage], config: RunnableConfig | None = None
    ) -> AsyncIterator[AIMessageChunk]:
        """`astream` for very long replies: callbacks see every chunk, nothing keeps them.

        `BaseChatModel.astream` holds each chunk (about 2 kB) until the reply ends so it
        can merge them, which is 200 MB for a 100,000-chunk reply. Here only the text is
        kept, to report the finished message to callbacks. Tool calls are not supported.
        """
        config = ensure_config(config)
        manager = AsyncCallbackManager.configure(
            config.get("callbacks"),
            self.callbacks,
            self.verbose,
            config.get("tags"),
            self.tags,
            config.get("metadata"),
            self.metadata,
        )
        (run,) = await manager.on_chat_model_start(
            self._serialized,
            [messages],
            invocation_params=self._get_invocation_params(),
            name=config.get("run_name"),
            batch_size=1,
        )
        # `astream`'s id format. Callers give the finished AIMessage this id, so that
        # `messages` stream mode knows the reply was already sent chunk by chunk.
        message_id = f"lc_run--{run.run_id}"
        text = io.StringIO()
        try:
            async for chunk in self._apaced(messages):
                chunk.id = message_id
                text.write(chunk.text)
                await run.on_llm_new_token(chunk.text, chunk=ChatGenerationChunk(message=chunk))
                yield chunk
        except BaseException as error:
            await run.on_llm_error(error)
            raise
        reply = AIMessage(content=text.getvalue(), id=message_id)
        await run.on_llm_end(LLMResult(generations=[[ChatGeneration(message=reply)]]))


def _chunks(turn: ScriptedTurn) -> Iterator[AIMessageChunk]:
    """The turn as chunks, the last one marked so no empty trailer is added after it.

    Tokens are pulled lazily, so a very long reply is never held as a list of chunks here.
    """
    text = (AIMessageChunk(content=token) for token in turn.tokens)
    calls = (
        AIMessageChunk(
            content="",
            tool_call_chunks=[
                tool_call_chunk(
                    name=call["name"], args=json.dumps(call["args"]), id=call["id"], index=index
                )
            ],
        )
        for index, call in enumerate(turn.tool_calls)
    )
    previous: AIMessageChunk | None = None
    for chunk in itertools.chain(text, calls):
        if previous is not None:
            yield previous
        previous = chunk
    last = previous or AIMessageChunk(content="")
    last.chunk_position = "last"
    yield last
