"""Cadences and durations as templates write them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from lakehouse.archive.template import load_template
from lakehouse.cadence import Cadence, describe_duration, parse_duration
from lakehouse.errors import ConfigError

NOW = datetime(2026, 11, 28, 3, 50, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "next_due", "default_max_age"),
    [
        ("daily", datetime(2026, 11, 29, tzinfo=UTC), timedelta(hours=36)),
        ("weekly", datetime(2026, 11, 30, tzinfo=UTC), timedelta(days=10.5)),
        ("monthly", datetime(2026, 12, 1, tzinfo=UTC), timedelta(days=31 * 1.5)),
        ("quarterly", datetime(2027, 1, 1, tzinfo=UTC), timedelta(days=92 * 1.5)),
        ("0 6 * * *", datetime(2026, 11, 28, 6, tzinfo=UTC), timedelta(hours=36)),
    ],
)
def test_named_cadences_and_cron(text: str, next_due: datetime, default_max_age: timedelta) -> None:
    cadence = Cadence.parse(text)
    assert cadence.next_due(NOW) == next_due
    assert cadence.default_max_age(NOW) == default_max_age


@pytest.mark.parametrize(
    ("text", "next_due", "zone"),
    [
        # 2026-11-28 03:50 UTC is 22:50 EST the day before
        ("daily America/New_York", datetime(2026, 11, 28, 5, tzinfo=UTC), "America/New_York"),
        ("0 6 * * 1-5 America/New_York", datetime(2026, 11, 30, 11, tzinfo=UTC),
         "America/New_York"),  # Saturday: Monday 06:00 EST
        ("0 6 * * *  UTC", datetime(2026, 11, 28, 6, tzinfo=UTC), "UTC"),
        # a step in the last field is not a zone: every second weekday from Sunday (0, 2, 4,
        # 6), and Saturday 2026-11-28 is one
        ("0 12 * * */2", datetime(2026, 11, 28, 12, tzinfo=UTC), "UTC"),
        ("0 12 * * 1-5/2 America/New_York", datetime(2026, 11, 30, 17, tzinfo=UTC),
         "America/New_York"),  # Monday (1, 3, 5) 12:00 EST
    ],
)  # fmt: skip
def test_a_cadence_read_on_a_time_zones_clock(text: str, next_due: datetime, zone: str) -> None:
    cadence = Cadence.parse(text)
    assert (cadence.next_due(NOW), cadence.cron.zone) == (next_due, zone)
    assert cadence.text == text.strip()  # as written, the zone included


def test_a_misspelt_time_zone_in_a_cadence_says_what_is_wanted() -> None:
    with pytest.raises(ValueError, match=r"'Europe/Pari' is not a time zone.*followed by a time"):
        Cadence.parse("weekly Europe/Pari")


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("36h", timedelta(hours=36)),
        ("2d", timedelta(days=2)),
        ("1 week", timedelta(days=7)),
        ("90 minutes", timedelta(minutes=90)),
        ("1.5d", timedelta(hours=36)),
    ],
)
def test_durations(text: str, span: timedelta) -> None:
    assert parse_duration(text) == span


@pytest.mark.parametrize("text", ["2", "two days", "3y", "0h", ""])
def test_a_wrong_duration_says_how_to_write_one(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("span", "text"),
    [
        (timedelta(days=5, hours=3), "5d"),
        (timedelta(days=1, hours=4), "1d 4h"),
        (timedelta(hours=2, minutes=30), "2h 30m"),
        (timedelta(hours=7, minutes=30), "7h"),
        (timedelta(minutes=12), "12m"),
    ],
)
def test_durations_for_people(span: timedelta, text: str) -> None:
    assert describe_duration(span) == text


def template(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "lots.yml"
    path.write_text(
        "name: lots\nsource: {type: http, url: 'http://127.0.0.1/lots.csv'}\n"
        f"format: {{type: csv}}\n{extra}"
    )
    return path


def test_a_template_keeps_its_cadence_out_of_its_hash(tmp_path: Path) -> None:
    plain = load_template(template(tmp_path, ""))
    scheduled = load_template(template(tmp_path, "cadence: daily\nmax_age: 2d\n"))
    assert scheduled.cadence is not None and scheduled.cadence.text == "daily"
    assert scheduled.max_age == timedelta(days=2)
    # the hash recorded with each version is of the dump: a cadence does not change it
    assert scheduled.model_dump_json() == plain.model_dump_json()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("cadence: hourly-ish\n", r"lots\.yml.*cadence.*cron expression"),
        ("cadence: daily\nmax_age: soon\n", r"lots\.yml.*max_age.*90m, 36h, 2d or 1w"),
    ],
)
def test_a_wrong_cadence_names_the_file_and_field(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_template(template(tmp_path, extra))
