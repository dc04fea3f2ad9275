"""The offline model's vocabulary, kept as data: extend it by adding words here.

Each entry is a list of phrasings (lower case, regular-expression fragments allowed). The
grammar in `offline_grammar` refers to them by name as `{name}`; nothing else reads them.
"""

from __future__ import annotations

# Said around a request and meaning nothing for it: stripped from both ends, repeatedly.
POLITE_PREFIX = [
    "please",
    "pls",
    "plz",
    "kindly",
    "hey",
    "ok",
    "okay",
    "so",
    "and",
    "also",
    "oh",
    "um+",
    "uh+",
    "now",
    "then",
    "right",
    "alright",
    "actually",
    "just",
    "quick(?:ly)?",
    "go ahead and",
    "(?:can|could|would|will|can't|won't) (?:you|u|ya)(?: please| pls)?",
    "would you mind",
    "i'?d like (?:you )?to",
    "i want you to",
    "i need you to",
    "todochat",
]
POLITE_SUFFIX = [
    "please",
    "pls",
    "plz",
    "thanks",
    "thank you",
    "thx",
    "ty",
    "cheers",
    "ta",
    "for me",
    "too",
    "as well",
    "now",
    "(?:right )?away",
    "ok",
    "okay",
    "lol",
    "thanks in advance",
]

# What the user's list is called ("put it on my todo list").
LIST = [
    "(?:my|the|our|your)? ?(?:todo|to-do|to do|task|shopping|grocery|groceries|jobs?|chores?)? ?(?:list|tasks|todos|to-dos|to dos)",
]
# Words that name a task without meaning its title ("the passport one", "task 3").
TASK_NOUN = ["task", "todo", "to-do", "item", "one", "thing", "reminder", "entry", "job"]
STOP_WORDS = [
    "the",
    "a",
    "an",
    "my",
    "our",
    "that",
    "this",
    "to",
    "for",
    "of",
    "on",
    "about",
    "with",
    "from",
    "list",
    *TASK_NOUN,
]
# British and American spellings and short forms, mapped to one form before matching titles.
SPELLING = {
    "mum": "mom",
    "mam": "mom",
    "colour": "color",
    "favourite": "favorite",
    "organise": "organize",
    "cheque": "check",
    "tyres": "tires",
    "tyre": "tire",
    "licence": "license",
    "centre": "center",
    "programme": "program",
    "doc": "doctor",
    "docs": "doctor",
    "dr": "doctor",
    "appt": "appointment",
    "teh": "the",
    "hte": "the",
    "adn": "and",
}

PRONOUN = [
    "it",
    "that",
    "this",
    "that one",
    "this one",
    "that task",
    "this task",
    "that item",
    "the last one",
    "the last task",
    "the latest one",
    "the same one",
    "the same task",
    "the one i just added",
    "the task i just added",
    "the new one",
    "the previous one",
]
NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "a couple of": 2,
    "a couple": 2,
    "both": 2,
}

# --- verbs and phrasings per intent --------------------------------------------------------

# Verbs that add a task by themselves ("add milk", "jot down call the bank").
ADD_ALONE = ["add", "jot down", "note down", "write down", "jot"]
# Verbs that add a task to the list ("put milk on my list").
ADD = [
    "add",
    "put",
    "stick",
    "pop",
    "throw",
    "jot down",
    "jot",
    "note down",
    "write down",
    "note",
    "create",
    "make",
    "new",
    "log",
    "save",
    "include",
    "insert",
    "track",
]
# Openings after which the rest of the message is the task ("remind me to call mom").
ADD_OPENING = [
    "remind me to",
    "remind me about",
    "remind me",
    "remember to",
    "remember",
    "don't forget to",
    "dont forget to",
    "do not forget to",
    "i (?:need|have|must|should|want|got|ought) to",
    "i'?ve got to",
    "i gotta",
    "i must",
    "i should",
    "need to",
    "have to",
    "gotta",
    "must",
    "(?:new )?(?:task|todo|to-do|to do|reminder)s? ?[:-]",
    "note to self ?:?",
    "add (?:a |an |one |another )?(?:new )?(?:task|todo|to-do|to do|item|reminder)s?(?: (?:to|for|called|named|saying|that says))? ?:?",
    "(?:create|make|start|set up|set|open) (?:me )?(?:a |an |one |another )?(?:new )?(?:task|todo|to-do|to do|item|reminder|entry)s?(?: (?:to|for|called|named|saying|that says))? ?:?",
    "(?:please )?(?:put|write|jot|note) down",
]
# Many tasks at once: "create two tasks: wash car and walk dog".
ADD_MANY = [
    "(?:add|create|make|put|new|jot down)(?: me)? (?P<count>two|three|four|five|six|2|3|4|5|6|a couple of|a couple|some|a few|these|the following|multiple|several)? ?(?:new )?(?:tasks|todos|to-dos|items|things|reminders)(?: (?:to|on) {list})? ?:?",
]
# Things to do that make a bare message a task ("buy milk", "call mom tomorrow").
IMPERATIVE = """
ask attend bake bathe book bring brush buy call cancel change charge check clean clear collect
cook cut deliver deposit do drop email e-mail empty feed file fill finish fix fold get give go
grab hang help hire hoover install iron invite learn leave look mail meet mop mow order organise
organize pack paint pay phone pick plan plant post prepare print read recycle register renew
repair replace reply reserve return review ring schedule see sell send service shop sign sort
start study submit sweep take text tidy top transfer update upload vacuum visit walk wash water
watch wrap write book buy fetch tell message ping call text arrange confirm sort practise practice
cancel finalise finalize pickup drive refill vote apply put take make create move open close
finish rebook buy chase hand""".split()

LIST_VERB = [
    "show(?: me)?",
    "list",
    "display",
    "view",
    "see",
    "give me",
    "read(?: me| out)?",
    "print",
    "tell me",
    "let me see",
    "check",
    "get",
    "open",
]
# Whole questions and commands that mean "show my tasks"; {status} words choose which.
LIST_QUESTION = [
    "what(?:'s| is| are|s)? (?:left|remaining|pending|outstanding|next|up|on|on (?:my|the) (?:list|plate|agenda|todo list|to-do list|to do list)|in (?:my|the) list|due|overdue|late)(?: .*)?",
    "what (?:do|have|did) i (?:have|got|need|gotta|have got)(?: left)?(?: to do| on| planned| pending)?(?: .*)?",
    "what (?:else )?(?:do|should|must|can) i (?:do|work on|tackle)(?: .*)?",
    "what (?:else )?(?:is there|have i got)(?: left)?(?: to do)?(?: .*)?",
    "what(?:'s| is)? (?:still )?(?:open|not done|undone|unfinished|incomplete|to do)(?: .*)?",
    "(?:what|which) (?:tasks|todos|to-dos|items|things|ones)(?: .*)?",
    "(?:any|anything) (?:tasks?|todos?|left|else|to do|open|pending|due|overdue)(?: .*)?",
    "how many (?:tasks|todos|to-dos|items|things)(?: .*)?",
    "(?:do|have) i (?:have|got) (?:any(?:thing)?|tasks|todos)(?: .*)?",
    "is there anything(?: .*)?",
    "(?:my|the) (?:\\w+ )?(?:list|tasks|todos|to-dos|agenda)(?: .*)?",
    "(?:tasks|todos|to-dos|list|agenda|status|everything|all)",
    "(?:what|which) (?:have i|did i|i've|ive|have we|did we) (?:already )?(?:done|finished|finish|completed|complete|get done|got done|ticked off|tick off|checked off|crossed off)(?: .*)?",
    "what(?:'s| is| has been|s)? (?:already )?(?:done|finished|completed)(?: .*)?",
    "(?:all|every) (?:my |the |of my )?(?:tasks|todos|to-dos|items|things)(?: .*)?",
    "what am i (?:late|behind) (?:on|with)(?: .*)?",
    "is (?:anything|there anything|something) (?:overdue|due|late|left|pending|open)(?: .*)?",
    "(?:what|which) (?:ones |tasks )?(?:are|r) (?:done|finished|completed|open|pending|overdue|due)(?: .*)?",
    "where (?:am i|are we) (?:at|with)(?: .*)?",
]
STATUS_DONE = [
    "done",
    "completed?",
    "finish(?:ed)?",
    "ticked off",
    "checked off",
    "crossed off",
    "closed",
    "archived?",
    "history",
]
STATUS_ALL = [
    "all",
    "everything",
    "every",
    "including (?:done|completed|finished)",
    "both",
    "whole",
    "entire",
    "full",
]
STATUS_OPEN = [
    "open",
    "left",
    "remaining",
    "pending",
    "outstanding",
    "undone",
    "unfinished",
    "not done",
]
# Due filters of list_tasks, by phrase (only when the tool takes `due`).
LIST_DUE = {
    "overdue": ["overdue", "over due", "late", "past due", "behind", "missed"],
    "today": ["due today", "today", "tonight", "due tonight"],
    "week": ["this week", "due this week", "week", "next 7 days", "next seven days"],
}

COMPLETE = [
    "complete",
    "finish",
    "close",
    "done",
    "check off",
    "tick off",
    "cross off",
    "mark off",
    "strike off",
    "check",
    "tick",
]
DONE = [
    "done",
    "complete",
    "completed",
    "finished",
    "sorted",
    "handled",
    "dealt with",
    "taken care of",
    "ticked off",
    "checked off",
    "crossed off",
    "closed",
    "paid",
    "booked",
    "bought",
    "called",
    "sent",
    "renewed",
    "fixed",
    "done and dusted",
]
# "I finished the groceries", "I've done task 2".
DID = [
    "(?:i|we)(?:'ve| have|ve)? (?:just |already |finally )?(?:finished|completed|done|did|sorted|handled|bought|paid|called|rang|rung|phoned|sent|cleaned|washed|watered|booked|renewed|fixed|got|ticked off|checked off|crossed off)",
    "(?:i'?m|i am|we'?re|we are) (?:all )?(?:done|finished) (?:with|w/)",
    "done with",
    "finished with",
]

REOPEN = [
    "re-?open",
    "un-?mark",
    "un-?check",
    "un-?tick",
    "un-?complete",
    "un-?finish",
    "restart",
    "re-?activate",
    "open",
    "put back",
    "bring back",
]
NOT_DONE = [
    "not done",
    "undone",
    "open",
    "incomplete",
    "unfinished",
    "not finished",
    "not complete",
    "not completed",
    "to do",
    "todo",
    "pending",
    "active",
    "not done yet",
]

DELETE = [
    "delete",
    "remove",
    "drop",
    "erase",
    "cancel",
    "scratch",
    "forget(?: about)?",
    "get rid of",
    "bin",
    "ditch",
    "trash",
    "strike",
    "nuke",
    "kill",
    "lose",
    "dump",
    "discard",
    "axe",
    "take off",
    "take out",
    "throw away",
    "throw out",
    "clear",
    "del",
    "rm",
]
# Requests to change everything at once, which no tool does: the model asks instead.
BULK = [
    "(?:clear|wipe|empty|reset|nuke|delete|remove|erase|purge|trash) (?:out )?(?:{list}|everything|it all|all(?: of)?(?: my| the)? ?(?:tasks|todos|items|things|list)?|the whole (?:thing|list))(?: .*)?",
    "(?:mark|complete|finish|tick off|check off|cross off) (?:everything|all(?: of)?(?: my| the)? ?(?:tasks|todos|items|things)?|them all)(?: .*)?",
    "start (?:over|again|fresh)(?: .*)?",
]

RENAME = [
    "rename",
    "retitle",
    "re-?name",
    "change",
    "edit",
    "update",
    "modify",
    "amend",
    "correct",
    "fix",
    "replace",
    "reword",
    "switch",
]
RENAME_TO = ["to say", "to read", "to", "into", "so it says", "so it reads", "with", "as"]
# Phrasings that set a due date: "move the plumber to friday".
RESCHEDULE = [
    "move",
    "push",
    "reschedule",
    "postpone",
    "delay",
    "bump",
    "shift",
    "put off",
    "defer",
    "change",
    "set",
    "make",
    "update",
]
# What a due date is called ("no deadline for it").
DUE_WORD = ["due dates?", "due", "deadlines?", "dates?"]

NOTE_OPENING = [
    "(?:add|append|attach|put|write|include|stick|leave)(?: a)? (?:note|notes|comment|detail|details)",
    "note",
    "notes",
    "comment",
]

UNDO = [
    "undo",
    "undo (?:that|it|this|the last (?:one|change|thing|action|step)|my last (?:change|action)|last change|the change)",
    "revert(?: that| it| the last change| my last change)?",
    "take (?:that|it) back",
    "scratch that",
    "roll ?back(?: that| the last change)?",
    "go back(?: one step)?",
    "reverse (?:that|it|the last change)",
    "oops,? undo(?: that| it)?",
    "i didn't mean (?:that|to do that)",
    "that was a mistake",
    "put it back(?: how it was| the way it was)",
    "ctrl[- ]?z",
]

# --- conversation, greetings, help ---------------------------------------------------------

RECALL_FIRST = [
    "what (?:did|was it) i (?:say|ask|type|write|tell you)(?: you)? (?:first|at first|at the start|at the beginning|to begin with|initially)(?: .*)?",
    "what was (?:my|the) (?:very )?first (?:thing i said|message|question|thing)(?: .*)?",
    "how did (?:i|we) start(?: .*)?",
    "what did (?:i|we) start with",
]
RECALL_LAST = [
    "what (?:did|was it) i (?:just |last )?(?:say|ask|type|write|tell)(?: you| to you| before| before that| last| just now| a moment ago| earlier)?",
    "what was (?:my|the) (?:last|previous) (?:message|question|thing i said|request)(?: .*)?",
    "what did i (?:just )?(?:ask|say)(?: you)?(?: for)?",
    "what were we (?:just )?(?:talking|saying) about",
]
RECALL_ADDED = [
    "what (?:was|is|were) (?:the )?(?:last|latest|most recent|previous) (?:task|thing|item|todo|one)(?: that)? (?:i|we) added(?: .*)?",
    "what did (?:i|we) (?:just |last )?add(?: last| just now)?",
    "which (?:task|one) did (?:i|we) (?:just |last )?add(?: last)?",
    "what (?:was|is) the last (?:task|thing|item) (?:added|i added)",
]
RECALL_DONE = [
    "what (?:have|did) we (?:done|do|did|change|changed)(?: so far| today| in this (?:chat|conversation)| here| together)?",
    "what (?:have|did) you (?:done|do|did|change|changed)(?: so far| for me| today| in this (?:chat|conversation))?",
    "what(?:'s| has) (?:happened|changed)(?: so far)?(?: .*)?",
    "(?:give me a |a )?(?:recap|summary|summarise|summarize)(?: .*)?",
    "(?:summarise|summarize|recap) (?:this|the|our) (?:chat|conversation|session)",
]

GREETING = [
    "hi",
    "hello",
    "hey",
    "hiya",
    "heya",
    "yo",
    "howdy",
    "hey there",
    "hi there",
    "hello there",
    "good (?:morning|afternoon|evening|day)",
    "morning",
    "evening",
    "greetings",
    "sup",
    "what'?s up",
    "how are you(?: doing| today)?",
]
THANKS = [
    "thanks?(?: you)?(?: so much| very much| a lot| heaps| a bunch)?",
    "thx",
    "ty",
    "cheers",
    "ta",
    "nice",
    "great",
    "perfect",
    "awesome",
    "cool",
    "brilliant",
    "lovely",
    "good job",
    "well done",
    "much appreciated",
    "appreciate it",
    "ok(?:ay)?(?: thanks)?",
    "got it",
    "sounds good",
]
GOODBYE = [
    "bye",
    "goodbye",
    "good bye",
    "see (?:you|ya)",
    "exit",
    "quit",
    "q",
    "leave",
    "close",
    "stop",
    "cya",
    "later",
    "good night",
    "night",
]
HELP_ASK = [
    "help",
    "help me",
    "\\?+",
    "h",
    "commands",
    "usage",
    "what can (?:you|i) (?:do|say|ask)(?: here)?",
    "what do you do",
    "how (?:does this|do (?:i|you)) (?:work|use (?:this|you|it))",
    "how do i use (?:this|you|it|todochat)",
    "what are you",
    "who are you",
    "what is this",
    "instructions",
    "menu",
    "options",
    "i'?m (?:lost|confused|stuck)",
]
# Sounds that ask for nothing: answered with the help text.
FILLER = ["hm+", "huh", "what", "eh", "lol", "idk", "umm*", "err*", "meh", "test(?:ing)?", "\\.+"]
YES = [
    "y",
    "yes",
    "yeah",
    "yep",
    "yup",
    "sure",
    "ok",
    "okay",
    "please do",
    "do it",
    "go ahead",
    "go for it",
    "correct",
    "right",
    "absolutely",
    "yes please",
    "of course",
]
NO = [
    "n",
    "no",
    "nope",
    "nah",
    "never ?mind",
    "cancel",
    "don't",
    "do not",
    "leave it",
    "forget it",
    "no thanks",
]

# --- dates (handed verbatim to the tools, which parse them) ----------------------------------

WEEKDAY = (
    "(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tues?|weds|thu(?:rs?)?|fri)"
)
MONTH = "(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
ORDINAL = "(?:\\d{1,2}(?:st|nd|rd|th)?)"
TIME = "(?:at |@ ?|by )?(?:\\d{1,2}(?::\\d{2})? ?(?:am|pm|a\\.m\\.|p\\.m\\.)|\\d{1,2}:\\d{2}|noon|midday|midnight|lunch(?:time)?)"
DAY = [
    "today",
    "tonight",
    "this (?:morning|afternoon|evening)",
    "tomorrow(?: (?:morning|afternoon|evening|night))?",
    "the day after tomorrow",
    "(?:this |next |on |coming |this coming )?"
    + WEEKDAY
    + "(?: (?:morning|afternoon|evening|night))?",
    "(?:this|next|at the|on the) weekend",
    "(?:this|next) (?:week|month|year)",
    "in (?:\\d+|a|an|one|two|three|four|five|six|seven|ten|a few|a couple of) (?:minutes?|hours?|days?|weeks?|months?)",
    "(?:the )?end of (?:the )?(?:day|week|month|year)",
    "(?:the )?(?:start|beginning) of next (?:week|month)",
    "(?:on )?the " + ORDINAL + "(?: of " + MONTH + ")?",
    MONTH + " " + ORDINAL,
    ORDINAL + " (?:of )?" + MONTH,
    "\\d{4}-\\d{2}-\\d{2}(?:[ t]\\d{1,2}:\\d{2})?",
    "\\d{1,2}/\\d{1,2}(?:/\\d{2,4})?",
]
# Words that join a date to the rest ("due friday", "by the 30th"); "by" stays in the phrase.
DATE_JOIN = ["due(?: on)?", "on", "until", "till", "before"]
# Misspellings fixed before the phrase is handed on, so the tools' parser reads it.
DATE_SPELLING = {
    "tmrw": "tomorrow",
    "tmr": "tomorrow",
    "tomorow": "tomorrow",
    "tommorow": "tomorrow",
    "tommorrow": "tomorrow",
    "2moro": "tomorrow",
    "2morrow": "tomorrow",
    "tonite": "tonight",
    "2day": "today",
}
