"""Slots: the message cleaned of politeness, titles split and stripped, dates taken out."""

from __future__ import annotations

import re

from todochat.agent import offline_lexicon as lex
from todochat.agent.offline_grammar import DATE, DATE_JOIN, alternation, expand, phrase

PREFIX = re.compile(rf"^{alternation(lex.POLITE_PREFIX)}(?:[,!\s]+|$)", re.IGNORECASE)
SUFFIX = re.compile(rf"(?:^|[,\s]+){alternation(lex.POLITE_SUFFIX)}$", re.IGNORECASE)
EDGE = " \t.!?,;:~…"
# Sounds of thinking in dictated speech: "um add uh coffee".
FILLER = re.compile(r"(?:^|\s)(?:u+[hm]+|e+rm+|hmm+|uhm+)(?:,|\s|$)", re.IGNORECASE)
QUOTES = "\"'“”‘’`"
BULLET = re.compile(r"^\s*(?:[-*•·+>]|\d+[.)]|\[ ?\]|☐)\s*")
DATE_AT_END = re.compile(
    rf"^(?P<title>.+?),?\s+(?:{DATE_JOIN}\s+)?(?P<date>{DATE})$", re.IGNORECASE
)
DATE_AT_START = re.compile(
    rf"^(?:{DATE_JOIN}\s+)?(?P<date>{DATE}),?\s+(?P<title>.+)$", re.IGNORECASE
)
VERBS = {w.lower() for w in lex.IMPERATIVE}


def clean(message: str, polite: bool = True) -> str:
    """One line, curly quotes straightened, end punctuation and (if `polite`) politeness stripped."""
    text = " ".join(message.replace("’", "'").replace("‘", "'").split()).strip(EDGE)
    text = FILLER.sub(" ", f" {text} ").strip(EDGE) if polite else text
    previous = None if polite else text
    while text != previous:
        previous = text
        text = SUFFIX.sub("", PREFIX.sub("", text)).strip(EDGE)
    return text


def lines_of(message: str) -> list[str]:
    """The items of a message of several lines: bullets stripped, a heading line dropped."""
    lines = [BULLET.sub("", line).strip() for line in message.splitlines()]
    lines = [line for line in lines if line.strip(EDGE)]
    if len(lines) > 1 and (
        lines[0].endswith(":")
        or re.fullmatch(expand("{add_many}"), clean(lines[0]), re.IGNORECASE)
        or _heading(clean(lines[0]))
    ):
        lines = lines[1:]
    return lines


def _heading(line: str) -> bool:
    """ "todo", "shopping list", "groceries": the name of the list below, not an item."""
    return bool(
        PLACEHOLDER.match(line)
        or re.fullmatch(r"(?:my |the )?(?:[\w'-]+ )?list|shopping|groceries|chores", line, re.I)
    )


def titles(text: str, many: bool = False) -> list[str]:
    """Task titles in `text`: one, or several when listed ("eggs, bread and milk") or asked for."""
    text = text.strip(EDGE)
    if _quoted(text):
        return [strip_title(text)]
    parts = re.split(r"\s*[,;]\s*(?:and\s+|or\s+|&\s+)?|\s+(?:and then|and|then|&|\+)\s+", text)
    parts = [p for p in (strip_title(p) for p in parts) if p]
    if len(parts) > 1 and (
        many or "," in text or ";" in text or all(_verb_first(p) for p in parts)
    ):
        return parts
    return [strip_title(text)]


def strip_title(text: str) -> str:
    text = text.strip(EDGE).strip(QUOTES).strip(EDGE).lstrip("-– ")
    text = re.sub(r"\s+(?:to|on|onto|in|into) the list$", "", text, flags=re.IGNORECASE)
    text = re.sub(r"^(?:item|entry|task|todo|to-do)s?:\s*", "", text, flags=re.IGNORECASE)
    return re.sub(r"^(?:(?:a|an|some|more|to|about)\s+)+(?=\w)", "", text, flags=re.IGNORECASE)


def _quoted(text: str) -> bool:
    return (
        len(text) > 1
        and text[0] in QUOTES
        and text[-1] in QUOTES
        and not re.search(rf"[{QUOTES}]", text[1:-1])
    )


def _verb_first(text: str) -> bool:
    return text.split()[0].lower() in VERBS


# Words around a date that say nothing about when: "call my aunt at some point this week".
VAGUE = r"\s+(?:at some point|sometime|some time|at one point)$"


def take_date(title: str) -> tuple[str, str | None]:
    """The title without its date phrase, and the phrase ("call mom tomorrow" -> tomorrow)."""
    for pattern in (DATE_AT_END, DATE_AT_START):
        match = pattern.fullmatch(title)
        # "book a table for saturday": the date says what the task is for, not when it is due
        if (
            match
            and strip_title(match.group("title"))
            and not re.search(r"\bfor$", match.group("title"), re.IGNORECASE)
        ):
            title = re.sub(VAGUE, "", strip_title(match.group("title")), flags=re.IGNORECASE)
            return title, due_phrase(match.group("date"))
    return title, None


def due_phrase(text: str) -> str:
    """A date phrase as the tools read it: lower case, joining word dropped, misspellings fixed."""
    text = re.sub(rf"^{DATE_JOIN}\s+", "", text.strip(EDGE).lower())
    return " ".join(lex.DATE_SPELLING.get(w, w) for w in text.split())


def is_date(text: str) -> bool:
    return re.fullmatch(rf"(?:{DATE_JOIN}\s+)?{DATE}", text.strip(EDGE), re.IGNORECASE) is not None


def list_status(text: str) -> str:
    lowered = text.lower()
    if re.search(
        r"\b(?:everything|all) (?:that )?(?:i|we) (?:still )?(?:need|have|must|got)\b", lowered
    ):
        return "open"  # "everything i need to buy": what is left to do
    if re.search(rf"\b{alternation(lex.STATUS_ALL)}\b", lowered):
        return "all"
    if re.search(
        rf"\b(?:not|un|in)[ -]?{alternation(lex.STATUS_DONE)}\b|\b{alternation(lex.STATUS_OPEN)}\b",
        lowered,
    ):
        return "open"
    if re.search(rf"\b{alternation(lex.STATUS_DONE)}\b", lowered) and not re.search(
        r"\bdue\b", lowered
    ):
        return "done"
    return "open"


def list_due(text: str) -> str | None:
    """The due filter a listing asks for: only when it speaks of due dates at all."""
    lowered = text.lower()
    if not re.search(r"\b(?:due|overdue|over due|late|deadlines?|past due|behind)\b", lowered):
        return None
    for due, words in lex.LIST_DUE.items():
        if re.search(rf"\b{alternation(words)}\b", lowered):
            return due
    return None


# A title that still holds the request's frame: a verb said to us, or a list's name.
REQUEST = re.compile(
    r"^(?:add|remove|delete|remind|set (?:a |an )?(?:reminder|alarm|timer)|make sure|"
    r"make a (?:note|reminder|list)|create a (?:list|reminder)|tell me|show me|can you|could you|would you|"
    r"will you|please|i need you|me|that i|that we|what|what's|whats|is|are|did|do i|have i)\b"
    r"|^\w+ (?:it|them|that|those|this)(?: off| out| away| down| up)?$"
    r"|\b(?:and|but|then|so) (?:i|we) (?:also |still )?(?:need|have|must|should|want|gotta)\b"
    r"|\b(?:is|are|was|were|be|to|the|a|an|and|or|of)$|^sure\b"
    r"|\b(?:the list|my list|lists|(?:a|new|another) list|(?:shopping|grocery|groceries|todo|to-?do|to do|reminder|task|wish) list|"
    r"list of things|my (?:reminders|tasks|todos|to-?dos|shopping|groceries|chores))\b",
    re.IGNORECASE,
)


# A placeholder, not a task: "add a movie name", "add something", "add a book title".
PLACEHOLDER = re.compile(
    r"^(?:a|an|some|the)?\s*(?:\w+\s+)?(?:name|title|something|thing|stuff|one)$"
    r"|^(?:a |an |new )*(?:reminder|task|todo|to-do|item|note|entry)s?$",
    re.IGNORECASE,
)


def is_request(title: str) -> bool:
    return REQUEST.search(title) is not None or PLACEHOLDER.match(title) is not None


def is_list_words(text: str) -> bool:
    return phrase("list").fullmatch(text.strip(EDGE)) is not None
