"""Helpers the turn cases share: a conversation whose memory already holds 200 items."""

from __future__ import annotations

import random

from bench import items as item_shapes

TURN_TEXTS = ("create a task to buy item {n}", "what tasks do I have?")


def turn_text(n: int) -> str:
    """Alternate a write (add_task) and a read (list_tasks): one tool call per turn either way."""
    return TURN_TEXTS[n % 2].format(n=n)


async def fill_to(session, item_count: int, rng: random.Random) -> None:
    """Append whole generated turns until `session` holds exactly `item_count` items."""
    have = len(await session.get_items(limit=item_count + 1))
    missing = item_count - have
    if missing <= 0:
        return
    items = [
        item
        for with_reasoning in item_shapes.turn_plan(rng, missing)
        for item in item_shapes.turn(rng, with_reasoning)
    ]
    await session.add_items(items)


async def started_service(settings, user: str, item_count: int, rng: random.Random):
    """A ChatService with one real turn behind it and its memory filled to `item_count`."""
    from todochat.app import App

    service = App(settings).user(user).chat()
    await service.turn(turn_text(0))
    await fill_to(service.agent_session(), item_count, rng)
    return service
