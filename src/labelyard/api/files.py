"""API.md 3.6: attachment links, and the signed private files they point to."""

from __future__ import annotations

from typing import Annotated

from fastapi import Security
from starlette.responses import FileResponse, RedirectResponse, Response

from labelyard.api.deps import State, api_key_header
from labelyard.demo import read_demo_picture
from labelyard.services import results

DEMO_CACHE = "public, max-age=86400"


async def attachment(
    state: State,
    url: str | None = None,
    api_key: Annotated[str | None, Security(api_key_header)] = None,
) -> Response:
    """302 to a short-lived signed link of a result URL this server issued."""
    link = await results.attachment_link(
        state.db,
        state.blobs,
        api_key=api_key,
        url=url,
        base_url=state.base_url,
        file_key=state.file_key,
        ttl=state.settings.file_link_seconds,
    )
    return RedirectResponse(link, status_code=302)


async def file(
    state: State, key: str, expires: str | None = None, signature: str | None = None
) -> Response:
    """A private file, given a valid, unexpired signature."""
    body = await results.read_file(
        state.blobs, key=key, expires=expires, signature=signature, file_key=state.file_key
    )
    if body.path is not None:
        return FileResponse(body.path, media_type=body.media_type)
    return Response(body.content, media_type=body.media_type)


async def demo_media(state: State, name: str) -> Response:
    """A picture of the first start's demo jobs (open: nothing private is kept under it)."""
    body = await read_demo_picture(state.blobs, name)
    media_type = "image/png" if name.endswith(".png") else "application/octet-stream"
    return Response(body, media_type=media_type, headers={"cache-control": DEMO_CACHE})
