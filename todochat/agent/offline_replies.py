"""What the offline model decides (tool calls or a reply) and every sentence it says itself."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

# Tools that change the user's data: called only on a confident parse.
CHANGES = frozenset(
    {"add_task", "update_task", "complete_task", "reopen_task", "delete_task", "undo_last_change"}
)

HELP = (
    "I manage your todo list. Try:\n"
    "- *buy milk*, *remind me to pay rent friday*, *add eggs, bread and milk to my list*\n"
    "- *what's left?*, *show everything*, *what have I finished?*\n"
    "- *add gate code 1234 to that task*, *rename task 1 to buy food*\n"
    "- *mark 2 as done*, *I paid the rent*, *reopen task 2*\n"
    "- *delete it*, *scratch the passport one*, *undo that*\n"
    "- *what did I say first?*, *what have we done so far?*"
)
HELLO = "Hello! " + HELP
WELCOME = "You're welcome!"
GOODBYE = "To leave, type */exit* or press Ctrl-D."
NOTHING_CHANGED = "OK, I left everything as it was."
NO_UNDO = "I can't undo changes yet, so I changed nothing. Tell me what to fix, e.g. *reopen #2*."
OOPS = "Should I undo the last change? Say *undo*, or tell me what to fix."
NO_DATES = "I can't set due dates yet, so I changed nothing."
NO_PRIORITY = "I can't set priorities here, so I changed nothing."
NO_BULK = (
    "I change one task at a time, so I changed nothing. Which task? "
    "Say e.g. *delete #2* or *mark 3 as done*."
)
# A chat turn allows the model ten steps, and each task added is one.
MOST_AT_ONCE = 8
TOO_MANY = f"That's more than {MOST_AT_ONCE} tasks; I add up to {MOST_AT_ONCE} at a time, so I changed nothing. Send them in smaller groups?"
WHICH_TASK = "Which task do you mean? Say its number, like *task 2*."
NO_TOOL = "I can't do that here, so I changed nothing."

Kind = Literal["answer", "ask", "help"]


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    """A reply without a tool: an answer, a question back ("ask"), or the help text."""

    text: str
    kind: Kind = "answer"


Decision = tuple[ToolCall, ...] | Reply


def ask(text: str) -> Reply:
    return Reply(text, "ask")


def help_reply() -> Reply:
    return Reply(HELP, "help")


NOT_FOUND = "I couldn't find a task matching"


def not_found(ref: str) -> Reply:
    return ask(f"{NOT_FOUND} *{ref}*. Say its number, like *task 2*.")


def is_not_found(reply: Reply) -> bool:
    return reply.text.startswith(NOT_FOUND)


def not_found_ref(reply: Reply) -> str:
    """The words `not_found` could not match to a task ("" for any other reply)."""
    found = re.match(rf"{NOT_FOUND} \*(.+)\*\. Say its number", reply.text, re.DOTALL)
    return found.group(1) if found else ""


MORE_OF_WHAT = "More of which list? Say *what's left?* to see your tasks."
NO_MORE = "That was the whole list: there are no more."


def confirm_task(number: int, title: str) -> Reply:
    """A title matched only loosely (a typo, some of its words): asked, never acted on."""
    return ask(f"Do you mean #{number} {title}? Say *yes*, or the task's number.")


CONFIRM_TASK = re.compile(r"^Do you mean #(\d+) ")


def which_of(candidates: list[tuple[int, str]]) -> Reply:
    named = " or ".join(f"#{n} {title}" for n, title in candidates)
    return ask(f"Which one do you mean: {named}? Say its number.")


def confirm_add(title: str) -> Reply:
    return ask(f"Should I add *{title}* as a task? Say *yes* or *add {title}*.")


CONFIRM_ADD = re.compile(r"^Should I add (.+) as a task\?")


def several(titles: list[str], count: int) -> Reply:
    listed = "; ".join(titles)
    return ask(f"You said {count} tasks but I read {len(titles)}: {listed}. Put one per line?")


# --- turning tool results into a reply --------------------------------------------------------


def summarize_tool_output(name: str, output: str) -> str:
    """The reply after a tool ran: what happened, naming the task's number and title."""
    if output.startswith("Error:"):
        said = output.removeprefix("Error:").strip()
        return said[:1].upper() + said[1:]  # the rest as the tool wrote it (titles keep case)
    first, _, rest = output.partition("\n")
    if name == "list_tasks":
        if not rest:
            return first.replace("No  tasks", "No tasks")
        lines, more = rest.splitlines(), ""
        following = NEXT_PAGE.match(lines[-1])
        if following:
            lines.pop()
            page, pages, count = following.groups()
            more = f"\n\nPage {page} of {pages}: say *show more* for the next {count}."
        one = first.startswith("1 ")
        return (
            f"{first.replace('task(s)', 'task' if one else 'tasks')}\n\n"
            + "\n".join(f"- {_bold_task(line)}" for line in lines)
            + more
        )
    verb, sep, task = first.partition(" task ")
    return f"{verb} {_bold_task(task)}." if sep else first


# The last line of a page of `list_tasks` when more pages follow (todo_agent.page_text).
NEXT_PAGE = re.compile(r"Page (\d+) of (\d+): call list_tasks with page=\d+ for the next (\d+)")


def _bold_task(line: str) -> str:
    match = re.match(r"(#\d+ .+?) \[(open|done)\](.*)$", line)
    if not match:
        return line
    status = " ✓" if match.group(2) == "done" else ""
    return f"**{match.group(1)}**{status}{match.group(3)}"
