"""`todochat sessions …` and `todochat cleanup`: agent-memory administration."""

from __future__ import annotations

import asyncio

import typer

from todochat.cli.common import console, handle_errors, resolve_settings

sessions_app = typer.Typer(help="Inspect and maintain agent memory.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(sessions_app, name="sessions")
    app.command("cleanup")(cleanup)


@sessions_app.command("stats")
def stats() -> None:
    """Totals for the agent-memory file.

    Example: todochat sessions stats
    """
    from todochat.agent.session_manager import SessionManager

    settings = resolve_settings()
    with handle_errors():
        manager = SessionManager.from_settings(settings)
        active = asyncio.run(manager.get_active_session_count())
        average = asyncio.run(manager.get_average_messages_per_session())
    console.print(
        f"active sessions: {active}\naverage items per session: {average:.1f}\n"
        f"database size: {manager.database_size()} bytes"
    )


def cleanup(
    dry_run: bool = typer.Option(False, "--dry-run", help="Report what would be deleted."),
) -> None:
    """Delete agent memory idle longer than AGENT_SESSION_RETENTION_DAYS (for cron).

    Example: todochat cleanup
    """
    from todochat.agent.session_manager import SessionManager

    settings = resolve_settings()
    with handle_errors():
        manager = SessionManager.from_settings(settings)
        deleted = 0 if dry_run else asyncio.run(manager.cleanup_inactive_sessions())
    console.print(f"cleanup: {deleted} sessions deleted")
