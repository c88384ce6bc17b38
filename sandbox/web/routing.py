"""Route resolution that goes straight to the routes a path can match.

aiohttp indexes a route by its path up to the first variable, so the bank's ten routes
(``/parasol/v1/banks/{bank}/...``) share one entry and a request tries them one after
another, each try an awaited coroutine and a regular expression: a screen of a linkage
tried six, the authorization request ten (counted with valgrind: some 5,800 instructions a
try, 4% of a linkage). Such a group is indexed again here, by the number of path segments
and the first segment every route of the group spells out (``accounts``, ``linkage``,
``oauth``, ``term_deposits``), then by the last segment where all routes of that shape
spell it out (``token``, ``auth``), so a request tries only the routes of its shape, in
the order they were added: one, or two for a screen (``finish``, then ``{screen}``).

That is exactly aiohttp's answer, because a group is indexed only when every route in it
is made of literal segments and plain ``{name}`` variables (which match one non-empty
segment, never a "/"), no other route's path lies under the group's prefix, and there are
no domain-matched sub-applications. A path none of its candidates matches (an unknown
route, a wrong method, a trailing slash) goes to aiohttp's own resolution, which answers
it as before, 404 or 405 with the allowed methods.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.web_urldispatcher import (
    AbstractResource,
    DynamicResource,
    MatchedSubAppResource,
    UrlMappingMatchInfo,
)

MIN_GROUP = 3  # routes under one prefix worth indexing (fewer: aiohttp's walk is as quick)
_LITERAL = re.compile(r"[A-Za-z0-9._~-]+")  # a segment aiohttp keeps as it is (no quoting)
_VARIABLE = re.compile(r"\{([_a-zA-Z][_a-zA-Z0-9]*)\}")

Resolve = Callable[[web.Request], Awaitable[UrlMappingMatchInfo]]
# A route's shape: its number of segments, the segment at the group's position, and its
# last segment where that tells the routes of the first two apart (else None).
_Shape = tuple[int, str, str | None]
# (prefix with its "/", the segment position that tells routes apart, shape -> routes)
_Group = tuple[str, int, dict[_Shape, list[AbstractResource]]]


class SegmentIndex:
    """``router.resolve``, through the groups of :func:`groups` once the router is frozen."""

    def __init__(self, router: web.UrlDispatcher) -> None:
        self._router = router
        self._general: Resolve = router.resolve  # aiohttp's own
        self._groups: list[_Group] | None = None  # None: not built (the router not frozen)

    async def resolve(self, request: web.Request) -> UrlMappingMatchInfo:
        found = self._groups
        if found is None:
            if not self._router.frozen:  # routes may still be added
                return await self._general(request)
            found = self._groups = groups(self._router)
        path = request.rel_url.path_safe
        for prefix, at, shapes in found:
            if path.startswith(prefix):
                parts = path.split("/")
                if len(parts) > at:
                    count, spelt = len(parts), parts[at]
                    routes = (
                        shapes.get((count, spelt, parts[-1]))
                        or shapes.get((count, spelt, None))
                        or ()
                    )
                    for resource in routes:
                        match, _ = await resource.resolve(request)
                        if match is not None:
                            return match
                break
        return await self._general(request)


def install(router: web.UrlDispatcher) -> SegmentIndex:
    """Resolve ``router``'s requests through a :class:`SegmentIndex` from now on."""
    index = SegmentIndex(router)
    router.resolve = index.resolve  # type: ignore[method-assign]
    return index


def groups(router: web.UrlDispatcher) -> list[_Group]:
    """The groups of routes that can be indexed by segment (see the module docstring)."""
    resources = list(router.resources())
    if any(isinstance(r, MatchedSubAppResource) for r in resources):
        return []  # matched by domain first, before any path
    by_prefix: dict[str, list[DynamicResource]] = {}
    for resource in resources:
        if isinstance(resource, DynamicResource):
            prefix = resource.canonical.partition("{")[0].rpartition("/")[0]
            by_prefix.setdefault(prefix, []).append(resource)
    found: list[_Group] = []
    for prefix, members in by_prefix.items():
        under = prefix + "/"
        # A route aiohttp indexes under a longer key, or under this very key (a static
        # directory or a sub-application at the prefix), may come first: left to aiohttp.
        if len(members) < MIN_GROUP or any(
            (r.canonical == prefix or r.canonical.startswith(under)) and r not in members
            for r in resources
        ):
            continue
        group = _group(under, members)
        if group is not None:
            found.append(group)
    return found


def _group(under: str, members: list[DynamicResource]) -> _Group | None:
    segments = [r.canonical.split("/") for r in members]
    if not all(_plain(r, parts) for r, parts in zip(members, segments, strict=True)):
        return None
    first = under.count("/")  # the first position past the prefix
    at = next(
        (
            i
            for i in range(first, min(len(parts) for parts in segments))
            if all(_LITERAL.fullmatch(parts[i]) for parts in segments)
        ),
        None,
    )
    if at is None:
        return None
    # Routes of one shape whose last segments are all literal are told apart by it too.
    by_shape: dict[tuple[int, str], list[tuple[DynamicResource, list[str]]]] = {}
    for resource, parts in zip(members, segments, strict=True):
        by_shape.setdefault((len(parts), parts[at]), []).append((resource, parts))
    shapes: dict[_Shape, list[AbstractResource]] = {}
    for (count, spelt), routes in by_shape.items():
        by_last = all(_LITERAL.fullmatch(parts[-1]) for _, parts in routes)
        for resource, parts in routes:
            shapes.setdefault((count, spelt, parts[-1] if by_last else None), []).append(resource)
    return under, at, shapes


def _plain(resource: DynamicResource, parts: list[str]) -> bool:
    """Whether the route is literal segments and ``{name}`` variables only: its pattern is
    the one those segments give (a ``{name:regex}`` route's is not)."""
    pattern = []
    for part in parts[1:]:
        variable = _VARIABLE.fullmatch(part)
        if variable is not None:
            pattern.append(f"(?P<{variable.group(1)}>{DynamicResource.GOOD})")
        elif _LITERAL.fullmatch(part):
            pattern.append(re.escape(part))
        else:
            return False
    return parts[0] == "" and resource.get_info().get("pattern") == re.compile(
        "/" + "/".join(pattern)
    )
