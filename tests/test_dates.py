"""The one reader of due dates: phrases, time zones, refusals, the setting, lazy loading."""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from conftest import TODOCHAT, subprocess_env
from typer.testing import CliRunner

from todochat.cli import app
from todochat.config import load_settings
from todochat.errors import ConfigError, InvalidInputError
from todochat.tasks import dates

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)  # a Wednesday, 09:00 UTC


@pytest.mark.parametrize(
    ("text", "on", "clock"),
    [
        ("today", date(2026, 11, 25), None),
        ("tomorrow", date(2026, 11, 26), None),
        ("next friday at 5pm", date(2026, 11, 27), time(17)),
        ("in 3 days", date(2026, 11, 28), None),
        ("by the 30th", date(2026, 11, 30), None),
        ("end of month", date(2026, 11, 30), None),
        ("2026-12-03", date(2026, 12, 3), None),
        ("2026-12-03 14:30", date(2026, 12, 3), time(14, 30)),
        ("friday", date(2026, 11, 27), None),
        ("due tomorrow at 10am", date(2026, 11, 26), time(10)),  # the base's own hour
        ("Dec 5", date(2026, 12, 5), None),
        ("in 2 weeks", date(2026, 12, 9), None),
        ("monday 9:30", date(2026, 11, 30), time(9, 30)),
        ("tomorrow at noon", date(2026, 11, 26), time(12)),
        ("the 3rd", date(2026, 12, 3), None),
        ("on the 31st", date(2026, 12, 31), None),  # November has no 31st
        ("by 7", date(2026, 12, 7), None),  # a day of the month, not July
    ],
)
def test_phrases_read_in_the_users_zone(text, on, clock):
    due = dates.parse_due(text, PARIS, NOW)
    assert due.on == on
    expected = datetime.combine(on, clock, tzinfo=PARIS).astimezone(UTC) if clock else None
    assert due.at == expected


def test_the_zone_decides_the_day_and_the_moment():
    late = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)
    assert dates.parse_due("today", ZoneInfo("Asia/Tokyo"), late).on == date(2026, 11, 26)
    assert dates.parse_due("today", ZoneInfo("America/New_York"), late).on == date(2026, 11, 25)
    at_nine = dates.parse_due("tomorrow at 9am", ZoneInfo("America/New_York"), late).at
    assert at_nine == datetime(2026, 11, 26, 14, 0, tzinfo=UTC)
    december = datetime(2026, 12, 10, 12, tzinfo=UTC)
    assert dates.parse_due("end of the month", PARIS, december).on == date(2026, 12, 31)


@pytest.mark.parametrize(
    "text", ["sometime", "when pigs fly", "", "by the 45th", "the 0th", "2026-02-30"]
)
def test_what_is_not_a_date_is_one_clear_error(text):
    with pytest.raises(InvalidInputError) as raised:
        dates.parse_due(text, PARIS, NOW)
    assert str(raised.value).startswith(f"cannot read {text.strip()!r} as a date; try 'tomorrow'")


def test_labels_and_overdue():
    assert dates.due_label(date(2026, 11, 27), None, PARIS) == "Fri 27 Nov" + _year(2026)
    moment = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    assert dates.due_label(date(2026, 11, 27), moment, PARIS).endswith(" 17:00")
    assert dates.is_overdue(date(2026, 11, 24), None, PARIS, NOW)
    assert not dates.is_overdue(date(2026, 11, 25), None, PARIS, NOW)  # due all that day
    assert dates.is_overdue(date(2026, 11, 25), datetime(2026, 11, 25, 8, tzinfo=UTC), PARIS, NOW)


def _year(year: int) -> str:
    return "" if datetime.now(PARIS).year == year else f" {year}"


@pytest.mark.parametrize("app_db_url", ["sqlite"], indirect=True)
def test_the_timezone_setting(env, monkeypatch):
    monkeypatch.setenv("TODOCHAT_TIMEZONE", "America/Chicago")
    assert load_settings().timezone == "America/Chicago"
    assert dates.local_timezone(load_settings().timezone) == ZoneInfo("America/Chicago")
    monkeypatch.setenv("TODOCHAT_TIMEZONE", "Mars/Olympus_Mons")
    with pytest.raises(ConfigError):
        load_settings()
    result = CliRunner().invoke(app, ["tasks"])
    assert (result.exit_code, result.stdout, result.stderr) == (
        2,
        "",
        "Error: TODOCHAT_TIMEZONE must be an IANA time zone such as Europe/Paris, "
        "got 'Mars/Olympus_Mons'\n",
    )


def test_without_the_setting_the_operating_systems_zone(env, monkeypatch):
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    assert dates.local_timezone(None) == ZoneInfo("Asia/Kolkata")


@pytest.mark.parametrize("app_db_url", ["sqlite"], indirect=True)
def test_data_commands_never_import_the_date_parser(env):
    """dateparser costs ~0.2 s: only a tool that reads a date loads it."""
    found = subprocess.run(
        [TODOCHAT[0], "-X", "importtime", *TODOCHAT[1:], "tasks", "--due", "week"],
        env=subprocess_env(env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert found.returncode == 0, found.stderr
    imported = {line.split("|")[-1].strip() for line in found.stderr.splitlines()}
    assert "todochat.tasks.dates" in imported
    assert not {m for m in imported if m.startswith("dateparser")}
