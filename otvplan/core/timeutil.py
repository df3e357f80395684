"""Time conversions for the core: calendar dates to Julian dates, and seconds from an epoch.

The core keeps time as SI seconds from the scenario epoch (UTC). Julian dates are needed only
for the Sun's position (LTAN <-> RAAN) and sidereal time, where the UTC/UT1 difference (< 0.9 s)
is far below the low-precision formulas' accuracy, so UTC stands in for UT1 and TT.
"""

from __future__ import annotations

import datetime as _dt

from otvplan.constants import SECONDS_PER_DAY

_UNIX_EPOCH_JD = 2440587.5  # Julian date of 1970-01-01T00:00:00 UTC


def julian_date(moment: _dt.datetime) -> float:
    """Return the Julian date of a datetime (naive datetimes are taken as UTC).

    Uses the fixed offset of the Unix epoch (JD 2440587.5), exact for the proleptic Gregorian
    calendar; agrees with Vallado (4th ed.) Algorithm 14 to floating-point precision.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.UTC)
    seconds = (moment - _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)).total_seconds()
    return _UNIX_EPOCH_JD + seconds / SECONDS_PER_DAY


def parse_utc(text: str) -> _dt.datetime:
    """Parse an ISO 8601 UTC timestamp (``2026-03-01T10:30:00Z``) into an aware datetime.

    A timestamp without a zone is taken as UTC; one with a non-zero offset is converted to UTC.
    Raises ``ValueError`` with the expected form when the text does not parse.
    """
    s = text.strip()
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    try:
        moment = _dt.datetime.fromisoformat(s)
    except ValueError:
        raise ValueError(
            f"'{text}' is not an ISO 8601 UTC time; write it like 2026-03-01T10:30:00Z"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.UTC)
    return moment.astimezone(_dt.UTC)


def format_utc(moment: _dt.datetime) -> str:
    """Format an aware datetime as ISO 8601 UTC with millisecond precision and a ``Z``."""
    moment = moment.astimezone(_dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def add_seconds(epoch: _dt.datetime, seconds: float) -> _dt.datetime:
    """Return ``epoch`` plus ``seconds`` (SI seconds, leap seconds ignored)."""
    return epoch + _dt.timedelta(seconds=float(seconds))
