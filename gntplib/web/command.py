"""``gntplib serve --web``: the browser receiver's command-line options."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, List, Optional

from .security import is_loopback_host, split_host_port

if TYPE_CHECKING:
    from .receiver import WebReceiver

__all__ = ['add_options', 'receiver_from_args', 'announcement']


def add_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--web``, ``--web-cert``, ``--web-key`` and ``--web-insecure``."""
    group = parser.add_argument_group('browser receiver')
    group.add_argument('--web', metavar='[HOST:]PORT',
                       help='also serve a page showing the notifications live, on HOST '
                       '(default 127.0.0.1) and PORT (0: a free one); its URL with the '
                       'access token is printed at start')
    group.add_argument('--web-cert', metavar='FILE', help='PEM certificate: serve the page '
                       'over HTTPS (needed beyond loopback)')
    group.add_argument('--web-key', metavar='FILE', help='PEM private key of --web-cert')
    group.add_argument('--web-insecure', action='store_true',
                       help='DANGEROUS: serve the page over plain HTTP beyond loopback, '
                       'where anyone on the network path can read the access token')


def receiver_from_args(args: argparse.Namespace, bind: bool = True
                       ) -> Optional['WebReceiver']:
    """The receiver the options ask for, or ``None`` without ``--web``; bound (see
    :meth:`~gntplib.web.WebReceiver.bind`) unless ``bind`` is false.

    Raises:
        GNTPValidationError: For a bad ``--web`` value, plain HTTP beyond loopback without
            ``--web-insecure``, or a certificate that cannot be loaded.
        GNTPConnectionError: If the address cannot be bound.
    """
    if not args.web:
        return None
    from .receiver import WebReceiver
    host, port = split_host_port(args.web)
    receiver = WebReceiver(host, port, certfile=args.web_cert, keyfile=args.web_key,
                           allow_plain_http=args.web_insecure)
    return receiver.bind() if bind else receiver


def announcement(receiver: 'WebReceiver') -> List[str]:
    """The lines printed at start: the URL with the token, and any warning."""
    lines = [f'gntplib: web page at {receiver.url}']
    if not receiver.tls and not is_loopback_host(receiver.host):
        lines.append('gntplib: WARNING: the web page is served over plain HTTP beyond '
                     'loopback (--web-insecure): anyone on the network path can read its '
                     'access token and act on your notifications')
    return lines
