"""Icons of received notifications as files a desktop notification server can read.

Binary resources and ``data:`` URLs are written to a private temporary directory (one
file per content, named by its MD5; the newest ``max_files`` are kept); ``http``/``https``
icons are fetched with Tornado's ``AsyncHTTPClient``, bounded in size and time, and cached
(failures too, so a dead URL is not fetched for every notification). Anything else a
sender puts in an icon header (file paths, ``file:`` URLs, theme names) is ignored: a
remote sender does not choose local files.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import logging
import os
import shutil
import tempfile
import urllib.parse
from typing import Any, Dict, Optional

from ._freedesktop import decode_data_url
from .models import Resource

__all__ = ['IconFiles']

logger = logging.getLogger(__name__)


class IconFiles:
    """Turns GNTP icons into file paths.

    Args:
        max_bytes: The largest icon accepted (inline, ``data:`` or fetched).
        timeout: Seconds a URL fetch may take in all.
        cache_size: How many URLs are remembered.
        max_files: How many icon files are kept (the oldest are removed; notification
            servers read an icon when they show the notification).
    """

    def __init__(self, max_bytes: int = 1 << 20, timeout: float = 5.0,
                 cache_size: int = 128, max_files: int = 256) -> None:
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.cache_size = cache_size
        self.max_files = max_files
        self._dir: Optional[str] = None
        self._files: 'collections.OrderedDict[str, None]' = collections.OrderedDict()
        self._urls: 'collections.OrderedDict[str, asyncio.Future[Optional[str]]]' = \
            collections.OrderedDict()

    def write(self, data: bytes) -> Optional[str]:
        """The path of a file holding ``data`` (``None`` if it is too large or empty)."""
        if not data or len(data) > self.max_bytes:
            return None
        if self._dir is None:
            self._dir = tempfile.mkdtemp(prefix='gntplib-desktop-')
        path = os.path.join(self._dir, hashlib.md5(data).hexdigest())
        if path in self._files:
            self._files.move_to_end(path)
            return path
        with open(path + '.part', 'wb') as f:
            f.write(data)
        os.replace(path + '.part', path)
        self._files[path] = None
        while len(self._files) > self.max_files:
            old, _ = self._files.popitem(last=False)
            os.unlink(old)
        return path

    async def path(self, icon: Any) -> Optional[str]:
        """The file path for an icon (a :class:`~gntplib.Resource` or a URL string), or
        ``None`` when there is none or it cannot be had."""
        try:
            if isinstance(icon, Resource):
                if icon.data is not None:
                    return self.write(icon.data)
                icon = icon.url
            if not isinstance(icon, str):
                return None
            icon = icon.strip()
            if icon[:5].lower() == 'data:':
                data = decode_data_url(icon, self.max_bytes)
                return self.write(data) if data is not None else None
            if urllib.parse.urlsplit(icon).scheme.lower() in ('http', 'https'):
                return await self._fetched(icon)
        except (OSError, ValueError) as exc:
            logger.warning('cannot store an icon: %s', exc)
        return None

    def _fetched(self, url: str) -> 'asyncio.Future[Optional[str]]':
        cached = self._urls.get(url)
        fetched = cached.result() if cached is not None and cached.done() else None
        if fetched is not None:
            if fetched in self._files:
                self._files.move_to_end(fetched)
            else:  # its file was removed (max_files): fetch it again
                cached = None
        if cached is not None:
            self._urls.move_to_end(url)
            return cached
        future = asyncio.ensure_future(self._fetch(url))
        self._urls[url] = future
        while len(self._urls) > self.cache_size:
            self._urls.popitem(last=False)
        return future

    async def _fetch(self, url: str) -> Optional[str]:
        from tornado.httpclient import AsyncHTTPClient
        client = AsyncHTTPClient(force_instance=True, max_body_size=self.max_bytes)
        options: Dict[str, Any] = dict(connect_timeout=self.timeout,
                                       request_timeout=self.timeout, max_redirects=3,
                                       decompress_response=False)
        try:
            response = await client.fetch(url, **options)
            return self.write(response.body)
        except Exception as exc:  # whatever a remote server does, the icon is just missing
            logger.info('icon %s not fetched: %s', url, exc)
            return None
        finally:
            client.close()

    def close(self) -> None:
        """Remove the icon files and forget fetched URLs."""
        for future in self._urls.values():
            future.cancel()
        self._urls.clear()
        self._files.clear()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
