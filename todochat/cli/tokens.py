"""`todochat tokens …`: the bearer tokens `todochat serve` accepts (made, listed, revoked).

Thin adapters over `todochat.access.tokens`. A new token is printed once, alone on the last
line of stdout (`TOKEN=$(todochat tokens create)`); only its hash is stored.
"""

from __future__ import annotations

import typer

from todochat.cli.common import Command, console, err_console, handle_errors, resolve_settings

tokens_app = typer.Typer(
    help="Bearer tokens for `todochat serve`.\n\nExample: todochat tokens create --name laptop",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(tokens_app, name="tokens")
    tokens_app.command("create", cls=Command)(create)
    tokens_app.command("list", cls=Command)(list_)
    tokens_app.command("revoke", cls=Command)(revoke)


def _tokens(settings):
    from todochat.app import App

    return App(settings).tokens


def create(
    user: str = typer.Option(None, "--user", help="Whose token (default: you)."),
    name: str = typer.Option("", "--name", help="A label to tell tokens apart (laptop, ci)."),
    operator: bool = typer.Option(
        False, "--operator", help="May also read /metrics (for a Prometheus scraper)."
    ),
) -> None:
    """Make a token for the server; it is printed once, alone on the last line.

    Example: todochat tokens create --name laptop   (or: --user bob, --operator --name prometheus)
    """
    from todochat.ui.render import stored

    settings = resolve_settings(user=user)
    with handle_errors():
        made = _tokens(settings).create(settings.user, name, operator)
    label = f" ({stored(made.label)})" if made.label else ""
    err_console.print(
        f"Token {made.id} for {stored(made.user)}{label}: shown once, keep it now "
        "(only its hash is stored). Use it as: Authorization: Bearer TOKEN"
    )
    typer.echo(made.token)


def list_(
    user: str = typer.Option(None, "--user", help="Only this user's tokens (default: all)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """List the tokens (never the tokens themselves): id, user, name, when made, revoked.

    Example: todochat tokens list --user alice --json
    """
    settings = resolve_settings()
    with handle_errors():
        rows = _tokens(settings).list(user)
    if as_json:
        from todochat.cli.conversations import echo_json
        from todochat.ui.serialize import value

        names = {"label": "name"}  # as the option that sets it
        echo_json([{names.get(k, k): value(v) for k, v in r._mapping.items()} for r in rows])
    elif not rows:
        console.print("No tokens yet. Make one with: todochat tokens create")
    elif console.is_terminal:
        from todochat.ui.render import tokens_table

        console.print(tokens_table(rows))
    else:
        from todochat.cli.conversations import echo_lines
        from todochat.ui.render import tokens_plain

        echo_lines(tokens_plain(rows))


def revoke(token_id: int = typer.Argument(..., help="The token's id (see `tokens list`).")) -> None:
    """Revoke a token: requests bearing it are refused (401) from now on.

    Example: todochat tokens revoke 3
    """
    settings = resolve_settings()
    with handle_errors():
        revoked = _tokens(settings).revoke(token_id)
    typer.echo(
        f"Token {token_id} revoked." if revoked else f"Token {token_id} was revoked already."
    )
