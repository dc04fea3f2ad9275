"""`todochat sessions …` and `todochat cleanup`: agent-memory administration.

Thin adapters over `SessionManager`. They never import the Agents SDK (admin commands start
fast), and never show a session id: conversations are named by their short id.
"""

from __future__ import annotations

import asyncio
import json
import shlex
import shutil
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from todochat.cli.common import console, error, handle_errors, resolve_settings

sessions_app = typer.Typer(help="Inspect and maintain agent memory.", no_args_is_help=True)

FORMATS = ("text", "json", "prometheus")


def register(app: typer.Typer) -> None:
    app.add_typer(sessions_app, name="sessions")
    app.command("cleanup")(cleanup)


# --- options shared by the commands -----------------------------------------------------------

USER = typer.Option(None, "--user", help="Whose conversations (default: you).")
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")
SESSION_ID = typer.Option(
    None, "--session-id", help="Operators: name an agent session directly instead."
)
CONVERSATION = typer.Argument(None, help="Conversation id or unique prefix (yours).")


# --- the app database side: which sessions are this user's -----------------------------------


def _manager(settings):
    from todochat.agent.session_manager import SessionManager

    return SessionManager.from_settings(settings)


def _user_id(settings):
    from todochat.db import open_database
    from todochat.db import users as user_queries

    with open_database(settings.database_url).session() as session:
        user = user_queries.find_user(session, settings.user)
        return user.id if user else None


def _resolve(settings, conversation: str | None, session_id: str | None) -> tuple[str, str]:
    """(session id, label) for a conversation of this user, or an operator's `--session-id`."""
    from todochat.agent.session import get_session_id
    from todochat.db import conversations as conversation_queries
    from todochat.db import open_database
    from todochat.errors import NotFoundError

    if session_id:
        if conversation:
            raise error("name a conversation or pass --session-id, not both", 2)
        return session_id, "the named session"
    if not conversation:
        raise error("name a conversation (id or unique prefix) or pass --session-id", 2)
    user_id = _user_id(settings)
    if user_id is None:
        raise NotFoundError(f"no conversation {conversation!r} (see `todochat conversations`)")
    with open_database(settings.database_url).session() as session:
        found = conversation_queries.resolve_conversation(session, user_id, conversation)
    return get_session_id(user_id, found.id), f"conversation {found.id.hex[:8]}"


def _mark_reset(settings, session_id: str) -> None:
    """Record an explicit clear, so that the next turn starts afresh instead of rebuilding."""
    from todochat.agent.session import parse_session_id
    from todochat.db import conversations as conversation_queries
    from todochat.db import open_database
    from todochat.errors import NotFoundError

    parsed = parse_session_id(session_id)
    if parsed is None:
        return
    with open_database(settings.database_url).session() as session:
        try:
            found = conversation_queries.get_conversation(session, *parsed)
        except NotFoundError:
            return
        conversation_queries.mark_memory_reset(session, found)


def _describe(settings, rows, all_users: bool) -> list[dict[str, Any]]:
    """Session rows as conversations: short id, title and (for operators) the user's name."""
    from todochat.agent.session import parse_session_id
    from todochat.db import conversations as conversation_queries
    from todochat.db import open_database
    from todochat.db.models import User

    parsed = {row.session_id: parse_session_id(row.session_id) for row in rows}
    ids = [p[1] for p in parsed.values() if p]
    with open_database(settings.database_url).session() as session:
        found = conversation_queries.conversations_by_id(session, ids)
        names = {c.user_id: session.get(User, c.user_id).name for c in found.values()}
    described = []
    for row in rows:
        conversation = found.get(parsed[row.session_id][1]) if parsed[row.session_id] else None
        entry = {
            "conversation": conversation.id.hex[:8] if conversation else None,
            "title": (conversation.title if conversation else "") or "",
            "items": row.items,
            "last_activity": row.last_activity,
            "created_at": row.created_at,
        }
        if all_users:
            entry["user"] = names.get(conversation.user_id) if conversation else None
        described.append(entry)
    return described


# --- rendering ------------------------------------------------------------------------------


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def human_bytes(size: int) -> str:
    """1536 → `1.5 KB` (powers of 1024, as `ls -lh`)."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _time(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "never"


# --- sessions list ------------------------------------------------------------------------------


@sessions_app.command("list")
def list_(
    all_users: bool = typer.Option(False, "--all-users", help="Operators: every user's."),
    user: str = USER,
    as_json: bool = JSON,
) -> None:
    """List your conversations' agent memories: short id, title, items, last activity.

    Example: todochat sessions list --json
    """
    from todochat.agent.session import user_prefix

    settings = resolve_settings(user=user)
    with handle_errors():
        user_id = None if all_users else _user_id(settings)
        rows = []
        if all_users or user_id is not None:
            prefix = "" if all_users else user_prefix(user_id)
            rows = asyncio.run(_manager(settings).list_sessions(prefix))
        described = _describe(settings, rows, all_users) if rows else []
    if as_json:
        _print_json(described)
    else:
        _print_list(described, all_users)


def _print_list(described: list[dict[str, Any]], all_users: bool) -> None:
    from rich.table import Table

    from todochat.chat.render import ago

    if not described:
        typer.echo("No agent memory yet. It starts with your first chat turn.")
        return
    table = Table(show_edge=False, pad_edge=False)
    columns = ["conversation", "title", "items", "last activity"]
    for column in (["user"] if all_users else []) + columns:
        table.add_column(column, justify="right" if column == "items" else "left")
    for entry in described:
        cells = [
            entry["conversation"] or "-",
            entry["title"] or "(untitled)",
            str(entry["items"]),
            ago(entry["last_activity"]),
        ]
        table.add_row(*([entry["user"] or "-"] if all_users else []) + cells)
    console.print(table)


# --- sessions stats -----------------------------------------------------------------------------


@sessions_app.command("stats")
def stats(
    conversation: str = CONVERSATION,
    session_id: str = SESSION_ID,
    output: str = typer.Option(
        "text", "--format", help="text, json, or prometheus (node_exporter textfile collector)."
    ),
    as_json: bool = JSON,
    user: str = USER,
) -> None:
    """Agent-memory figures: one conversation's, or totals for the whole file.

    Example: todochat sessions stats --format prometheus > /var/lib/node_exporter/todochat.prom
    """
    output = "json" if as_json else output
    if output not in FORMATS:
        raise error(f"--format must be one of {', '.join(FORMATS)}, got {output!r}", 2)
    settings = resolve_settings(user=user)
    manager = _manager(settings)
    if conversation or session_id:
        _session_stats(settings, manager, conversation, session_id, output)
        return
    with handle_errors():
        figures = asyncio.run(manager.totals())
    if output == "json":
        _print_json({"path": manager.db_path, **figures})
    elif output == "prometheus":
        typer.echo(prometheus_text(figures), nl=False)
    else:
        _print_totals(manager, figures)


def _session_stats(settings, manager, conversation, session_id, output: str) -> None:
    if output == "prometheus":
        raise error("--format prometheus is for the totals; drop the conversation", 2)
    with handle_errors():
        target, label = _resolve(settings, conversation, session_id)
        figures = asyncio.run(manager.get_session_stats(target))
    if output == "json":
        _print_json(figures)
        return
    typer.echo(
        f"Agent memory of {label}: {figures['message_count']} of {manager.max_messages} items "
        f"({figures['user']} user, {figures['assistant']} assistant, "
        f"{figures['tool_call']} tool calls, {figures['tool_output']} tool outputs, "
        f"{figures['other']} other), {figures['corrupt_items']} corrupt, "
        f"{human_bytes(figures['bytes'])}.\n"
        f"Created {_time(figures['created_at'])}; "
        f"last activity {_time(figures['last_activity'])}."
    )


def _print_totals(manager, figures: dict[str, Any]) -> None:
    lines = [
        f"Agent memory: {manager.db_path}" + ("" if figures["file_exists"] else " (no file yet)"),
        f"sessions: {figures['sessions']} (active: {figures['active_sessions']}, "
        f"due for cleanup: {figures['sessions_due_for_cleanup']})",
        f"items: {figures['items']} (average {figures['average_items_per_session']:.1f} per "
        f"session; corrupt: {figures['corrupt_items']}; orphaned: {figures['orphan_items']})",
        f"database: {human_bytes(figures['database_bytes'])} "
        f"(WAL: {human_bytes(figures['wal_bytes'])})",
    ]
    largest = figures["largest_sessions"]
    if largest:
        lines.append("largest sessions: " + ", ".join(_largest(entry) for entry in largest))
    if figures["alerts"]["database_size"]:
        lines.append("ALERT: database larger than 500 MB: investigate retention")
    if figures["alerts"]["active_sessions"]:
        lines.append("ALERT: more than 10,000 active sessions: plan capacity")
    typer.echo("\n".join(lines))


def _largest(entry: dict[str, Any]) -> str:
    return f"{entry['conversation'] or '(other)'} ({entry['items']} items)"


PROMETHEUS_METRICS = (
    ("sessions", "sessions", "Agent sessions in the file."),
    ("active_sessions", "active_sessions", "Sessions written to within the retention period."),
    ("sessions_due_for_cleanup", "sessions_due_for_cleanup", "Sessions idle past retention."),
    ("items", "items", "Items (messages, tool calls, outputs) in agent memory."),
    ("average_items_per_session", "average_items_per_session", "Items per session."),
    ("corrupt_items", "corrupt_items", "Items that are not a JSON object."),
    ("orphan_items", "orphan_items", "Items whose session row is gone."),
    ("database_bytes", "database_bytes", "Size of the file plus its WAL."),
    ("wal_bytes", "wal_bytes", "Size of the write-ahead log."),
)


def prometheus_text(figures: dict[str, Any]) -> str:
    """The totals in the Prometheus text exposition format (all gauges)."""
    lines = []
    for key, name, help_text in PROMETHEUS_METRICS:
        metric = f"todochat_agent_memory_{name}"
        lines += [f"# HELP {metric} {help_text}", f"# TYPE {metric} gauge"]
        lines.append(f"{metric} {float(figures[key]):g}")
    metric = "todochat_agent_memory_alert"
    lines += [
        f"# HELP {metric} 1 when a spec alert threshold is crossed.",
        f"# TYPE {metric} gauge",
    ]
    for alert, firing in figures["alerts"].items():
        lines.append(f'{metric}{{alert="{alert}"}} {int(firing)}')
    return "\n".join(lines) + "\n"


# --- sessions prune / clear / repair ----------------------------------------------------------


@sessions_app.command("prune")
def prune(
    conversation: str = CONVERSATION,
    all_: bool = typer.Option(False, "--all", help="Prune every one of your conversations."),
    all_users: bool = typer.Option(False, "--all-users", help="With --all: every user's."),
    session_id: str = SESSION_ID,
    user: str = USER,
    as_json: bool = JSON,
) -> None:
    """Trim agent memory to AGENT_SESSION_MAX_MESSAGES items, cutting only at whole turns.

    Example: todochat sessions prune --all
    """
    from todochat.agent.session import user_prefix

    if all_users and not all_:
        raise error("--all-users goes with --all", 2)
    if all_ and (conversation or session_id):
        raise error("use --all or name a conversation, not both", 2)
    settings = resolve_settings(user=user)
    manager = _manager(settings)
    with handle_errors():
        if all_:
            user_id = None if all_users else _user_id(settings)
            sessions, items = 0, 0
            if all_users or user_id is not None:
                prefix = "" if all_users else user_prefix(user_id)
                sessions, items = asyncio.run(manager.prune_sessions(prefix))
            label = f"{sessions} sessions"
        else:
            target, label = _resolve(settings, conversation, session_id)
            items = asyncio.run(manager.prune_session_messages(target))
    if as_json:
        _print_json({"items_removed": items, "max_messages": manager.max_messages})
    else:
        typer.echo(f"Removed {items} items from {label} (limit {manager.max_messages}).")


@sessions_app.command("clear")
def clear(
    conversation: str = CONVERSATION,
    session_id: str = SESSION_ID,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    user: str = USER,
) -> None:
    """Forget a conversation's agent memory: a fresh start (the log is kept, no rebuild).

    Example: todochat sessions clear 3f2a --yes
    """
    settings = resolve_settings(user=user)
    with handle_errors():
        target, label = _resolve(settings, conversation, session_id)
    if not yes:
        if not sys.stdin.isatty():
            raise error("not a terminal: pass --yes to clear without asking", 2)
        if not typer.confirm(f"Clear the agent memory of {label}? The log is kept.", False):
            typer.echo("Kept.")
            return
    with handle_errors():
        items = asyncio.run(_manager(settings).clear_session(target))
        _mark_reset(settings, target)
    typer.echo(f"Cleared {items} items from {label}: its next turn starts afresh.")


@sessions_app.command("repair")
def repair(
    move_aside: bool = typer.Option(
        False, "--move-aside", help="Set a damaged file aside; chats rebuild from the log."
    ),
    as_json: bool = JSON,
) -> None:
    """Remove corrupt items and run SQLite's quick check on the agent-memory file.

    Example: todochat sessions repair
    """
    settings = resolve_settings()
    manager = _manager(settings)
    with handle_errors():
        report = asyncio.run(manager.repair())
        moved = manager.move_aside() if move_aside and not report.ok else None
    if as_json:
        _print_json({**report.__dict__, "ok": report.ok, "moved_to": str(moved or "") or None})
    else:
        _print_repair(manager, report, moved)
    if not report.ok and moved is None:
        raise error(
            "the agent-memory file is damaged; run `todochat sessions repair --move-aside` to "
            "set it aside (conversations rebuild from the log on their next turn)"
        )


def _print_repair(manager, report, moved: Path | None) -> None:
    if not report.file_exists:
        typer.echo(f"No agent memory at {manager.db_path}; nothing to repair.")
        return
    if report.ok:
        typer.echo(f"Removed {report.removed} corrupt items. Quick check: ok.")
        return
    typer.echo("Quick check found problems:\n  " + "\n  ".join(report.check[:10]))
    if moved is not None:
        typer.echo(f"Moved the file to {moved}; conversations rebuild from the log.")


# --- cleanup (cron) -----------------------------------------------------------------------------


def cleanup(
    dry_run: bool = typer.Option(False, "--dry-run", help="Report what would be deleted."),
    older_than: int = typer.Option(
        None, "--older-than", min=0, help="Idle days (default: AGENT_SESSION_RETENTION_DAYS)."
    ),
    vacuum: bool = typer.Option(False, "--vacuum", help="Full VACUUM afterwards (blocks writes)."),
    as_json: bool = JSON,
    wait: float = typer.Option(
        5.0, "--wait", min=0, help="Seconds to wait for another running cleanup."
    ),
    print_cron: bool = typer.Option(False, "--print-cron", help="Print the crontab line."),
) -> None:
    """Delete agent memory idle longer than AGENT_SESSION_RETENTION_DAYS (for cron).

    Prints one summary line; exit 0 on success, 1 on failure. Never touches the app database.

    Example: todochat cleanup --print-cron | crontab -
    """
    settings = resolve_settings()
    if print_cron:
        typer.echo(cron_line(settings))
        return
    manager = _manager(settings)
    with handle_errors():
        report = asyncio.run(
            manager.cleanup(
                older_than_days=older_than, dry_run=dry_run, vacuum=vacuum, lock_wait=wait
            )
        )
    if as_json:
        _print_json({"path": manager.db_path, **report.as_dict()})
    else:
        typer.echo(cleanup_summary(manager.db_path, report))


def cleanup_summary(path: str, report) -> str:
    """The one line cron mails: what went, how much space came back, how long it took."""
    if not report.file_exists:
        return f"cleanup: no agent memory at {path}; nothing to do"
    if report.another_run_active:
        return "cleanup: another cleanup is running; nothing done"
    what = (
        f"{report.sessions} sessions and {report.items} items idle over "
        f"{report.retention_days} days, {report.orphan_items} orphaned items"
    )
    if report.dry_run:
        return f"cleanup (dry run): would delete {what}"
    return (
        f"cleanup: deleted {what}; freed {human_bytes(report.bytes_freed)} "
        f"({human_bytes(report.bytes_before)} -> {human_bytes(report.bytes_after)})"
        f"{', vacuumed' if report.vacuumed else ''} in {report.seconds:.2f} s"
    )


def cron_line(settings) -> str:
    """A crontab line for AGENT_SESSION_CLEANUP_HOUR with absolute paths.

    It runs from the current directory (so `.env` applies) with the memory path pinned.
    """
    executable = shutil.which("todochat") or ""
    sibling = Path(sys.executable).parent / "todochat"
    if sibling.exists():
        executable = str(sibling)
    command = (
        shlex.quote(executable) if executable else f"{shlex.quote(sys.executable)} -m todochat"
    )
    memory = Path(settings.agent_session_db_path).absolute()
    line = (
        f"0 {settings.agent_session_cleanup_hour} * * * cd {shlex.quote(str(Path.cwd()))} && "
        f"AGENT_SESSION_DB_PATH={shlex.quote(str(memory))} {command} cleanup"
    )
    return line.replace("%", r"\%")  # cron turns a bare % into a newline
