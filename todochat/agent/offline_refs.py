"""Which task a phrase means: a number, a pronoun from the conversation, or title words.

Title words match fuzzily (rapidfuzz, per word), so word order, plurals, British spellings and
small typos still find the task; two equally good candidates, or none, are a question back.
"""

from __future__ import annotations

import re
from typing import Any

from todochat.agent import offline_lexicon as lex
from todochat.agent.offline_memory import last_task_spoken_of
from todochat.agent.offline_replies import (
    CONFIRM_TASK,
    WHICH_TASK,
    Reply,
    ask,
    confirm_task,
    not_found,
    which_of,
)

__all__ = ["CONFIRM_TASK", "NUMBER", "by_title", "resolve", "search_terms", "words"]

_NUMBER_WORDS = "|".join(sorted(lex.NUMBER_WORDS, key=len, reverse=True))
NUMBER = re.compile(
    r"(?:the |my )?(?:(?:task|todo|to-do|item|number|no\.?|num)\s*(?:number |no\.? |#)?|#)\s*"
    rf"(?P<n>\d+|{_NUMBER_WORDS})\b.*|(?P<bare>\d+)",
    re.IGNORECASE,
)
PRONOUN = re.compile("(?:" + "|".join(lex.PRONOUN) + ")", re.IGNORECASE)
STOP = set(lex.STOP_WORDS)


def resolve(ref: str, tasks: dict[int, str], items: list[dict[str, Any]]) -> int | Reply:
    """The task number `ref` means, or the question to ask instead."""
    ref = re.sub(r"^[\s\"'“‘]+|[\s\"'”’.,!?]+$", "", ref)
    ref = re.sub(r"^(?:with|about|on|for|of|from|to)\s+", "", ref, flags=re.IGNORECASE)
    number = NUMBER.fullmatch(ref)
    if number:
        value = number.group("n") or number.group("bare")
        return int(value) if value.isdigit() else lex.NUMBER_WORDS[value.lower()]
    if PRONOUN.fullmatch(ref):
        spoken = last_task_spoken_of(items)
        return spoken if spoken is not None else ask(WHICH_TASK)
    return by_title(ref, tasks)


def words(text: str) -> list[str]:
    """Content words in one spelling and the singular, for matching titles."""
    found = []
    for word in re.findall(r"[a-z0-9']+", text.lower().replace("'s ", " ")):
        word = lex.SPELLING.get(word, word)
        if word in STOP:
            continue
        found.append(_singular(word))
    return found


def search_terms(ref: str) -> str:
    """Words for `list_tasks`' search that find the titles `by_title` would match `ref` to:
    each content word's first four letters and, for a longer word, its last four (so a
    plural, or a typo in one of the two, still matches), and its other spellings ("mom":
    "mum", "mam"). The search ranks titles by how many of them they contain."""
    terms = []
    for word in words(ref):
        terms += [word[:4], word[-4:]] if len(word) > 5 else [word[:4]]
        terms += [spelt for spelt, same in lex.SPELLING.items() if same == word]
    return " ".join(dict.fromkeys(terms))


def _singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _hit(word: str, title_words: list[str]) -> bool:
    from rapidfuzz import fuzz, process

    if word in title_words:
        return True
    if len(word) < 4:
        return False
    cutoff = 75 if len(word) < 6 else 80
    return process.extractOne(word, title_words, scorer=fuzz.ratio, score_cutoff=cutoff) is not None


def by_title(ref: str, tasks: dict[int, str], loose_ok: bool = False) -> int | Reply:
    """The task whose title `ref`'s words name. A match on every word as written is the
    task; one through a typo or with a word missing is asked about first (`loose_ok` when
    the words answer our own question)."""
    query = words(ref)
    if not query:
        return ask(WHICH_TASK)
    scored = []
    for number, title in tasks.items():
        title_words = words(title) or [title.lower()]
        hits = sum(_hit(word, title_words) for word in query)
        if hits >= len(query) - (len(query) >= 4):
            exact = sum(word in title_words for word in query)
            # a word as written outranks one through a typo ("cake" is not "take")
            score = (hits / len(query), exact, hits / len(title_words))
            scored.append((score, exact == len(query), number))
    if not scored:
        return not_found(ref)
    scored.sort(reverse=True)
    best = [(exact, n) for score, exact, n in scored if score == scored[0][0]]
    if len(best) > 1:
        return which_of([(n, tasks[n]) for _exact, n in best[:3]])
    exact, number = best[0]
    return number if exact or loose_ok else confirm_task(number, tasks[number])
