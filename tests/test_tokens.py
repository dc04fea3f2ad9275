"""`todochat tokens`: a token is printed once, alone on stdout's last line; only its hash is
stored; list never shows one; revoke refuses it from then on. Bad input is one line."""

from __future__ import annotations

import json
import subprocess

from conftest import TODOCHAT, subprocess_env
from sqlalchemy import text
from test_cli_data import out, run

from todochat.access.tokens import ApiTokens, token_hash
from todochat.db import open_database


def _create(env, *args: str) -> str:
    done = subprocess.run(
        [*TODOCHAT, "tokens", "create", *args],
        env=subprocess_env(env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("\n") and done.stdout.count("\n") == 1, done.stdout
    assert "shown once" in done.stderr and done.stdout.strip() not in done.stderr
    return done.stdout.strip()


def test_create_prints_the_token_once_and_stores_only_its_hash(env):
    token = _create(env, "--name", "laptop")
    assert token.startswith("tdc_") and len(token) > 40
    database = open_database(env["DATABASE_URL"])
    with database.engine.connect() as conn:
        stored = conn.execute(text("SELECT token_hash, label, operator FROM api_tokens")).all()
    assert [tuple(row) for row in stored] == [(token_hash(token), "laptop", False)]
    assert ApiTokens(database).bearer(token) == ("alice", False)
    listed = out("tokens", "list")
    assert token not in listed and token_hash(token) not in listed
    assert listed.split("\t")[:3] == ["1", "alice", "laptop"]


def test_list_json_revoke_and_a_revoked_token_is_refused(env):
    alice = _create(env)
    bob = _create(env, "--user", "bob", "--name", "scraper", "--operator")
    tokens = ApiTokens(open_database(env["DATABASE_URL"]))
    assert tokens.bearer(bob) == ("bob", True)
    listed = json.loads(out("tokens", "list", "--json", "--user", "bob"))
    assert [(t["id"], t["user"], t["name"], t["operator"]) for t in listed] == [
        (2, "bob", "scraper", True)
    ]
    assert set(listed[0]) == {"id", "user", "name", "operator", "created_at", "revoked_at"}
    assert out("tokens", "revoke", "1") == "Token 1 revoked.\n"
    assert out("tokens", "revoke", "1") == "Token 1 was revoked already.\n"
    assert tokens.bearer(alice) is None and tokens.bearer(bob) == ("bob", True)
    assert json.loads(out("tokens", "list", "--json"))[0]["revoked_at"] is not None


def test_bad_input_is_one_line(env):
    missing = run("tokens", "revoke", "7")
    assert (missing.exit_code, missing.stderr) == (
        1,
        "Error: no token 7 (see `todochat tokens list`)\n",
    )
    junk = run("tokens", "create", "--name", "a\x1bb")
    assert (junk.exit_code, junk.stderr) == (1, "Error: a token name must be printable\n")
    long = run("tokens", "create", "--name", "x" * 101)
    assert long.stderr == "Error: a token name is at most 100 characters\n"
    assert out("tokens", "list") == "No tokens yet. Make one with: todochat tokens create\n"


def test_unknown_malformed_and_overlong_tokens_are_nobody(env):
    tokens = ApiTokens(open_database(env["DATABASE_URL"]))
    for token in ("", "tdc_", "tdc_nope", "Bearer x", "tdc_" + "a" * 500, "tdc_\udc80"):
        assert tokens.bearer(token) is None
