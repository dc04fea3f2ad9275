"""Streamed replies on a terminal: Markdown split into settled blocks, each parsed once."""

from __future__ import annotations

import io

from rich.console import Console
from terminal import plain

from todochat.ui.markdown_blocks import MarkdownBlocks
from todochat.ui.render import StreamedReply

REPLY = (
    "# Plan\n\nFirst para\nstill first.\n\n- a\n- b\n\n  b continued\n\n"
    "```py\nx = 1\n\ny = 2\n```\n\nLast words"
)


def test_blocks_settle_at_top_level_boundaries_only():
    blocks, settled = MarkdownBlocks(), []
    for i in range(0, len(REPLY), 3):  # any split of the stream gives the same blocks
        settled += blocks.feed(REPLY[i : i + 3])
    assert settled == ["# Plan", "First para\nstill first.", "- a\n- b\n\n  b continued"]
    # The fenced block keeps its blank line; it is settled only by what follows it.
    assert blocks.tail == "```py\nx = 1\n\ny = 2\n```\n\nLast words"


def test_a_long_streamed_reply_is_parsed_about_once(monkeypatch):
    """Each character is parsed a bounded number of times, not once per chunk (quadratic)."""
    from markdown_it import MarkdownIt

    parsed = []
    real_parse = MarkdownIt.parse
    monkeypatch.setattr(
        MarkdownIt,
        "parse",
        lambda self, src, env=None: parsed.append(len(src)) or real_parse(self, src, env),
    )
    section = "Some **words** in a paragraph that runs on.\n\n- one\n- two\n\n"
    text = section * 100  # ~6 KB in ~1,000 word chunks
    console = Console(file=io.StringIO(), force_terminal=True, width=100, height=30)
    with StreamedReply(console) as reply:
        for word in text.split(" "):
            reply.add(word + " ")
    assert sum(parsed) <= 3 * len(text)
    assert "two" in console.file.getvalue()


def test_a_huge_open_block_is_previewed_by_its_last_lines_and_printed_whole_at_the_end():
    from todochat.ui.render import _Tail

    code = "```\n" + "".join(f"line {i}\n" for i in range(5000))  # ~50 KB, still open
    blocks = MarkdownBlocks()
    assert blocks.feed(code) == []
    preview = Console(file=io.StringIO(), width=80, height=10)
    preview.print(_Tail(blocks))
    shown = preview.file.getvalue()
    assert "line 4999" in shown and "line 100\n" not in shown

    console = Console(file=io.StringIO(), force_terminal=True, width=80, height=10)
    with StreamedReply(console) as reply:
        reply.add(code + "```\n")
    shown = plain(console.file.getvalue())
    assert "line 0 " in shown and "line 4999" in shown
