"""The methods ``@dataclass`` writes, compiled once and kept for the next start.

For every class it decorates, the dataclasses module writes the methods it adds
(``__init__``, ``__repr__``, ``__eq__``, ``__hash__``, a frozen class's ``__setattr__`` and
``__delattr__``) as source text and runs that text with ``exec()``. Counted with valgrind on
Python 3.11, a class of nine fields costs 3.1 million instructions, 5.3 million frozen, and
four fifths of it is compiling the text. ``sandbox serve`` decorates about 50 classes of its
own before it answers, and pydantic about 50 more: some 13% of its start-up.

While :func:`kept_dataclass_code` is active, ``exec`` inside the dataclasses module is
:meth:`KeptCode.exec`: it looks the text up in a table of code objects, compiles only a text
it has not seen (as ``exec()`` compiles it: filename ``"<string>"``, no future flags, since
the dataclasses module has none), and runs the code object. The same text always gives the
same code, so a class is built exactly as without the table (classes whose methods have the
same text share their code objects, as functions made from one ``def`` do).

The table is a file in the user's cache directory (``$XDG_CACHE_HOME``, else ``~/.cache``;
``%LOCALAPPDATA%`` on Windows),
``creditunion-bank-sandbox/dataclass-code.cpython-311.marshal`` on CPython 3.11
(``.opt-1.marshal`` under ``-O``): not beside the package's bytecode, where ``pip
uninstall`` would leave it behind, and with it a ``sandbox/`` directory that imports as an
empty package. It starts with the interpreter's bytecode magic number; a file that is
missing, larger than ``MAX_BYTES``, unreadable by marshal or another Python's is ignored.
Its code is run, so it is read only where nobody else could have written it: on POSIX, the
file and its directory must belong to this process's user and be writable by nobody else,
and a symbolic link is not followed (the directory is made with mode 0700). A file that
passes those checks is trusted as the user's own bytecode is. When something new was
compiled it is written back whole (a temporary file, then renamed, so processes starting
together each read a whole table), as bytecode is: not when bytecode writing is off
(``PYTHONDONTWRITEBYTECODE``, ``-B``) or the directory cannot be written. Texts of other
installs and versions may share the table; past ``LIMIT`` it is written with one start's
texts only. At the end the dataclasses module's own ``exec`` is the builtin again.

Only ``sandbox serve`` builds its classes this way.
"""

from __future__ import annotations

import builtins
import dataclasses
import importlib.util
import marshal
import os
import stat
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import CodeType
from typing import Any

# Texts a table keeps at most; a larger one is written back with this run's texts only.
LIMIT = 2000
MAX_BYTES = 8 * 1024 * 1024  # a larger file is not read (the sandbox's table: about 0.5 MB)


def default_path() -> Path | None:
    """Where the table lives (see the module's docstring); None where there is no user cache
    directory or no bytecode tag."""
    tag = sys.implementation.cache_tag
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA", "")
    else:
        base = os.environ.get("XDG_CACHE_HOME", "")
        if not os.path.isabs(base):  # unset, or relative: to be ignored, says XDG
            base = os.path.join(os.path.expanduser("~"), ".cache")
    if tag is None or not os.path.isabs(base):
        return None
    optimized = f".opt-{sys.flags.optimize}" if sys.flags.optimize else ""
    return Path(base, "creditunion-bank-sandbox", f"dataclass-code.{tag}{optimized}.marshal")


class KeptCode:
    """The table of code objects, by the text they were compiled from."""

    def __init__(self, known: Mapping[str, CodeType]) -> None:
        self._known = dict(known)
        self._used: dict[str, CodeType] = {}
        self.compiled = 0  # texts compiled in this run
        self.reused = 0  # texts found in the table

    def exec(
        self,
        source: Any,
        globals: dict[str, Any] | None = None,
        locals: Any = None,
        **options: Any,
    ) -> None:
        """``exec(source, globals, locals)``, with ``source`` compiled at most once."""
        if not isinstance(source, str) or options:  # closure=...: not what dataclasses asks
            builtins.exec(source, globals, locals, **options)
            return
        code = self._known.get(source)
        if code is None:
            code = compile(source, "<string>", "exec", dont_inherit=True)
            self._known[source] = code
            self.compiled += 1
        else:
            self.reused += 1
        self._used[source] = code
        builtins.exec(code, globals, locals)

    def to_write(self) -> dict[str, CodeType] | None:
        """The table to write back, or None when the file holds it already."""
        if not self.compiled:
            return None
        return self._known if len(self._known) <= LIMIT else self._used


def read(path: Path) -> dict[str, CodeType]:
    """The table in ``path``; empty when it is missing, too large, damaged, another Python's,
    or could have been written by someone else (see the module's docstring)."""
    magic = importlib.util.MAGIC_NUMBER
    try:
        data = _own_file(path)
    except OSError:
        return {}
    if data is None or not data.startswith(magic):
        return {}
    try:
        table = marshal.loads(data[len(magic) :])
    except Exception:  # EOFError, ValueError, TypeError; SystemError for some damage
        return {}
    if not isinstance(table, dict):
        return {}
    return {k: v for k, v in table.items() if isinstance(k, str) and isinstance(v, CodeType)}


def _own_file(path: Path) -> bytes | None:
    """The bytes of ``path`` if only this user could have written it (POSIX; elsewhere any
    file) and it is at most ``MAX_BYTES``; else None."""
    # No symbolic link followed; a FIFO or device put there opens without waiting, then fails.
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0)
    flags |= getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    handle = os.open(path, flags)
    with os.fdopen(handle, "rb") as opened:
        status = os.fstat(opened.fileno())
        if not stat.S_ISREG(status.st_mode) or status.st_size > MAX_BYTES:
            return None
        if hasattr(os, "geteuid") and not (
            _only_mine(status) and _only_mine(os.stat(path.parent, follow_symlinks=False))
        ):
            return None
        data = opened.read(MAX_BYTES + 1)  # it may have grown since
        return data if len(data) <= MAX_BYTES else None


def _only_mine(status: os.stat_result) -> bool:
    """Owned by this process's user and writable by nobody else."""
    return status.st_uid == os.geteuid() and not status.st_mode & 0o022


def write(path: Path, table: Mapping[str, CodeType]) -> None:
    """Write ``table`` to ``path`` whole (another process sees the old file or the new one);
    where it cannot be written, nothing (the next start compiles again)."""
    import tempfile  # here: a start that finds its table whole never needs it

    data = importlib.util.MAGIC_NUMBER + marshal.dumps(dict(table))
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError:
        pass


@contextmanager
def kept_dataclass_code(path: Path | None = None) -> Iterator[KeptCode]:
    """Classes decorated with ``@dataclass`` inside reuse code compiled before (see the
    module's docstring); ``path`` is the table's file (default: :func:`default_path`)."""
    path = path if path is not None else default_path()
    if path is None or "exec" in vars(dataclasses):
        yield KeptCode({})  # nowhere to keep it, or already inside: left as it is
        return
    kept = KeptCode(read(path))
    dataclasses.exec = kept.exec  # type: ignore[attr-defined]  # shadows the builtin there
    try:
        yield kept
    finally:
        if vars(dataclasses).get("exec") == kept.exec:  # ours: nobody else's is removed
            del dataclasses.exec  # type: ignore[attr-defined]
    table = kept.to_write()
    if table is not None and not sys.dont_write_bytecode:
        write(path, table)
