"""Display backends of the embedded GNTP server: where the requests it handles are shown.

A backend is any object with the :class:`Display` methods; subclass :class:`Display` and
override what you need. The contract, all of it on the server's IOLoop (one thread):

* :meth:`Display.start` is called once, when the server starts serving, with the
  :class:`~gntplib.server.GNTPServer`: start background work here (an HTTP server, a D-Bus
  connection), scheduled on ``IOLoop.current()``, never blocking.
* :meth:`Display.show` is called for every request the server accepts, before it answers
  ``-OK`` (an exception there makes the server answer ``-ERROR`` 500). It must not block:
  anything slow is scheduled on the loop.
* A display the user can act on (click, close, let expire) reports it with
  :meth:`DisplayEvent.send_callback` (``'CLICK'``, ``'CLOSE'`` or ``'TIMEDOUT'``). The
  first report about a notification wins, whoever makes it (a display, the server's
  ``notification_timeout``, :meth:`~gntplib.server.GNTPServer.send_callback`); later ones
  are no-ops whose future is already done with ``False``. Displays that only show
  (console, JSON) never report.
* :meth:`Display.show_callback` is called on every display once a notification's callback
  is decided, whoever decided it, so a desktop or web page can take the notification down
  or mark it; :attr:`DisplayEvent.callback_result` holds the result from then on.
* :meth:`Display.show_error` is called for every ``-ERROR`` the server sends.
* :meth:`Display.close` is called when the server shuts down; it may return an awaitable,
  which the server awaits (within its shutdown timeout).

The registry a receiver page needs (applications, their notification types and whether
each is enabled, icons; switching a type off so that it is answered ``-ERROR`` 404) is on
the server: :meth:`~gntplib.server.GNTPServer.list_applications`,
:meth:`~gntplib.server.GNTPServer.set_notification_enabled` and
:meth:`~gntplib.server.GNTPServer.application_icon`.

Three backends come with gntplib:

* :class:`ConsoleDisplay`: readable lines on a text stream (what ``gntplib serve`` prints);
* :class:`JSONLinesDisplay`: one JSON object per event (``gntplib serve --json``);
* :class:`NotifySendDisplay`: Linux desktop notifications through ``notify-send``, when it
  is installed (otherwise it does nothing and logs that once).

The library itself never prints: the console backends write only to the stream they are
given, and only when a caller (such as the ``gntplib`` command) puts them on a server.

Example:
    >>> import io
    >>> from gntplib.server import GNTPServer
    >>> out = io.StringIO()
    >>> server = GNTPServer(display=ConsoleDisplay(out))
"""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from typing import Any, Dict, List, Optional, Set, TextIO, Tuple

from . import constants as c
from .models import Resource, SocketCallback, URLCallback
from .requests import BaseRequest, NotifyRequest, RegisterRequest, SubscribeRequest

__all__ = ['Display', 'DisplayEvent', 'ConsoleDisplay', 'JSONLinesDisplay', 'NotifySendDisplay',
           'format_address', 'utc_timestamp']

logger = logging.getLogger(__name__)

Address = Tuple[Any, ...]


def format_address(address: Any) -> str:
    """Format a peer address as ``host:port`` (``[host]:port`` for IPv6)."""
    if isinstance(address, tuple) and len(address) >= 2:
        host = str(address[0])
        return f'[{host}]:{address[1]}' if ':' in host else f'{host}:{address[1]}'
    return str(address)


def utc_timestamp(moment: Optional[datetime.datetime] = None) -> str:
    """Format a moment (default: now) as GNTP dates are sent: ``YYYY-MM-DD HH:MM:SSZ`` in UTC."""
    moment = moment or datetime.datetime.now(datetime.timezone.utc)
    if moment.tzinfo is not datetime.timezone.utc:
        moment = moment.astimezone(datetime.timezone.utc)
    second = moment.replace(microsecond=0)
    if second != _last_timestamp[0]:  # a busy server formats each second once
        _last_timestamp[:] = [second, second.strftime('%Y-%m-%d %H:%M:%SZ')]
    return str(_last_timestamp[1])


_last_timestamp: List[Any] = [None, '']
# The objects written are trees made here: no cycle to look for.
_JSON = json.JSONEncoder(ensure_ascii=False, check_circular=False)


def _describe_icon(icon: Any) -> Any:
    if isinstance(icon, Resource):
        if icon.data is not None:
            return {'identifier': icon.identifier(), 'length': len(icon.data)}
        return icon.url
    return icon


class DisplayEvent:
    """One request the server accepted, as a display backend sees it.

    Attributes:
        request: The request (:class:`~gntplib.RegisterRequest`, :class:`~gntplib.NotifyRequest`
            or :class:`~gntplib.SubscribeRequest`); ``request.received`` holds the raw
            sections and resources.
        address: The peer's address.
        handle: For a NOTIFY with a socket callback, the handle of its pending callback
            (see :meth:`send_callback`); otherwise ``None``.
        time: When the request was handled (UTC).
        callback_result: ``'CLICK'``, ``'CLOSE'`` or ``'TIMEDOUT'`` once the notification's
            callback is decided (by anyone), else ``None``.
    """

    def __init__(self, request: BaseRequest, address: Address, handle: Optional[int] = None,
                 server: Any = None) -> None:
        self.request = request
        self.address = address
        self.handle = handle
        self.time = datetime.datetime.now(datetime.timezone.utc)
        self.callback_result: Optional[str] = None
        self._server = server

    @property
    def message_type(self) -> str:
        """``REGISTER``, ``NOTIFY`` or ``SUBSCRIBE``."""
        return self.request.message_type

    @property
    def application(self) -> Optional[str]:
        """The application name (``None`` for SUBSCRIBE)."""
        return getattr(self.request, 'app_name', None)

    @property
    def has_callback(self) -> bool:
        """Whether the sender waits for a ``-CALLBACK`` (a NOTIFY with a socket callback)."""
        return self.handle is not None

    def send_callback(self, result: str = 'CLICK') -> Any:
        """Report a click, close or timeout to the sender of this notification.

        A backend that shows notifications interactively calls this when the user acts on
        one. The first report wins, whoever makes it; a later one is a no-op. It may be
        called from :meth:`Display.show`: the ``-CALLBACK`` then follows the ``-OK``
        (after the server's ``callback_delay``). Call it on the server's IOLoop; from
        another thread, go through ``IOLoop.add_callback`` (or
        :meth:`gntplib.server.ServerThread.send_callback`).

        Args:
            result: ``'CLICK'``, ``'CLOSE'`` or ``'TIMEDOUT'`` (other spellings are mapped).

        Returns:
            An ``asyncio.Future[bool]``: ``True`` once the ``-CALLBACK`` is written;
            ``False`` if the sender left first. For a report that came too late (the
            callback was already decided, or the sender has gone) it is already done with
            ``False``.

        Raises:
            GNTPValidationError: If this notification has no socket callback
                (:attr:`has_callback` is false), or ``result`` is not a callback result.
        """
        from .exceptions import GNTPValidationError
        if self.handle is None or self._server is None:
            raise GNTPValidationError('this notification has no socket callback')
        return self._server.report_callback(self.handle, result)

    def resources(self) -> List[Dict[str, Any]]:
        """The binary resources that came with the request: identifier, length and MD5."""
        received = getattr(self.request, 'received', None)
        items = received.resources.items() if received is not None else ()
        return [{'identifier': identifier, 'length': len(data),
                 'md5': hashlib.md5(data).hexdigest()} for identifier, data in items]

    def headers(self) -> Dict[str, str]:
        """The main header section as it arrived (resource pointers unresolved)."""
        received = getattr(self.request, 'received', None)
        return received.headers() if received is not None else {}

    def to_dict(self) -> Dict[str, Any]:
        """A JSON-ready summary of the request.

        Always has ``type``, ``application``, ``notification``, ``title``, ``text``,
        ``headers`` and ``resources`` (``None`` or empty where they do not apply).
        """
        request = self.request
        received = getattr(request, 'received', None)
        data: Dict[str, Any] = {
            'type': request.message_type, 'application': self.application,
            'notification': None, 'title': None, 'text': None,
            'headers': self.headers(), 'resources': self.resources(),
            'time': utc_timestamp(self.time), 'peer': format_address(self.address),
            'encryption': received.encryption_algorithm_id if received is not None else 'NONE',
            'key_hash_algorithm': received.key.algorithm_id
            if received is not None and received.key is not None else None,
        }
        if isinstance(request, NotifyRequest):
            n = request.notification
            callback = n.gntp_callback
            data.update(notification=n.name, title=n.title, text=n.text or '', id=n.id_,
                        sticky=bool(n.sticky), priority=n.priority or 0,
                        icon=_describe_icon(n.icon), coalescing_id=n.coalescing_id,
                        callback_handle=self.handle)
            if isinstance(callback, SocketCallback):
                data['callback'] = {'context': callback.context,
                                    'context_type': callback.context_type}
            elif isinstance(callback, URLCallback):
                data['callback'] = {'target': callback.url}
        elif isinstance(request, RegisterRequest):
            data.update(icon=_describe_icon(request.app_icon), events=[
                {'name': e.name, 'display_name': e.display_name, 'enabled': e.enabled,
                 'icon': _describe_icon(e.icon)} for e in request.events])
        elif isinstance(request, SubscribeRequest):
            data.update(subscriber={'id': request.id_, 'name': request.name,
                                    'port': request.port})
        return data

    def __repr__(self) -> str:
        return (f'<DisplayEvent {self.message_type} app={self.application!r} '
                f'from {format_address(self.address)}>')


class Display:
    """Base class of display backends; every method does nothing by default.

    See the module documentation for the contract: every method is called on the server's
    IOLoop and must not block.
    """

    def start(self, server: Any) -> None:
        """Called once when the server starts serving (on its IOLoop, before any
        :meth:`show`), with the :class:`~gntplib.server.GNTPServer`: the place to start
        background work and to keep the server for its registry methods."""

    def show(self, event: DisplayEvent) -> None:
        """Show an accepted request (called before the server answers ``-OK``)."""

    def show_error(self, address: Address, code: int, description: str) -> None:
        """Report an ``-ERROR`` the server sent to ``address``."""

    def show_callback(self, event: DisplayEvent, result: str) -> None:
        """Report that a notification's callback was decided (``result`` is ``CLICK``,
        ``CLOSE`` or ``TIMEDOUT``), whoever decided it; the ``-CALLBACK`` follows."""

    def close(self) -> Any:
        """Release what the backend holds (called when the server shuts down). May return
        an awaitable, which the server awaits."""


def _flush_soon(stream: TextIO, pending: Set[int]) -> None:
    """Flush ``stream`` once the event loop's current step is over (at once outside a
    loop): a burst of requests costs one flush, not one each."""
    asyncio = sys.modules.get('asyncio')
    try:
        loop = asyncio.get_running_loop() if asyncio is not None else None
    except RuntimeError:
        loop = None
    if loop is None:
        stream.flush()
        return
    if id(stream) not in pending:
        pending.add(id(stream))

        def flush() -> None:
            pending.discard(id(stream))
            try:
                stream.flush()
            except (OSError, ValueError):  # closed, or a reader that went away
                pass
        loop.call_soon(flush)


class ConsoleDisplay(Display):
    """Writes a readable summary of each event to a text stream.

    Args:
        stream: Where to write (default: ``sys.stdout`` at the time of writing).
        prefix: Text put in front of every line.
        width: Lines of notification text longer than this are folded.
        max_lines: Notification text beyond this many (folded) lines is cut, with a note
            saying how much was left out (:class:`JSONLinesDisplay` keeps it whole).

    URL icons are shown; an inline resource is shown with its length and MD5 (once, when
    its identifier is that MD5).

    Example output::

        [12:00:00] REGISTER from 127.0.0.1:50000: MyApp, events: update, error (disabled)
        [12:00:01] NOTIFY from 127.0.0.1:50002: MyApp/update "New version" - 2.0 is out
    """

    def __init__(self, stream: Optional[TextIO] = None, prefix: str = '', width: int = 100,
                 max_lines: int = 12) -> None:
        self.stream = stream
        self.prefix = prefix
        self.width = max(20, width)
        self.max_lines = max(1, max_lines)
        self._flushing: Set[int] = set()

    def _text(self, text: str) -> str:
        """The notification text, indented, long lines folded at :attr:`width` and cut
        after :attr:`max_lines` lines (the JSON output keeps it whole)."""
        lines: List[str] = []
        for line in text.splitlines() or ['']:
            lines += textwrap.wrap(line, self.width - 4, replace_whitespace=False,
                                   drop_whitespace=False) or ['']
        shown = lines[:self.max_lines]
        if len(lines) > len(shown):
            rest = len(text) - sum(len(line) for line in shown)
            shown.append(f'[... cut: {len(lines) - len(shown)} more line(s), about {rest} '
                         f'more characters]')
        return ''.join('\n    ' + line for line in shown)

    def _write(self, text: str) -> None:
        stream = self.stream if self.stream is not None else sys.stdout
        lines = text.split('\n')
        stream.write(''.join(f'{self.prefix}{line}\n' for line in lines))
        _flush_soon(stream, self._flushing)

    def _head(self, kind: str, address: Address) -> str:
        clock = datetime.datetime.now().strftime('%H:%M:%S')
        return f'[{clock}] {kind} from {format_address(address)}'

    def show(self, event: DisplayEvent) -> None:
        """Write one or a few lines describing the request."""
        request, info = event.request, event.to_dict()
        head = self._head(request.message_type, event.address)
        security = []
        if info['key_hash_algorithm']:
            security.append(f'key {info["key_hash_algorithm"]}')
        if info['encryption'] != 'NONE':
            security.append(f'encrypted {info["encryption"]}')
        tail = f' [{", ".join(security)}]' if security else ''
        if isinstance(request, RegisterRequest):
            events = ', '.join(e.name + ('' if e.enabled else ' (disabled)')
                               for e in request.events)
            text = f'{head}: {request.app_name}, events: {events}{tail}'
            icons = [f'icon {request.app_icon}'] if isinstance(request.app_icon, str) else []
            icons += [f'{e.name} icon {e.icon}' for e in request.events
                      if isinstance(e.icon, str)]
            if icons:
                text += '\n    (' + ', '.join(icons) + ')'
        elif isinstance(request, NotifyRequest):
            n = request.notification
            text = f'{head}: {request.app_name}/{n.name} "{n.title}"{tail}'
            if n.text:
                text += self._text(n.text)
            extras = [f'icon {n.icon}'] if isinstance(n.icon, str) else []
            if n.id_:
                extras.append(f'id {n.id_}')
            if n.sticky:
                extras.append('sticky')
            if n.priority:
                extras.append(f'priority {n.priority}')
            if isinstance(n.gntp_callback, SocketCallback):
                extras.append(f'socket callback (context {n.gntp_callback.context!r})')
            elif isinstance(n.gntp_callback, URLCallback):
                extras.append(f'URL callback {n.gntp_callback.url}')
            if extras:
                text += '\n    (' + ', '.join(extras) + ')'
        else:
            assert isinstance(request, SubscribeRequest)
            text = (f'{head}: subscriber {request.name!r} (id {request.id_}), '
                    f'forwarding to port {request.port}{tail}')
        for resource in info['resources']:
            # The identifier is usually the MD5 itself: then it is printed once.
            named = '' if resource['identifier'].lower() == resource['md5'] \
                else f' {resource["identifier"]}'
            text += f'\n    resource{named}: {resource["length"]} bytes, md5 {resource["md5"]}'
        self._write(text)

    def show_error(self, address: Address, code: int, description: str) -> None:
        """Write the error code and description."""
        self._write(f'{self._head("ERROR", address)}: {code} {description}')

    def show_callback(self, event: DisplayEvent, result: str) -> None:
        """Write which callback was sent."""
        request = event.request
        assert isinstance(request, NotifyRequest)
        self._write(f'{self._head("CALLBACK", event.address).replace(" from ", " to ")}: '
                    f'{result} for {request.app_name}/{request.notification.name} '
                    f'"{request.notification.title}"')


class JSONLinesDisplay(Display):
    """Writes one JSON object per event to a text stream, flushed at once.

    Accepted requests give :meth:`DisplayEvent.to_dict`; errors give ``type: "ERROR"`` with
    ``code`` and ``description``; callbacks ``type: "CALLBACK"`` with ``result``. Every
    object has the keys ``type``, ``application``, ``notification``, ``title``, ``text``,
    ``headers`` and ``resources``.

    Args:
        stream: Where to write (default: ``sys.stdout`` at the time of writing).
    """

    def __init__(self, stream: Optional[TextIO] = None) -> None:
        self.stream = stream
        self._flushing: Set[int] = set()

    def _write(self, data: Dict[str, Any]) -> None:
        stream = self.stream if self.stream is not None else sys.stdout
        stream.write(_JSON.encode(data) + '\n')
        _flush_soon(stream, self._flushing)

    @staticmethod
    def _empty(kind: str, address: Address) -> Dict[str, Any]:
        return {'type': kind, 'application': None, 'notification': None, 'title': None,
                'text': None, 'headers': {}, 'resources': [], 'time': utc_timestamp(),
                'peer': format_address(address)}

    def show(self, event: DisplayEvent) -> None:
        """Write the request's summary."""
        self._write(event.to_dict())

    def show_error(self, address: Address, code: int, description: str) -> None:
        """Write an ``ERROR`` object."""
        data = self._empty('ERROR', address)
        data.update(code=code, description=description)
        self._write(data)

    def show_callback(self, event: DisplayEvent, result: str) -> None:
        """Write a ``CALLBACK`` object."""
        data = self._empty('CALLBACK', event.address)
        summary = event.to_dict()
        for name in ('application', 'notification', 'title', 'text', 'id', 'callback'):
            data[name] = summary.get(name)
        data['result'] = result
        self._write(data)


class NotifySendDisplay(Display):
    """Shows NOTIFY requests as Linux desktop notifications with ``notify-send``.

    When the command is not installed, :attr:`available` is false and :meth:`show` does
    nothing (a warning is logged once). Inline icons are written to a private temporary
    directory, removed by :meth:`close`.

    Args:
        command: The program to run (a name looked up on ``PATH``, or a path).
        expire_time: Milliseconds a non-sticky notification stays up (``None``: the
            desktop's default); sticky ones are shown with ``--expire-time=0``.
    """

    def __init__(self, command: str = 'notify-send', expire_time: Optional[int] = None) -> None:
        self.command = command
        self.path = shutil.which(command)
        self.expire_time = expire_time
        self._children: List['subprocess.Popen[bytes]'] = []
        self._icon_dir: Optional[str] = None
        self._warned = False

    @property
    def available(self) -> bool:
        """Whether the command was found."""
        return self.path is not None

    def _icon_path(self, icon: Any) -> Optional[str]:
        if not isinstance(icon, Resource) or icon.data is None:
            return None
        if self._icon_dir is None:
            self._icon_dir = tempfile.mkdtemp(prefix='gntplib-icons-')
        path = os.path.join(self._icon_dir, icon.identifier() or 'icon')
        if not os.path.exists(path):
            with open(path, 'wb') as f:
                f.write(icon.data)
        return path

    def arguments(self, request: NotifyRequest) -> List[str]:
        """The command line that shows ``request``."""
        n = request.notification
        priority = n.priority or 0
        urgency = 'critical' if priority >= c.PRIORITY_EMERGENCY else \
            'low' if priority < c.PRIORITY_NORMAL else 'normal'
        argv = [self.path or self.command, f'--app-name={request.app_name}',
                f'--urgency={urgency}']
        if n.sticky:
            argv.append('--expire-time=0')
        elif self.expire_time is not None:
            argv.append(f'--expire-time={self.expire_time}')
        icon = self._icon_path(n.icon)
        if icon:
            argv.append(f'--icon={icon}')
        argv += ['--', n.title, n.text or '']
        return argv

    def show(self, event: DisplayEvent) -> None:
        """Start ``notify-send`` for a NOTIFY (without waiting for it)."""
        self._reap()
        if not isinstance(event.request, NotifyRequest):
            return
        if self.path is None:
            if not self._warned:
                logger.warning('%s is not installed; desktop notifications are off',
                               self.command)
                self._warned = True
            return
        try:
            self._children.append(subprocess.Popen(
                self.arguments(event.request), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        except OSError as exc:
            logger.warning('cannot run %s: %s', self.command, exc)

    def _reap(self) -> None:
        self._children = [child for child in self._children if child.poll() is None]

    def close(self, timeout: float = 5.0) -> None:
        """Wait for running ``notify-send`` processes and remove temporary icons."""
        for child in self._children:
            try:
                child.wait(timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        self._children = []
        if self._icon_dir is not None:
            shutil.rmtree(self._icon_dir, ignore_errors=True)
            self._icon_dir = None
