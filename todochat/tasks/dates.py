"""Due dates: one reader of natural-language dates for every model, and how dates are shown.

The tools parse `due` text here, so a network model and the offline model get the same
answer. dateparser is imported on the first parse only: it costs about 0.1 s to import and
0.1 s more to load its English data, which commands that never read a date must not pay.
"""

from __future__ import annotations

import calendar
import functools
import io
import os
import re
import struct
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from todochat.errors import InvalidInputError

EXAMPLES = "try 'tomorrow', 'friday at 5pm', 'in 3 days', 'end of month' or 2026-12-01"
# Words that say "due" without changing the date: "by the 30th", "due friday", "on monday".
FILLER = re.compile(r"^(?:(?:due|by|on|before|until|till)\s+)+")
END_OF_MONTH = re.compile(r"^(?:the\s+)?end\s+of\s+(?:the\s+)?month$")
DAY_OF_MONTH = re.compile(r"^(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)?$")
# A relative base off the whole minute: dateparser calls a parsed time equal to its base's a
# "day" (no time given), so "tomorrow at 10am" at 10:00 would lose its time.
BASE_OFFSET = timedelta(microseconds=123_457)
# The due dates we accept. A stored moment must convert into every zone (UTC-12..UTC+14):
# 9999-12-31 23:00 UTC is year 10000 in Paris, which Python's datetime cannot hold, so the
# last year leaves a whole year of margin. No task is due before 1900, and earlier moments
# meet the zones' local mean times (Paris was UTC+0:09:21), which show odd minutes.
EARLIEST = date(1900, 1, 1)
LATEST = date(9998, 12, 31)


@dataclass(frozen=True)
class Due:
    """A due date in the user's calendar, and the exact moment when a time was given."""

    on: date
    at: datetime | None = None  # aware, UTC


def timezone_named(name: str) -> ZoneInfo:
    """The IANA zone `name`; a bad name is a one-line error (used to validate the setting)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInputError(f"unknown time zone {name!r}") from None


def local_timezone(name: str | None = None) -> tzinfo:
    """TODOCHAT_TIMEZONE when set, else the operating system's zone: TZ (a zone name, or a
    POSIX rule such as `JST-9` or `CET-1CEST,M3.5.0,M10.5.0/3`), else /etc/localtime."""
    if name:
        return timezone_named(name)
    variable = os.environ.get("TZ", "").lstrip(":")
    found = _tz_variable(variable) if variable else _zone(_etc_localtime())
    return found or datetime.now().astimezone().tzinfo or UTC


def _tz_variable(value: str) -> tzinfo | None:
    """TZ as the C library reads it: a TZif file's path, a zone name, or a POSIX rule."""
    if os.path.isabs(value):
        try:
            with open(value, "rb") as file:
                return ZoneInfo.from_file(file, key=value)
        except (OSError, ValueError):
            return None
    return _zone(value) or _posix_zone(value)


def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name) if name else None
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _posix_zone(rule: str) -> ZoneInfo | None:
    """A POSIX TZ rule as a zone, with its daylight saving time: a TZif file (RFC 8536) of no
    transitions whose footer is the rule, which zoneinfo applies to every moment."""
    if not rule or "/" in rule.split(",", 1)[0] or not rule.isprintable():
        return None
    empty = b"TZif2" + bytes(15) + struct.pack(">6l", 0, 0, 0, 0, 1, 1) + bytes(7)
    try:
        return ZoneInfo.from_file(io.BytesIO(empty * 2 + f"\n{rule}\n".encode()), key=rule)
    except (ValueError, UnicodeEncodeError):  # not a rule zoneinfo can apply
        return None


def _etc_localtime() -> str:
    try:
        target = str(Path("/etc/localtime").resolve())
    except OSError:
        return ""
    return target.split("zoneinfo/", 1)[1] if "zoneinfo/" in target else ""


def today(tz: tzinfo, now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(tz).date()


def parse_due(text: str, tz: tzinfo, now: datetime | None = None) -> Due:
    """Read `text` ("tomorrow", "next friday at 5pm", "by the 30th", ISO) in zone `tz`.

    Raises InvalidInputError naming the text when it is not a date.
    """
    local_now = (now or datetime.now(UTC)).astimezone(tz)
    phrase = FILLER.sub("", " ".join(text.lower().split()))
    try:
        found = _ours(phrase, local_now.date()) or _dateparser(phrase, local_now)
    except ValueError:  # a day the calendar lacks: "the 45th", "2026-02-30"
        found = None
    if found is None:
        raise InvalidInputError(f"cannot read {text.strip()!r} as a date; {EXAMPLES}")
    day, clock = found
    check_due_day(day)
    if clock is None:
        return Due(day)
    return Due(day, datetime.combine(day, clock, tzinfo=tz).astimezone(UTC))


def check_due_day(day: date) -> None:
    """Refuse a due day outside EARLIEST..LATEST (every stored moment must show in any zone)."""
    if not EARLIEST <= day <= LATEST:
        raise InvalidInputError(
            f"a due date must fall between {EARLIEST} and {LATEST}, not {day.isoformat()}"
        )


def _ours(phrase: str, today_: date) -> tuple[date, None] | None:
    """Phrases dateparser misreads: "end of month", and a day of the month ("the 3rd", "30";
    dateparser takes "45th" for the year 2045 and "7" for July)."""
    if END_OF_MONTH.match(phrase):
        return today_.replace(day=calendar.monthrange(today_.year, today_.month)[1]), None
    match = DAY_OF_MONTH.match(phrase)
    if not match:
        return None
    day, year, month = int(match.group(1)), today_.year, today_.month
    if not 1 <= day <= 31:
        raise ValueError(f"no day {day} in a month")
    for _ in range(13):  # the next month that has this day, this one included
        if day <= calendar.monthrange(year, month)[1] and date(year, month, day) >= today_:
            return date(year, month, day), None
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return None


def _dateparser(phrase: str, local_now: datetime) -> tuple[date, time | None] | None:
    if not phrase:
        return None
    from dateparser.date import DateDataParser  # lazily: see the module docstring

    base = local_now.replace(tzinfo=None, second=0, microsecond=0) + BASE_OFFSET
    settings = {"RELATIVE_BASE": base, "PREFER_DATES_FROM": "future"}
    settings["RETURN_TIME_AS_PERIOD"] = True
    # Wall times in the user's zone, read as they are: a zone named here keeps dateparser from
    # asking tzlocal for the system's, which fails on a POSIX TZ (`JST-9`) whatever we chose;
    # for the same reason no timestamp parsers (nor is "1764000000" a due date).
    settings["TIMEZONE"] = "UTC"
    settings["PARSERS"] = ["relative-time", "custom-formats", "absolute-time", "no-spaces-time"]
    found = DateDataParser(languages=["en"], settings=settings).get_date_data(phrase)
    if found.date_obj is None:
        return None
    moment = found.date_obj
    timed = found.period in ("time", "part_of_day")
    return moment.date(), moment.time().replace(second=0, microsecond=0) if timed else None


def due_label(on: date | None, at: datetime | None, tz: tzinfo, now: datetime | None = None) -> str:
    """How a due date reads: "Fri 28 Nov", "Fri 28 Nov 17:00", with the year when not this one."""
    if on is None:
        return ""
    if at is None:
        return _day_label(on, today(tz, now).year)
    moment, suffix = in_zone(at, tz), ""
    if moment is None:  # beyond the zone's calendar: shown in UTC, so marked
        moment, suffix = at.astimezone(UTC), " UTC"
    label = _day_label(moment.date(), today(tz, now).year)
    return f"{label} {moment.hour:02d}:{moment.minute:02d}{suffix}"


def in_zone(moment: datetime, tz: tzinfo | None = None) -> datetime | None:
    """`moment` in zone `tz` (None: the system's), or None when that falls outside the years
    datetime holds (a moment stored before dates were bounded, or imported)."""
    try:
        return moment.astimezone(tz)
    except (OverflowError, ValueError):
        return None


def local_stamp(moment: datetime, tz: tzinfo | None = None) -> str:
    """ "2026-11-25 10:00" in zone `tz` (None: the system's); in UTC, so marked, when the zone
    cannot hold it."""
    local = in_zone(moment, tz)
    shown, zone = (local, "") if local is not None else (moment.astimezone(UTC), " UTC")
    return f"{shown.year:04d}-{shown:%m-%d %H:%M}{zone}"  # %Y is not padded below 1000


@functools.lru_cache(maxsize=4096)
def _day_label(day: date, this_year: int) -> str:
    # Cached: the agent's instructions label up to a hundred due dates on every model call,
    # mostly the same days, and formatting a date is most of a listing line's cost.
    label = f"{day:%a} {day.day} {day:%b}"
    return label if day.year == this_year else f"{label} {day.year}"


def is_overdue(
    on: date | None, at: datetime | None, tz: tzinfo, now: datetime | None = None
) -> bool:
    """Past its moment (a time was given) or its day (a date alone is due all that day)."""
    now = now or datetime.now(UTC)
    if at is not None:
        return at < now
    return on is not None and on < today(tz, now)
