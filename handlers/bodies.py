"""Request bodies read under a size cap, whether the client sent a Content-Length or not."""

from __future__ import annotations

from aiohttp import web


async def capped(request: web.Request, limit: int) -> tuple[web.Request, bytes]:
    """The request (to hand on: its body is read and kept) and its raw bytes; 413 once more
    than `limit` bytes arrive. A Content-Length over the cap is refused before reading; a
    chunked body is counted while it is read (the app-wide cap is aiohttp's, larger)."""
    if request.content_length is not None:
        if request.content_length > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
        # No more than Content-Length bytes are read: the cap holds without a copy of the
        # request (cloning it was a measurable part of every slash command).
        return request, await request.read()
    request = request.clone(client_max_size=limit)
    return request, await request.read()
