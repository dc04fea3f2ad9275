"""The frame around a request: where it goes, how it is asked, and how many requests it holds.

People wrap a request in words that are never part of a task: a destination ("to my shopping
list", "off my list of things to do", "the chores"), a way of asking for a reminder ("set a
reminder for me to", "remind me tomorrow at 3pm i have"), a question about the list ("i need to
hear what's on my list", "is milk on my list?"), or a second request ("and add bread"). This
module reads the frame so the grammar sees only the request, and a title never holds the frame.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from todochat.agent.offline_grammar import DATE, alternation
from todochat.agent.offline_lexicon import EVENT

CASE = re.IGNORECASE
ARTICLE = r"(?:(?:my|the|our|your|a|this)\s+)"
# A named list: "shopping list", "grocery list", "to-do list", "wish list" (any one or two
# words before "list"), "my list of things to do", or a list called by its kind alone.
LIST_NAME = r"(?P<name>[a-z][\w'-]*(?:\s+[a-z][\w'-]*){0,2})"
DESTINATION = re.compile(
    rf"\b(?P<prep>to|on|onto|in|into|off|off of|from|out of|for)\s+"
    rf"(?:{ARTICLE}?(?:list of (?:things|stuff|tasks|jobs) to do|things to do list)"
    rf"|{ARTICLE}?{LIST_NAME}\s+list(?!\s+(?:of\b|for\s+(?:the|a|an|my|our|his|her|their)\b))"
    rf"|{ARTICLE}?list\b(?!\s+(?:of|for)\b)"
    rf"|(?:my\s+)?(?P<kind>shopping|groceries|reminders|todos|to-?dos|to do's)\b(?=\s*(?:$|[,.:;!?]|and\b|then\b|to\b))"
    rf"|(?:my|the)\s+(?P<chores>chores)\b)",
    CASE,
)
# Words before "list" that name the default list, not a list of its own.
DEFAULT_LIST = {"todo", "to-do", "to do", "to-do's", "task", "tasks", "reminder", "reminders", "my"}
# Words that say which list without naming one: "the list", "my whole list", "to do list"
# read as prep "to" + "do list".
NOT_A_NAME = {
    "do",
    "whole",
    "entire",
    "full",
    "current",
    "main",
    "usual",
    "same",
    "that",
    "this",
    "new",
}
DETERMINER = re.compile(r"^(?:(?:the|my|our|your|a|an|this|that)\s+)+", re.IGNORECASE)


def named(name: str | None) -> str | None:
    """The list a name names, or None for the default list ("the", "to do", "whole")."""
    name = DETERMINER.sub("", f"{(name or '').lower().strip()} ").strip()
    if not name or name in DEFAULT_LIST or name in NOT_A_NAME:
        return None
    if {"the", "my", "our", "your"} & set(name.split()) or name.startswith("to "):
        return None  # "my to the list": a destination already read, seen again
    return name


# A wrapper around a command: "i want to remove ...", "i need to add ..."
COMMAND_VERB = (
    r"(?:add|put|pop|stick|remove|delete|take|cross|tick|check off|mark|rename|change|move|"
    r"clear|create|make|set|jot|write|get rid of|drop|scratch|erase|replace|swap)"
)
WRAPPER = re.compile(
    rf"^(?:i|we)\s+(?:really\s+|just\s+)?(?:want|need|would like|'d like|wanna|wish)\s+(?:you\s+)?to\s+(?={COMMAND_VERB}\b)",
    CASE,
)
# Polite or chatty openings that are not part of the request.
OPENING = re.compile(
    r"^(?:(?:hey|ok(?:ay)?|hi)\s+(?:there|assistant|google|siri|alexa|todochat)|alexa|siri|assistant|google|"
    r"hi(?: there)?|hello|yeah|yes|yep|ok so|so|right|well|alright|honestly|hmm+|um+|uh+|erm+|"
    r"(?:no |oh |hang on,? |)wait|sorry|oh|oops,? (?:i meant|actually)|(?:would you )?mind|"
    r"i was wondering if you could|(?:it would|it'd) be (?:great|nice|good|helpful) if you could|"
    r"i'?d appreciate it if you(?: could)?|do me a favou?r and|can you help me|help me|"
    r"(?:so )?i was thinking|ok this is going to sound silly but|this is going to sound silly but|i guess|"
    r"so (?:yeah|um+|uh+)|i just realized|(?:so )?the thing is|i think|i believe)"
    r"[,!.]?\s+",
    CASE,
)
# A request to remember something, said as a reminder to set.
REMEMBER = re.compile(
    r"^(?:please\s+)?(?:make sure i (?:remember to|don't forget to|do not forget to|dont forget to)|note to self:?|"
    r"don'?t let me forget (?:to|about)|don'?t let me forget(?= (?:the|my|our) )|remember for me to|help me remember to|"
    r"(?:make|take|write) a note (?:that i need to|that i have to|to)(?= \w+ )(?!\S+:)|note that i (?:need|have) to|"
    r"(?:add|create|make) (?:a |an )?(?:task|todo|to-do|item|note) for me to|"
    r"(?:add|create|make) something for me:?|i'?d like a new (?:task|todo|to-do|reminder):?)\s+",
    CASE,
)
REMINDER = re.compile(
    rf"^(?:(?:(?:set|make|create|add|put|schedule|give me|set up|get|new|i (?:need|want|would like|'d like))\s+)?(?:me\s+)?(?:a\s+|an\s+|another\s+)?(?:new\s+)?)?"
    rf"reminder(?:\s+(?:on|to|in|onto) the list)?(?:\s+for (?:me|us)\b)?"
    rf"(?:\s+for\s+(?P<date>{DATE})(?=\s+(?:to|that|about)\b))?"
    rf"\s*(?P<join>:|-|\bto\b|\bthat\b|\babout\b|\bfor\b|\bcalled\b|\bnamed\b|\bsaying\b)?\s*(?=\S)",
    CASE,
)
HAVE = re.compile(
    rf"^remind me(?:\s+(?P<date>{DATE}))?,?\s+(?:that\s+)?(?:i|we)(?:\s+have|'ve got|\s+have got|\s+got)\s+(?:a\s+|an\s+|my\s+)?(?P<what>.+)$",
    CASE,
)
# "i have a dentist appointment on tuesday at 3pm": an event on a day, said as a reminder.
EVENT_ON = re.compile(
    rf"^(?:i|we)(?:\s+have|'ve got|\s+have got)\s+(?:a |an |my |the |our )?"
    rf"(?P<what>[\w' -]*?\b{alternation(EVENT)}s?\b[\w' -]*?),?\s+(?P<date>(?:on\s+)?{DATE})$",
    CASE,
)
NEED_TO = re.compile(r"^remind me that (?:i|we) (?:need|have|must|should) to\s+", CASE)
OUT_OF = re.compile(
    r"^(?:we|i)(?:'re|'m| are| am| have| 've|'ve)?\s+(?:all\s+|almost\s+|nearly\s+)?(?:out of|ran out of|run out of|running (?:low on|out of)|low on)\s+(?P<what>.+?)(?:\s+again)?$"
    r"|^(?:we|i) (?:need|want) (?:more|some|new) (?P<more>.+)$",
    CASE,
)
# "i don't need eggs anymore, take them off": the second half says the first again.
SAY_AGAIN = re.compile(
    r",?\s+(?:so\s+|and\s+|just\s+|please\s+|you can\s+)*(?:take|cross|tick|scratch|remove|delete|get rid of|check)"
    r" (?:it|them|that|those|this)(?: off| out)?(?: (?:of|from|off) the list)?$",
    CASE,
)
ADD_IT = re.compile(
    r",?\s+(?:so\s+|and\s+|can you\s+|could you\s+|please\s+)?(?:add|put|note|save|write) (?:it|that|this|them|those)(?:\s+(?:down|to the list|on the list|in the list))?$",
    CASE,
)
ADVERB = re.compile(
    r"^(?P<who>(?:i|we)(?:\s+(?:should|must|need to|have to|ought to|gotta|want to|will))?)\s+"
    r"(?:really|probably|definitely|just|also|still|actually|seriously|totally|maybe)\s+",
    CASE,
)
OUT_OF_SCOPE = re.compile(
    r"^(?:play|pause|stop playing|turn (?:on|off|up|down)|navigate|directions to|set (?:an? )?(?:alarm|timer)|"
    r"send (?:a |an )?(?:text|message|sms|whatsapp)|text \w+ (?:that|saying)|what time is it)\b"
    # what a phone or a speaker does, not a job to remember: the clock, calls by number or
    # video, messages with their words, the inbox, the music
    r"|^(?!.*\b(?:remind|list|task|to-?do|add|put|note)\b).*(?<!smoke )(?<!fire )(?<!car )"
    r"\b(?:alarms?|timers?|stopwatch|snooze|weather|forecast|temperature outside|traffic|headlines|news)\b"
    r"|^(?:music|songs?|radio|podcasts?|jokes?|a joke|the time|time)$"
    r"|^(?:wake me|snooze|dial|redial|facetime|video ?call|hang up|answer the (?:phone|call))\b"
    r"|^(?:call|phone|ring) (?:\+?\d[\d -]*|\w+ on (?:speaker|video|facetime|(?:his|her|their|my) (?:cell|mobile)))$"
    r"|^(?:text|message|msg|whatsapp|sms|email|e-mail) (?:\w+ ){1,3}?(?:that i|that we|i'm|im|i am|i'll|i will|we're|saying|to say|and (?:say|tell))\b"
    r"|^(?:send|write) (?:a |an )?(?:text|message|email|e-mail|sms)\b.*\b(?:saying|that says|to say)\b"
    r"|^(?:read|check|open|show|any)(?: me)? (?:my |the |new )?(?:e-?mails?|inbox|texts|text messages|voicemails?|notifications)\b"
    r"|^(?:skip|repeat|shuffle|like) (?:this|the|that) (?:song|track)\b|^(?:next|previous) (?:song|track)$"
    r"|^(?:volume|louder|quieter|mute|unmute|resume)\b"
    r"|^(?:open|launch|close|quit) (?:the )?\w+ app$|^(?:open|launch) (?!the\b|my\b|a\b)\w+$|^(?:launch|take|snap) (?:a |me a )?(?:picture|photo|selfie|screenshot)\b"
    r"|^(?!.*\b(?:remind|to-?do|task|list)\b).*\bplaylists?\b",
    CASE,
)


# A service a phone assistant books on the spot (a ride, a meal): asked about, never added.
SERVICE_NOW = re.compile(
    r"^(?:order|call|get|book|request)(?: me| us)? (?:an? |my )?(?:uber|lyft|taxi|cab|ride|pizza|takeout|takeaway|food delivery)\b",
    CASE,
)


NEW_LIST = re.compile(
    r"^(?:.*?,\s*)?(?:create|make|start|set up|open|begin|new|add)(?: me)? (?:a |an )?(?:new )?(?:(?P<before>[\w'-]+) )?list"
    r"(?: (?:for|called|named|of)(?: the| my| our)? (?P<after>[\w' -]+?)|:? (?P<bare>[\w'-]+))?$",
    CASE,
)


# A list named in a question ("read me my grocery list"), with no preposition before it.
MENTION = re.compile(rf"\b(?:my|the|our) {LIST_NAME} list\b", CASE)


@dataclass
class Frame:
    """A request with its frame read: the words of the request, and the list it named."""

    text: str
    list_name: str | None = None  # a named list ("shopping"), None for the default list
    destination: bool = False  # the request named a list at all


# "we're going camping next week so add a tent": the reason before "so" is no part of it.
REASON = re.compile(
    rf"^(?:\S+\s+){{2,}}?so,?\s+(?=(?:{COMMAND_VERB}|remind me|(?:i|we) (?:need|have|must|should) to)\b)",
    CASE,
)


def read(text: str) -> Frame:
    """The request inside its frame, destinations as "the list"."""
    text = _openings(REASON.sub("", _openings(text), count=1))
    frame = Frame(text)
    frame.text = DESTINATION.sub(lambda m: _destination(m, frame), text)
    frame.text = _reminders(_openings(frame.text))
    frame.text = (
        ADD_IT.sub("", frame.text) if frame.destination or _has_request(frame.text) else frame.text
    )
    frame.text = _needs(SAY_AGAIN.sub("", frame.text) if _said_before(frame.text) else frame.text)
    mention = MENTION.search(frame.text) if frame.list_name is None else None
    if mention and named(mention.group("name")):
        frame.list_name = named(mention.group("name"))
    return frame


def opened(text: str) -> str:
    """The request without its openings ("alexa", "so", "i want you to")."""
    return _openings(text)


def _openings(text: str) -> str:
    from todochat.agent.offline_slots import clean

    previous = None
    while previous != text:
        previous = text
        text = clean(OPENING.sub("", text))
        text = WRAPPER.sub("", text)
        text = ADVERB.sub(lambda m: m.group("who") + " ", text)
    return text


def _destination(match: re.Match[str], frame: Frame) -> str:
    frame.destination = True
    name = named(match.group("name") or match.group("kind") or match.group("chores"))
    if name and frame.list_name is None:
        frame.list_name = name
    prep = match.group("prep").lower()
    prep = "off" if prep in ("off of", "out of") else prep
    return f"{'to' if prep == 'for' else prep} the list"


def _reminders(text: str) -> str:
    """Every way of asking for a reminder, as "remind me to ..." (or "remind me about ...")."""
    text = REMEMBER.sub("remind me to ", text)
    match = REMINDER.match(text)
    if match and match.group(0).strip() and re.search(r"\breminder\b", match.group(0), CASE):
        join = (match.group("join") or "to").lower()
        join = {"for": "about", ":": "to", "-": "to", "called": "about", "named": "about"}.get(
            join, join
        )
        join = "to" if join == "saying" else join
        date = f"{match.group('date')} " if match.group("date") else ""
        text = f"remind me {date}{join} {text[match.end() :]}"
    event = EVENT_ON.match(text)
    if event:
        return f"remind me about {event.group('what')} {event.group('date')}"
    have = HAVE.match(text)
    if have:
        date = f" {have.group('date')}" if have.group("date") else ""
        return f"remind me about {have.group('what')}{date}"
    return NEED_TO.sub("remind me to ", text)


def _has_request(text: str) -> bool:
    return bool(re.match(r"(?:i|we)(?:'re|'m| are| am| need| have| must| should)\b", text, CASE))


def _said_before(text: str) -> bool:
    """Whether the words before a trailing "take them off" already name a task."""
    match = SAY_AGAIN.search(text)
    return bool(match and match.start() > 0 and len(text[: match.start()].split()) >= 2)


ON_THE_LIST = re.compile(
    r"^(?:make sure|check that|see that) (?P<what>.+?) (?:is|are|gets|get) (?:on|added to|put on) the list$"
    r"|^(?P<needs>.+?) (?:needs|need) to (?:go|be|get put|be put|be added) (?:on|onto|to) the list$",
    CASE,
)


def _needs(text: str) -> str:
    """ "we're out of sugar", "we need more rice": the thing to get is the task."""
    listed = ON_THE_LIST.match(text)
    if listed:  # "make sure bread is on the list", "bread needs to go on the list"
        return f"add {listed.group('what') or listed.group('needs')} to the list"
    match = OUT_OF.match(text)
    if not match:
        return text
    return f"add {match.group('what') or match.group('more')} to the list"


# --- questions about the list ----------------------------------------------------------------

SEARCH = [
    (
        r"^(?:does|do|did) (?:my|the|our) (?:[\w'-]+ )?list (?:have|contain|include|say|mention) (?P<x>.+)$",
        "open",
    ),
    (
        r"^(?:do|did) (?:i|we) (?:still |really )?(?:need|have|want) to (?P<x>.+?)(?: (?:on|in) the list)?$",
        "open",
    ),
    (r"^(?:is|are) (?:there )?(?P<x>.+?) (?:on|in) the list$", "open"),
    (
        r"^(?:do|did) (?:i|we) (?:still )?need (?:any |more |some )?(?!to\b)(?P<x>\w+(?: \w+)?)$",
        "open",
    ),
    (r"^(?:do|did) (?:i|we) (?:still )?(?:have|got) (?P<x>.+?) (?:on|in) the list$", "open"),
    (r"^(?:have|has) (?:i|we) got (?P<x>.+?) (?:on|in) the list$", "open"),
    (
        r"^(?:did|have) (?:i|we) (?:already |ever |actually )?(?:add|added|put|write|written|include|included) (?P<x>.+?)(?: (?:on|to|in) the list)?$",
        "all",
    ),
    (
        r"^(?:i )?(?:don't|do not|can't|cannot) remember (?:if|whether) (?:i|we) (?:put|added|add) (?P<x>.+?)(?: (?:on|to|in) the list)?,? did (?:i|we)$",
        "all",
    ),
    (
        r"^(?:can you |could you )?(?:check|see|tell me|find out|look) (?:if|whether) (?:i|we) (?:still )?(?:need to|have to|have|got|must) (?P<x>.+?)(?: (?:on|in) the list)?$",
        "open",
    ),
    (
        r"^(?:can you |could you )?(?:tell me |check )?(?:if |whether )?(?:there's|there is|is there|do i have|have i got) anything (?:on the list |in the list )?(?:about|for|with|to do with) (?P<x>.+?)(?: (?:on|in) the list)?$",
        "open",
    ),
]
ABOUT = re.compile(
    r"^(?:anything|something|stuff|things?) (?:about|for|with|to do with|like)\s+", CASE
)
SEARCHES = [(re.compile(p, CASE), status) for p, status in SEARCH]
READ = re.compile(
    r"^(?:(?:i|we)(?: need| want| would like|'d like| wanna) to (?:know|hear|see|check|review|go over|look at|go through|find out)"
    r"|(?:let|help) me (?:see|know|hear|check|review|go over|go through)|(?:can|could|may) (?:i|we) (?:see|hear|check|have|get)"
    r"|(?:can|could|would|will) you (?:tell|read|show|give|list) (?:me|us)|tell me|tell us|read(?: me| us| out| back| aloud)*"
    r"|go (?:over|through)|run (?:through|over|down)|look (?:at|over|through)|review|check(?! off)|open|display|give me|show me|pull up|bring up"
    r"|remind me (?=what|of what|whats)|know|hear|find out)\b(?P<rest>(?!.*\boff\b).*)$",
    CASE,
)
ABOUT_THE_LIST = re.compile(
    r"\b(?:the list|lists?|tasks|todos?|to-?dos|to dos|reminders|agenda|plate|chores|shopping|groceries"
    r"|what(?:'s|s| is| are| i| do i| did i| was)? (?:on|left|i have|i need|to do|due|there|remaining)"
    r"|what i (?:have|need|got)|what(?:'s| is) (?:on|due|left)|what (?:else|was))\b",
    CASE,
)
ASKS_LIST = re.compile(
    r"^(?:what|wat|wht|whats|what's)(?: (?:are|r|is|were|was))? (?:all |else )?(?:my|the|on|in)\b.*"
    r"\b(?:tasks|todos?|to-?dos|to dos|reminders|list|items|chores|things|shopping|groceries|agenda|there)\b.*$"
    r"|^(?:what|which) (?:\w+ )?(?:reminders|tasks|todos?|to-?dos|items|chores) (?:do|have|did) (?:i|we)\b.*$"
    r"|^what (?:do|did) (?:i|we) (?:need|have|want) (?:to buy|to get|from the (?:store|shop|supermarket)|at the (?:store|shop))\b.*$"
    r"|^(?:what|what's|whats) else (?:is )?(?:on )?(?:there|the list)\b.*$"
    r"|^what (?:else |more )?(?:do|should|must) (?:i|we) (?:still )?(?:need to |have to |got to )?do\b.*$"
    r"|^what(?:'s| is| are)? (?:everything|all(?: the things)?|the things) (?:that )?(?:i|we) (?:have|need|got) to (?:do|buy|get)\b.*$"
    r"|^(?:what|what's|whats)(?: is| are)? (?:my|the) (?:next|first|last|top|most important|most urgent) (?:task|thing|item|todo|to-do|one|reminder)s?\b.*$"
    r"|^(?:what|which|how many) (?:\w+ )?lists\b.*$|^(?:show|list|display|tell|give|read)(?: me)? (?:all )?(?:of )?(?:my|the) lists$"
    r"|^is (?:my|the|our) (?:[\w'-]+ )?list empty$"
    r"|^(?:shopping|groceries|grocery|reminders|chores|todos|to-?dos)$"
    r"|^(?:my|the) (?:\w+ )?(?:reminders|chores|shopping|groceries)$"
    r"|^(?:my |the )?(?:[\w'-]+ ){0,2}list$",
    CASE,
)


def question(text: str) -> tuple[str, str | None] | None:
    """A question about the list: its status and search words, or None.

    Only what asks to see or check the list; "remind me to read my list" is a task."""
    for pattern, status in SEARCHES:
        match = pattern.match(text)
        if match and re.fullmatch(
            r"(?:any|some|every)(?:thing|one)s?|stuff|things|items", match.group("x"), CASE
        ):
            return "open", None  # "is there anything on my list": the list, not a search
        if match:
            return status, ABOUT.sub("", match.group("x"))
    if ASKS_LIST.match(text):
        return "open", None
    reading = READ.match(text)
    if (
        reading
        and ABOUT_THE_LIST.search(reading.group("rest") or "")
        and not re.search(rf"\b{COMMAND_VERB}\b", reading.group("rest"), CASE)
    ):
        return "open", None
    return None


# --- several requests in one message ---------------------------------------------------------

SPLIT = re.compile(
    rf"(?:,\s*(?:and\s+)?|\s+and\s+|\s+)(?:then\s+|now\s+|also\s+|and\s+)?(?={COMMAND_VERB}\b|put on\b)",
    CASE,
)
BOUNDARY = re.compile(r"(?:,|\band\b|\bthen\b)\s*(?:then\s+|now\s+|also\s+|and\s+)?$", CASE)


def requests(text: str) -> list[str]:
    """The requests of a compound message, in order: "remove milk and add bread" is two.

    A message splits only where ", " / " and " / " then " comes right before a list verb, and
    never inside quotes."""
    if re.search(r"[\"“”]", text):
        return [text]
    parts, start = [], 0
    for match in SPLIT.finditer(text):
        if match.start() == 0 or not BOUNDARY.search(text[: match.end()]):
            continue
        parts.append(text[start : match.start()])
        start = match.end()
    parts.append(text[start:])
    return [_tidy(p) for p in parts if p.strip(" ,")]


def _tidy(part: str) -> str:
    part = part.strip(" ,")
    part = re.sub(r"^(?:put|pop|stick|add) on (?P<x>.+)$", r"add \g<x>", part, flags=CASE)
    part = re.sub(
        r"^(?P<v>put|pop|stick|add) (?P<x>.+?) (?:on|there|on there)$",
        r"\g<v> \g<x> on the list",
        part,
        flags=CASE,
    )
    return re.sub(r" (?:to|on|onto) (?:it|there)$", " to the list", part, flags=CASE)
