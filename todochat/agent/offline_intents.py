"""What the offline model does with one message: the grammar's intent, its slots, a decision.

Pure functions over the conversation items the model receives (the session history plus the
new message), the instructions (which list the open tasks) and the tool schema (which tools,
with which parameters, this run offers). A data-changing tool is called only on a confident
parse; anything less is one short question back, or the help text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any

from todochat.agent import offline_frames as frames
from todochat.agent import offline_lexicon as lex
from todochat.agent import offline_recall as recall
from todochat.agent import offline_slots as slots
from todochat.agent.offline_grammar import compiled, phrase
from todochat.agent.offline_memory import known_tasks, last_listing, last_question, user_texts
from todochat.agent.offline_refs import CONFIRM_TASK, NUMBER, by_title, resolve, words
from todochat.agent.offline_replies import (
    CONFIRM_ADD,
    GOODBYE,
    HELLO,
    MORE_OF_WHAT,
    MOST_AT_ONCE,
    NO_BULK,
    NO_DATES,
    NO_MORE,
    NO_PRIORITY,
    NO_TOOL,
    NO_UNDO,
    NOTHING_CHANGED,
    OOPS,
    TOO_MANY,
    WELCOME,
    Decision,
    Reply,
    ToolCall,
    ask,
    confirm_add,
    confirm_task,
    help_reply,
    is_not_found,
    several,
)

Schema = Mapping[str, Collection[str]]
QUESTION = re.compile(
    r"^(?:what|which|who|why|how|when|where|is|are|do|does|did|can|could|should|would|will|am|was|were)\b",
    re.IGNORECASE,
)


@dataclass
class Context:
    """One message being decided: what the model can see, and what it may call."""

    text: str
    items: list[dict[str, Any]]
    tasks: dict[int, str]
    tools: Schema
    asked: bool = False  # the message ended with a question mark
    chosen: int | None = None  # the task named in answer to "which one do you mean?"
    list_name: str | None = None  # the named list the request went to ("shopping")
    destination: bool = False  # the request named a list ("to my shopping list")

    def has(self, tool: str, parameter: str | None = None) -> bool:
        return tool in self.tools and (parameter is None or parameter in self.tools[tool])

    def task(self, ref: str) -> int | Reply:
        return self.chosen if self.chosen is not None else resolve(ref, self.tasks, self.items)


def decide(
    message: str, items: list[dict[str, Any]], instructions: str | None, tools: Schema
) -> Decision:
    """Map one user message to tool calls or a reply."""
    tasks = known_tasks(items, instructions)
    ctx = Context(slots.clean(message), items, tasks, tools, message.rstrip().endswith("?"))
    lines = slots.lines_of(message)
    if len(lines) > 1:
        if any(line.endswith("?") or len(line.split()) > 15 for line in lines):
            return help_reply()  # prose or questions, not a list of tasks
        return _add_titles([t for line in lines for t in _line_titles(line)], ctx)
    return _social(message) or _follow_up(ctx) or _framed(ctx)


def _framed(ctx: Context) -> Decision:
    """The request read out of its frame: a question, one request, or several in order."""
    if frames.OUT_OF_SCOPE.match(ctx.text) or frames.OUT_OF_SCOPE.match(frames.opened(ctx.text)):
        return help_reply()
    if frames.SERVICE_NOW.match(frames.opened(ctx.text)):
        return confirm_add(frames.opened(ctx.text))
    if _bulk(ctx.text):
        return ask(NO_BULK)
    if ORDER.search(ctx.text):
        return ask("I keep tasks in the order they were added, so I changed nothing.")
    ctx = replace(ctx, text=re.sub(r"^\+\s*(?=\w)", "add ", ctx.text))  # "+ bread"
    made = _new_list(ctx)
    if made is not None:
        return made
    frame = frames.read(ctx.text)
    ctx = replace(ctx, text=frame.text, list_name=frame.list_name, destination=frame.destination)
    asked = frames.question(frame.text)
    if asked is not None:
        return _look_up(ctx, *asked)
    parts = frames.requests(frame.text)
    if len(parts) > 1:
        return _compound([replace(ctx, text=part) for part in parts])
    return _by_grammar(ctx) or _bare(ctx)


BULK = re.compile(
    r"\b(?:everything|all (?:of )?(?:my |the |these |those |our )?(?:tasks|items|things|todos|to-?dos|reminders|stuff|of it|of them)"
    r"|the (?:whole|entire) (?:thing|list)|all of it|them all|every (?:task|item|thing|reminder))\b",
    re.IGNORECASE,
)
CHANGE_WORD = re.compile(
    r"\b(?:add|put|remove|delete|take|cross|tick|check|mark|clear|empty|wipe|reset|erase|drop|scratch|"
    r"get rid|complete|finish|finished|did|done|trash|nuke|purge|ditch|scrap|cancel)\b",
    re.IGNORECASE,
)
WHOLE_LIST = re.compile(
    r"^(?:clear|empty|wipe|reset|delete|remove|erase|get rid of|trash|scrap|ditch|nuke|purge|cancel)(?: out)?"
    r" (?:the |my |our |this )?(?:[\w'-]+ ){0,2}list(?: clean| out)?$",
    re.IGNORECASE,
)


# "move eggs to the top of my list": an order we do not keep, never a list called "top of".
ORDER = re.compile(
    r"\b(?:to|at|on) the (?:top|bottom|front|end|start|head) of (?:the|my|our) (?:[\w'-]+ )?list\b",
    re.IGNORECASE,
)
LISTING = re.compile(
    r"^(?:show|list|display|view|see|give me|read|tell me|what|which|let me see)\b", re.I
)


def _bulk(text: str) -> bool:
    """A change to everything at once, or to a whole list: asked about, never done."""
    changes_all = BULK.search(text) and CHANGE_WORD.search(text) and not LISTING.match(text)
    return bool(changes_all) or bool(WHOLE_LIST.match(text))


def _look_up(ctx: Context, status: str, what: str | None) -> Decision:
    """A question about the list: a listing, narrowed to the words it asked about."""
    what = re.sub(PLACEHOLDER_WORDS, "", what or "", flags=re.IGNORECASE)
    terms = " ".join(words(what))
    on_list = _on_list(ctx)
    if terms and ctx.has("list_tasks", "search"):
        return _call(ctx, "list_tasks", status=status, search=terms, **on_list)
    arguments: dict[str, Any] = {"status": slots.list_status(ctx.text) if not what else status}
    due = slots.list_due(ctx.text)
    if due and ctx.has("list_tasks", "due"):
        arguments = {"status": "open", "due": due}
    return _call(ctx, "list_tasks", **arguments, **on_list)


PLACEHOLDER_WORDS = r"\b(?:anything|something|everything|stuff)\b"


def _on_list(ctx: Context) -> dict[str, str]:
    """The named list a listing keeps to, when the request named one and the tool takes it."""
    return (
        {"list_name": ctx.list_name} if ctx.list_name and ctx.has("list_tasks", "list_name") else {}
    )


def _new_list(ctx: Context) -> Decision | None:
    """ "create a list for the party": a list begins with its first task, so say how."""
    match = frames.NEW_LIST.match(ctx.text)
    if not match or (match.group("bare") and re.match(r"add\b", ctx.text, re.IGNORECASE)):
        return None
    name = match.group("after") or match.group("bare") or match.group("before") or "party"
    if not ctx.has("add_task", "list_name"):
        return Reply(f"I keep one list here, so I changed nothing. Add the tasks for {name} to it.")
    return Reply(
        f"A list begins with its first task: say e.g. *add balloons to the {name} list*, "
        f"and *what's on the {name} list?* to see it."
    )


def _compound(parts: list[Context]) -> Decision:
    """Several requests: each decided on its own, all carried out in order, or none."""
    decided = [_by_grammar(part) or _bare(part) for part in parts]
    calls = [call for d in decided if not isinstance(d, Reply) for call in d]
    if any(isinstance(d, Reply) for d in decided) or any(c.name == "list_tasks" for c in calls):
        said = "; ".join(f"*{part.text}*" for part in parts)
        return ask(
            f"I read {len(parts)} requests ({said}) and changed nothing. Send them one at a time?"
        )
    if len(calls) > MOST_AT_ONCE:
        return ask(TOO_MANY)
    return tuple(calls)


def _social(message: str) -> Decision | None:
    """Greetings, thanks and goodbyes, read before politeness is stripped ("thanks!")."""
    text = slots.clean(message, polite=False)
    for name, reply in (("greeting", HELLO), ("thanks", WELCOME), ("goodbye", GOODBYE)):
        if phrase(name).fullmatch(text):
            return Reply(reply)
    return None


def _by_grammar(ctx: Context) -> Decision | None:
    text = _fix_first_word(ctx.text)
    for intent, pattern in compiled():
        match = pattern.fullmatch(text)
        if match:
            decision = HANDLERS[intent](match, ctx)
            if decision is not None:
                return decision
    return None


def _fix_first_word(text: str) -> str:
    """A misspelt command verb ("delte task 2") read as the verb it is closest to."""
    first, _, rest = text.partition(" ")
    if len(first) < 5 or first.lower() in VOCABULARY:
        return text
    from rapidfuzz import fuzz, process

    best = process.extractOne(first.lower(), COMMAND_VERBS, scorer=fuzz.ratio, score_cutoff=80)
    return f"{best[0]} {rest}".strip() if best else text


def _words(*lists: list[str]) -> set[str]:
    return {w for entries in lists for w in entries if re.fullmatch(r"[a-z-]+", w)}


COMMAND_VERBS = sorted(
    _words(lex.COMPLETE, lex.DELETE, lex.RENAME, lex.RESCHEDULE, lex.ADD)
    | {"reopen", "mark", "show", "list", "remind", "remember", "uncheck", "untick", "unmark"}
)
VOCABULARY = set(COMMAND_VERBS) | set(slots.VERBS) | {"what", "which", "thanks", "please"}


# --- answers to our own questions ------------------------------------------------------------


def _follow_up(ctx: Context) -> Decision | None:
    """A "yes" to "Should I add X?", or a number in answer to "Which one do you mean?"."""
    question = last_question(ctx.items)
    confirming = CONFIRM_TASK.match(question)
    if phrase("yes").fullmatch(ctx.text) and confirming:
        return _again(ctx, int(confirming.group(1)))
    if phrase("yes").fullmatch(ctx.text):
        pending = CONFIRM_ADD.match(question)
        return _add_titles([pending.group(1).strip("*")], ctx) if pending else help_reply()
    if phrase("no").fullmatch(ctx.text):
        return Reply(NOTHING_CHANGED)
    if not question.startswith(
        ("Which one do you mean", "Which task do you mean", "I couldn't find", "Do you mean #")
    ):
        return None
    chosen = _answer(ctx.text, question, ctx)
    return _again(ctx, chosen) if isinstance(chosen, int) else None


def _again(ctx: Context, chosen: int) -> Decision | None:
    """The request we asked about, carried out on the task the answer chose."""
    earlier = user_texts(ctx.items)[:-1]
    if not earlier:
        return None
    again = Context(slots.clean(earlier[-1]), ctx.items, ctx.tasks, ctx.tools, chosen=chosen)
    frame = frames.read(again.text)
    return _by_grammar(replace(again, text=frame.text, list_name=frame.list_name))


def _answer(text: str, question: str, ctx: Context) -> int | Reply | None:
    """The task an answer names: a number, or title words of one of the tasks we offered."""
    if NUMBER.fullmatch(text):
        return resolve(text, ctx.tasks, ctx.items)
    offered = {int(n): t for n, t in re.findall(r"#(\d+) (.+?)(?= or |, |\?)", question)}
    return by_title(text, offered, loose_ok=True) if offered else None


# --- the intents -----------------------------------------------------------------------------


def _call(ctx: Context, name: str, **arguments: Any) -> Decision:
    return (ToolCall(name, arguments),) if ctx.has(name) else Reply(NO_TOOL)


def _on_task(
    name: str, new_task_if_unknown: bool = False, **extra: Any
) -> Callable[[re.Match[str], Context], Decision | None]:
    """A handler that calls `name` on the task the match names."""

    def handle(match: re.Match[str], ctx: Context) -> Decision | None:
        ref = match.groupdict().get("task") or "it"
        number = ctx.task(ref)
        if isinstance(number, int) and _restated(ctx, number):
            return ask(
                f"#{number} {ctx.tasks[number]} is on your list already. Should I change it?"
            )
        if isinstance(number, int) and name == "complete_task" and _other_job(ctx, number):
            return confirm_task(number, ctx.tasks[number])
        each = _each(ref, ctx) if isinstance(number, Reply) and name in ONE_BY_ONE else None
        if each:
            return tuple(ToolCall(name, {"task_number": n, **extra}) for n in each)
        if isinstance(number, Reply):
            # "finish the report", "cancel the gym": no such task, so a new one is meant.
            unknown = is_not_found(number) and new_task_if_unknown and _verb_first(ctx.text)
            return None if unknown and not PLACE.fullmatch(ref) else number
        return _call(ctx, name, task_number=number, **extra)

    return handle


ONE_BY_ONE = ("delete_task", "complete_task")


def _each(ref: str, ctx: Context) -> list[int] | None:
    """ "milk and eggs": several tasks, each named exactly (a loose or unknown one asks)."""
    parts = re.split(r"\s*,\s*(?:and\s+)?|\s+(?:and|&)\s+", ref, flags=re.IGNORECASE)
    if len(parts) < 2 or len(parts) > MOST_AT_ONCE or ctx.chosen is not None:
        return None
    numbers = [resolve(part, ctx.tasks, ctx.items) for part in parts]
    exact = all(isinstance(n, int) for n in numbers) and len(set(numbers)) == len(numbers)
    return [n for n in numbers if isinstance(n, int)] if exact else None


# A task named by its place on the list ("the first item", "the bottom one"): a reference
# that found nothing, never the title of a new task.
PLACE = re.compile(
    r"(?:the )?(?:first|second|third|last|next|top|bottom|previous|latest|newest|oldest|final)"
    r"(?: (?:one|item|thing|task|entry|reminder|todo|to-do))?(?: (?:on|in|from) the list)?",
    re.IGNORECASE,
)
PAST = {past: verb for verb, pasts in lex.DONE_VERBS.items() for past in pasts}


def _other_job(ctx: Context, number: int) -> bool:
    """ "I emailed mom" of "call mom": what was done is not the task's verb, so ask."""
    said = next((PAST[w] for w in ctx.text.lower().split() if w in PAST), None)
    title = ctx.tasks.get(number, "").lower().split()
    if ctx.chosen is not None or said is None or not title or title[0] not in slots.VERBS:
        return False
    return title[0] != said and title[0] not in lex.SAME_JOB.get(said, set())


def _restated(ctx: Context, number: int) -> bool:
    """ "take out the trash" when that is a task's title: its words, not a request about it."""
    title = ctx.tasks.get(number)
    return ctx.chosen is None and title is not None and words(ctx.text) == words(title)


def _verb_first(text: str) -> bool:
    return text.split()[0].lower() in slots.VERBS


def _list(match: re.Match[str], ctx: Context) -> Decision | None:
    text = ctx.text
    if match.groupdict().get("rest") is not None and not _about_the_list(match.group("rest")):
        return None
    arguments: dict[str, Any] = {"status": slots.list_status(text)}
    due = slots.list_due(text)
    if due and ctx.has("list_tasks", "due"):
        arguments = {"status": "open", "due": due}
    return _call(ctx, "list_tasks", **arguments, **_on_list(ctx))


def _more(match: re.Match[str], ctx: Context) -> Decision:
    """The page after the one the conversation's last listing showed, with its filters."""
    listing = last_listing(ctx.items)
    if listing is None or not ctx.has("list_tasks", "page"):
        return ask(MORE_OF_WHAT)
    arguments, following = listing
    if following is None:
        return Reply(NO_MORE)
    return _call(ctx, "list_tasks", **{**arguments, "page": following})


def _about_the_list(rest: str) -> bool:
    return not re.search(r"\d|\boff\b", rest) and bool(
        re.search(
            r"\b(?:tasks?|todos?|to-?dos?|list|everything|all|done|completed|finished|open|pending|"
            r"overdue|due|left|items|things|stuff|agenda|what(?:'s|s)?)\b",
            rest,
            re.IGNORECASE,
        )
    )


def _undo(match: re.Match[str], ctx: Context) -> Decision:
    if not ctx.has("undo_last_change"):
        return Reply(NO_UNDO)
    return (ToolCall("undo_last_change", {}),)


def _undo_task(match: re.Match[str], ctx: Context) -> Decision:
    number = ctx.task(match.group("task"))
    if isinstance(number, Reply):
        return number
    return ask(f"Do you mean *undo* (the last change) or *reopen #{number}*?")


def _reschedule(match: re.Match[str], ctx: Context, date: str | None = None) -> Decision | None:
    if re.search(r"\bto\b", match.groupdict().get("task") or ""):
        return None  # "change call mom to call mom tonight": a new title, not a date
    if not ctx.has("update_task", "due"):
        return Reply(NO_DATES)
    due = slots.due_phrase(date or match.group("date"))
    return _on_task("update_task", due=due)(match, ctx)


def _clear_due(match: re.Match[str], ctx: Context) -> Decision | None:
    if not ctx.has("update_task", "clear_due"):
        return Reply(NO_DATES)
    return _on_task("update_task", clear_due=True)(match, ctx)


def _rename(match: re.Match[str], ctx: Context) -> Decision | None:
    title = slots.strip_title(match.group("title"))
    if re.match(r"(?:done|finished|completed) ", title) and slots.is_date(title.split(" ", 1)[1]):
        title = title.split(" ", 1)[1]
    if slots.is_date(title):
        return _reschedule(match, ctx, title)
    if not title:
        return None
    return _on_task("update_task", title=title)(match, ctx)


def _move_list(match: re.Match[str], ctx: Context) -> Decision | None:
    """A task moved to a named list, when the tools keep lists; otherwise said, not guessed."""
    if not ctx.has("update_task", "list_name"):
        return ask("I keep one list here, so I changed nothing.")
    return _on_task("update_task", list_name=ctx.list_name or "none")(match, ctx) or ask(WHICH)


WHICH = "Which task should I move? Say its number, like *task 2*."


def _priority(level: str | None = None) -> Callable[[re.Match[str], Context], Decision | None]:
    """Set a task's priority: the level the phrase said, or the one the rule stands for."""

    def handle(match: re.Match[str], ctx: Context) -> Decision | None:
        said = level or _level(match.group("priority"))
        if not ctx.has("update_task", "priority"):
            return Reply(NO_PRIORITY)
        return _on_task("update_task", priority=said)(match, ctx)

    return handle


def _level(words: str) -> str:
    for level, phrases in (("normal", lex.PRIORITY_NONE), ("low", lex.PRIORITY_LOW)):
        if phrase_of(phrases).fullmatch(words):
            return level
    return "high"


def phrase_of(phrases: list[str]) -> re.Pattern[str]:
    return re.compile("(?:" + "|".join(phrases) + ")", re.IGNORECASE)


def _notes(key: str) -> Callable[[re.Match[str], Context], Decision | None]:
    def handle(match: re.Match[str], ctx: Context) -> Decision | None:
        note = slots.strip_title(match.groupdict().get("note") or "")
        target = match.groupdict().get("task") or "it"
        if key == "append_notes" and (
            not note or slots.is_list_words(target) or slots.is_date(target)
        ):
            return None
        due = re.fullmatch(r"(?:a )?(?:due(?: date)?|deadline):? (.+)", note, re.IGNORECASE)
        if due and slots.is_date(due.group(1)) and ctx.has("update_task", "due"):
            return _reschedule(match, ctx, due.group(1))
        return _on_task("update_task", **{key: note})(match, ctx)

    return handle


def _add(match: re.Match[str], ctx: Context, many: bool = False) -> Decision | None:
    heading = frames.named(match.groupdict().get("listname"))  # "shopping list: add cheese"
    if heading and ctx.list_name is None:
        ctx = replace(ctx, list_name=heading, destination=True)
    count = match.groupdict().get("count")
    found = slots.titles(match.group("titles"), many=many)
    if _run_together(match.group("titles")):
        return ask(RUN_TOGETHER)
    if ctx.destination and len(found) == 1:
        found = _items(match.group("titles")) or found
    found = [_put_back(t, ctx.text) for t in found]
    expected = lex.NUMBER_WORDS.get((count or "").lower()) or (
        int(count) if count and count.isdigit() else None
    )
    if expected and expected != len(found):
        return several(found, expected)
    tail = match.groupdict().get("tail")
    if tail and len(found) == 1:
        found = [f"{found[0]} {tail}"]
    date = match.groupdict().get("date") if not tail else None
    if date and len(found) == 1 and ctx.has("add_task", "due"):
        return (ToolCall("add_task", {"title": found[0], "due": slots.due_phrase(date)}),)
    if date:
        found = [f"{t} {date}" for t in found]
    decided = _add_titles(found, ctx)
    if match.groupdict().get("urgent") and isinstance(decided, tuple):
        if not ctx.has("add_task", "priority"):
            return Reply(NO_PRIORITY)
        return tuple(ToolCall(c.name, {**c.arguments, "priority": "high"}) for c in decided)
    return decided


RUN_TOGETHER = (
    "Is that one item or several? Say them with commas, e.g. *add apples, pears and plums*."
)


def _run_together(text: str) -> bool:
    """ "apples oranges and grapes": plurals side by side, items dictated without commas."""
    if re.search(r"[,;]", text):
        return False
    return any(
        len(part.split()) > 1 and all(re.search(r"[^sui]s$", w) for w in part.split())
        for part in re.split(r"\s+(?:and|&|\+)\s+", text, flags=re.IGNORECASE)
    )


def _put_back(title: str, text: str) -> str:
    """ "put the bins out on my list": the verb belongs to the task, whose particle shows it."""
    verb = re.match(r"(?:put|take|bring|pop) ", text, re.IGNORECASE)
    if verb and re.search(r"\b(?:out|away|back|up|down|in)$", title, re.IGNORECASE):
        return f"{verb.group(0)}{title}"
    return title


def _items(text: str) -> list[str] | None:
    """ "eggs and flour" said to a list: its items, when each is a short name of a thing."""
    items = slots.titles(text, many=True)
    return items if len(items) > 1 and all(len(i.split()) <= 3 for i in items) else None


def _add_titles(found: list[str], ctx: Context) -> Decision:
    found = [t for t in (slots.strip_title(t) for t in found) if t]
    if not found:
        return ask("What should I add? Say e.g. *add buy milk*.")
    if any(
        phrase("pronoun").fullmatch(t)
        or slots.is_list_words(t)
        or _not_a_title(t)
        or slots.is_request(t)
        or slots.is_date(t)
        for t in found
    ):
        return ask("What should I add? Say the task, e.g. *add buy milk*.")
    if not ctx.has("add_task"):
        return Reply(NO_TOOL)
    if len(found) > MOST_AT_ONCE:
        return ask(TOO_MANY)
    return tuple(ToolCall("add_task", _add_arguments(t, ctx)) for t in found)


def _not_a_title(title: str) -> bool:
    """ "to task 1: oat milk" is a slot left over from a phrasing we did not follow."""
    return re.match(r"(?:to|on|onto|into|for|at|note|notes)\b", title, re.IGNORECASE) is not None


def _add_arguments(title: str, ctx: Context) -> dict[str, Any]:
    on_list = (
        {"list_name": ctx.list_name} if ctx.list_name and ctx.has("add_task", "list_name") else {}
    )
    if not ctx.has("add_task", "due"):
        return {"title": title, **on_list}
    title, due = slots.take_date(title)
    return {"title": title, "due": due, **on_list} if due else {"title": title, **on_list}


def _line_titles(line: str) -> list[str]:
    """One line of a list: its request words dropped ("- add eggs", "remind me to call mom")."""
    text = slots.clean(line)
    for intent, pattern in compiled():
        match = pattern.fullmatch(text)
        if intent in ("add", "add_many") and match:
            return slots.titles(match.group("titles"))
    return [text]


def _bare(ctx: Context) -> Decision:
    """A message no rule claimed: a request to do something is a task; anything else, help."""
    text = ctx.text
    if not text or QUESTION.match(text) or ctx.asked:
        return help_reply()
    title, _due = slots.take_date(text)
    to_me = re.match(r"\S+ (?:me|us)\b", title, re.IGNORECASE)  # "tell me a joke" asks us
    about_tasks = re.search(r"\btasks?\b|#\d", text, re.IGNORECASE)
    if to_me:
        return help_reply()
    if _verb_first(title) and not about_tasks and 2 <= len(text.split()) <= 15:
        known = next((n for n, t in ctx.tasks.items() if t.lower() == text.lower()), None)
        if known is not None:  # "call mom" when that is a task: a word about it, or a call?
            return ask(f"#{known} {ctx.tasks[known]} is on your list already. Add it again?")
        return _add_titles(slots.titles(text), ctx)
    if re.search(r"\b(?:is|are|am|was|were|i'm|it's)\b", text, re.IGNORECASE):
        return help_reply()  # a remark, not a task
    if len(text.split()) <= 6 and re.search(r"[a-z]", text, re.IGNORECASE):
        return confirm_add(text)
    return help_reply()


def _reply(text: str) -> Callable[[re.Match[str], Context], Decision]:
    return lambda match, ctx: Reply(text)


HANDLERS: dict[str, Callable[[re.Match[str], Context], Decision | None]] = {
    "help": lambda match, ctx: help_reply(),
    "greeting": _reply(HELLO),
    "thanks": _reply(WELCOME),
    "goodbye": _reply(GOODBYE),
    "recall_first": lambda match, ctx: recall.first_message(ctx.items),
    "recall_last": lambda match, ctx: recall.previous_message(ctx.items),
    "recall_added": lambda match, ctx: recall.last_added(ctx.items),
    "recall_done": lambda match, ctx: recall.changes(ctx.items),
    "list": _list,
    "more": _more,
    "undo": _undo,
    "undo_task": _undo_task,
    "oops": lambda match, ctx: ask(OOPS),
    "bulk": lambda match, ctx: ask(NO_BULK),
    "clear_due": _clear_due,
    "move_list": lambda match, ctx: _move_list(match, ctx),
    "priority": _priority(),
    "priority_high": _priority("high"),
    "priority_low": _priority("low"),
    "priority_none": _priority("normal"),
    "reschedule": _reschedule,
    "set_notes": _notes("notes"),
    "clear_notes": lambda match, ctx: _on_task("update_task", notes="")(match, ctx),
    "append_notes": _notes("append_notes"),
    "reopen": _on_task("reopen_task", new_task_if_unknown=True),
    "complete": _on_task("complete_task", new_task_if_unknown=True),
    "rename": _rename,
    "delete": _on_task("delete_task", new_task_if_unknown=True),
    "add_many": lambda match, ctx: _add(match, ctx, many=True),
    "add": _add,
}
