"""How often a source is expected to change: a template's `cadence` and `max_age`.

`cadence` is `daily`, `weekly`, `monthly`, `quarterly` or a cron expression (see
`lakehouse.cron`), on UTC's clock or, when a time zone's IANA name follows it (`daily
America/New_York`, `0 6 * * 1-5 America/New_York`), on that zone's: the times after which a
new version may be waiting upstream. A source is
*due* once such a time has passed since it was last fetched, and *overdue* once what was last
fetched is older than `max_age` (by default one and a half times the longest gap between two of
the cadence's times: 36 hours for daily).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

from lakehouse.cron import CronExpression

NAMED_CADENCES = {
    "daily": "0 0 * * *",
    "weekly": "0 0 * * 1",
    "monthly": "0 0 1 * *",
    "quarterly": "0 0 1 1,4,7,10 *",
}
DEFAULT_MAX_AGE_FACTOR = 1.5
# the last word of a cadence that names a time zone (America/New_York), not a cron field
ZONE_WORD = re.compile(r"^[A-Za-z][A-Za-z0-9_+-]*/[A-Za-z0-9_/+-]+$")
DURATION = re.compile(
    r"^\s*(?P<number>[0-9]+(\.[0-9]+)?)\s*(?P<unit>m|min|minutes?|h|hours?|d|days?|w|weeks?)\s*$",
    re.IGNORECASE,
)
UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass(frozen=True)
class Cadence:
    """A template's `cadence`, as written, and the cron expression it stands for."""

    text: str
    cron: CronExpression

    @classmethod
    def parse(cls, text: str) -> Cadence:
        schedule, zone = split_zone(text)
        named = NAMED_CADENCES.get(schedule.lower())
        try:
            cron = CronExpression.parse(named or schedule, zone)
        except ValueError as exc:
            raise ValueError(
                f"{exc}; a cadence is daily, weekly, monthly, quarterly or a cron expression, "
                "optionally followed by a time zone (daily America/New_York)"
            ) from exc
        return cls(text=text.strip(), cron=cron)

    def last_due(self, now: datetime) -> datetime | None:
        """The latest time at or before `now` at which the source was expected to change."""
        return self.cron.last_at_or_before(now)

    def next_due(self, after: datetime) -> datetime | None:
        return self.cron.next_after(after)

    def default_max_age(self, now: datetime) -> timedelta:
        return self.cron.longest_gap(now) * DEFAULT_MAX_AGE_FACTOR

    def __str__(self) -> str:
        return self.text


def split_zone(text: str) -> tuple[str, str]:
    """A cadence's schedule and its time zone: the last word when it names one (a word that
    starts with a letter and holds a `/`, as America/New_York does, or UTC; a cron field never
    starts with a letter and a `/`: `*/2` is a step), else UTC."""
    words = text.split()
    if len(words) > 1 and (ZONE_WORD.match(words[-1]) or words[-1].upper() == "UTC"):
        zone = "UTC" if words[-1].upper() == "UTC" else words[-1]
        return " ".join(words[:-1]), zone
    return " ".join(words), "UTC"


def parse_duration(text: str) -> timedelta:
    """`36h`, `2d`, `1 week`, `90 minutes` as a timedelta; a ValueError says what is allowed."""
    match = DURATION.match(text)
    if match is None:
        raise ValueError(
            f"{text!r} is not a duration; write a number and a unit: 90m, 36h, 2d or 1w"
        )
    seconds = float(match["number"]) * UNIT_SECONDS[match["unit"][0].lower()]
    if seconds <= 0:
        raise ValueError(f"{text!r} is no time at all; give a duration above zero")
    return timedelta(seconds=seconds)


def describe_duration(span: timedelta) -> str:
    """A short, rounded `2d 4h`, `36h`, `15m` for people."""
    seconds = round(span.total_seconds() / 60) * 60  # to the minute: 2d less 5 ms is 2d
    if seconds < 0:
        return "-" + describe_duration(-span)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days >= 3:
        return f"{days}d"
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes and hours < 3 else f"{hours}h"
    return f"{minutes}m" if minutes else "<1m"


def _cadence(value: Any) -> Cadence:
    if isinstance(value, Cadence):
        return value
    if not isinstance(value, str):
        raise ValueError("must be daily, weekly, monthly, quarterly or a cron expression")
    return Cadence.parse(value)


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if not isinstance(value, str):
        raise ValueError("must be a duration such as 36h, 2d or 1w")
    return parse_duration(value)


CadenceField = Annotated[
    Cadence, BeforeValidator(_cadence), PlainSerializer(lambda cadence: cadence.text)
]
"""A template field holding a cadence, written as text and kept as written when dumped."""


def _duration_text(span: timedelta) -> str:
    seconds = int(span.total_seconds())
    for unit, size in (("w", 7 * 86400), ("d", 86400), ("h", 3600)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds // 60}m"


DurationField = Annotated[timedelta, BeforeValidator(_duration), PlainSerializer(_duration_text)]
"""A template field holding a duration, written `36h`, `2d`, `1w` or `90m`."""
