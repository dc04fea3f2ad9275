"""`todochat sessions list|stats|prune|clear|repair`: exact output, JSON, exit codes, no session ids."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest
from agent_memory import DAMAGED, add_session, stored, turns
from app_state import open_chat
from conftest import imported_by
from typer.testing import CliRunner

from todochat.cli import app

runner = CliRunner()


def cli(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input)


@pytest.fixture
def chatted(settings):
    """Alice has one conversation of two turns; Bob has one of one turn."""
    alice = open_chat(settings, user="alice")
    asyncio.run(alice.turn("create a task to buy groceries"))
    asyncio.run(alice.turn("add milk to that task"))
    bob = open_chat(settings, user="bob")
    asyncio.run(bob.turn("create a task to call mum"))
    alice.close(), bob.close()
    return alice, bob


def short(service) -> str:
    return service.conversation_id.hex[:8]


def test_list_shows_only_this_users_conversations(chatted):
    alice, bob = chatted
    result = cli("sessions", "list")
    assert result.exit_code == 0, result.output
    assert short(alice) in result.output and "create a task to buy groceries" in result.output
    assert short(bob) not in result.output
    assert "user_" not in result.output  # session ids are never shown


def test_list_json_and_all_users(chatted):
    alice, bob = chatted
    mine = json.loads(cli("sessions", "list", "--json").stdout)
    assert [(e["conversation"], e["items"]) for e in mine] == [(short(alice), 8)]
    # As search hits refer to a conversation: its full id too, under the same key.
    assert mine[0]["conversation_id"] == str(alice.conversation_id)
    everyone = json.loads(cli("sessions", "list", "--all-users", "--json").stdout)
    assert {(e["user"], e["conversation"]) for e in everyone} == {
        ("alice", short(alice)),
        ("bob", short(bob)),
    }
    assert "user_" not in json.dumps(everyone)


def test_stats_of_a_conversation_by_prefix(chatted):
    alice, _ = chatted
    result = cli("sessions", "stats", short(alice)[:5])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Agent memory of conversation {short(alice)}: 8 of 200 items")
    assert "2 user, 2 assistant, 2 tool calls, 2 tool outputs, 0 other), 0 corrupt" in result.stdout
    figures = json.loads(cli("sessions", "stats", short(alice), "--json").stdout)
    # Issue 21 (item 20): times as in every other command's JSON, UTC ending in "Z" (the
    # sessions commands alone wrote "+00:00").
    assert figures["message_count"] == 8 and figures["last_activity"].endswith("Z")


def test_stats_of_another_users_conversation_is_not_found(chatted):
    _, bob = chatted
    result = cli("sessions", "stats", short(bob))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: no conversation")


def test_stats_totals_text_json_and_prometheus(chatted, settings):
    alice, bob = chatted
    text = cli("sessions", "stats")
    assert text.exit_code == 0
    assert "sessions: 2 (active: 2, due for cleanup: 0)" in text.stdout
    assert (
        "items: 12 (average 6.0 per session; corrupt: not measured (`sessions repair` or "
        "`sessions stats --deep`); orphaned: 0)" in text.stdout
    )
    assert f"your largest sessions: {short(alice)} (8 items)\n" in text.stdout
    # (No size or capacity alert; how fast this machine served the turns is not the point.)
    assert "ALERT: database" not in text.stdout and "ALERT: more than" not in text.stdout
    assert "user_" not in text.stdout
    assert not_shown(text.stdout, bob)
    raw = cli("sessions", "stats", "--json").stdout
    assert "user_" not in raw and not_shown(raw, bob)
    figures = json.loads(raw)
    assert figures["sessions"] == 2 and figures["database_bytes"] > 0
    assert [(e["conversation"], e["items"]) for e in figures["largest_sessions"]] == [
        (short(alice), 8)
    ]
    samples = parse_prometheus(cli("sessions", "stats", "--format", "prometheus").stdout)
    assert samples["todochat_agent_memory_sessions"] == 2
    assert samples["todochat_agent_memory_items"] == 12
    assert samples['todochat_agent_memory_alert{alert="database_size"}'] == 0
    assert samples["todochat_agent_memory_database_bytes"] == figures["database_bytes"]


def not_shown(output: str, other) -> bool:
    """Nothing of another user's conversation: no short id, no ids, no title."""
    return not any(
        secret in output
        for secret in (
            short(other),
            str(other.conversation_id),
            str(other.user_id),
            "call mum",
        )
    )


def test_operators_see_everyones_largest_sessions_without_ids(chatted):
    alice, bob = chatted
    text = cli("sessions", "stats", "--all-users")
    assert (
        f"\nlargest sessions: {short(alice)} of alice (8 items), {short(bob)} of bob (4 items)\n"
        in text.stdout
    )
    assert "user_" not in text.stdout
    raw = cli("sessions", "stats", "--all-users", "--json").stdout
    assert "user_" not in raw
    assert [
        (e["user"], e["conversation"], e["items"]) for e in json.loads(raw)["largest_sessions"]
    ] == [("alice", short(alice), 8), ("bob", short(bob), 4)]


def test_someone_unknown_sees_totals_but_no_sessions(chatted):
    result = cli("sessions", "stats", "--user", "carol", "--json")
    figures = json.loads(result.stdout)
    assert figures["sessions"] == 2 and figures["largest_sessions"] == []
    assert "largest" not in cli("sessions", "stats", "--user", "carol").stdout


PROM_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[a-zA-Z_]\w*="[^"]*"\})?) (\S+)$')


def parse_prometheus(text: str) -> dict[str, float]:
    """A strict reader of the text exposition format: every metric has HELP and TYPE first."""
    assert text.endswith("\n")
    samples, typed = {}, set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("gauge", "counter", "summary")
            typed.add(name)
            if kind == "summary":
                typed |= {f"{name}_sum", f"{name}_count"}
            continue
        match = PROM_SAMPLE.match(line)
        assert match, line
        assert match[1].split("{")[0] in typed, line
        samples[match[1]] = float(match[2])
    return samples


def test_prune_a_conversation_and_all(env, monkeypatch, chatted):
    alice, _ = chatted
    monkeypatch.setenv("AGENT_SESSION_MAX_MESSAGES", "4")
    result = cli("sessions", "prune", short(alice))
    assert result.stdout == f"Removed 4 items from conversation {short(alice)} (limit 4).\n"
    assert json.loads(cli("sessions", "prune", "--all", "--json").stdout)["items_removed"] == 0
    monkeypatch.setenv("AGENT_SESSION_MAX_MESSAGES", "2")
    result = cli("sessions", "prune", "--all", "--all-users")
    assert result.stdout == "Removed 0 items from 0 sessions (limit 2).\n"  # one turn stays whole


def test_prune_usage_errors(chatted):
    assert cli("sessions", "prune").exit_code == 2
    assert cli("sessions", "prune", "--all-users").exit_code == 2
    assert cli("sessions", "prune", "abc", "--all").exit_code == 2


def test_clear_asks_and_refuses_without_a_terminal(chatted, settings):
    alice, _ = chatted
    refused = cli("sessions", "clear", short(alice))  # CliRunner's stdin is no terminal
    assert refused.exit_code == 2
    assert refused.stderr == "Error: not a terminal: pass --yes to clear without asking\n"
    assert len(stored(settings.agent_session_db_path, alice.session_id)) == 8


def test_clear_yes_is_a_fresh_start_without_rebuild(chatted, settings):
    alice, _ = chatted
    result = cli("sessions", "clear", short(alice), "--yes")
    assert (
        result.stdout
        == f"Cleared 8 items from conversation {short(alice)}: its next turn starts afresh.\n"
    )
    notices = []
    again = open_chat(settings, user="alice", notice=notices.append)
    again.resume(short(alice))
    asyncio.run(again.turn("what tasks do I have?"))
    items = asyncio.run(again.agent_session().get_items())
    again.close()
    assert items[0] == {"role": "user", "content": "what tasks do I have?"}
    assert notices == []


def test_operators_may_name_a_session_id(tmp_path, monkeypatch):
    path = tmp_path / "memory.db"
    monkeypatch.setenv("AGENT_SESSION_DB_PATH", str(path))
    monkeypatch.setenv("TODOCHAT_DATA_DIR", str(tmp_path))
    from agent_memory import new_file

    new_file(path)
    add_session(str(path), "custom", turns(3))
    result = cli("sessions", "stats", "--session-id", "custom", "--all-users", "--json")
    assert json.loads(result.stdout)["message_count"] == 12
    cleared = cli("sessions", "clear", "--session-id", "custom", "--all-users", "--yes", "--json")
    assert json.loads(cleared.stdout) == {"cleared": "custom", "items": 12}
    assert stored(str(path), "custom") == []


@pytest.mark.parametrize(
    "command",
    [
        ["sessions", "stats"],
        ["sessions", "stats", "--json"],
        ["sessions", "prune"],
        ["sessions", "clear", "--yes"],
    ],
)
def test_a_session_id_needs_the_operator_flag(chatted, settings, command):
    _, bob = chatted
    result = cli(*command, "--session-id", bob.session_id, "--user", "alice")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "Error: --session-id is for operators: add --all-users\n"
    assert len(stored(settings.agent_session_db_path, bob.session_id)) == 4


def test_an_operator_clears_a_users_conversation_by_session_id(chatted, settings):
    _, bob = chatted
    result = cli("sessions", "clear", "--session-id", bob.session_id, "--all-users", "--yes")
    assert result.stdout == "Cleared 4 items from the named session: its next turn starts afresh.\n"
    assert stored(settings.agent_session_db_path, bob.session_id) == []
    assert reset_marked(settings, bob)  # a fresh start for bob too, not a rebuild


def reset_marked(settings, service) -> bool:
    from todochat.db import open_database
    from todochat.log import conversations

    with open_database(settings.database_url).session() as session:
        found = conversations.get_conversation(session, service.user_id, service.conversation_id)
        return found.memory_reset_at is not None


@pytest.mark.parametrize("blank", ["", "  "])
@pytest.mark.parametrize(
    "command",
    [["sessions", "stats"], ["sessions", "prune"], ["sessions", "clear", "--yes"], ["history"]],
)
def test_an_empty_conversation_is_a_usage_error(chatted, settings, command, blank):
    alice, _ = chatted
    result = cli(*command, blank)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "Error: CONVERSATION is blank: give a conversation id or unique prefix "
        "(see `todochat conversations`)\n"
    )
    assert len(stored(settings.agent_session_db_path, alice.session_id)) == 8


def test_clear_json(chatted, settings):
    alice, _ = chatted
    result = cli("sessions", "clear", short(alice)[:6], "--yes", "--json")
    assert json.loads(result.stdout) == {"cleared": short(alice), "items": 8}
    assert reset_marked(settings, alice)


def test_clear_records_the_reset_before_it_deletes_memory(chatted, settings):
    """Should deleting fail, the reset is recorded already: nothing asked-to-forget comes back."""
    alice, _ = chatted
    Path(settings.agent_session_db_path).write_bytes(DAMAGED)
    result = cli("sessions", "clear", short(alice), "--yes")
    assert result.exit_code == 1 and result.stderr.startswith("Error: agent memory ")
    assert reset_marked(settings, alice)


def test_repair_removes_corrupt_items(chatted, settings):
    alice, _ = chatted
    add_session(settings.agent_session_db_path, alice.session_id, ["42", "{no"])
    result = cli("sessions", "repair")
    assert result.stdout == "Removed 2 corrupt items. Quick check: ok.\n"
    assert json.loads(cli("sessions", "repair", "--json").stdout)["removed"] == 0


def test_totals_show_the_recorded_corrupt_count_with_its_time_and_deep_measures_now(
    chatted, settings
):
    alice, _ = chatted
    cli("sessions", "repair")  # records 0 corrupt items, as of now
    add_session(settings.agent_session_db_path, alice.session_id, ["42"])
    recorded = cli("sessions", "stats")
    assert re.search(r"corrupt: 0 as of \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC;", recorded.stdout)
    deep = cli("sessions", "stats", "--deep", "--json")
    assert deep.exit_code == 0
    figures = json.loads(deep.stdout)
    assert figures["corrupt_items"] == 1 and figures["corrupt_items_measured_at"]
    samples = parse_prometheus(cli("sessions", "stats", "--format", "prometheus").stdout)
    assert samples["todochat_agent_memory_corrupt_items"] == 1
    assert samples["todochat_agent_memory_corrupt_items_measured_timestamp_seconds"] > 0
    assert cli("sessions", "stats", short(alice), "--deep").exit_code == 2


def test_repair_of_a_damaged_file_fails_until_moved_aside(env, settings):
    path = Path(settings.agent_session_db_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(DAMAGED)
    failed = cli("sessions", "repair")
    assert failed.exit_code == 1
    assert "file is not a database" in failed.stdout
    assert failed.stderr.startswith("Error: the agent-memory file is damaged")
    moved = cli("sessions", "repair", "--move-aside")
    assert moved.exit_code == 0 and "Moved the file to" in moved.stdout
    assert not path.exists() and len(list(path.parent.glob("agent_sessions.db.corrupt-*"))) == 1


def test_commands_on_a_missing_file_create_nothing(env, settings):
    for args in (["sessions", "stats"], ["sessions", "list"], ["sessions", "repair"]):
        result = cli(*args)
        assert result.exit_code == 0, (args, result.output)
    assert "no file yet" in cli("sessions", "stats").stdout
    assert json.loads(cli("sessions", "stats", "--json").stdout)["sessions"] == 0
    assert cli("sessions", "repair").stdout.startswith("No agent memory at ")
    assert not Path(settings.agent_session_db_path).exists()


def test_admin_commands_never_import_the_sdk(env):
    for args in (["sessions", "stats"], ["cleanup", "--dry-run"]):
        imported = imported_by(env, *args)
        assert not {m for m in imported if m.split(".")[0] in ("agents", "openai")}
        assert "todochat.memory.manager" in imported


def test_list_in_a_pipe_is_plain_lines(chatted):
    """As `conversations` in a pipe: tab-separated, no table borders (a table before)."""
    alice, bob = chatted
    line = re.compile(r"^(\w{8})\t(\d+)\t(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)\t(.*)$")
    mine = cli("sessions", "list").stdout.splitlines()
    assert [line.match(text).group(1, 2, 4) for text in mine] == [
        (short(alice), "8", "create a task to buy groceries")
    ]
    everyone = cli("sessions", "list", "--all-users").stdout.splitlines()
    assert sorted(text.split("\t")[:2] for text in everyone) == [
        ["alice", short(alice)],
        ["bob", short(bob)],
    ]


def test_the_same_things_have_the_same_json_keys_in_every_command(chatted):
    """A conversation is `id`/`short_id` in itself and `conversation_id`/`conversation` where
    referred to; times end in Z; `messages` is always a list."""
    alice, _ = chatted
    full, brief = str(alice.conversation_id), short(alice)
    [listed] = json.loads(cli("conversations", "--json").stdout)
    shown = json.loads(cli("history", brief, "--json").stdout)
    assert (listed["id"], listed["short_id"]) == (shown["id"], shown["short_id"]) == (full, brief)
    assert isinstance(shown["messages"], list) and listed["message_count"] == 4
    hit = json.loads(cli("search", "groceries", "--json").stdout)[0]
    [memory] = json.loads(cli("sessions", "list", "--json").stdout)
    for refers in (hit, memory):
        assert (refers["conversation_id"], refers["conversation"]) == (full, brief)
    times = [listed["created_at"], hit["created_at"], memory["created_at"]]
    times += [memory["last_activity"], shown["messages"][0]["created_at"]]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", t) for t in times)
