"""The browser receiver: see, click and manage a GNTP server's notifications in a page.

``gntplib serve --web [HOST:]PORT`` runs it. In Python, make a :class:`WebReceiver` and put
its ``display`` on a :class:`~gntplib.server.GNTPServer` or
:class:`~gntplib.server.ServerThread`: the page is served on the server's IOLoop while the
server serves. Needs Tornado (``gntplib[async]``).

Modules: :mod:`~gntplib.web.receiver` (the web server), :mod:`~gntplib.web.display` (the
display backend and applications panel), :mod:`~gntplib.web.history` (cards and icons),
:mod:`~gntplib.web.security` (token, origin, headers),
:mod:`~gntplib.web.handlers` (the HTTP and WebSocket handlers). The page itself is plain
HTML, CSS and JavaScript in ``gntplib/web/static``, shipped in the package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .display import WebDisplay
    from .receiver import WebReceiver

__all__ = ['WebReceiver', 'WebDisplay']


def __getattr__(name: str) -> Any:
    # Imported on first use, so that ``gntplib serve --help`` does not load Tornado.
    if name == 'WebReceiver':
        from .receiver import WebReceiver
        return WebReceiver
    if name == 'WebDisplay':
        from .display import WebDisplay
        return WebDisplay
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
