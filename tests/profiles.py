"""The Profiles service of the round-trip proof, on the types `greenrpc gen python` wrote.

tests/interop/go/profiles/profiles.go declares the same service in Go; both build the same
sample profile, so each side can tell what arrived intact.
"""
from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import greenrpc
from greenrpc.gotime import UTC, Duration, Time, marshal_binary, zone
from tests.generated.profiles import Audit, Base, Color, Level, Priority, Profile, Stamp, Tag


def sample_profile() -> Profile:
    """The value Go's sampleProfile() builds, field for field."""
    manager = Profile(base=Base(id=7, created_at=Time(1999, 12, 31, 23, 59, 59, tzinfo=UTC)),
                      name="Grace", level=Level.DEBUG, timeout=Duration(seconds=-2))
    return Profile(
        base=Base(id=42, created_at=Time(2023, 3, 14, 15, 9, 26, 535897, tzinfo=zone(19800),
                                         nanosecond=932)),
        audit=Audit(by="ops"),
        user_id=(1 << 63) + 5,
        name="Ada Lovelace é",
        home_url="https://example.com/~ada",
        timeout=Duration(milliseconds=1500, nanoseconds=7),
        color=Color.BLUE,
        level=Level.INFO,
        priority=Priority.HIGH,
        tags=[Tag("a", 1.5), Tag("b", -0.25)],
        scores={"math": -7},
        by_id={-3: "x"},
        grid=[[1, -2, 3], [0, 127, -128]],
        avatar=b"\x00\xff\n",
        manager=manager,
        nickname="ada",
        deleted=Time(2024, 1, 2, 3, 4, 5, 120000, tzinfo=UTC),
        secret="s3cret",
        ratio=0.1,
        active=True,
        counts=[0, 65535],
    )


def differences(got: Any, want: Any, path: str = "Profile") -> list[str]:
    """Where got and want differ, as Go's diff in sample.go says it: times by their binary form
    (instant, nanoseconds, offset, UTC or not), values and types otherwise."""
    if isinstance(want, datetime.datetime):
        same = isinstance(got, datetime.datetime) and marshal_binary(got) == marshal_binary(want)
        return [] if same else [f"{path}: {got!r} != {want!r}"]
    if dataclasses.is_dataclass(want):
        if type(got) is not type(want):
            return [f"{path}: {type(got).__name__} != {type(want).__name__}"]
        return [d for f in dataclasses.fields(want)
                for d in differences(getattr(got, f.name), getattr(want, f.name),
                                     f"{path}.{f.name}")]
    if isinstance(want, list) and isinstance(got, list) and len(got) == len(want):
        return [d for i, (g, w) in enumerate(zip(got, want))
                for d in differences(g, w, f"{path}[{i}]")]
    if isinstance(want, dict) and isinstance(got, dict) and got.keys() == want.keys():
        return [d for k in want for d in differences(got[k], want[k], f"{path}[{k}]")]
    if got != want or type(got) is not type(want):
        return [f"{path}: {got!r} != {want!r}"]
    return []


class Profiles:
    """Profiles answers with and about profiles."""

    def Echo(self, args: Profile) -> Profile:
        """Echo returns the profile it was sent."""
        return args

    def Check(self, args: Profile) -> str:
        """Check compares the profile it was sent with the sample and names what differs."""
        return "; ".join(differences(args, sample_profile()))

    def Sample(self, n: int) -> Profile:
        """Sample returns the sample profile; n > 0 asks for one without a manager."""
        profile = sample_profile()
        if n > 0:
            profile.manager = None
        return profile

    def Shift(self, args: Stamp) -> datetime.datetime:
        """Shift adds the stamp's duration to its time."""
        return args.at + args.shift

    def Paint(self, args: Color) -> Level:
        """Paint names a color's level."""
        return {Color.RED: Level.ERROR, Color.GREEN: Level.INFO, Color.BLUE: Level.DEBUG}[args]


def make_server() -> greenrpc.Server:
    server = greenrpc.Server()
    server.register(Profiles())
    return server
