"""The offline model's grammar: which phrasings mean which intent, and where the slots are.

A rule is an intent and a template. `{name}` in a template is either a slot the intent
handler reads (`{task}`, `{titles}`, `{title}`, `{note}`, `{date}`, `{rest}`) or a list of
phrasings from `offline_lexicon` (`{delete}` is `lexicon.DELETE`). A template must match the
whole message (politeness already stripped, any case). Rules are tried in order and the first
whose handler accepts the match wins, so more specific phrasings come first. To teach the model
a new phrasing, add a word to the lexicon or a template here, and a line to the corpus.
"""

from __future__ import annotations

import re
from functools import cache

from todochat.agent import offline_lexicon as lex

RULES: list[tuple[str, str]] = [
    # talk about the conversation, and social niceties
    ("help", "{help_ask}"),
    ("greeting", "{greeting}"),
    ("thanks", "{thanks}"),
    ("goodbye", "{goodbye}"),
    ("help", "{filler}"),
    ("recall_first", "{recall_first}"),
    ("recall_added", "{recall_added}"),
    ("recall_last", "{recall_last}"),
    ("recall_done", "{recall_done}"),
    # questions about the list come before anything that could read "what" as a task
    ("list", "{list_question}"),
    ("list", "{list_verb} {rest}"),
    ("more", "{more}"),
    ("undo", "{undo}"),
    ("oops", "{oops}"),
    ("undo_task", "(?:undo|revert) {task}"),
    ("bulk", "{bulk}"),
    # notes
    (
        "set_notes",
        "(?:set|change|replace|update|make|edit) (?:the )?notes? (?:of|for|on|to) {task} (?:to|with|as|to say) {note}",
    ),
    (
        "clear_notes",
        "(?:clear|remove|delete|wipe|erase|drop) (?:the |all )?(?:notes?|details) (?:of|for|on|from) {task}",
    ),
    (
        "append_notes",
        "{note_opening} (?:to|on|for|about) {task}(?::|,| saying| that says| -) {note}",
    ),
    ("append_notes", "{note_opening}:? {note} (?:to|on|onto|for) {task}"),
    # due dates
    (
        "clear_due",
        "(?:no|remove(?: the)?|clear(?: the)?|drop(?: the)?|delete(?: the)?|get rid of(?: the)?|without(?: a)?|unset(?: the)?|forget(?: the)?) {due_word} (?:for|on|from|of|off)? ?{task}",
    ),
    ("clear_due", "{task} (?:has|needs|should have|can have|gets) no {due_word}"),
    (
        "clear_due",
        "{task} (?:doesn't|does not|dont|don't) (?:have|need) (?:a )?{due_word}(?: anymore| any more)?",
    ),
    ("clear_due", "{task} (?:isn't|is not|isnt) due (?:any ?time|any day|at all|anymore|any more)"),
    ("clear_due", "(?:take|remove|clear) the {due_word} off {task}"),
    ("clear_due", "(?:make|mark) {task} (?:undated|not due)"),
    (
        "reschedule",
        "(?:set|change|update|make|move|add) (?:the |a )?(?:due date|deadline|date) (?:of|for|on|to) {task}(?: to| for|:)? {date}",
    ),
    ("reschedule", "(?:make|set|mark) {task} (?:as )?due {date}"),
    (
        "reschedule",
        "{reschedule} {task} (?:to|till|until|for|back to|forward to|off to|off until|off till|off)? ?{date}",
    ),
    ("reschedule", "{task}(?: is|'s|s| should be| needs to be done| is now) (?:now )?due {date}"),
    ("reschedule", "{task} (?:can|could|will have to|has to) wait (?:till|until|for|to) {date}"),
    # named lists: "move bread to my shopping list" (the destination already reads "the list")
    ("move_list", "(?:move|transfer|switch|shift) {task} (?:to|onto|on|into) the list"),
    # priorities: "make the passport one high priority", "low priority for the dishes"
    (
        "priority",
        "(?:change|set|make|update|raise|lower) (?:the )?priority (?:of|for|on) {task} (?:to|as) {priority}",
    ),
    (
        "priority",
        "(?:make|mark|set|flag|put|change|bump|move) {task} (?:as |to |at |up to |down to )?{priority}",
    ),
    ("priority", "{priority} (?:for|on|to) {task}"),
    ("priority", "give {task} (?:a )?{priority}"),
    (
        "priority_none",
        "(?:remove|clear|drop|take off|reset|unset) (?:the )?priority (?:from|of|on|for) {task}",
    ),
    ("priority_high", "(?:prioriti[sz]e|bump up|escalate) {task}"),
    ("priority_low", "(?:deprioriti[sz]e|de-prioriti[sz]e) {task}"),
    (
        "priority_low",
        "{task} (?:isn't|is not|isnt|aren't|are not|arent|'s not|s not) (?:very |that |so |really )?(?:important|urgent|a priority)(?: anymore| any more)?",
    ),
    ("priority", "{task} (?:is|are|'s|s) (?:now |very |really |super |quite )?{priority}"),
    # changing one task: reopen before complete ("mark 2 as not done")
    ("reopen", "(?:mark|set|make|flag) {task} (?:as )?{not_done}(?: again| yet)?"),
    ("reopen", "{reopen} {task}(?: again)?"),
    ("reopen", "put {task} back(?: to| on| as)?(?: {not_done}| (?:my|the) list)?"),
    (
        "reopen",
        "{task} (?:isn't|is not|isnt|aren't|are not|arent|wasn't|was not|weren't|'s not|s not) (?:actually |really )?(?:done|finished|complete|completed)(?: yet| after all)?",
    ),
    (
        "reopen",
        "i (?:didn't|did not|haven't|have not|never) (?:actually |really )?(?:do|did|done|finish|finished|complete|completed) {task}(?: yet| after all)?",
    ),
    ("complete", "(?:mark|set|flag|make) {task} (?:as )?{done}"),
    ("complete", "(?:check|tick|cross|mark|strike) {task} off(?: (?:my|the) list| {list})?"),
    (
        "complete",
        "{complete} {task}(?: off)?(?: (?:on|from|off|in) (?:my|the) list| (?:my|the) list)?",
    ),
    ("complete", "{did} {task}"),
    (
        "complete",
        "{task}(?: is|'s| are| has been| have been| was| were)? (?:now |all |finally |already )?{done}(?: now| already| today)?",
    ),
    ("complete", "(?:done|all done|finished|did it|done it|sorted)"),
    (
        "rename",
        "(?:change|update|edit|set|fix) (?:the )?(?:title|name|wording|text) (?:of|for|on) {task} to {title}",
    ),
    ("rename", "{rename} {task} {rename_to} {title}"),
    ("rename", "replace {task} with {title}"),
    ("rename", "{task} should (?:be called|be renamed to|now be|be|say|read) {title}"),
    ("delete", "{delete} {task}(?: (?:from|off|on|in) {list})?"),
    ("delete", "(?:take|cross|strike|scratch) {task} (?:off|out of|from) {list}"),
    (
        "delete",
        "(?:i )?(?:don't|dont|do not|no longer) (?:need|have) to {task}(?: anymore| any more)?",
    ),
    ("delete", "{task} (?:is|'s|s) (?:cancelled|canceled|not needed|no longer needed|off)"),
    (
        "delete",
        "(?:i|we) (?:don't|dont|do not|no longer) (?:need|want) {task}(?: anymore| any more| after all)?",
    ),
    ("delete", "no (?:more )?need (?:for|to) {task}(?: anymore| any more)?"),
    ("delete", "never ?mind (?:about )?{task}"),
    ("delete", "(?:i|we) (?:have|got|already have) (?:enough|plenty of) {task}"),
    ("rename", "swap {task} (?:for|with) {title}"),
    # adding tasks: to the list, as a note on a task, or as a bare request
    ("add_many", "{add_many} {titles}"),
    ("add", "{add}:? {titles} (?:to|on|onto|in|into) (?:{list}|there)"),
    (
        "add",
        "{add}:? {titles} (?:to|on|onto|in|into) {list},? (?P<tail>(?:for |due |by |on )?{date})",
    ),
    ("add", "{add} (?:to|on|onto) {list}:? {titles}"),
    ("add", "remind me {date},? (?:to|about|that|of) {titles}"),
    (
        "add",
        "(?:add|create|make|new) (?:an? )?(?P<urgent>urgent|important|high[- ]priority) (?:task|todo|to-do|reminder|item)s?:? (?:to |for |called )?{titles}",
    ),
    (
        "add",
        "{add} {titles} (?:as|with) (?:a )?(?P<urgent>high priority|top priority|urgent|important)",
    ),
    ("add", "(?P<urgent>urgent|asap|important):\\s*{titles}"),
    ("add", "(?:the |my )?(?P<listname>[\\w'-]+) list:? (?:add |put )?{titles}"),
    (
        "add",
        "(?:add|create|make|new|set) (?:a |an |me a )?(?:new )?(?:task|todo|to-do|reminder)s? (?:for |due |on )?{date}:? {titles}",
    ),
    (
        "append_notes",
        "(?:add|append|attach|put|write)(?: (?:a )?notes?)? (?:to|on|for) {task}: {note}",
    ),
    ("append_notes", "{note_opening}: {note}"),
    ("add", "{add_opening} {titles}"),
    (
        "append_notes",
        "(?:add|append|attach|include|put|stick|write) {note} (?:to|on|onto|into|in) (?:the notes? (?:of|for|on) )?{task}",
    ),
    ("add", "{add_alone}:? {titles}"),
]

SLOTS = {
    "task": "(?P<task>.+?)",
    "titles": "(?P<titles>.+?)",
    "title": "(?P<title>.+?)",
    "note": "(?P<note>.+?)",
    "rest": "(?P<rest>.+?)",
}


def alternation(phrases: list[str]) -> str:
    return "(?:" + "|".join(phrases) + ")"


def _date_phrase() -> str:
    day = alternation([*lex.DAY, *lex.DATE_SPELLING])
    return f"(?:by |before )?(?:{day}(?:,? {lex.TIME})?|{lex.TIME}(?:,? {day})?)"


DATE = _date_phrase()
DATE_JOIN = alternation(lex.DATE_JOIN)


def expand(template: str) -> str:
    """The regular expression a template stands for (lexicon entries may use `{list}`)."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "date":
            return f"(?P<date>{DATE})"
        if name == "priority":
            return f"(?P<priority>{expand(alternation(lex.PRIORITY))})"
        if name in SLOTS:
            return SLOTS[name]
        return expand(alternation(getattr(lex, name.upper())))

    return re.sub(r"\{([a-z_]+)\}", one, template)


@cache
def compiled() -> list[tuple[str, re.Pattern[str]]]:
    return [(intent, re.compile(expand(t), re.IGNORECASE)) for intent, t in RULES]


@cache
def phrase(name: str) -> re.Pattern[str]:
    """One lexicon list as a whole-phrase pattern (for checks like "is this a list word?")."""
    return re.compile(expand("{" + name + "}"), re.IGNORECASE)
