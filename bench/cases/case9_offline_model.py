"""Case 9: the offline model on its labelled corpus (tests/data/offline_corpus.json).

Exact-match accuracy, wrong actions (a data-changing call the case did not expect: the number
that matters most), questions back, help answers, and the time to decide one message. The
decision is timed in process: it is pure, so nothing else would be measured.
"""

from __future__ import annotations

from bench import offline_corpus
from bench.report import Figure, Target
from bench.stats import percentile
from bench.workspace import Workspace

NUMBER = 9
TITLE = "offline model"


def run(ws: Workspace) -> list[Figure]:
    repeats = 1 if ws.scale.name == "quick" else 5
    outcomes = offline_corpus.run()
    seconds = [o.seconds for o in outcomes]
    for _ in range(repeats - 1):
        seconds += [o.seconds for o in offline_corpus.run()]
    correct = sum(o.correct for o in outcomes)
    return [
        Figure("corpus phrasings", len(outcomes), "count"),
        Figure("exact-match accuracy", 100 * correct / len(outcomes), "%", Target(">=", 97)),
        Figure("wrong actions", sum(o.wrong_actions for o in outcomes), "count", Target("<=", 0)),
        Figure("asks", sum(o.got == "asks" for o in outcomes), "count"),
        Figure("help answers", sum(o.got == "help" for o in outcomes), "count"),
        Figure("p95 time per message", percentile(seconds, 0.95) * 1000, "ms", Target("<=", 5)),
    ]
