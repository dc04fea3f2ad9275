"""What the offline model understands: everyday phrasings mapped to tool calls or replies.

Pure functions over the conversation items the model receives (the session history plus the
new message) and the instructions (which list the open tasks), so "that task", "it" and "the
last one" resolve from memory exactly as a network model would resolve them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

HELP = (
    "I manage your todo list. Try:\n"
    "- *create a task to buy groceries*, *remind me to pay rent*\n"
    "- *what tasks do I have?*, *show my completed tasks*\n"
    "- *add milk to that task*, *rename task 1 to buy food*\n"
    "- *mark 2 as done*, *I finished the groceries*, *reopen task 2*\n"
    "- *delete it*, *remove the rent task*"
)

LIST_WORDS = r"(?:my|the)\s+(?:todo\s+|to-do\s+|task\s+)?(?:list|tasks|todos)"
PRONOUN = re.compile(
    r"^(?:it|that|this|that one|this one|that task|this task|the last one|the last task|the same task)$"
)
TASK_WORD = re.compile(r"^(?:task\s*)?#?(\d+)$")
STOP_WORDS = {
    "the",
    "a",
    "an",
    "my",
    "task",
    "todo",
    "item",
    "one",
    "to",
    "for",
    "of",
    "on",
    "about",
}
OPEN_TASK_LINE = re.compile(r"^#(\d+) (.+?) \[(open|done)\]")
TASK_MENTION = re.compile(r"#(\d+)")


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    text: str


Decision = ToolCall | Reply


# --- reading the conversation -------------------------------------------------------------


def text_of(item: dict[str, Any]) -> str:
    content = item.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return ""


def user_texts(items: list[dict[str, Any]]) -> list[str]:
    return [text_of(i) for i in items if i.get("role") == "user"]


def open_tasks(instructions: str | None) -> dict[int, str]:
    """Number -> title of the open tasks listed in the instructions."""
    found: dict[int, str] = {}
    for line in (instructions or "").splitlines():
        match = OPEN_TASK_LINE.match(line.strip())
        if match and match.group(3) == "open":
            found[int(match.group(1))] = match.group(2)
    return found


def last_task_spoken_of(items: list[dict[str, Any]]) -> int | None:
    """The task the conversation last named (a tool result, a tool call or the user's words),
    skipping tasks deleted since."""
    deleted: set[int] = set()
    for item in reversed(items):
        gone = _deleted_in_item(item)
        if gone is not None:
            deleted.add(gone)
            continue
        number = _task_in_item(item)
        if number is not None and number not in deleted:
            return number
    return None


def _deleted_in_item(item: dict[str, Any]) -> int | None:
    if item.get("type") == "function_call_output":
        text = str(item.get("output", ""))
    elif item.get("role") == "assistant":
        text = text_of(item).replace("*", "")
    else:
        return None
    match = re.match(r"Deleted (?:task )?#(\d+)", text)
    return int(match.group(1)) if match else None


def _task_in_item(item: dict[str, Any]) -> int | None:
    if item.get("type") == "function_call_output":
        output = str(item.get("output", ""))
        if output.startswith("Error"):
            return None
        mentions = TASK_MENTION.findall(output)
        return int(mentions[0]) if len(set(mentions)) == 1 else None
    if item.get("type") == "function_call":
        try:
            number = json.loads(item.get("arguments") or "{}").get("task_number")
        except (ValueError, AttributeError):
            return None
        return int(number) if isinstance(number, int) else None
    if item.get("role") == "assistant":
        # Memory rebuilt from the log holds replies as text, which name the task they touched.
        mentions = set(TASK_MENTION.findall(text_of(item)))
        return int(mentions.pop()) if len(mentions) == 1 else None
    if item.get("role") == "user":
        mentions = re.findall(r"(?:task\s*|#)(\d+)", text_of(item).lower())
        return int(mentions[-1]) if mentions else None
    return None


# --- understanding one message ------------------------------------------------------------


def normalize(text: str) -> str:
    text = text.strip().lower()
    text = re.sub(r"^(?:please|pls|hey|ok|okay|can you|could you|would you)[,\s]+", "", text)
    text = re.sub(r"^(?:please)\s+", "", text)
    return re.sub(r"[\s?!.]+$", "", text).strip()


def decide(message: str, history: list[dict[str, Any]], instructions: str | None) -> Decision:
    """Map one user message to a tool call or a direct reply."""
    text = normalize(message)
    resolver = _Resolver(history, open_tasks(instructions))
    for rule in RULES:
        decision = rule(text, resolver, history)
        if decision is not None:
            return decision
    return Reply(HELP if text else "Say something like *create a task to buy groceries*.")


@dataclass
class _Resolver:
    history: list[dict[str, Any]]
    open: dict[int, str]

    def task(self, ref: str) -> int | str:
        """A task number, or a reason we could not tell which task was meant."""
        ref = re.sub(r"^(?:the|my)\s+", "", ref.strip())
        ref = re.sub(r"\s+(?:task|one|item)$", "", ref) if not TASK_WORD.match(ref) else ref
        match = TASK_WORD.match(ref.strip())
        if match:
            return int(match.group(1))
        if PRONOUN.match(ref) or PRONOUN.match(f"the {ref}") or ref in ("last one", "last", "same"):
            number = last_task_spoken_of(self.history)
            return (
                number
                if number is not None
                else "I'm not sure which task you mean. Say its number, like *task 2*."
            )
        return self._by_title(ref)

    def _by_title(self, ref: str) -> int | str:
        words = {w for w in re.findall(r"[a-z0-9']+", ref) if w not in STOP_WORDS}
        if not words:
            return "Which task? Say its number, like *task 2*."
        scored = []
        for number, title in self.open.items():
            title_words = set(re.findall(r"[a-z0-9']+", title.lower()))
            overlap = len(words & title_words) + sum(
                1
                for w in words
                for t in title_words
                if w != t and (w in t or t in w) and len(w) > 2
            )
            if overlap:
                scored.append((overlap, number))
        if not scored:
            return f"I couldn't find an open task matching *{ref}*. Say its number, like *task 2*."
        scored.sort(reverse=True)
        if len(scored) > 1 and scored[0][0] == scored[1][0]:
            options = ", ".join(f"#{n} {self.open[n]}" for _, n in scored[:3])
            return f"More than one task matches *{ref}*: {options}. Which number?"
        return scored[0][1]


def _with_task(resolver: _Resolver, ref: str, make) -> Decision:
    number = resolver.task(ref)
    return Reply(number) if isinstance(number, str) else make(number)


def _recall(text, resolver, history) -> Decision | None:
    if not re.search(
        r"what (?:did|was) i (?:just |last )?(?:ask|say|tell|type)|what was my last (?:message|question)",
        text,
    ):
        return None
    earlier = user_texts(history)[:-1]
    if not earlier:
        return Reply("This is the first thing you've asked me in this conversation.")
    return Reply(f"You asked: “{earlier[-1]}”")


def _greeting(text, resolver, history) -> Decision | None:
    if re.fullmatch(r"(?:hi|hello|hey|hiya|good (?:morning|afternoon|evening))(?: there)?", text):
        return Reply("Hello! " + HELP)
    if re.fullmatch(r"(?:help|what can you do|\?)", text):
        return Reply(HELP)
    if re.fullmatch(r"(?:thanks|thank you|thx|cheers)(?: .*)?", text):
        return Reply("You're welcome!")
    return None


def _list(text, resolver, history) -> Decision | None:
    asks = re.search(r"\b(?:what|which|show|list|see|view|display|any|how many)\b", text)
    about = re.search(r"\b(?:tasks?|todos?|to-dos?|list|done|completed|finished)\b", text)
    if not (asks and about) and not re.fullmatch(r"(?:tasks|todos|" + LIST_WORDS + r")", text):
        return None
    if re.match(r"(?:add|create|remind|delete|remove|rename|mark|complete)\b", text):
        return None
    if re.search(r"\ball\b", text):
        status = "all"
    elif re.search(r"\b(?:done|completed|finished|complete)\b", text):
        status = "done"
    else:
        status = "open"
    return ToolCall("list_tasks", {"status": status})


def _reopen(text, resolver, history) -> Decision | None:
    match = re.match(r"(?:re-?open|undo|unmark|un-complete|uncomplete)\s+(.+?)(?:\s+again)?$", text)
    if not match:
        match = re.match(r"mark\s+(.+?)\s+as\s+(?:not done|open|undone|incomplete)$", text)
    if not match:
        return None
    return _with_task(
        resolver, match.group(1), lambda n: ToolCall("reopen_task", {"task_number": n})
    )


def _complete(text, resolver, history) -> Decision | None:
    patterns = (
        r"(?:mark|set)\s+(.+?)\s+(?:as\s+)?(?:done|complete|completed|finished)$",
        r"(?:check|tick|cross)\s+off\s+(.+)$",
        r"(?:complete|finish|close)\s+(.+)$",
        r"(?:i(?:'ve| have)?\s+)?(?:finished|completed|did|done with)\s+(.+)$",
        r"(.+?)\s+is\s+(?:done|finished|complete)$",
    )
    for pattern in patterns:
        match = re.match(pattern, text)
        if match:
            return _with_task(
                resolver, match.group(1), lambda n: ToolCall("complete_task", {"task_number": n})
            )
    return None


def _rename(text, resolver, history) -> Decision | None:
    match = re.match(
        r"(?:rename|retitle|change(?: the)? (?:title|name) of)\s+(.+?)\s+to\s+(.+)$", text
    )
    if not match:
        return None
    title = _original_case(history, match.group(2))
    return _with_task(
        resolver,
        match.group(1),
        lambda n: ToolCall("update_task", {"task_number": n, "title": title}),
    )


def _delete(text, resolver, history) -> Decision | None:
    match = re.match(
        r"(?:delete|remove|drop|cancel|forget|get rid of|erase)\s+(.+?)(?:\s+from\s+"
        + LIST_WORDS
        + r")?$",
        text,
    )
    if not match:
        return None
    return _with_task(
        resolver, match.group(1), lambda n: ToolCall("delete_task", {"task_number": n})
    )


def _append_note(text, resolver, history) -> Decision | None:
    match = re.match(
        r"(?:add|append|put|attach|include)\s+(?:a note\s+)?(.+?)\s+(?:to|on|onto|into)\s+(.+)$",
        text,
    )
    if not match or re.fullmatch(LIST_WORDS + r"|(?:the )?list", match.group(2)):
        return None
    target = match.group(2)
    if not (
        PRONOUN.match(target)
        or TASK_WORD.match(target)
        or target.endswith(("task", "one"))
        or re.match(r"the\s", target)
    ):
        return None
    note = _original_case(history, match.group(1))
    return _with_task(
        resolver,
        target,
        lambda n: ToolCall("update_task", {"task_number": n, "append_notes": note}),
    )


def _add(text, resolver, history) -> Decision | None:
    patterns = (
        r"(?:create|add|make|new|start)\s+(?:a\s+)?(?:new\s+)?(?:task|todo|to-do|reminder|item)\s*(?:to|:|called|named|for|-)?\s+(.+)$",
        r"remind me to\s+(.+)$",
        r"(?:add|put)\s+(.+?)\s+(?:to|on)\s+" + LIST_WORDS + "$",
        r"(?:add|put)\s+(.+?)\s+(?:to|on)\s+(?:the\s+)?list$",
        r"(?:todo|to-do|task)\s*:\s*(.+)$",
        r"i (?:need|have|must|should|want) to\s+(.+)$",
        r"add\s+(.+)$",
    )
    for pattern in patterns:
        match = re.match(pattern, text)
        if match:
            return ToolCall("add_task", {"title": _original_case(history, match.group(1))})
    return None


def _original_case(history: list[dict[str, Any]], lowered: str) -> str:
    """Recover the user's own capitalisation of a phrase we matched in lower case."""
    texts = user_texts(history)
    source = texts[-1] if texts else ""
    start = source.lower().find(lowered)
    return source[start : start + len(lowered)].strip() if start >= 0 else lowered.strip()


RULES = (_recall, _greeting, _reopen, _rename, _append_note, _delete, _complete, _list, _add)


# --- turning a tool result into a reply ---------------------------------------------------


def summarize_tool_output(name: str, output: str) -> str:
    """The reply after a tool ran: what happened, naming the task's number and title."""
    if output.startswith("Error:"):
        return output.removeprefix("Error:").strip().capitalize()
    first, _, rest = output.partition("\n")
    if name == "list_tasks":
        if not rest:
            return first.replace("No  tasks", "No tasks")
        return (
            f"{first.replace('task(s)', 'tasks' if rest.count(chr(10)) else 'task')}\n\n"
            + "\n".join(f"- {_bold_task(line)}" for line in rest.splitlines())
        )
    verb, _, task = first.partition(" task ")
    return f"{verb} {_bold_task(task)}."


def _bold_task(line: str) -> str:
    match = re.match(r"(#\d+ .+?) \[(open|done)\](.*)$", line)
    if not match:
        return line
    status = " ✓" if match.group(2) == "done" else ""
    return f"**{match.group(1)}**{status}{match.group(3)}"
