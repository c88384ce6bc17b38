"""aiohttp imported without loading its client CA store on the start-up's path.

When ``aiohttp.connector`` is imported it makes two client TLS contexts, verified and
unverified, and loads the system's CA store into each (``set_default_verify_paths``): about
490 million instructions, some 40% of what a bare aiohttp server runs before it answers. The
sandbox serves; it never dials out over TLS. Imported through :func:`import_aiohttp`:

- the unverified context (``CERT_NONE``) never consults a CA store, so none is loaded into it;
- the verified one gets its store on a thread of its own (CPython lets go of the interpreter
  lock while OpenSSL reads it), while the sandbox's own modules import.
  :func:`wait_for_certificates` waits for that thread, and raises what the load raised; the
  server calls it before it answers, so the context is whole before anything could use it.
  The thread is not a daemon: a process that exits sooner waits for it (an interpreter
  that ends while a thread is inside OpenSSL can crash).

Only ``sandbox serve`` imports aiohttp this way; a process that imported aiohttp already
(tests, the pytest plugin) is left as it is.
"""

from __future__ import annotations

import importlib
import sys
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import ssl

_loading: list[threading.Thread] = []
_failed: list[Exception] = []  # what a load on the thread raised, for wait_for_certificates


def import_aiohttp() -> None:
    """Import aiohttp (see the module's docstring); nothing new if it is imported already."""
    if "aiohttp.connector" in sys.modules:
        return
    try:
        import ssl
    except ImportError:  # a Python without ssl: aiohttp makes no TLS context either
        importlib.import_module("aiohttp")
        return
    deferred: list[ssl.SSLContext] = []

    def defer(context: ssl.SSLContext) -> None:
        if context.verify_mode != ssl.CERT_NONE:
            deferred.append(context)

    # SSLContext is ssl.py's subclass of the C type: the method set on it here shadows the
    # C one (which load_default_certs calls) until it is deleted again.
    ssl.SSLContext.set_default_verify_paths = defer  # type: ignore[method-assign,assignment]
    try:
        importlib.import_module("aiohttp.connector")
    finally:
        del ssl.SSLContext.set_default_verify_paths
    if deferred:
        thread = threading.Thread(target=_load, args=(deferred,), name="client-ca-store")
        thread.start()
        _loading.append(thread)


def _load(contexts: list[ssl.SSLContext]) -> None:
    try:
        for context in contexts:
            context.set_default_verify_paths()
    except Exception as exc:  # what aiohttp's import would have raised
        _failed.append(exc)


def wait_for_certificates() -> None:
    """Return once every context :func:`import_aiohttp` deferred holds its CA store; raise
    what loading one raised."""
    while _loading:
        _loading.pop().join()
    if _failed:
        raise _failed.pop()
