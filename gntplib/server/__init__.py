"""The embedded GNTP server: a receiver and hub for tests, demos and ``gntplib serve``.

:class:`GNTPServer` is a Tornado ``TCPServer`` built on the same sans-IO core as the
clients: :class:`~gntplib.reader.RequestReader` parses, authenticates and decrypts requests,
the receiver core (:mod:`gntplib.receiver`, :mod:`gntplib.registry`) decides what to answer,
and :func:`~gntplib.packers.pack_response` writes the answers, so client and server check
each other. :class:`ServerThread` runs a server on its own IOLoop in a daemon thread, for
synchronous code. Display backends are in :mod:`gntplib.display`.

The package's modules: ``tcp`` (:class:`GNTPServer`), ``connection`` (one connection's
driver), ``forwarding`` (sending to subscribers) and ``thread`` (:class:`ServerThread`);
import the names from ``gntplib.server``.

Example:
    >>> with ServerThread(password='secret') as thread:          # doctest: +SKIP
    ...     Publisher('App', ['update'], port=thread.port).register()
    ...     thread.received[-1].app_name
    'App'
"""

from __future__ import annotations

from ..receiver import PendingCallback, Subscription, is_loopback, normalize_callback_result
from ..registry import ApplicationInfo, NotificationTypeInfo, RegisteredApplication
from .tcp import GNTPServer
from .thread import ServerThread

__all__ = ['GNTPServer', 'ServerThread', 'RegisteredApplication', 'Subscription',
           'PendingCallback', 'ApplicationInfo', 'NotificationTypeInfo', 'is_loopback',
           'normalize_callback_result']
