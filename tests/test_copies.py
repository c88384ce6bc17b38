"""sandbox.copies.replace: the copy dataclasses.replace makes, or dataclasses.replace itself."""

from __future__ import annotations

import dataclasses
from dataclasses import InitVar, dataclass, field
from datetime import datetime, timedelta
from typing import ClassVar

import pytest

from sandbox import copies
from sandbox.clock import JST, ClockState
from sandbox.copies import replace
from sandbox.domain.linkage import Linkage
from sandbox.domain.oauth.authorize import AuthRequest


@dataclass(frozen=True, slots=True)
class FrozenSlots:
    a: int
    b: str = "b"
    c: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class FrozenDict:
    a: int
    b: str = "b"


@dataclass
class Plain:
    a: int
    b: str = "b"


@dataclass(frozen=True)
class Checked:
    a: int

    def __post_init__(self) -> None:
        if self.a < 0:
            raise ValueError("a must not be negative")


@dataclass
class WithInitVar:
    a: int
    scale: InitVar[int] = 1

    def __post_init__(self, scale: int) -> None:
        self.a *= scale


@dataclass
class Derived:
    a: int
    twice: int = field(init=False)

    def __post_init__(self) -> None:
        self.twice = 2 * self.a


@dataclass(init=False)
class OwnInit:
    a: int

    def __init__(self, a: int) -> None:
        self.a = a + 1


@dataclass
class Guarded:
    a: int

    def __setattr__(self, name: str, value: object) -> None:
        if value == 13:
            raise ValueError("unlucky")
        object.__setattr__(self, name, value)


class Tagged:
    def __new__(cls, *args: object, **kwargs: object) -> Tagged:
        made = super().__new__(cls)
        made.tag = "made"  # type: ignore[attr-defined]
        return made


@dataclass
class OwnNew(Tagged):
    a: int


class Registering(type):
    def __call__(cls, *args: object, **kwargs: object) -> object:
        made = super().__call__(*args, **kwargs)
        made.registered = True
        return made


@dataclass
class ByMetaclass(metaclass=Registering):
    a: int


class Logged:
    """A data descriptor that records every value set through it."""

    def __init__(self) -> None:
        self.seen: list[object] = []

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = "_" + name

    def __get__(self, obj: object, owner: type | None = None) -> object:
        return 0 if obj is None else getattr(obj, self.name)

    def __set__(self, obj: object, value: object) -> None:
        self.seen.append(value)
        object.__setattr__(obj, self.name, value)


@dataclass
class Described:
    a: int = Logged()  # type: ignore[assignment]


@dataclass(frozen=True)
class Counted:
    made: ClassVar[int] = 0
    a: int


@pytest.mark.parametrize(
    ("obj", "changes"),
    [
        (FrozenSlots(1, "x", [1]), {"a": 2}),
        (FrozenSlots(1, "x", [1]), {}),
        (FrozenSlots(1), {"b": "y", "c": [2]}),
        (FrozenDict(1), {"b": "y"}),
        (Plain(1), {"a": 5, "b": "z"}),
    ],
)
def test_the_copy_equals_dataclasses_replace_and_leaves_the_original(
    obj: object, changes: dict[str, object]
) -> None:
    before = dataclasses.astuple(obj)  # type: ignore[call-overload]
    copied = replace(obj, **changes)
    assert copied == dataclasses.replace(obj, **changes)  # type: ignore[type-var]
    assert type(copied) is type(obj)
    assert copied is not obj
    assert dataclasses.astuple(obj) == before  # type: ignore[call-overload]
    assert copies._copier(type(obj)) is not None  # copied directly, not by dataclasses


def test_a_frozen_copy_stays_frozen_and_a_slotted_one_has_no_dict() -> None:
    copied = replace(FrozenSlots(1), a=2)
    with pytest.raises(dataclasses.FrozenInstanceError):
        copied.a = 3  # type: ignore[misc]
    assert not hasattr(copied, "__dict__")
    assert replace(FrozenDict(1), a=2).__dict__ == {"a": 2, "b": "b"}


def test_unchanged_fields_are_the_same_objects_as_dataclasses_gives_them() -> None:
    items = [1, 2]
    copied = replace(FrozenSlots(1, "x", items), a=2)
    assert copied.c is items  # a shallow copy, as dataclasses.replace makes


def test_init_that_does_more_than_set_fields_runs_as_with_dataclasses() -> None:
    with pytest.raises(ValueError, match="negative"):
        replace(Checked(1), a=-1)
    assert replace(WithInitVar(2, scale=5), a=3).a == 3  # scale back to its default
    assert replace(WithInitVar(2), a=3, scale=10).a == 30
    assert replace(Derived(2), a=5).twice == 10
    with pytest.raises(ValueError, match="init=False"):
        replace(Derived(2), twice=1)
    assert replace(OwnInit(1), a=5).a == 6
    with pytest.raises(ValueError, match="unlucky"):
        replace(Guarded(1), a=13)
    assert replace(Counted(1), a=2) == Counted(2)
    assert replace(OwnNew(1), a=2).tag == "made"  # type: ignore[attr-defined]
    assert replace(ByMetaclass(1), a=2).registered  # type: ignore[attr-defined]
    described = Described(1)
    logged = Described.__dict__["a"]
    logged.seen.clear()
    assert replace(described, a=7).a == 7
    assert logged.seen == [7]  # set once, as dataclasses sets it
    ineligible: list[type] = [Checked, WithInitVar, Derived, OwnInit, Guarded, Counted]
    for cls in [*ineligible, OwnNew, ByMetaclass, Described]:
        assert copies._copier(cls) is None, cls


def test_a_change_naming_no_field_is_refused_as_by_dataclasses() -> None:
    with pytest.raises(TypeError, match="unexpected keyword argument 'nope'"):
        replace(FrozenSlots(1), nope=1)
    with pytest.raises(TypeError, match="dataclass"):
        replace(object())


def test_the_records_a_request_copies_are_copied_directly() -> None:
    now = datetime(2026, 11, 25, 10, 0, tzinfo=JST)
    request = AuthRequest(
        client_id="app",
        redirect_uri="http://127.0.0.1:9/cb",
        scope="accounts",
        state="s",
        code_challenge=None,
        code_challenge_method=None,
    )
    linkage = Linkage(
        key="k",
        linkage_id="l1",
        request=request,
        created_at=now,
        expires_at=now + timedelta(minutes=30),
        csrf_token="c",
    )
    copied = replace(linkage, version=linkage.version + 1, values={"a": "b"})
    assert copied == dataclasses.replace(linkage, version=1, values={"a": "b"})
    assert copies._copier(Linkage) is not None
    clock = ClockState.starting(now, frozen=True, wall=0.0)
    assert clock.freeze(False, wall=5.0) == dataclasses.replace(clock, anchor=5.0, frozen=False)
    assert copies._copier(ClockState) is not None
