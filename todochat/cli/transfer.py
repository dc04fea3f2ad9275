"""`todochat export` and `todochat import`: the log in a file, and back (or to another
database: the way from the embedded SQLite default to PostgreSQL)."""

from __future__ import annotations

import typer

from todochat.cli.common import Command, current_user, err_console, error, handle_errors
from todochat.ui.render import stored

FORMATS = ("json", "markdown")
CONVERSATIONS = typer.Argument(None, help="Conversation ids or unique prefixes.")


def register(app: typer.Typer) -> None:
    app.command("export", cls=Command)(export)
    app.command("import", cls=Command)(import_)


def export(
    conversations: list[str] = CONVERSATIONS,
    all_: bool = typer.Option(False, "--all", help="Your whole log, with your tasks."),
    latest: bool = typer.Option(
        False, "--latest", "-c", help="Your latest conversation (the one `chat -c` resumes)."
    ),
    all_users: bool = typer.Option(False, "--all-users", help="Operators: every user's log."),
    format_: str = typer.Option("json", "--format", help="json (for import) or markdown."),
    output: str = typer.Option(None, "--output", "-o", help="Write to this file, not stdout."),
    force: bool = typer.Option(False, "--force", help="Replace the -o file if it exists."),
    user: str = typer.Option(None, "--user", help="Whose log (default: you)."),
) -> None:
    """Export conversations (and, with --all, your tasks) as JSON or Markdown.

    Example: todochat export --all -o todochat-backup.json   (or: todochat export -c)
    """
    from todochat.ui.markdown_export import export_markdown
    from todochat.ui.serialize import to_json

    conversations = conversations or []
    if latest and (conversations or all_ or all_users):
        raise error("use either -c (--latest) or conversation ids / --all, not both", 2)
    _check_export(conversations, all_ or latest, all_users, format_)
    me = current_user(user)
    with handle_errors():
        if latest:
            conversations = [me.log.conversation_or_latest(None).id.hex]
        refs = conversations or None
        document = me.app.export_everyone() if all_users else me.log.export(refs)
        text = export_markdown(document) if format_ == "markdown" else to_json(document) + "\n"
        if output is None:
            typer.echo(_shown(text, format_), nl=False)
            return
        from todochat.log.export import export_counts
        from todochat.ui.files import write_atomically

        write_atomically(output, text, replace=force)
    chats, messages, tasks = export_counts(document)
    err_console.print(f"Exported {_counts(chats, messages, tasks)} to {output}.")


def _counts(conversations: int, messages: int, tasks: int) -> str:
    from todochat.log.forget import count

    return (
        f"{count(conversations, 'conversation')}, {count(messages, 'message')} "
        f"and {count(tasks, 'task')}"
    )


def _shown(text: str, format_: str) -> str:

    return stored(text) if format_ == "markdown" else text


def _check_export(conversations: list[str], all_: bool, all_users: bool, format_: str) -> None:
    if format_ not in FORMATS:
        raise error(f"--format is json or markdown, not {format_!r}", 2)
    if conversations and (all_ or all_users):
        raise error("use either conversation ids or --all / --all-users, not both", 2)
    if not conversations and not (all_ or all_users):
        raise error("name the conversations to export, or use --all", 2)
    if any(not ref.strip() for ref in conversations):
        raise error("a conversation is empty: give its id or a unique prefix", 2)


def import_(
    file: str = typer.Argument(..., help="A JSON file made by `todochat export`."),
) -> None:
    """Load a JSON export into the configured app database (times kept, new message ids).

    The whole file or nothing; importing the same file again adds nothing.
    Example: todochat import todochat-backup.json
    """
    app = current_user().app
    with handle_errors():
        report = app.import_file(file)
    line = f"Imported {_counts(report.conversations, report.messages, report.tasks)}."
    if report.renumbered:
        line += f" {report.renumbered} tasks got new numbers (theirs were taken)."
    if report.skipped:
        line += f" Skipped {report.skipped} items that belong to another user."
    typer.echo(line)
