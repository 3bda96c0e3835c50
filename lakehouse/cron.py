"""Cron expressions: the five fields `minute hour day-of-month month day-of-week`, read on the
clock of a time zone (UTC unless one is given: an IANA name such as America/New_York).

Each field is `*`, a number, a range `a-b`, a list `a,b,c`, or a step `*/n` / `a-b/n`; months
and weekdays may be named (`jan`, `mon`; 0 and 7 are both Sunday). As in cron, when both the
day of the month and the day of the week are restricted, a day matching either one counts.
The shorthands `@hourly`, `@daily`, `@weekly` (Monday), `@monthly`, `@quarterly` and `@yearly`
are accepted too.

On a zone's clock, a time the clock skips (2:30 on the night it springs forward) counts as
that time in the offset before the change (3:30 after it), and a time it repeats (1:30 on the
night it falls back) counts once, the first time; ticks are returned in UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SHORTHANDS = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 1",
    "@monthly": "0 0 1 * *",
    "@quarterly": "0 0 1 1,4,7,10 *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
MAX_GAP_TICKS = 3000  # enough to see a weekend between the ticks of `*/15 9-17 * * mon-fri`
SEARCH_DAYS = 366 * 5  # `0 0 29 2 *` (leap days) is the sparsest expression that ever fires


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: list[str] | None = None  # names of low, low + 1, ...


FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day of month", 1, 31),
    _Field("month", 1, 12, MONTHS),
    _Field("day of week", 0, 7, WEEKDAYS),
)


@dataclass(frozen=True)
class CronExpression:
    """A parsed cron expression (`CronExpression.parse`), which tells its ticks: the minutes
    at which it fires on its zone's clock, as UTC times."""

    text: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 is Sunday
    days_restricted: bool
    weekdays_restricted: bool
    zone: str = "UTC"  # the IANA name of the clock it is read on

    @classmethod
    def parse(cls, text: str, zone: str = "UTC") -> CronExpression:
        """Parse `text`, read on the clock of `zone`; a ValueError says which field is wrong
        and what is allowed, or that `zone` is not a time zone."""
        time_zone(zone)
        expanded = SHORTHANDS.get(text.strip().lower(), text)
        parts = expanded.split()
        if len(parts) != 5:
            raise ValueError(
                f"{text!r} is not a cron expression: give five fields, 'minute hour "
                "day-of-month month day-of-week' (e.g. '0 6 * * 1'), or @daily, @weekly, ..."
            )
        values = [_parse_field(part, spec) for part, spec in zip(parts, FIELDS, strict=True)]
        weekdays = frozenset(0 if day == 7 else day for day in values[4])
        expression = cls(
            text=text.strip(),
            minutes=values[0],
            hours=values[1],
            days=values[2],
            months=values[3],
            weekdays=weekdays,
            days_restricted=parts[2] != "*",
            weekdays_restricted=parts[4] != "*",
            zone=zone,
        )
        if expression.next_after(datetime(2000, 1, 1, tzinfo=UTC)) is None:
            raise ValueError(f"{text!r} never fires (no such day); check its day and month")
        return expression

    def fires_on(self, day: date) -> bool:
        """Whether it fires at some time of `day`."""
        if day.month not in self.months:
            return False
        in_month = day.day in self.days
        in_week = (day.isoweekday() % 7) in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return in_month or in_week
        return in_month and in_week

    def next_after(self, moment: datetime) -> datetime | None:
        """The first tick strictly after `moment`, in UTC (None if it never fires again:
        impossible for an expression `parse` accepted)."""
        moment = _utc(moment)
        start = self._wall(moment) + timedelta(minutes=1)
        for wall in self._wall_ticks(start, forward=True):
            tick = self._instant(wall)
            if tick > moment:  # (a time the clock repeats may map to an instant before)
                return tick
        return None

    def last_at_or_before(self, moment: datetime) -> datetime | None:
        """The latest tick at or before `moment`, in UTC (None if none in the five years
        before)."""
        moment = _utc(moment)
        for wall in self._wall_ticks(self._wall(moment), forward=False):
            tick = self._instant(wall)
            if tick <= moment:  # (a time the clock skips maps to an instant after)
                return tick
        return None

    def _wall(self, moment: datetime) -> datetime:
        """`moment` as its zone's clock shows it, to the minute, without the zone."""
        local = moment.astimezone(time_zone(self.zone))
        return local.replace(second=0, microsecond=0, tzinfo=None)

    def _instant(self, wall: datetime) -> datetime:
        """The UTC time of a time on the zone's clock (the first, when the clock repeats it;
        in the offset before the change, when the clock skips it)."""
        return wall.replace(tzinfo=time_zone(self.zone), fold=0).astimezone(UTC)

    def _wall_ticks(self, start: datetime, forward: bool) -> Iterator[datetime]:
        """The ticks on the zone's clock from `start` (included) on, later and later when
        `forward`, earlier and earlier otherwise, for SEARCH_DAYS days."""
        step = timedelta(days=1 if forward else -1)
        hours = sorted(self.hours, reverse=not forward)
        minutes = sorted(self.minutes, reverse=not forward)
        for offset in range(SEARCH_DAYS):
            day = start.date() + offset * step
            if not self.fires_on(day):
                continue
            for hour in hours:
                for minute in minutes:
                    wall = datetime.combine(day, time(hour, minute))
                    if offset == 0 and (wall < start if forward else wall > start):
                        continue
                    yield wall

    def longest_gap(self, after: datetime) -> timedelta:
        """The longest time between two consecutive ticks in the year after `after` (or
        within its next MAX_GAP_TICKS ticks): how long one may have to wait for the next."""
        horizon = _utc(after) + timedelta(days=366)
        longest = timedelta(0)
        previous = self.next_after(after)
        for _ in range(MAX_GAP_TICKS):
            following = None if previous is None else self.next_after(previous)
            if previous is None or following is None:
                break
            longest = max(longest, following - previous)
            if following > horizon:
                break
            previous = following
        return longest or timedelta(days=1)


def time_zone(name: str) -> tzinfo:
    """The time zone of an IANA name (America/New_York, UTC); a ValueError says it is not
    one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"{name!r} is not a time zone: give an IANA name such as America/New_York or UTC"
        ) from None


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("a cron tick is found for a time with its time zone (e.g. UTC)")
    return moment.astimezone(UTC)


def _parse_field(part: str, spec: _Field) -> frozenset[int]:
    values: set[int] = set()
    for item in part.split(","):
        values |= _parse_item(item, spec)
    return frozenset(values)


def _parse_item(item: str, spec: _Field) -> set[int]:
    body, _, step_text = item.partition("/")
    step = 1
    if step_text:
        if not step_text.isdigit() or int(step_text) == 0:
            raise ValueError(f"the {spec.name} field's step {step_text!r} is not a number above 0")
        step = int(step_text)
    if body == "*":
        low, high = spec.low, spec.high
    elif "-" in body:
        first, _, last = body.partition("-")
        low, high = _value(first, spec), _value(last, spec)
    else:
        low = _value(body, spec)
        high = spec.high if step_text else low
    if low > high:
        raise ValueError(f"the {spec.name} range {body!r} runs backwards")
    return set(range(low, high + 1, step))


def _value(text: str, spec: _Field) -> int:
    lowered = text.lower()
    if spec.names and lowered in spec.names:
        return spec.low + spec.names.index(lowered)
    if not lowered.isdigit() or not spec.low <= int(lowered) <= spec.high:
        raise ValueError(
            f"the {spec.name} field's {text!r} is not a number from {spec.low} to {spec.high}"
            + (f" or a name ({', '.join(spec.names[:3])}, ...)" if spec.names else "")
        )
    return int(lowered)
