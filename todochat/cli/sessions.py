"""`todochat sessions …` and `todochat cleanup`: agent-memory administration.

Thin adapters over the core's `app.user(name).memory` (which sessions are whose, the privacy
rules) and `app.memory` (the spec's `SessionManager`): parse options, call one core function, render. They never
import the Agents SDK (admin commands start fast), and never show a session id:
conversations are named by their short id.
"""

from __future__ import annotations

import json
import shlex
import shutil
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from todochat.cli.common import (
    Command,
    console,
    current_user,
    error,
    handle_errors,
    nonblank_conversation,
)
from todochat.config import Settings
from todochat.identity import short_id
from todochat.ui.render import ago, memories_plain, shown

sessions_app = typer.Typer(
    help="Inspect and maintain agent memory.\n\nExample: todochat sessions list",
    no_args_is_help=True,
)

FORMATS = ("text", "json", "prometheus")


def register(app: typer.Typer) -> None:
    app.add_typer(sessions_app, name="sessions")
    app.command("cleanup", cls=Command)(cleanup)


# --- options shared by the commands -----------------------------------------------------------

USER = typer.Option(None, "--user", help="Whose conversations (default: you).")
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")
ALL_USERS = typer.Option(
    False, "--all-users", help="Operators: every user's sessions (needed for --session-id)."
)
SESSION_ID = typer.Option(
    None, "--session-id", help="Operators (with --all-users): name an agent session by id."
)
CONVERSATION = typer.Argument(
    None, help="Conversation id or unique prefix (yours).", callback=nonblank_conversation
)


def _check_target(conversation: str | None, session_id: str | None, all_users: bool) -> None:
    """A conversation of yours, or (operators only) a session named by id: usage errors."""
    if session_id is not None and not all_users:
        raise error("--session-id is for operators: add --all-users", 2)
    if session_id is not None and not session_id.strip():
        raise error("--session-id is empty", 2)
    if session_id and conversation:
        raise error("name a conversation or pass --session-id, not both", 2)
    if not session_id and not conversation:
        raise error("name a conversation (id or unique prefix) or pass --session-id", 2)


# --- rendering ------------------------------------------------------------------------------


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, default=_json_default))


def _json_default(value: Any) -> Any:
    """Times as every other command's JSON has them: ISO 8601 UTC ending in `Z`."""
    if isinstance(value, datetime):
        from todochat.ui.serialize import iso

        return iso(value)
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


@sessions_app.command("list", cls=Command)
def list_(all_users: bool = ALL_USERS, user: str = USER, as_json: bool = JSON) -> None:
    """List your conversations' agent memories: short id, title, items, last activity.

    Example: todochat sessions list --json
    """
    me = current_user(user)
    with handle_errors():
        described = _run(me.memory.list(all_users))
    if as_json:
        _print_json(described)
    else:
        _print_list(described, all_users)


def _print_list(described: list[dict[str, Any]], all_users: bool) -> None:

    if not described:
        typer.echo("No agent memory yet. It starts with your first chat turn.")
        return
    if not console.is_terminal:  # a pipe: lines, as the other listing commands print
        typer.echo("\n".join(memories_plain(described, all_users)))
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
            ago(entry["last_activity"]) if entry["last_activity"] else "unknown",
        ]
        row = ([entry["user"] or "-"] if all_users else []) + cells
        table.add_row(*(shown(cell) for cell in row))
    console.print(table)


# --- sessions stats -----------------------------------------------------------------------------


@sessions_app.command("stats", cls=Command)
def stats(
    conversation: str = CONVERSATION,
    session_id: str = SESSION_ID,
    all_users: bool = ALL_USERS,
    output: str = typer.Option(
        "text", "--format", help="text, json, or prometheus (node_exporter textfile collector)."
    ),
    as_json: bool = JSON,
    user: str = USER,
    deep: bool = typer.Option(
        False,
        "--deep",
        help="Count corrupt items now (reads every item: seconds on a large file) "
        "instead of showing the last recorded count.",
    ),
    to_file: str = typer.Option(
        None,
        "--output",
        help="With --format prometheus: replace this file at once (a temporary file beside "
        "it, renamed over it), for node_exporter's textfile collector.",
    ),
) -> None:
    """Agent-memory figures: one conversation's, or totals for the whole file.

    The totals list your largest conversations (everyone's with --all-users), the cleanup
    job's health, turn latency, and the spec's alerts. The file-wide corrupt-item count is
    the one recorded by the last `sessions repair` or `--deep`, shown with its time.

    Example: todochat sessions stats --format prometheus --output /var/lib/node_exporter/todochat.prom
    """
    output = "json" if as_json else output
    if output not in FORMATS:
        raise error(f"--format must be one of {', '.join(FORMATS)}, got {output!r}", 2)
    if to_file is not None and output != "prometheus":
        raise error("--output goes with --format prometheus", 2)
    if conversation is not None or session_id is not None:
        if deep:
            raise error("--deep is for the totals; drop the conversation", 2)
        _session_stats(conversation, session_id, all_users, output, user)
        return
    me = current_user(user)
    largest = 0 if output == "prometheus" else 5  # the gauges need no app database
    with handle_errors():
        figures = _run(me.memory.totals(all_users, largest, deep))
    if output == "json":
        _print_json(figures)
    elif output == "prometheus":
        _print_prometheus(figures, to_file)
    else:
        _print_totals(figures, all_users)


def _print_prometheus(figures: dict[str, Any], to_file: str | None) -> None:
    from todochat.memory.prometheus import prometheus_text, write_textfile

    text = prometheus_text(figures)
    if to_file is None:
        typer.echo(text, nl=False)
        return
    with handle_errors():
        write_textfile(to_file, text)


def _session_stats(conversation, session_id, all_users: bool, output: str, user) -> None:
    if output == "prometheus":
        raise error("--format prometheus is for the totals; drop the conversation", 2)
    _check_target(conversation, session_id, all_users)
    me = current_user(user)
    settings = me.app.settings
    with handle_errors():
        target = me.memory.resolve_target(conversation, session_id)
        figures = _run(me.memory.stats(target))
    if output == "json":
        _print_json(figures)
        return
    typer.echo(
        f"Agent memory of {target.label}: {figures['message_count']} of "
        f"{settings.agent_session_max_messages} items "
        f"({figures['user']} user, {figures['assistant']} assistant, "
        f"{figures['tool_call']} tool calls, {figures['tool_output']} tool outputs, "
        f"{figures['other']} other), {figures['corrupt_items']} corrupt, "
        f"{human_bytes(figures['bytes'])}.\n"
        f"Created {_time(figures['created_at'])}; "
        f"last activity {_time(figures['last_activity'])}."
    )


def _print_totals(figures: dict[str, Any], all_users: bool) -> None:
    lines = [
        f"Agent memory: {figures['path']}" + ("" if figures["file_exists"] else " (no file yet)"),
        f"sessions: {figures['sessions']} (active: {figures['active_sessions']}, "
        f"due for cleanup: {figures['sessions_due_for_cleanup']})",
        f"items: {figures['items']} (average {figures['average_items_per_session']:.1f} per "
        f"session; corrupt: {_corrupt(figures)}; orphaned: {figures['orphan_items']})",
        f"database: {human_bytes(figures['database_bytes'])} "
        f"(WAL: {human_bytes(figures['wal_bytes'])})",
    ]
    largest = figures["largest_sessions"]
    if largest:
        whose = "largest sessions" if all_users else "your largest sessions"
        lines.append(f"{whose}: " + ", ".join(_largest(entry) for entry in largest))
    lines += [_cleanup_line(figures["cleanup"]), _latency_line(figures["latency"])]
    lines += [f"ALERT: {ALERTS[name]}" for name, firing in figures["alerts"].items() if firing]
    typer.echo("\n".join(lines))


ALERTS = {
    "database_size": "database larger than 500 MB: investigate retention",
    "active_sessions": "more than 10,000 active sessions: plan capacity",
    "cleanup_failed": "the last cleanup failed: manual intervention needed",
    "cleanup_stale": "no cleanup succeeded for more than 26 hours: check the cron job",
    "retrieval_p95": "retrieval p95 above 100 ms: performance issue",
}


def _cleanup_line(health: dict[str, Any]) -> str:
    """Last attempt and outcome, last success and success rate, in one line."""
    last = health["last_attempt"]
    if last is None:
        return "cleanup: no run recorded (`todochat cleanup --print-cron` gives the cron line)"
    outcome = last["outcome"]
    if outcome == "failed":
        outcome += f" ({last['error']})"
    elif outcome == "ok":
        outcome += f" (deleted {last['sessions']} sessions, {last['items']} items)"
    runs = health["runs"]
    attempts = runs["ok"] + runs["failed"] + runs["interrupted"]
    rate = f"{health['success_rate']:.0%}" if attempts else "n/a"
    return (
        f"cleanup: last run {_time(last['started_at'])}: {outcome}; last success "
        f"{_time(health['last_success_at'])}; success rate {rate} "
        f"({runs['ok']} of {attempts} recorded attempts)"
    )


def _latency_line(figures: dict[str, Any]) -> str:
    hours = figures["window_hours"]
    if not figures["window_turns"]:
        return f"turn latency: no chat turn in the last {hours} hours"
    return (
        f"turn latency over the last {figures['window_turns']} turns ({hours} h): retrieval "
        f"p50 {_ms(figures['retrieval_p50_seconds'])}, p95 "
        f"{_ms(figures['retrieval_p95_seconds'])}; outside the model p50 "
        f"{_ms(figures['outside_model_p50_seconds'])}, p95 "
        f"{_ms(figures['outside_model_p95_seconds'])}"
    )


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _corrupt(figures: dict[str, Any]) -> str:
    """The recorded corrupt-item count with its time: never a stale figure passed as fresh."""
    if figures["corrupt_items"] is None:
        return "not measured (`sessions repair` or `sessions stats --deep`)"
    return f"{figures['corrupt_items']} as of {_time(figures['corrupt_items_measured_at'])}"


def _largest(entry: dict[str, Any]) -> str:
    name = entry["conversation"] or "(other)"
    if entry.get("user"):
        name += f" of {entry['user']}"
    return f"{name} ({entry['items']} items)"


# --- sessions prune / clear / repair ----------------------------------------------------------


@sessions_app.command("prune", cls=Command)
def prune(
    conversation: str = CONVERSATION,
    all_: bool = typer.Option(False, "--all", help="Prune every one of your conversations."),
    all_users: bool = ALL_USERS,
    session_id: str = SESSION_ID,
    user: str = USER,
    as_json: bool = JSON,
) -> None:
    """Trim agent memory to AGENT_SESSION_MAX_MESSAGES items, cutting only at whole turns.

    Example: todochat sessions prune --all
    """
    if all_ and (conversation or session_id):
        raise error("use --all or name a conversation, not both", 2)
    if all_users and not (all_ or session_id):
        raise error("--all-users goes with --all or --session-id", 2)
    if not (all_ or conversation or session_id):
        raise error("name a conversation (id or unique prefix), or pass --all for all of yours", 2)
    if not all_:
        _check_target(conversation, session_id, all_users)
    me = current_user(user)
    with handle_errors():
        if all_:
            sessions, items = _run(me.memory.prune_all(all_users))
            label = f"{sessions} sessions"
        else:
            target = me.memory.resolve_target(conversation, session_id)
            items, label = _run(me.memory.prune(target)), target.label
    limit = me.app.settings.agent_session_max_messages
    if as_json:
        _print_json({"items_removed": items, "max_messages": limit})
    else:
        typer.echo(f"Removed {items} items from {label} (limit {limit}).")


@sessions_app.command("clear", cls=Command)
def clear(
    conversation: str = CONVERSATION,
    session_id: str = SESSION_ID,
    all_users: bool = ALL_USERS,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    user: str = USER,
    as_json: bool = JSON,
) -> None:
    """Forget a conversation's agent memory: a fresh start (the log is kept, no rebuild).

    Example: todochat sessions clear 3f2a --yes
    """
    _check_target(conversation, session_id, all_users)
    me = current_user(user)
    with handle_errors():
        target = me.memory.resolve_target(conversation, session_id)
    if not yes:
        if not sys.stdin.isatty():
            raise error("not a terminal: pass --yes to clear without asking", 2)
        if not typer.confirm(f"Clear the agent memory of {target.label}? The log is kept.", False):
            typer.echo("Kept.")
            return
    with handle_errors():
        items = _run(me.memory.clear(target))
    if as_json:
        # The operator typed the session id; a user's conversation goes by its short id.
        cleared = session_id or short_id(target.owner[1])
        _print_json({"cleared": cleared, "items": items})
    else:
        typer.echo(f"Cleared {items} items from {target.label}: its next turn starts afresh.")


@sessions_app.command("repair", cls=Command)
def repair(
    move_aside: bool = typer.Option(
        False, "--move-aside", help="Set a damaged file aside; chats rebuild from the log."
    ),
    as_json: bool = JSON,
) -> None:
    """Remove corrupt items and run SQLite's quick check on the agent-memory file.

    Example: todochat sessions repair
    """
    manager = current_user().app.memory
    with handle_errors():
        report = _run(manager.repair())
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
        5.0,
        "--wait",
        callback=lambda value: _seconds("--wait", value),
        help="Seconds to wait for another running cleanup, and for each write lock held "
        "elsewhere on the file (a few tries).",
    ),
    print_cron: bool = typer.Option(False, "--print-cron", help="Print the crontab line."),
) -> None:
    """Delete agent memory idle longer than AGENT_SESSION_RETENTION_DAYS (for cron).

    Prints one summary line; exit 0 on success, 1 on failure. Never touches the app database.
    Each run but a dry run is recorded in the memory file: `sessions stats` shows its health.

    Example, keeping your other crontab lines:

    \b
    ( crontab -l 2>/dev/null; todochat cleanup --print-cron ) | crontab -
    """
    app = current_user().app
    if print_cron:
        typer.echo(cron_line(app.settings))
        return
    manager = app.memory
    with handle_errors():
        report = _run(
            manager.cleanup(
                older_than_days=older_than, dry_run=dry_run, vacuum=vacuum, lock_wait=wait
            )
        )
    if as_json:
        _print_json({"path": manager.db_path, **report.as_dict()})
    else:
        typer.echo(cleanup_summary(manager.db_path, report))
    if report.record_error:
        typer.echo(f"Warning: this run was not recorded ({report.record_error})", err=True)


MAX_WAIT = 86_400.0  # a day: a longer wait is a typo, not a plan


def _seconds(option: str, value: float) -> float:
    """A wait in seconds, finite and at most a day: `nan` or `inf` is a usage error, one line."""
    if not 0 <= value <= MAX_WAIT:  # False for nan too
        raise error(f"{option} takes seconds from 0 to {MAX_WAIT:.0f}, not {value:g}", 2)
    return value


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


def _run(coroutine):
    """asyncio.run, imported only by the commands that need it (start-up time)."""
    import asyncio

    return asyncio.run(coroutine)


def cron_line(settings: Settings) -> str:
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
