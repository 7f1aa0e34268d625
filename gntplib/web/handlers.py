"""The browser receiver's Tornado handlers: the page, its files, icons, API and WebSocket.

Every handler checks the ``Host`` header and the access token (query ``token``, header
``Authorization: token ...``, or the cookie the page sets) before anything else, and
answers with the headers of :mod:`gntplib.web.security`.
"""

from __future__ import annotations

import logging
from http.client import responses
from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple

from tornado.web import HTTPError, RequestHandler
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from .security import ICON_HEADERS, PAGE_HEADERS, host_allowed, origin_allowed, token_matches

if TYPE_CHECKING:
    from .receiver import WebReceiver

__all__ = ['PageHandler', 'StaticHandler', 'IconHandler', 'NotificationsHandler',
           'ApplicationsHandler', 'SocketHandler', 'log_request']

logger = logging.getLogger('gntplib.web')

_REFUSED = ('This page needs its access token: open the URL that "gntplib serve --web" '
            'printed at start (it ends with ?token=...).\n')


def log_request(handler: RequestHandler) -> None:
    """Log a request by its path only: the query may hold the token."""
    logger.info('%d %s %s (%s) %.1f ms', handler.get_status(), handler.request.method,
                handler.request.path, handler.request.remote_ip,
                1000.0 * handler.request.request_time())


class _Guarded(RequestHandler):
    receiver: 'WebReceiver'

    def initialize(self, receiver: 'WebReceiver') -> None:
        self.receiver = receiver

    def set_default_headers(self) -> None:
        for name, value in PAGE_HEADERS.items():
            self.set_header(name, value)

    def given_token(self) -> Optional[str]:
        """The token this request presents, if any."""
        token = self.get_query_argument('token', None)
        if token:
            return token
        scheme, _, value = self.request.headers.get('Authorization', '').partition(' ')
        if scheme.lower() in ('token', 'bearer') and value.strip():
            return value.strip()
        return self.get_cookie(self.receiver.cookie_name)

    def prepare(self) -> None:
        if not host_allowed(self.request.headers.get('Host'), self.receiver.host):
            self._refuse('unknown host name', 'This address answers only to its loopback '
                         'names (localhost, 127.0.0.1).\n')
        if not token_matches(self.given_token(), self.receiver.token):
            self._refuse('access token missing or wrong', _REFUSED)

    def _refuse(self, why: str, body: str) -> None:
        # Tornado would log the URI with its query (which may hold a token): log the path.
        logger.warning('refused %s %s from %s: %s', self.request.method, self.request.path,
                       self.request.remote_ip, why)
        self._refusal = body
        raise HTTPError(403)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.set_header('Content-Type', 'text/plain; charset=utf-8')
        default = f'{status_code} {responses.get(status_code, "Error")}\n'
        self.write(getattr(self, '_refusal', None) or default)


class PageHandler(_Guarded):
    """``/``: the page. Opened with ``?token=``, it sets the token cookie and reloads
    itself without the token in the address (as Jupyter does)."""

    def get(self) -> None:
        if self.get_query_argument('token', None) is not None:
            self.set_cookie(self.receiver.cookie_name, self.receiver.token, path='/',
                            httponly=True, secure=self.receiver.tls, samesite='Strict')
            self.redirect(self.request.path, status=303)
            return
        body, mime = self.receiver.static['index.html']
        self.set_header('Content-Type', mime)
        self.write(body)


class StaticHandler(_Guarded):
    """``/static/<name>``: the page's script, style sheet and images (package data)."""

    def get(self, name: str) -> None:
        found = self.receiver.static.get(name)
        if found is None or name == 'index.html':
            raise HTTPError(404)
        body, mime = found
        self.set_header('Content-Type', mime)
        self.set_header('Cache-Control', 'no-cache')
        self.write(body)


class IconHandler(_Guarded):
    """``/icons/<md5>``: an icon a sender sent inline, only ever as an image."""

    def set_default_headers(self) -> None:
        super().set_default_headers()
        for name, value in ICON_HEADERS.items():
            self.set_header(name, value)

    def get(self, key: str) -> None:
        found = self.receiver.display.history.icons.get(key)
        if found is None:
            raise HTTPError(404)
        data, mime = found
        self.set_header('Content-Type', mime)
        self.write(data)


class NotificationsHandler(_Guarded):
    """``GET /api/notifications``: the history, newest last, as JSON."""

    def get(self) -> None:
        self.write({'notifications': self.receiver.display.history.cards()})


class ApplicationsHandler(_Guarded):
    """``GET /api/applications``: the registered applications and their types, as JSON."""

    def get(self) -> None:
        self.write({'applications': self.receiver.display.applications()})


class SocketHandler(_Guarded, WebSocketHandler):
    """``/ws``: the page's live connection. It receives the history, then every card and
    change; it sends Click, Dismiss and the enable switches."""

    def check_origin(self, origin: str) -> bool:
        return origin_allowed(origin, self.request.headers.get('Host'), self.receiver.tls)

    def prepare(self) -> None:
        super().prepare()
        # Checked here, strictly (scheme, host and port), before Tornado's own check, which
        # lets an Origin through when its host alone matches or Sec-Fetch-Site says so.
        # Browsers always send an Origin; a client without one is a script with the token.
        origin = self.request.headers.get('Origin')
        if origin is not None and not self.check_origin(origin):
            self._refuse(f'WebSocket from another origin ({origin[:100]})',
                         'WebSocket connections are accepted from this page only.\n')

    def open(self, *args: str, **kwargs: str) -> None:
        # Small messages, each wanted at once: Nagle's algorithm would hold one back until
        # the page acknowledges the previous (tens of milliseconds with delayed ACKs).
        self.set_nodelay(True)
        self.receiver.connections.add(self)
        self.receiver.display.add_listener(self.send)

    def send(self, text: str) -> None:
        """Send one message to the page (a closed connection is dropped)."""
        try:
            self.write_message(text)
        except WebSocketClosedError:
            self.on_close()

    def on_message(self, message: Any) -> None:
        if isinstance(message, bytes):
            message = message.decode('utf-8', 'replace')
        error = self.receiver.display.handle_message(message)
        if error is not None:
            self.write_message({'type': 'error', 'message': error})

    def on_close(self) -> None:
        self.receiver.display.remove_listener(self.send)
        self.receiver.connections.discard(self)


def routes(receiver: 'WebReceiver') -> Tuple[Tuple[str, Any, Dict[str, Any]], ...]:
    """The URL table of a receiver."""
    args = {'receiver': receiver}
    return (
        (r'/', PageHandler, args),
        (r'/static/([a-z0-9_-]+\.[a-z]+)', StaticHandler, args),
        (r'/icons/([0-9a-f]{32})', IconHandler, args),
        (r'/api/notifications', NotificationsHandler, args),
        (r'/api/applications', ApplicationsHandler, args),
        (r'/ws', SocketHandler, args),
    )
