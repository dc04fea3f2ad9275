"""The log as turns: each reply with the question it answers, in the order turns ran.

Two terminals or machines on one conversation log their questions before they wait for the
turn lock, so the log can read user 1, user 2, assistant 1, assistant 2. A reply names its
question (`reply_to`), and replies are logged in lock order, so pairing by `reply_to` and
ordering by reply gives what each model saw. A reply logged by an earlier version (no
`reply_to`) answers the user message before it. Pure functions: history, export and the
rebuild of agent memory share them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar


class LoggedMessage(Protocol):
    id: int
    role: str
    content: str
    reply_to: int | None


M = TypeVar("M", bound=LoggedMessage)


@dataclass
class Turn(Generic[M]):
    """A question and its replies (normally one); `question` is None when it is not in the
    messages given (before a reset, say)."""

    question: M | None
    replies: list[M] = field(default_factory=list)

    @property
    def position(self) -> int:
        """Where the turn ran: at its first reply, or, unanswered, where it was asked."""
        return self.replies[0].id if self.replies else self.question.id


def turns(messages: Sequence[M]) -> list[Turn[M]]:
    """The messages (in log order) as turns, in the order the turns ran."""
    asked: dict[int, Turn[M]] = {}
    found: list[Turn[M]] = []
    last_question: int | None = None
    for message in messages:
        if message.role == "user":
            asked[message.id] = Turn(message)
            found.append(asked[message.id])
            last_question = message.id
            continue
        question = message.reply_to if message.reply_to is not None else last_question
        turn = asked.get(question) if question is not None else None
        if turn is None:
            found.append(Turn(None, [message]))
        else:
            turn.replies.append(message)
    return sorted(found, key=lambda turn: turn.position)


def in_turn_order(messages: Sequence[M]) -> list[M]:
    """The messages regrouped so each reply follows its question (for history and export)."""
    ordered: list[M] = []
    for turn in turns(messages):
        if turn.question is not None:
            ordered.append(turn.question)
        ordered.extend(turn.replies)
    return ordered
