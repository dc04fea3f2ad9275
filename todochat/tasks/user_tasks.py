"""One user's tasks: the listing `tasks` and `/tasks` show, and `/undo`."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from todochat.tasks import dates
from todochat.tasks import queries as task_queries

if TYPE_CHECKING:
    from todochat.app import User


class UserTasks:
    """The user's todo list in the app database."""

    def __init__(self, user: User):
        self.user = user
        self.database = user.app.database

    def page(
        self,
        status: task_queries.Status = "open",
        due: task_queries.DueFilter | None = None,
        *,
        page: int = 1,
        size: int | None = 100,
        list_name: str | None = None,
    ) -> task_queries.TaskPage:
        """The `page`-th `size` tasks, soonest due first, and how many match in all
        (`size` None: every one); of one named list when `list_name` names one (matched
        loosely: "groceries" finds the grocery list)."""
        only = {"today": dates.today(self.user.app.timezone)}
        with self.database.session() as db:
            only["list_name"] = task_queries.which_list(db, self.user.id, list_name)
            if size is None:
                found = task_queries.list_tasks(db, self.user.id, status, due, **only)
                return task_queries.TaskPage(found, len(found), 1)
            return task_queries.task_page(
                db, self.user.id, status, due, page=page, size=size, **only
            )

    def turn_changes(self, conversation_id: uuid.UUID, message_id: int) -> list[str]:
        """The changes the turn asked by message `message_id` made, as history shows them
        under its reply (`added #3 call mom (due Fri 28 Nov)`); the server's `done` event."""
        from todochat.tasks.change_lines import lines_of_turn

        with self.database.session() as db:
            return lines_of_turn(db, conversation_id, message_id, self.user.app.timezone)

    def undo(self, conversation_id: uuid.UUID) -> str:
        """Revert the conversation's last change not yet undone; the line saying what."""
        # The change log is imported here, not with the listing `todochat tasks` starts with.
        from todochat.tasks import tasklist
        from todochat.tasks.change_log import Cause

        actor = tasklist.Actor(Cause(self.user.id, conversation_id), self.user.app.timezone)
        with self.database.session() as db:
            return tasklist.undo_and_describe(db, actor)
