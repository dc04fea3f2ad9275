"""The one reader of due dates: phrases, time zones, refusals, the setting, lazy loading."""

from __future__ import annotations

import json
import subprocess
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from app_state import make_conversation, task_titles
from conftest import TODOCHAT, imported_by, subprocess_env
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
        # A bare hour: dateparser read "at 5" as 6 May and "at 7 tomorrow morning" as 05:44.
        ("at 7 tomorrow morning", date(2026, 11, 26), time(7)),
        ("friday at 6 in the evening", date(2026, 11, 27), time(18)),
        ("at 6 tonight", date(2026, 11, 25), time(18)),
        ("tomorrow at 17", date(2026, 11, 26), time(17)),
        ("monday at 5 pm", date(2026, 11, 30), time(17)),
    ],
)
def test_phrases_read_in_the_users_zone(text, on, clock):
    due = dates.parse_due(text, PARIS, NOW)
    assert due.on == on
    expected = datetime.combine(on, clock, tzinfo=PARIS).astimezone(UTC) if clock else None
    assert due.at == expected


@pytest.mark.parametrize("text", ["at 5", "friday at 3", "tomorrow at 9", "5 o'clock"])
def test_an_hour_that_could_be_am_or_pm_is_asked_about_not_guessed(text):
    with pytest.raises(InvalidInputError, match=r"is that \d+am or \d+pm\? Say which"):
        dates.parse_due(text, PARIS, NOW)


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
    imported = imported_by(env, "tasks", "--due", "week")
    assert "todochat.tasks.dates" in imported
    assert not {m for m in imported if m.startswith("dateparser")}


# --- the range of dates (issue 21, item 6) -----------------------------------------------------

SQLITE = pytest.mark.parametrize("app_db_url", ["sqlite"], indirect=True)
LAST_HOUR = datetime(9999, 12, 31, 23, 0, tzinfo=UTC)  # year 10000 in Paris


@pytest.mark.parametrize(
    ("text", "tz"),
    [("9999-12-31 23:00", UTC), ("9999-12-31", PARIS), ("1899-12-31", PARIS)],
)
def test_a_due_date_outside_the_years_we_keep_is_refused(text, tz):
    with pytest.raises(InvalidInputError) as raised:
        dates.parse_due(text, tz, NOW)
    day = text.split()[0]
    assert str(raised.value) == (
        f"a due date must fall between 1900-01-01 and 9998-12-31, not {day}"
    )


def test_the_last_day_we_keep_converts_into_every_zone():
    west = dates.parse_due("9998-12-31 23:59", ZoneInfo("Etc/GMT+12"), NOW)
    assert west.at == datetime(9999, 1, 1, 11, 59, tzinfo=UTC)
    east = ZoneInfo("Pacific/Kiritimati")  # UTC+14
    assert dates.due_label(west.on, west.at, east, NOW) == "Sat 2 Jan 9999 01:59"


def test_a_stored_moment_beyond_the_zones_calendar_still_shows():
    """Stored before the range was kept, or imported: shown in UTC, marked so."""
    assert dates.due_label(LAST_HOUR.date(), LAST_HOUR, PARIS, NOW) == "Fri 31 Dec 9999 23:00 UTC"
    assert dates.due_label(LAST_HOUR.date(), LAST_HOUR, ZoneInfo("America/Chicago"), NOW) == (
        "Fri 31 Dec 9999 17:00"
    )
    assert dates.local_stamp(LAST_HOUR, PARIS) == "9999-12-31 23:00 UTC"
    first = datetime(1, 1, 1, 0, 30, tzinfo=UTC)
    assert dates.local_stamp(first, ZoneInfo("America/Chicago")) == "0001-01-01 00:30 UTC"
    assert not dates.is_overdue(LAST_HOUR.date(), LAST_HOUR, PARIS, NOW)


def _store_last_hour(url: str) -> str:
    """A task due 9999-12-31 23:00 UTC and a message of that moment, as an earlier version
    (or an import) stored them; returns the conversation's id."""
    from sqlalchemy import update

    from todochat.db import open_database
    from todochat.db.models import Message, Task
    from todochat.log import users
    from todochat.tasks import queries as tasks

    conversation = "abc1" + "0" * 28
    make_conversation(url, conversation, ["add pay rent", "Added **#1 pay rent**."])
    with open_database(url).session() as db:
        owner = users.find_user(db, "alice")
        task = tasks.add_task(db, owner.id, "pay rent")
        db.execute(update(Task).where(Task.id == task.id).values(due_on=LAST_HOUR.date()))
        db.execute(update(Task).where(Task.id == task.id).values(due_at=LAST_HOUR))
        db.execute(update(Message).where(Message.role == "user").values(created_at=LAST_HOUR))
    return conversation


def _todochat(env, *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*TODOCHAT, *args],
        env=subprocess_env(env, **extra),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_task_due_at_the_end_of_time_lists_shows_and_can_be_deleted_east_of_it(env):
    conversation = _store_last_hour(env["DATABASE_URL"])
    # PGTZ: a server session in Paris too (a server's default zone is its host's).
    east = {"TODOCHAT_TIMEZONE": "Europe/Paris", "TZ": "Asia/Tokyo", "PGTZ": "Europe/Paris"}
    listed = _todochat(env, "tasks", **east)
    assert (listed.returncode, listed.stderr) == (0, "")
    assert listed.stdout == "1\topen\tpay rent\tFri 31 Dec 9999 23:00 UTC\t\t\n"
    shown = _todochat(env, "history", conversation, **east)
    assert (shown.returncode, shown.stderr) == (0, "")
    assert shown.stdout.splitlines()[1] == "9999-12-31 23:00 UTC you: add pay rent"
    # A chat turn lists the open tasks in the model's instructions: it must not fail on one.
    deleted = _todochat(env, "chat", "-m", "delete task 1", **east)
    assert (deleted.returncode, deleted.stderr) == (0, "")
    assert deleted.stdout.startswith("Deleted **#1 pay rent** (due Fri 31 Dec 9999 23:00 UTC).")
    assert task_titles(env["DATABASE_URL"]) == []


@SQLITE
@pytest.mark.parametrize("since", ["0001-01-01", "9999-12-31T23:00", "1899-12-31T23:00+00:00"])
def test_history_since_outside_the_years_we_keep_is_one_clear_error(env, since):
    conversation = _store_last_hour(env["DATABASE_URL"])
    shown = _todochat(env, "history", conversation, "--since", since, TZ="Europe/Paris")
    assert (shown.returncode, shown.stdout) == (2, "")
    assert shown.stderr == (
        f"Error: --since takes a date between 1900-01-01 and 9998-12-31, not {since!r}\n"
    )


# --- the system's zone as a POSIX TZ (issue 21, item 7) ---------------------------------------

SUMMER = datetime(2026, 7, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("tz", "summer", "winter"),
    [
        ("UTC0", 0, 0),
        ("JST-9", 9, 9),
        ("CET-1CEST,M3.5.0,M10.5.0/3", 2, 1),
        ("<+0530>-5:30", 5.5, 5.5),
        (":Asia/Tokyo", 9, 9),
        ("/usr/share/zoneinfo/America/Chicago", -5, -6),
    ],
)
def test_a_posix_tz_is_the_zone_it_says(monkeypatch, tz, summer, winter):
    monkeypatch.setenv("TZ", tz)
    zone = dates.local_timezone(None)
    hours = [SUMMER.astimezone(zone).utcoffset().total_seconds() / 3600]
    hours.append(NOW.astimezone(zone).utcoffset().total_seconds() / 3600)
    assert hours == [summer, winter]


@SQLITE
@pytest.mark.parametrize("setting", ["", "Europe/Paris"])
@pytest.mark.parametrize("tz", ["UTC0", "JST-9", "CET-1CEST,M3.5.0,M10.5.0/3"])
def test_due_dates_work_under_a_posix_tz_and_the_setting_wins(env, tz, setting):
    """dateparser asked tzlocal for the system's zone, which refuses a POSIX TZ."""
    extra = {"TZ": tz, "TODOCHAT_TIMEZONE": setting}
    added = _todochat(env, "chat", "-m", "add pay rent due 2030-01-15 at 5pm", **extra)
    assert (added.returncode, added.stderr) == (0, "")
    assert added.stdout == "Added **#1 pay rent** (due Tue 15 Jan 2030 17:00).\n"
    listed = json.loads(_todochat(env, "tasks", "--json", **extra).stdout)
    offset = {"UTC0": 0, "JST-9": 9, "CET-1CEST,M3.5.0,M10.5.0/3": 1}[tz]
    hour = 17 - (1 if setting else offset)
    assert listed[0]["due_at"] == f"2030-01-15T{hour:02d}:00:00Z"
