"""Go's time.Time and time.Duration in Python: nanosecond-keeping classes and Go's wire forms.

``Time`` is a ``datetime`` and ``Duration`` a ``timedelta`` that keep the nanoseconds Go has and
Python's classes round to microseconds, so a value from Go goes back byte for byte. The wire
forms follow Go's time package: JSON is RFC 3339 with nanoseconds, trailing zeros trimmed
(``MarshalJSON``, read back as ``UnmarshalJSON`` reads it, with its error texts); gob carries
``MarshalBinary``'s 15 or 16 bytes (version, seconds since year 1, nanoseconds, zone offset in
minutes, -1 meaning UTC). A Duration is Go's int64 count of nanoseconds in both.
"""
from __future__ import annotations

import datetime
from typing import Any, Optional
from zoneinfo import ZoneInfo

UTC = datetime.timezone.utc
_YEAR_ONE = datetime.datetime(1, 1, 1, tzinfo=UTC)
_MICROSECOND = datetime.timedelta(microseconds=1)
MIN_DURATION, MAX_DURATION = -(1 << 63), (1 << 63) - 1


class Time(datetime.datetime):
    """A datetime that keeps Go's nanoseconds: ``nanosecond`` holds the 0-999 below microsecond.

    Arithmetic with timedeltas, replace() and astimezone() carry the nanoseconds; comparisons
    count them, so two times a nanosecond apart are not equal.
    """

    __slots__ = ("nanosecond",)
    nanosecond: int

    def __new__(cls, year: Any, month: Any = None, day: Any = None, hour: int = 0,
                minute: int = 0, second: int = 0, microsecond: int = 0,
                tzinfo: Optional[datetime.tzinfo] = None, *, fold: int = 0,
                nanosecond: int = 0) -> Time:
        if not 0 <= nanosecond <= 999:
            raise ValueError(f"nanosecond must be in 0..999, not {nanosecond}")
        if day is None:  # datetime's pickle form: (state bytes, tzinfo)
            self = super().__new__(cls, year, month)  # type: ignore[call-arg]
        else:
            self = super().__new__(cls, year, month, day, hour, minute, second, microsecond,
                                   tzinfo, fold=fold)
        self.nanosecond = nanosecond
        return self

    @classmethod
    def zero(cls) -> Time:
        """Go's zero time.Time: January 1, year 1, 00:00:00 UTC."""
        return cls(1, 1, 1, tzinfo=UTC)

    @classmethod
    def of(cls, value: datetime.datetime, nanosecond: int = 0) -> Time:
        """A Time with value's fields and nanosecond below its microsecond."""
        return cls(value.year, value.month, value.day, value.hour, value.minute, value.second,
                   value.microsecond, value.tzinfo, fold=value.fold, nanosecond=nanosecond)

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (_restore_time, (datetime.datetime.__reduce__(self)[1], self.nanosecond))

    def __repr__(self) -> str:
        text = super().__repr__()
        return f"{text[:-1]}, nanosecond={self.nanosecond})" if self.nanosecond else text

    def replace(self, *args: Any, **changes: Any) -> Time:
        nanosecond = changes.pop("nanosecond", self.nanosecond)
        return Time.of(super().replace(*args, **changes), nanosecond)

    def astimezone(self, tz: Optional[datetime.tzinfo] = None) -> Time:
        return Time.of(super().astimezone(tz), self.nanosecond)

    def __add__(self, other: Any) -> Any:
        if not isinstance(other, datetime.timedelta):
            return NotImplemented
        total = self.nanosecond + _nanos_below_micro(other)
        moved = datetime.datetime.__add__(self, other + _MICROSECOND * (total // 1000))
        return Time.of(moved, total % 1000)

    __radd__ = __add__

    def __sub__(self, other: Any) -> Any:
        if isinstance(other, datetime.timedelta):
            return self + -Duration.of(other)
        return datetime.datetime.__sub__(self, other)

    def _key(self, other: Any) -> Optional[tuple[int, int]]:
        if not isinstance(other, datetime.datetime):
            return None
        return self.nanosecond, other.nanosecond if isinstance(other, Time) else 0

    def __eq__(self, other: object) -> bool:
        nanos = self._key(other)
        return datetime.datetime.__eq__(self, other) and (nanos is None or nanos[0] == nanos[1])

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __lt__(self, other: Any) -> bool:
        nanos = self._key(other)
        if nanos is None:
            return NotImplemented
        return bool(datetime.datetime.__lt__(self, other)) or (
            datetime.datetime.__eq__(self, other) and nanos[0] < nanos[1])

    def __le__(self, other: Any) -> bool:
        return bool(self == other or self < other)

    def __gt__(self, other: Any) -> bool:
        nanos = self._key(other)
        if nanos is None:
            return NotImplemented
        return bool(datetime.datetime.__gt__(self, other)) or (
            datetime.datetime.__eq__(self, other) and nanos[0] > nanos[1])

    def __ge__(self, other: Any) -> bool:
        return bool(self == other or self > other)

    __hash__ = datetime.datetime.__hash__


def _restore_time(state: Any, nanosecond: int) -> Time:
    return Time(*state, nanosecond=nanosecond)


class Duration(datetime.timedelta):
    """A timedelta that keeps Go's nanoseconds: ``nanosecond`` holds the 0-999 below microseconds."""

    __slots__ = ("nanosecond",)
    nanosecond: int

    def __new__(cls, days: float = 0, seconds: float = 0, microseconds: float = 0,
                milliseconds: float = 0, minutes: float = 0, hours: float = 0, weeks: float = 0,
                *, nanoseconds: int = 0) -> Duration:
        self = super().__new__(cls, days, seconds, microseconds + nanoseconds // 1000,
                               milliseconds, minutes, hours, weeks)
        self.nanosecond = nanoseconds % 1000
        return self

    @classmethod
    def of(cls, value: datetime.timedelta) -> Duration:
        """value as a Duration (a plain timedelta has no nanoseconds below its microseconds)."""
        if isinstance(value, Duration):
            return value
        return cls(value.days, value.seconds, value.microseconds)

    @classmethod
    def from_nanoseconds(cls, count: int) -> Duration:
        """Go's time.Duration(count)."""
        return cls(nanoseconds=count)

    def total_nanoseconds(self) -> int:
        """The Go value: a count of nanoseconds."""
        return ((self.days * 86400 + self.seconds) * 1_000_000 + self.microseconds) * 1000 \
            + self.nanosecond

    def __reduce_ex__(self, protocol: Any) -> Any:
        return (Duration.from_nanoseconds, (self.total_nanoseconds(),))

    def __repr__(self) -> str:
        return f"Duration(nanoseconds={self.total_nanoseconds()})"

    def __neg__(self) -> Duration:
        return Duration.from_nanoseconds(-self.total_nanoseconds())

    def __add__(self, other: Any) -> Any:
        if isinstance(other, datetime.timedelta):
            return Duration.from_nanoseconds(self.total_nanoseconds() + nanoseconds(other))
        if isinstance(other, datetime.datetime):
            return Time.of(other) + self
        return NotImplemented

    __radd__ = __add__

    def __sub__(self, other: Any) -> Any:
        if isinstance(other, datetime.timedelta):
            return Duration.from_nanoseconds(self.total_nanoseconds() - nanoseconds(other))
        return NotImplemented

    def __rsub__(self, other: Any) -> Any:
        if isinstance(other, datetime.timedelta):
            return Duration.from_nanoseconds(nanoseconds(other) - self.total_nanoseconds())
        return NotImplemented

    def __eq__(self, other: object) -> bool:
        if isinstance(other, datetime.timedelta):
            return bool(self.total_nanoseconds() == nanoseconds(other))
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        if isinstance(other, datetime.timedelta):
            return not self == other
        return NotImplemented

    def __lt__(self, other: Any) -> bool:
        if isinstance(other, datetime.timedelta):
            return self.total_nanoseconds() < nanoseconds(other)
        return NotImplemented

    def __le__(self, other: Any) -> bool:
        return bool(self == other or self < other)

    def __gt__(self, other: Any) -> bool:
        if isinstance(other, datetime.timedelta):
            return self.total_nanoseconds() > nanoseconds(other)
        return NotImplemented

    def __ge__(self, other: Any) -> bool:
        return bool(self == other or self > other)

    __hash__ = datetime.timedelta.__hash__


def _nanos_below_micro(value: datetime.timedelta) -> int:
    return value.nanosecond if isinstance(value, Duration) else 0


def nanoseconds(value: datetime.timedelta) -> int:
    """A timedelta (or Duration) as Go's count of nanoseconds."""
    if isinstance(value, Duration):
        return value.total_nanoseconds()
    return ((value.days * 86400 + value.seconds) * 1_000_000 + value.microseconds) * 1000


# Go's binary form (time.go MarshalBinary / UnmarshalBinary).

def is_utc(tz: Optional[datetime.tzinfo]) -> bool:
    """Whether tz is Go's UTC location: timezone.utc or the zoneinfo "UTC" (LoadLocation's)."""
    return tz is UTC or (isinstance(tz, ZoneInfo) and tz.key == "UTC")


def _checked(value: datetime.datetime) -> datetime.timedelta:
    offset = value.utcoffset()
    if offset is None:
        raise ValueError(f"naive datetime {value.isoformat()} has no time zone, which Go's "
                         "time.Time needs: give it one, e.g. datetime.now(timezone.utc)")
    return offset


def _nanos(value: datetime.datetime) -> int:
    return value.microsecond * 1000 + (value.nanosecond if isinstance(value, Time) else 0)


def marshal_binary(value: datetime.datetime) -> bytes:
    """Go's Time.MarshalBinary of value; raises ValueError for a naive datetime."""
    offset = int(_checked(value).total_seconds())
    version, extra = 1, b""
    if is_utc(value.tzinfo):
        minutes = -1
    else:
        minutes = abs(offset) // 60 * (1 if offset >= 0 else -1)  # Go divides toward zero
        if offset % 60:
            version, extra = 2, ((offset - minutes * 60) & 0xFF).to_bytes(1, "big")
        if minutes == -1:
            raise ValueError("Time.MarshalBinary: unexpected zone offset")
    since = value - _YEAR_ONE
    seconds = since.days * 86400 + since.seconds
    return (bytes((version,)) + seconds.to_bytes(8, "big", signed=True)
            + _nanos(value).to_bytes(4, "big") + minutes.to_bytes(2, "big", signed=True) + extra)


def unmarshal_binary(data: bytes) -> Time:
    """Go's Time.UnmarshalBinary; raises ValueError with Go's text (or for years Python lacks)."""
    if not data:
        raise ValueError("Time.UnmarshalBinary: no data")
    if data[0] not in (1, 2):
        raise ValueError("Time.UnmarshalBinary: unsupported version")
    if len(data) != (15 if data[0] == 1 else 16):
        raise ValueError("Time.UnmarshalBinary: invalid length")
    seconds = int.from_bytes(data[1:9], "big", signed=True)
    nanos = int.from_bytes(data[9:13], "big", signed=True)
    offset = int.from_bytes(data[13:15], "big", signed=True) * 60
    if data[0] == 2:
        offset += data[15]  # unsigned, as Go reads it
    tz = UTC if offset == -60 else zone(offset)
    return _time_at(seconds, nanos, tz, "Time.UnmarshalBinary")


def zone(offset: int) -> datetime.tzinfo:
    """A fixed zone offset seconds east of UTC that is not UTC itself (Go's FixedZone("", n))."""
    if not -86400 < offset < 86400:
        raise ValueError(f"zone offset {offset} s is beyond the ±24 h Python's timezone holds")
    return datetime.timezone(datetime.timedelta(seconds=offset), "")


def _time_at(seconds: int, nanos: int, tz: datetime.tzinfo, where: str) -> Time:
    try:
        instant = _YEAR_ONE + datetime.timedelta(seconds=seconds, microseconds=nanos // 1000)
        return Time.of(instant.astimezone(tz), nanos % 1000)
    except OverflowError:
        raise ValueError(f"{where}: time is outside the years 1-9999 Python's datetime "
                         "holds") from None


# Go's JSON form (time.go MarshalJSON / UnmarshalJSON, format.go's RFC3339Nano).

def format_rfc3339(value: datetime.datetime) -> str:
    """Go's MarshalJSON text of value, without the quotes: RFC 3339, nanoseconds trimmed."""
    offset = int(_checked(value).total_seconds())
    text = (f"{value.year:04d}-{value.month:02d}-{value.day:02d}T{value.hour:02d}:"
            f"{value.minute:02d}:{value.second:02d}")
    nanos = _nanos(value)
    if nanos:
        text += "." + f"{nanos:09d}".rstrip("0")
    if offset == 0:
        return text + "Z"
    minutes = abs(offset) // 60 * (1 if offset >= 0 else -1)
    sign = "-" if minutes < 0 else "+"
    return f"{text}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


LAYOUT = '"2006-01-02T15:04:05Z07:00"'
_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class _Reader:
    """Go's time.Parse for one layout, element by element, with its error texts."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.rest = text

    def fail(self, element: str) -> ValueError:
        return ValueError(f"parsing time {_quote(self.text)} as {_quote(LAYOUT)}: cannot parse "
                          f"{_quote(self.rest)} as {_quote(element)}")

    def out_of_range(self, what: str) -> ValueError:
        return ValueError(f"parsing time {_quote(self.text)}: {what} out of range")

    def literal(self, element: str) -> None:
        if not self.rest.startswith(element):
            raise self.fail(element)
        self.rest = self.rest[len(element):]

    def number(self, element: str, fixed: bool, low: int, high: int, what: str) -> int:
        # getnum: two digits, or one where the layout element allows it (the hour).
        rest = self.rest
        if not rest[:1].isdigit() or not rest[:1].isascii():
            raise self.fail(element)
        size = 2 if rest[1:2].isdigit() and rest[1:2].isascii() else 1
        if size == 1 and fixed:
            raise self.fail(element)
        value = int(rest[:size])
        self.rest = rest[size:]
        if not low <= value <= high:
            raise self.out_of_range(what)
        return value


def parse_rfc3339(text: str) -> Time:
    """Go's UnmarshalJSON of the JSON text (quotes included); ValueError with Go's message."""
    r = _Reader(text)
    r.literal('"')
    if len(r.rest) < 4 or not _is_int(r.rest[:4]):
        raise r.fail("2006")
    year, r.rest = int(r.rest[:4]), r.rest[4:]
    r.literal("-")
    month = r.number("01", True, 1, 12, "month")
    r.literal("-")
    day = r.number("02", True, 0, 99, "day")
    r.literal("T")
    hour = r.number("15", False, 0, 23, "hour")
    r.literal(":")
    minute = r.number("04", True, 0, 59, "minute")
    r.literal(":")
    second = r.number("05", True, 0, 59, "second")
    nanos = 0
    if len(r.rest) >= 2 and r.rest[0] in ".," and r.rest[1].isdigit():
        end = 2
        while end < len(r.rest) and r.rest[end].isdigit():
            end += 1
        digits = r.rest[1:min(end, 10)]
        nanos = int(digits) * 10 ** (9 - len(digits))
        r.rest = r.rest[end:]
    tz = _read_zone(r)
    r.literal('"')
    if r.rest:
        raise ValueError(f"parsing time {_quote(text)}: extra text: {_quote(r.rest)}")
    leap = month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    if day < 1 or day > _DAYS[month - 1] + leap:
        raise r.out_of_range("day")
    try:
        local = datetime.datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except ValueError:
        raise ValueError(f"parsing time {_quote(text)}: year {year} is outside the years "
                         "1-9999 Python's datetime holds") from None
    return Time.of(local + datetime.timedelta(microseconds=nanos // 1000), nanos % 1000)


def _read_zone(r: _Reader) -> datetime.tzinfo:
    rest = r.rest
    if rest[:1] == "Z":
        r.rest = rest[1:]
        return UTC
    if len(rest) < 6 or rest[3] != ":" or rest[0] not in "+-" \
            or not all(c.isdigit() and c.isascii() for c in rest[1:3] + rest[4:6]):
        raise r.fail("Z07:00")
    offset = (int(rest[1:3]) * 60 + int(rest[4:6])) * 60
    r.rest = rest[6:]
    try:
        return zone(-offset if rest[0] == "-" else offset)
    except ValueError as err:
        raise ValueError(f"parsing time {_quote(r.text)}: {err}") from None


def _is_int(text: str) -> bool:
    body = text[1:] if text[:1] in "+-" else text
    return body.isdigit() and body.isascii()
