"""The browser receiver's security rules, free of I/O: tokens, origins, hosts, headers.

* Loopback by default. Beyond loopback the page is served over HTTPS (a certificate and
  key are given) or, only when asked for explicitly, over plain HTTP: the access token
  would otherwise travel in the clear (:func:`check_transport`).
* An access token, random by default (:func:`new_token`), required by the page, its API,
  its icons and its WebSocket; compared in constant time (:func:`token_matches`).
* The WebSocket accepts only the page's own origin (:func:`origin_allowed`); on loopback
  only loopback host names are answered at all (:func:`host_allowed`), so a DNS-rebinding
  page cannot talk to the receiver under another name.
* Every answer carries :data:`PAGE_HEADERS` (a Content-Security-Policy that allows only
  the package's own script and style, ``nosniff``, no framing, no referrer); icons get
  :data:`ICON_HEADERS` on top.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from typing import Dict, Optional, Tuple
from urllib.parse import urlsplit

from ..exceptions import GNTPValidationError

__all__ = ['new_token', 'token_matches', 'is_loopback_host', 'check_transport',
           'origin_allowed', 'host_allowed', 'split_host_port', 'PAGE_HEADERS',
           'ICON_HEADERS', 'CSP']

#: Images: the server's own icons, and the http(s) URL icons senders name (as Growl
#: fetches them). No inline script or style, no plugins, no forms, no framing.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' http: https:; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")

PAGE_HEADERS: Dict[str, str] = {
    'Content-Security-Policy': CSP,
    'X-Content-Type-Options': 'nosniff',
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
}

#: Icons are sender-controlled bytes: shown as images only, never run as a document.
ICON_HEADERS: Dict[str, str] = {
    'Content-Security-Policy': "default-src 'none'; sandbox",
    'X-Content-Type-Options': 'nosniff',
    'Content-Disposition': 'inline; filename="icon"',
    'Cache-Control': 'private, max-age=86400',
}

_LOOPBACK_NAMES = ('localhost', 'localhost.', 'ip6-localhost')


def new_token() -> str:
    """A random access token (48 hex digits, 192 bits)."""
    return secrets.token_hex(24)


def token_matches(given: Optional[str], token: str) -> bool:
    """Whether ``given`` is ``token``, compared in constant time."""
    if not given:
        return False
    return hmac.compare_digest(given.encode('utf-8', 'replace'), token.encode('utf-8'))


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` (a name or an address) means this machine only."""
    host = host.strip('[]').lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_transport(host: str, tls: bool, allow_plain_http: bool) -> None:
    """Refuse to serve the page in the clear beyond loopback.

    Raises:
        GNTPValidationError: If ``host`` is not loopback, there is no TLS, and plain HTTP
            was not explicitly allowed.
    """
    if tls or allow_plain_http or is_loopback_host(host):
        return
    raise GNTPValidationError(
        f'the web page on {host} would send its access token in the clear: give a '
        'certificate and key for HTTPS (--web-cert, --web-key), or accept that risk '
        'explicitly (--web-insecure)')


def split_host_port(text: str, default_host: str = '127.0.0.1') -> Tuple[str, int]:
    """Split ``[HOST:]PORT`` (``[::1]:8080`` for IPv6) into ``(host, port)``.

    Raises:
        GNTPValidationError: If the port is not a number from 0 to 65535.

    Example:
        >>> split_host_port('8080'), split_host_port('0.0.0.0:80'), split_host_port('[::1]:0')
        (('127.0.0.1', 8080), ('0.0.0.0', 80), ('::1', 0))
    """
    host, sep, port = text.rpartition(':')
    if not sep:
        host, port = default_host, text
    elif host.startswith('[') and host.endswith(']'):
        host = host[1:-1]
    elif ':' in host:
        raise GNTPValidationError(f'write an IPv6 address in brackets: [{host}]:{port}')
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number < 65536:
        raise GNTPValidationError(f'invalid web port in {text!r}: give [HOST:]PORT')
    return (host or default_host), number


def _host_name(netloc: str) -> str:
    return (urlsplit('//' + netloc).hostname or '').lower()


def host_allowed(host_header: Optional[str], bound_host: str) -> bool:
    """Whether a request's ``Host`` header is acceptable: any name when the page is served
    beyond loopback, only loopback names when it is served on loopback."""
    if not is_loopback_host(bound_host):
        return True
    return bool(host_header) and is_loopback_host(_host_name(host_header or ''))


def origin_allowed(origin: Optional[str], host_header: Optional[str], tls: bool) -> bool:
    """Whether a WebSocket handshake's ``Origin`` is the page itself: the same scheme and
    the same host and port the request was sent to."""
    if not origin or not host_header:
        return False
    parts = urlsplit(origin)
    scheme = 'https' if tls else 'http'
    return parts.scheme == scheme and parts.netloc.lower() == host_header.lower() \
        and not parts.path.strip('/')
