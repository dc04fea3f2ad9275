"""Named lists: how a list's name is written and matched, so "grocery list", "groceries" and
"my Groceries" are one list, and "to-do list" or "reminders" are the default list (None)."""

from __future__ import annotations

import re

# Names people give the one list everybody has: not a list of its own.
DEFAULT = {
    "todo",
    "to do",
    "to-do",
    "todos",
    "to-dos",
    "task",
    "tasks",
    "reminder",
    "reminders",
    "things to do",
    "list",
    "my",
    "main",
    "default",
    "none",
    "chores",
    "chore",
}
LONGEST = 100  # characters of a list's name (tasks.list_name)


def normalize(name: str | None) -> str | None:
    """The name as stored: lower case, without "my"/"the" and a trailing "list"; None for
    the default list."""
    text = re.sub(r"[^\w' -]+", " ", (name or "").lower())
    text = re.sub(r"^(?:(?:my|the|our|your|a)\s+)+|\s+list$", "", " ".join(text.split()))
    text = text.strip()
    return None if not text or text in DEFAULT else text[:LONGEST]


def key(name: str) -> str:
    """What two names must share to be one list: each word in the singular."""
    return " ".join(_singular(w) for w in name.split())


def choose(name: str | None, existing: list[str]) -> str | None:
    """The list `name` means: an existing list it matches loosely (singular and plural, a
    small typo), else the name itself (a new list begins with its first task)."""
    wanted = normalize(name)
    if wanted is None:
        return None
    from rapidfuzz import fuzz, process

    keys = {key(e): e for e in existing if e}
    best = process.extractOne(key(wanted), list(keys), scorer=fuzz.ratio, score_cutoff=85)
    return keys[best[0]] if best else wanted


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word
