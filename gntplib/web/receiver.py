"""The browser receiver: a web server on the GNTP server's own IOLoop.

:class:`WebReceiver` checks its security settings when it is made. Its
:attr:`WebReceiver.display` goes on a :class:`~gntplib.server.GNTPServer`; when the server
starts serving, the display starts the page on the server's loop, and when the server
shuts down, it stops it.
"""

from __future__ import annotations

import socket
import ssl
from importlib import resources
from typing import Any, Dict, List, Optional, Set, Tuple

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application

from ..exceptions import GNTPConnectionError, GNTPValidationError
from .display import WebDisplay
from .handlers import log_request, routes
from .security import check_transport, new_token

__all__ = ['WebReceiver', 'load_static']

_TYPES = {'html': 'text/html; charset=utf-8', 'js': 'text/javascript; charset=utf-8',
          'css': 'text/css; charset=utf-8', 'png': 'image/png'}


def load_static() -> Dict[str, Tuple[bytes, str]]:
    """The page's files shipped in the package: name -> (bytes, content type)."""
    files = {}
    for entry in resources.files('gntplib.web').joinpath('static').iterdir():
        kind = entry.name.rpartition('.')[2]
        if kind in _TYPES:
            files[entry.name] = (entry.read_bytes(), _TYPES[kind])
    return files


def _tls_context(certfile: Optional[str], keyfile: Optional[str]) -> Optional[ssl.SSLContext]:
    if certfile is None and keyfile is None:
        return None
    if certfile is None or keyfile is None:
        raise GNTPValidationError('HTTPS needs both a certificate and a key file')
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(certfile, keyfile)
    except (OSError, ssl.SSLError) as exc:
        raise GNTPValidationError(f'cannot load the certificate {certfile!r} and key '
                                  f'{keyfile!r}: {exc}') from None
    return context


class WebReceiver:
    """Serves the page that shows a GNTP server's notifications live in a browser.

    Args:
        host: Address the page is served on (loopback by default).
        port: Port (0: any free port).
        certfile: PEM certificate for HTTPS (with ``keyfile``).
        keyfile: PEM private key for HTTPS.
        allow_plain_http: Serve plain HTTP beyond loopback, where anyone on the path can
            read the access token. Without it, a non-loopback ``host`` needs HTTPS.
        token: The access token (default: a random one).
        display: The :class:`~gntplib.web.display.WebDisplay` (default: a new one).

    Raises:
        GNTPValidationError: Plain HTTP beyond loopback without ``allow_plain_http``, or a
            certificate or key that cannot be loaded.

    Attributes:
        display: The :class:`~gntplib.web.display.WebDisplay` to put on the server.
        token: The access token.
        port: The page's port (known after :meth:`bind`, or once the server serves).

    Example:
        >>> from gntplib.server import ServerThread
        >>> receiver = WebReceiver()
        >>> with ServerThread(display=receiver.display) as thread:
        ...     receiver.url.startswith('http://127.0.0.1:')
        True
    """

    def __init__(self, host: str = '127.0.0.1', port: int = 0, *,
                 certfile: Optional[str] = None, keyfile: Optional[str] = None,
                 allow_plain_http: bool = False, token: Optional[str] = None,
                 display: Optional[WebDisplay] = None) -> None:
        self._ssl = _tls_context(certfile, keyfile)
        check_transport(host, self._ssl is not None, allow_plain_http)
        self.host = host
        self.port = port
        self.token = token or new_token()
        self.display = display if display is not None else WebDisplay()
        self.static = load_static()
        self.connections: Set[Any] = set()
        self._sockets: Optional[List[socket.socket]] = None
        self._http: Optional[HTTPServer] = None
        self.display.add_hooks(self._start, self.stop)

    def __repr__(self) -> str:  # never shows the token
        return f'<WebReceiver {self.scheme}://{self._netloc} running={self._http is not None}>'

    @property
    def tls(self) -> bool:
        """Whether the page is served over HTTPS."""
        return self._ssl is not None

    @property
    def scheme(self) -> str:
        """``https`` or ``http``."""
        return 'https' if self.tls else 'http'

    @property
    def _netloc(self) -> str:
        # On every address, name this machine: 0.0.0.0 is no address to open.
        host = socket.gethostname() if self.host in ('', '0.0.0.0', '::') else self.host
        host = f'[{host}]' if ':' in host else host
        return f'{host}:{self.port}'

    @property
    def base_url(self) -> str:
        """The page's address without the token."""
        return f'{self.scheme}://{self._netloc}/'

    @property
    def url(self) -> str:
        """The page's address with the token: what a user opens."""
        return f'{self.base_url}?token={self.token}'

    @property
    def cookie_name(self) -> str:
        """The cookie the page keeps the token in (one per port: cookies ignore ports)."""
        return f'gntplib-token-{self.port}'

    def bind(self) -> 'WebReceiver':
        """Bind the page's address now (from any thread), so that a port in use is an error
        before the server starts, and :attr:`port` and :attr:`url` are known. Otherwise
        the server binds it when it starts serving. Returns the receiver.

        Raises:
            GNTPConnectionError: If the address cannot be bound.
        """
        if self._sockets is None:
            try:
                self._sockets = bind_sockets(self.port, self.host)
            except OSError as exc:
                raise GNTPConnectionError(f'cannot serve the web page on {self._netloc}: '
                                          f'{exc.strerror or exc}') from exc
            self.port = self._sockets[0].getsockname()[1]
        return self

    def _start(self, server: Any) -> None:
        # The display's start hook: on the GNTP server's loop, as it starts serving.
        self.bind()
        assert self._sockets is not None
        app = Application(routes(self), log_function=log_request,
                          websocket_max_message_size=64 * 1024)
        self._http = HTTPServer(app, ssl_options=self._ssl, xheaders=False)
        self._http.add_sockets(self._sockets)

    def stop(self) -> None:
        """Stop serving the page and close its connections (the server does it when it
        shuts down; idempotent)."""
        if self._http is not None:
            self._http.stop()  # closes the listening sockets too
            self._http = None
        elif self._sockets is not None:
            for sock in self._sockets:
                sock.close()
        self._sockets = None
        for connection in list(self.connections):
            connection.close()
        self.connections.clear()
