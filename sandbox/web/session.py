"""Which linkages a browser owns: their ids in the encrypted session cookie."""

from __future__ import annotations

from aiohttp import web
from aiohttp_session import get_session

SESSION_KEY = "linkages"
MAX_LINKAGES_PER_SESSION = 8


async def bind(request: web.Request, linkage_id: str, replaces: str | None = None) -> None:
    """Remember in the (encrypted) session cookie that this browser owns the linkage."""
    session = await get_session(request)
    owned = [lid for lid in session.get(SESSION_KEY, []) if lid != replaces]
    owned.append(linkage_id)
    session[SESSION_KEY] = owned[-MAX_LINKAGES_PER_SESSION:]


async def owns(request: web.Request, linkage_id: str) -> bool:
    session = await get_session(request)
    return linkage_id in session.get(SESSION_KEY, [])
