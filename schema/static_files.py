"""Static files that may be stored gzip-compressed: ``name.gz`` answers a request for ``name``.

GraphiQL's main script is 3.5 MB as published and 0.7 MB compressed; keeping it compressed keeps the
package small, and browsers get the compressed bytes as they are (``Content-Encoding: gzip``). A client
that does not accept gzip gets the original bytes, decompressed on the way out, so the page's SRI hashes
(computed over the decoded body) hold either way.
"""

from __future__ import annotations

import asyncio
import gzip
import mimetypes
import stat
from pathlib import Path

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope


class PrecompressedStaticFiles(StaticFiles):
    async def get_response(self, path: str, scope: Scope) -> Response:
        try:
            return await super().get_response(path, scope)
        except HTTPException as missing:
            if missing.status_code != 404:
                raise
            # lookup_path keeps the request inside the directory, as it does for every other file.
            full_path, stat_result = await asyncio.to_thread(self.lookup_path, path + ".gz")
            if stat_result is None or not stat.S_ISREG(stat_result.st_mode):
                raise
        compressed = await asyncio.to_thread(Path(full_path).read_bytes)
        media_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        headers = {"Vary": "Accept-Encoding", "Cache-Control": "public, max-age=86400"}
        if "gzip" in Headers(scope=scope).get("accept-encoding", ""):
            return Response(
                compressed, media_type=media_type, headers={**headers, "Content-Encoding": "gzip"}
            )
        return Response(gzip.decompress(compressed), media_type=media_type, headers=headers)
