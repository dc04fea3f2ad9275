"""The built-in offline model: the SDK `Model` interface over `offline_intents`.

It goes through the agent's tools like any model, so the REPL works with no key and no
network, and streams its replies word by word.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from agents import ModelResponse, Usage
from agents.models.interface import Model
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseCreatedEvent,
    ResponseFunctionToolCall,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseOutputText,
    ResponseTextDeltaEvent,
)

from todochat.agent.offline_intents import Schema, decide
from todochat.agent.offline_memory import listing_cut, text_of
from todochat.agent.offline_refs import search_terms
from todochat.agent.offline_replies import (
    Reply,
    is_not_found,
    not_found_ref,
    summarize_tool_output,
)

MODEL_NAME = "offline"


class OfflineModel(Model):
    """Understands everyday todo phrasings; see `offline_intents` for what it knows."""

    async def get_response(
        self, system_instructions, input, model_settings, tools, *args, **kwargs
    ) -> ModelResponse:
        output = respond(system_instructions, input, tool_schema(tools))
        return ModelResponse(output=output, usage=Usage(requests=1), response_id=_new_id("resp"))

    async def stream_response(
        self, system_instructions, input, model_settings, tools, *args, **kwargs
    ) -> AsyncIterator[Any]:
        output = respond(system_instructions, input, tool_schema(tools))
        response = _response(output)
        sequence = 0
        yield ResponseCreatedEvent(
            type="response.created",
            response=response.model_copy(update={"output": [], "status": "in_progress"}),
            sequence_number=sequence,
        )
        for index, item in enumerate(output):
            if isinstance(item, ResponseOutputMessage):
                for chunk in _chunks(item.content[0].text):
                    sequence += 1
                    yield ResponseTextDeltaEvent(
                        type="response.output_text.delta",
                        item_id=item.id,
                        output_index=index,
                        content_index=0,
                        delta=chunk,
                        logprobs=[],
                        sequence_number=sequence,
                    )
            sequence += 1
            yield ResponseOutputItemDoneEvent(
                type="response.output_item.done",
                item=item,
                output_index=index,
                sequence_number=sequence,
            )
        yield ResponseCompletedEvent(
            type="response.completed", response=response, sequence_number=sequence + 1
        )


def warm_up() -> None:
    """Do the first-use work of a reply ahead of it: compile the grammar and complete the
    response types' validators (pydantic builds them on first use, ~0.4 s together)."""
    import asyncio

    async def drain() -> None:
        async for _event in OfflineModel().stream_response(None, "add a warm-up", None, []):
            pass

    asyncio.run(drain())
    _response([_function_call("list_tasks", {})])


def tool_schema(tools: list[Any] | None) -> Schema:
    """Each offered tool's name -> its parameter names, read from the schema the model gets,
    so the offline model uses `due` or `undo_last_change` only when this run has them."""
    schema = {}
    for tool in tools or []:
        parameters = getattr(tool, "params_json_schema", None) or {}
        schema[tool.name] = frozenset(parameters.get("properties", {}))
    return schema


def respond(instructions: str | None, input: str | list[Any], tools: Schema) -> list[Any]:
    """The model's output for this input: the next tool call of the turn, or a message.

    A message gets one decision, made before anything changes: its calls are carried out one
    per response (the SDK runs the calls of one response concurrently, and tasks must be
    numbered in the order the user gave them), then the reply is the summary of their
    outputs. Deciding again after a call would read a list the call has already changed
    ("delete the plumber task", then "no task matches the plumber task").
    """
    items = [{"role": "user", "content": input}] if isinstance(input, str) else list(input)
    items = [i for i in items if isinstance(i, dict)]
    start = max((n for n, i in enumerate(items) if i.get("role") == "user"), default=-1)
    asked, since = items[: start + 1], items[start + 1 :]
    lookups = [i for i in since if str(i.get("call_id", "")).startswith(LOOKUP)]
    since = [i for i in since if i not in lookups]
    calls = [i for i in since if i.get("type") == "function_call"]
    if calls:
        return _carry_on(items, since, PLANS.get(str(calls[0].get("call_id"))))
    message = text_of(asked[-1]) if asked else ""
    decision = decide(message, asked + lookups, instructions, tools)
    if isinstance(decision, Reply):
        if _look_further(decision, instructions, lookups, tools):
            return [_function_call("list_tasks", _lookup(decision, tools), LOOKUP)]
        return [_message(decision.text)]
    first = _function_call(decision[0].name, decision[0].arguments)
    PLANS.remember(first.call_id, decision)
    return [first]


def _carry_on(items: list[dict[str, Any]], since: list[dict[str, Any]], plan) -> list[Any]:
    """The next call of the message's plan, or, when it is done (or a call failed), the
    summary of what the calls did."""
    outputs = [i for i in since if i.get("type") == "function_call_output"]
    made = sum(1 for i in since if i.get("type") == "function_call")
    failed = any(str(o.get("output", "")).startswith("Error") for o in outputs)
    if plan is not None and made < len(plan) and not failed:
        return [_function_call(plan[made].name, plan[made].arguments)]
    return [_message("\n".join(_summary(items, output) for output in outputs))]


class _Plans:
    """Each message's decision, by the id of its first call, for the run's later steps (a run
    is one process; the oldest are forgotten, a run never takes that long)."""

    def __init__(self, size: int = 512) -> None:
        self.size, self.plans = size, {}

    def remember(self, call_id: str, plan: tuple) -> None:
        self.plans[call_id] = plan
        while len(self.plans) > self.size:
            self.plans.pop(next(iter(self.plans)))

    def get(self, call_id: str) -> tuple | None:
        return self.plans.get(call_id)


PLANS = _Plans()


# The call id of a `list_tasks` call the model makes for itself: the instructions list only the
# most pressing open tasks, so a title it cannot find there is looked up among the others, by
# a search for its words when the tool takes one (its listing is a page, not every task).
LOOKUP = "call_lookup_"


def _lookup(decision: Reply, tools: Schema) -> dict[str, Any]:
    terms = search_terms(not_found_ref(decision))
    if terms and "search" in tools["list_tasks"]:
        return {"status": "open", "search": terms}
    return {"status": "open"}


def _look_further(decision: Reply, instructions: str | None, lookups: list, tools: Schema) -> bool:
    return (
        is_not_found(decision)
        and listing_cut(instructions)
        and not lookups
        and "list_tasks" in tools
    )


def _summary(items: list[dict[str, Any]], output: dict[str, Any]) -> str:
    name = ""
    for item in reversed(items):
        if item.get("type") == "function_call" and item.get("call_id") == output.get("call_id"):
            name = str(item.get("name", ""))
            break
    return summarize_tool_output(name, str(output.get("output", "")))


def _function_call(
    name: str, arguments: dict[str, Any], call: str = "call_"
) -> ResponseFunctionToolCall:
    return ResponseFunctionToolCall(
        id=_new_id("fc"),
        call_id=f"{call}{uuid.uuid4().hex[:16]}",
        type="function_call",
        name=name,
        arguments=json.dumps(arguments),
        status="completed",
    )


def _message(text: str) -> ResponseOutputMessage:
    return ResponseOutputMessage(
        id=_new_id("msg"),
        type="message",
        role="assistant",
        status="completed",
        content=[ResponseOutputText(type="output_text", text=text, annotations=[], logprobs=[])],
    )


def _response(output: list[Any]) -> Response:
    return Response(
        id=_new_id("resp"),
        created_at=time.time(),
        model=MODEL_NAME,
        object="response",
        output=output,
        tool_choice="auto",
        tools=[],
        top_p=None,
        parallel_tool_calls=False,
        status="completed",
    )


def _chunks(text: str) -> list[str]:
    words = text.split(" ")
    return [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:16]}"
