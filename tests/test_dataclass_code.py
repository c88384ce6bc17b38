"""sandbox.dataclass_code: classes built from kept code are the classes dataclasses builds."""

from __future__ import annotations

import dataclasses
import importlib.util
import marshal
import os
import sys
import types
import urllib.request
from dataclasses import InitVar, dataclass, field
from pathlib import Path
from typing import Any

import pytest

from sandbox import dataclass_code
from sandbox.dataclass_code import default_path, kept_dataclass_code, read
from tests.servers import Server


@pytest.fixture(autouse=True)
def _bytecode_written(monkeypatch: pytest.MonkeyPatch) -> None:
    """As a user's Python has it (this suite may run with PYTHONDONTWRITEBYTECODE)."""
    monkeypatch.setattr(sys, "dont_write_bytecode", False)


def _classes() -> dict[str, Any]:
    """Fresh classes using what the sandbox's own dataclasses use (and a few more)."""

    @dataclass(frozen=True, slots=True)
    class Grant:
        grant_id: str
        scope: str = "read"
        refs: tuple[str, ...] = ()

    @dataclass(order=True)
    class Line:
        day: int
        amount: int = 0
        tags: list[str] = field(default_factory=list)
        hidden: str = field(default="x", repr=False, compare=False)

    @dataclass(kw_only=True)
    class Settings:
        port: int = 8080
        host: str = "127.0.0.1"
        scale: InitVar[int] = 1
        doubled: int = field(init=False, default=0)

        def __post_init__(self, scale: int) -> None:
            self.doubled = self.port * scale

    return {"Grant": Grant, "Line": Line, "Settings": Settings}


def _behaviour(classes: dict[str, Any]) -> dict[str, Any]:
    grant_class, line_class, settings_class = classes.values()
    grant = grant_class("g1", refs=("a",))
    with pytest.raises(dataclasses.FrozenInstanceError):
        grant.scope = "write"
    first, second = line_class(1, 5), line_class(1, 5, hidden="y")
    first.tags.append("t")
    settings = settings_class(port=80, scale=3)
    with pytest.raises(TypeError):
        settings_class(80)  # keyword only
    return {
        "grant": (repr(grant), hash(grant) == hash(grant_class("g1", refs=("a",))), grant.refs),
        "slots": hasattr(grant, "__dict__"),
        "lines": (repr(first), first == second, line_class(0) < first, line_class(2).tags),
        "settings": (repr(settings), settings.doubled),
    }


def _codes(classes: dict[str, Any]) -> dict[str, tuple[object, ...]]:
    """Each generated method's code (bytecode, constants, names, flags, lines), file name,
    qualified name and annotations (which a leaked future flag would turn into strings)."""
    found: dict[str, tuple[object, ...]] = {}
    for name, cls in classes.items():
        for method in ("__init__", "__repr__", "__eq__", "__lt__", "__hash__", "__setattr__"):
            function = vars(cls).get(method)
            code = getattr(function, "__code__", None)
            if code is not None:
                described = (code, code.co_filename, function.__qualname__)
                found[f"{name}.{method}"] = (*described, function.__annotations__)
    return found


def test_classes_built_from_kept_code_are_the_ones_dataclasses_builds(tmp_path: Path) -> None:
    table = tmp_path / "code.marshal"
    plain = _classes()
    with kept_dataclass_code(table) as first:
        compiled = _classes()
    with kept_dataclass_code(table) as second:
        reused = _classes()
    assert first.compiled > 0
    assert (second.compiled, second.reused) == (0, first.compiled)
    assert _behaviour(compiled) == _behaviour(reused) == _behaviour(plain)
    assert _codes(compiled) == _codes(reused) == _codes(plain)
    assert len(_codes(plain)) >= 8
    assert _codes(plain)["Line.__init__"][3] == {
        "day": "int",
        "amount": "int",
        "tags": "list[str]",
        "hidden": "str",
        "return": None,
    }
    assert "exec" not in vars(dataclasses)


def test_classes_of_two_modules_sharing_code_keep_their_own_globals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = (
        "from dataclasses import dataclass\n@dataclass(frozen=True)\nclass Key:\n    name: str\n"
    )
    own_hash = "def hash(value):\n    return 42\n"  # the generated __hash__ calls hash()
    modules = {}
    with kept_dataclass_code(tmp_path / "code.marshal") as kept:
        for name, text in (("plain_module", source), ("shadowed_module", own_hash + source)):
            module = modules[name] = types.ModuleType(name)
            monkeypatch.setitem(sys.modules, name, module)
            exec(compile(text, f"<{name}>", "exec", dont_inherit=True), vars(module))
    assert kept.reused > 0  # the second class's methods came from the first one's code
    assert hash(modules["shadowed_module"].Key("a")) == 42
    assert hash(modules["plain_module"].Key("a")) == hash(("a",))


def test_the_builtin_exec_is_back_afterwards_even_after_an_error(tmp_path: Path) -> None:
    inside: list[bool] = []

    def failing_import() -> None:
        with kept_dataclass_code(tmp_path / "code.marshal"):
            inside.append("exec" in vars(dataclasses))
            raise RuntimeError("an import failed")

    with pytest.raises(RuntimeError, match="an import failed"):
        failing_import()
    assert inside == [True]
    assert "exec" not in vars(dataclasses)
    assert not (tmp_path / "code.marshal").exists()  # nothing was compiled


def test_a_context_inside_another_leaves_it_to_the_outer_one(tmp_path: Path) -> None:
    with kept_dataclass_code(tmp_path / "outer") as outer:
        with kept_dataclass_code(tmp_path / "inner") as inner:
            _classes()
        assert "exec" in vars(dataclasses)
    assert inner.compiled == 0
    assert outer.compiled > 0
    assert not (tmp_path / "inner").exists()
    assert (tmp_path / "outer").exists()


@pytest.mark.parametrize(
    "content",
    [
        b"not a table",
        b"\x00\x00\r\n" + marshal.dumps({"x": compile("1", "<string>", "exec")}),  # magic
        importlib.util.MAGIC_NUMBER + b"\xff\xfe",  # damaged
        importlib.util.MAGIC_NUMBER + marshal.dumps(["a list"]),
        importlib.util.MAGIC_NUMBER + b"",
    ],
    ids=["garbage", "another-python", "damaged", "not-a-dict", "empty"],
)
def test_a_damaged_or_foreign_file_is_ignored_and_replaced(tmp_path: Path, content: bytes) -> None:
    table = tmp_path / "code.marshal"
    table.write_bytes(content)
    with kept_dataclass_code(table) as kept:
        classes = _classes()
    assert kept.reused == 0
    assert kept.compiled > 0
    assert _behaviour(classes) == _behaviour(_classes())
    assert len(read(table)) == kept.compiled


def _system_error_blob() -> bytes:
    """A marshalled table, damaged in one byte so that marshal raises SystemError."""
    good = marshal.dumps({"x": compile("def f(a):\n  return a\n", "<string>", "exec")})
    for at in range(len(good)):
        for value in (0x00, 0x29, 0x69, 0xE9, 0xFF):
            damaged = good[:at] + bytes([value]) + good[at + 1 :]
            try:
                marshal.loads(damaged)
            except SystemError:
                return damaged
            except Exception:
                continue
    raise AssertionError("no one-byte damage made marshal raise SystemError")


def test_damage_that_makes_marshal_raise_system_error_is_ignored_too(tmp_path: Path) -> None:
    table = tmp_path / "code.marshal"
    table.write_bytes(importlib.util.MAGIC_NUMBER + _system_error_blob())
    assert read(table) == {}
    with kept_dataclass_code(table) as kept:
        _classes()
    assert (kept.reused, len(read(table))) == (0, kept.compiled)


@pytest.mark.skipif(not hasattr(os, "geteuid"), reason="POSIX ownership and modes")
@pytest.mark.parametrize(
    "planted",
    [
        "file-writable-by-others",
        "directory-writable-by-others",
        "symbolic-link",
        "another-users-file",
    ],
)
def test_a_table_someone_else_could_have_written_is_never_run(tmp_path: Path, planted: str) -> None:
    folder = tmp_path / "cache"
    with kept_dataclass_code(folder / "code.marshal") as first:
        _classes()
    assert first.compiled > 0
    table = folder / "code.marshal"
    if planted == "file-writable-by-others":
        table.chmod(0o666)
    elif planted == "directory-writable-by-others":
        folder.chmod(0o777)
    elif planted == "symbolic-link":
        table.rename(folder / "elsewhere.marshal")
        table.symlink_to(folder / "elsewhere.marshal")
    else:
        if os.geteuid() != 0:
            pytest.skip("only root can give a file to another user")
        os.chown(table, 12345, 12345)
    assert read(table) == {}
    with kept_dataclass_code(table) as second:
        classes = _classes()
    assert (second.reused, second.compiled) == (0, first.compiled)
    assert _behaviour(classes) == _behaviour(_classes())


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_fifo_in_the_tables_place_is_not_waited_for(tmp_path: Path) -> None:
    table = tmp_path / "code.marshal"
    os.mkfifo(table, 0o600)
    assert read(table) == {}  # at once: nobody will ever write into it


def test_the_table_is_only_this_users(tmp_path: Path) -> None:
    table = tmp_path / "new" / "code.marshal"
    with kept_dataclass_code(table):
        _classes()
    assert table.parent.stat().st_mode & 0o777 == 0o700
    assert table.stat().st_mode & 0o777 == 0o600


def test_a_file_larger_than_the_limit_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = tmp_path / "code.marshal"
    with kept_dataclass_code(table):
        _classes()
    assert read(table)
    monkeypatch.setattr(dataclass_code, "MAX_BYTES", table.stat().st_size - 1)
    assert read(table) == {}


def test_nothing_is_written_when_bytecode_writing_is_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    with kept_dataclass_code(tmp_path / "code.marshal") as kept:
        _classes()
    assert kept.compiled > 0
    assert not (tmp_path / "code.marshal").exists()


def test_a_directory_that_cannot_be_written_only_costs_the_compiling(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with kept_dataclass_code(blocker / "code.marshal") as kept:
        classes = _classes()
    assert kept.compiled > 0
    assert _behaviour(classes) == _behaviour(_classes())
    assert list(tmp_path.iterdir()) == [blocker]


def test_a_full_table_is_written_back_with_this_runs_texts_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = tmp_path / "code.marshal"
    old = {f"x = {n}": compile(f"x = {n}", "<string>", "exec") for n in range(5)}
    table.write_bytes(importlib.util.MAGIC_NUMBER + marshal.dumps(old))
    monkeypatch.setattr(dataclass_code, "LIMIT", 6)
    with kept_dataclass_code(table) as kept:
        _classes()
    assert kept.compiled > 1
    assert set(read(table)).isdisjoint(old)
    assert len(read(table)) == kept.compiled


def test_the_table_lives_in_the_users_cache_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"creditunion-bank-sandbox/dataclass-code.{sys.implementation.cache_tag}.marshal"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_path() == tmp_path / name
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # to be ignored, says XDG
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_path() == tmp_path / "home" / ".cache" / name
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_path() == tmp_path / "home" / ".cache" / name
    monkeypatch.setattr(sys, "flags", type("Flags", (), {"optimize": 1})())
    assert default_path() == tmp_path / "home" / ".cache" / name.replace(
        ".marshal", ".opt-1.marshal"
    )
    monkeypatch.setenv("HOME", "nowhere")
    assert default_path() is None


def test_sandbox_serve_keeps_its_classes_code_for_the_next_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYTHONDONTWRITEBYTECODE", raising=False)  # as a user's shell has it
    env = {"XDG_CACHE_HOME": str(tmp_path), "SANDBOX_ACCESS_LOG": "0"}
    table = tmp_path / "creditunion-bank-sandbox"
    tables: list[dict[str, Any]] = []
    for _ in range(2):
        server = Server(["--port", "0"], env)
        try:
            with urllib.request.urlopen(f"{server.url}/_sandbox/health", timeout=10) as answer:
                assert answer.status == 200
        finally:
            server.stop()
        (found,) = table.glob("dataclass-code.*.marshal")
        tables.append({"table": read(found), "written": found.stat().st_mtime_ns})
    first, second = tables
    # The sandbox's own classes, its records among them, and the second start found
    # everything there: the file was not written again.
    assert len(first["table"]) > 100
    assert any("grant_id" in text and "refresh_expires_at" in text for text in first["table"])
    assert second == first
