"""Which linkages a browser owns: their ids in a signed session cookie.

A linkage id is already in the screen URLs, so the cookie needs no secrecy, only integrity:
``id:id:...:id.signature`` with an HMAC-SHA256 under the app's secret key. Another browser cannot
claim a linkage it saw the URL of, and every worker with the same ``SANDBOX_SECRET_KEY``
accepts the cookie. Reading a new one costs one HMAC (none when this process signed it
for the response before); API requests never touch it.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re

from aiohttp import hdrs, web

from sandbox.web.trace import trace_of

COOKIE = "SANDBOX_SESSION"
# Behind https (SANDBOX_PUBLIC_URL): a __Host- cookie, Secure, for the whole host only.
SECURE_COOKIE = "__Host-SANDBOX_SESSION"
SECURE = web.AppKey("session_secure", bool)
MAX_LINKAGES_PER_SESSION = 8
SESSION_KEY = web.AppKey("session_key", bytes)


def session_key(secret: bytes) -> bytes:
    """The HMAC key of the session cookie, derived from the app's secret key."""
    return hashlib.sha256(b"sandbox-session-cookie\x00" + secret).digest()


def _signature(key: bytes, payload: str) -> str:
    digest = hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(digest).decode("ascii")


def _read(request: web.Request) -> list[str]:
    trace = trace_of(request)
    if trace.owned is not None:
        return trace.owned
    app = trace.app
    value = cookie(request, _name(app))
    key = app[SESSION_KEY]
    if len(value) <= _CACHED_COOKIE:
        # (One this process signed for the last response needs no HMAC.)
        signed = _SIGNED.get((key, value))
        owned = list(signed if signed is not None else _verified(key, value) if value else ())
    else:  # longer than any cookie the sandbox sets: checked, never remembered
        owned = list(_verified.__wrapped__(key, value))
    trace.owned = owned
    return owned


_CACHED_COOKIE = 1024  # characters; eight hosted linkage ids and a signature fit
# Cookies this process signed, with their ids (the newest MAX_SIGNED): the browser sends
# the new cookie on the very next request, which then needs no HMAC to trust it. Each id
# list is what _verified would find in the cookie, so reading one is the same either way.
_SIGNED: dict[tuple[bytes, str], tuple[str, ...]] = {}
MAX_SIGNED = 1024


def cookie(request: web.Request, name: str) -> str:
    """Cookie ``name`` as ``request.cookies`` has it, without building a Morsel for every
    cookie the browser sent: a header of plain pairs (what browsers send) is split at its
    "; "; any other (quotes, spaces, commas, a pair without "=") goes to aiohttp's parser."""
    raw = request.headers.get(hdrs.COOKIE, "")
    if name not in raw:
        return ""
    if _PLAIN_PAIRS.fullmatch(raw) is None:
        return request.cookies.get(name, "")
    value = ""  # the last one wins, as in request.cookies
    for pair in raw.split("; "):
        key, _, found = pair.partition("=")
        if key == name:
            value = found
    return value


# RFC 6265 4.2.1: name=value pairs joined by "; ", names and values of cookie-octets only
# (no space, quote, comma, semicolon or backslash; no "=" in a name).
_OCTET = r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]"
_NAME = r"[\x21\x23-\x2b\x2d-\x3a\x3c\x3e-\x5b\x5d-\x7e]"
_PLAIN_PAIRS = re.compile(rf"{_NAME}+={_OCTET}*(?:; {_NAME}+={_OCTET}*)*")


@functools.lru_cache(maxsize=1024)  # a browser sends the same cookie on every screen
def _verified(key: bytes, value: str) -> tuple[str, ...]:
    """The linkage ids of a cookie whose signature holds, else none."""
    payload, _, signature = value.rpartition(".")
    if payload and value.isascii():
        expected = _signature(key, payload)
        if hmac.compare_digest(expected, signature):
            return _ids(payload)
    return ()


def _ids(payload: str) -> tuple[str, ...]:
    """The linkage ids a cookie's signed payload names (its newest eight)."""
    return tuple(payload.split(":")[-MAX_LINKAGES_PER_SESSION:])


async def owns(request: web.Request, linkage_id: str) -> bool:
    """Whether this browser's cookie names ``linkage_id``."""
    return linkage_id in _read(request)


async def bind(request: web.Request, linkage_id: str, replaces: str | None = None) -> None:
    """Remember that this browser owns the linkage (the cookie goes out with the response)."""
    owned = [lid for lid in _read(request) if lid != replaces]
    owned.append(linkage_id)
    trace = trace_of(request)
    trace.owned = owned[-MAX_LINKAGES_PER_SESSION:]
    trace.owned_changed = True


def set_cookie(request: web.Request, response: web.StreamResponse) -> None:
    """Before a response goes out: send the cookie when a handler bound a linkage.

    The headers are final by then, so the Set-Cookie line is added as a header. Linkage ids
    and the signature use only cookie-safe characters (RFC 6265: no comma, no quotes).
    """
    trace = trace_of(request)
    if not trace.owned_changed or trace.owned is None:
        return
    payload = ":".join(trace.owned)
    app = trace.app
    key = app[SESSION_KEY]
    value = f"{payload}.{_signature(key, payload)}"
    if payload and len(value) <= _CACHED_COOKIE and value.isascii():
        if len(_SIGNED) >= MAX_SIGNED:
            del _SIGNED[next(iter(_SIGNED))]  # the oldest
        _SIGNED[(key, value)] = _ids(payload)
    if app[SECURE]:
        attributes = "HttpOnly; Secure; Path=/; SameSite=Lax"
    else:
        attributes = "HttpOnly; Path=/parasol/; SameSite=Lax"
    response.headers.add("Set-Cookie", f"{_name(app)}={value}; {attributes}")


def _name(app: web.Application) -> str:
    return SECURE_COOKIE if app[SECURE] else COOKIE
