"""Linux desktop notifications whose clicks reach the sender (``gntplib serve --desktop``).

:class:`DesktopDisplay` is a :class:`~gntplib.display.Display` backend that shows each
NOTIFY through ``org.freedesktop.Notifications`` on the D-Bus session bus (GNOME, KDE,
dunst, mako, xfce4-notifyd...), with `jeepney <https://jeepney.readthedocs.io>`_, a
pure-Python D-Bus library (``pip install 'gntplib[desktop]'``):

* app name, title, text (escaped when the notification server reads markup), icon
  (inline, ``data:`` or ``http(s)`` URL, else the icon the application registered),
  urgency from the priority, sticky as resident and never expiring, and
  ``Notification-Coalescing-ID`` replacing the earlier notification in place;
* a notification with a socket callback gets a ``default`` action (when the server has
  the ``actions`` capability): a click answers ``-CALLBACK`` CLICK, dismissing it CLOSE,
  expiry TIMEDOUT; the first of these wins. A notification the desktop never expires
  (GNOME keeps them) is ended by the receiver's own timer as TIMEDOUT;
* a URL callback (``http``/``https`` only) is opened on a click;
* when the bus or the notification server is away, notifications go to the ``fallback``
  display (``notify-send`` by default) and the bus is tried again later.

It runs on the server's IOLoop; jeepney is imported when the first notification arrives.

Example:
    >>> from gntplib.server import GNTPServer
    >>> server = GNTPServer(display=DesktopDisplay(expire_timeout=8))
"""

from __future__ import annotations

import asyncio
import collections
import logging
import shutil
import subprocess
import threading
import webbrowser
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import _freedesktop as fd
from ._icon_files import IconFiles
from ._notifications_bus import NotificationsBus
from .display import Display, DisplayEvent, NotifySendDisplay
from .exceptions import GNTPConnectionError, GNTPValidationError
from .models import URLCallback
from .requests import NotifyRequest, RegisterRequest

__all__ = ['DesktopDisplay', 'jeepney_available', 'open_url']

logger = logging.getLogger(__name__)

_REMEMBERED = 1024  # bound of every table kept per application or notification


def jeepney_available() -> bool:
    """Whether jeepney (the ``desktop`` extra) can be imported."""
    try:
        import jeepney  # noqa: F401
    except ImportError:
        return False
    return True


def open_url(url: str) -> None:
    """Open a URL in the desktop's browser: ``xdg-open`` when installed, else
    :mod:`webbrowser`. Returns at once."""
    command = shutil.which('xdg-open')
    if command is None:
        webbrowser.open(url)
        return
    child = subprocess.Popen([command, url], stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    threading.Thread(target=child.wait, name='gntplib-xdg-open', daemon=True).start()


class _Shown:
    """A notification on the desktop whose click or close someone waits for."""

    def __init__(self, event: DisplayEvent, url: Optional[str]) -> None:
        self.event = event
        self.url = url
        self.timer: Optional[asyncio.TimerHandle] = None


def _remember(table: 'collections.OrderedDict[Any, Any]', key: Any, value: Any) -> None:
    table[key] = value
    table.move_to_end(key)
    while len(table) > _REMEMBERED:
        table.popitem(last=False)


class DesktopDisplay(Display):
    """Shows NOTIFY requests through ``org.freedesktop.Notifications`` (see the module).

    Args:
        bus: ``'SESSION'`` (``DBUS_SESSION_BUS_ADDRESS``) or a D-Bus address.
        fallback: Where notifications go while the bus or the notification server is
            away (default: a :class:`~gntplib.display.NotifySendDisplay`).
        expire_timeout: Seconds a non-sticky notification stays up.
        grace: Seconds after ``expire_timeout`` before the receiver ends a notification
            with a socket callback itself (TIMEDOUT), if the desktop has not.
        opener: Called with the URL of a clicked URL callback (default :func:`open_url`).
        icon_max_bytes: The largest icon accepted.
        icon_timeout: Seconds an icon URL may take to fetch.
        call_timeout: Seconds the notification server has to answer a call.
        retry_interval: Seconds between attempts to reach a bus that is gone.

    Attributes:
        notified: How many notifications the notification server took.
        fallen_back: How many went to ``fallback`` instead.
    """

    def __init__(self, bus: str = 'SESSION', *, fallback: Optional[Display] = None,
                 expire_timeout: float = 10.0, grace: float = 2.0,
                 opener: Optional[Callable[[str], Any]] = None,
                 icon_max_bytes: int = 1 << 20, icon_timeout: float = 5.0,
                 call_timeout: float = 5.0, retry_interval: float = 2.0) -> None:
        if expire_timeout <= 0:
            raise GNTPValidationError('expire_timeout must be positive')
        self.bus = bus
        self.fallback = fallback if fallback is not None else NotifySendDisplay()
        self.expire_timeout = expire_timeout
        self.grace = grace
        self.opener = opener or open_url
        self.call_timeout = call_timeout
        self.retry_interval = retry_interval
        self.icons = IconFiles(icon_max_bytes, icon_timeout)
        self.notified = 0
        self.fallen_back = 0
        self._bus: Optional[NotificationsBus] = None
        self._capabilities: Optional[List[str]] = None
        self._retry_at = 0.0
        self._bus_down_logged = False
        self._server_down_logged = False
        self._connecting: 'Optional[asyncio.Future[Optional[NotificationsBus]]]' = None
        self._queue: 'Optional[asyncio.Queue[Tuple[DisplayEvent, asyncio.Future[Any]]]]' = None
        self._worker: 'Optional[asyncio.Future[None]]' = None
        self._shown: 'collections.OrderedDict[int, _Shown]' = collections.OrderedDict()
        self._by_handle: Dict[int, int] = {}
        self._coalesced: 'collections.OrderedDict[Tuple[str, str], int]' = \
            collections.OrderedDict()
        self._app_icons: 'collections.OrderedDict[str, Tuple[Any, Dict[str, Any]]]' = \
            collections.OrderedDict()
        self._early: 'collections.OrderedDict[int, Optional[str]]' = collections.OrderedDict()
        self._server: Any = None

    # -- the Display interface ---------------------------------------------------------------

    def start(self, server: Any) -> None:
        """Connect to the bus in the background, so the first notification does not wait;
        keep the server for the icons of applications registered before (its registry)."""
        self._server = server
        self._connecting = asyncio.ensure_future(self._connect())

    def show(self, event: DisplayEvent) -> None:
        """Queue a NOTIFY for the desktop (REGISTER: remember the application's icons)."""
        request = event.request
        if isinstance(request, RegisterRequest):
            _remember(self._app_icons, request.app_name,
                      (request.app_icon, {e.name: e.icon for e in request.events}))
            return
        if not isinstance(request, NotifyRequest):
            return
        icons = asyncio.ensure_future(self._icon_paths(request))
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._worker = asyncio.ensure_future(self._work(self._queue))
        self._queue.put_nowait((event, icons))

    def show_callback(self, event: DisplayEvent, result: str) -> None:
        """A callback was answered elsewhere (the server's timeout, the sender left):
        take its notification off the desktop."""
        desktop_id = self._by_handle.get(event.handle) if event.handle is not None else None
        if desktop_id is None:
            return
        self._forget(desktop_id)
        self._close_on_desktop(desktop_id)

    def close(self) -> Any:
        """Stop, close the bus connection and remove the icon files; returns an awaitable
        that is done when the connection is closed."""
        tasks: List['asyncio.Future[Any]'] = []
        if self._connecting is not None:
            self._connecting.cancel()
        if self._worker is not None:
            self._worker.cancel()
            tasks.append(self._worker)
        while self._queue is not None and not self._queue.empty():
            icons = self._queue.get_nowait()[1]
            icons.cancel()
            tasks.append(icons)
        for desktop_id in list(self._shown):
            self._forget(desktop_id)
        if self._bus is not None:
            self._bus.close()
            tasks.append(asyncio.ensure_future(self._bus.wait_closed()))
            self._bus = None
        self.icons.close()
        fallback = self.fallback.close()
        if fallback is not None and hasattr(fallback, '__await__'):
            tasks.append(asyncio.ensure_future(fallback))
        return asyncio.gather(*tasks, return_exceptions=True)

    # -- presenting ----------------------------------------------------------------------------

    async def _icon_paths(self, request: NotifyRequest) -> Tuple[Optional[str], Optional[str]]:
        """The notification's image (its icon, else its event's, else the application's)
        and the application's icon, as file paths."""
        app_icon, event_icons = self._registered_icons(request.app_name)
        app_path = await self.icons.path(app_icon) if app_icon is not None else None
        for icon in (request.notification.icon, event_icons.get(request.notification.name)):
            if icon is not None:
                path = await self.icons.path(icon)
                if path is not None:
                    return path, app_path
        return app_path, app_path

    def _registered_icons(self, app_name: str) -> Tuple[Any, Dict[str, Any]]:
        """The application's icon and its notification types' icons: as its REGISTER
        said, else as the server's registry knows them (restored from saved state)."""
        known = self._app_icons.get(app_name)
        if known is None and hasattr(self._server, 'list_applications'):
            for info in self._server.list_applications():
                if info.name == app_name:
                    known = (info.icon, {t.name: t.icon for t in info.notifications})
                    _remember(self._app_icons, app_name, known)
        return known if known is not None else (None, {})

    async def _work(self, queue: 'asyncio.Queue[Tuple[DisplayEvent, asyncio.Future[Any]]]'
                    ) -> None:
        while True:
            event, icons = await queue.get()
            try:
                image, app_icon = await icons
                await self._present(event, image, app_icon)
            except Exception:
                logger.exception('showing %r on the desktop failed', event)

    async def _present(self, event: DisplayEvent, image: Optional[str],
                       app_icon: Optional[str]) -> None:
        bus = await self._connected()
        if bus is not None:
            try:
                if self._capabilities is None:
                    (capabilities,) = await bus.call('GetCapabilities',
                                                     timeout=self.call_timeout)
                    self._capabilities = [str(name) for name in capabilities]
                await self._notify(bus, self._capabilities, event, image, app_icon)
                if self._server_down_logged:
                    logger.warning('the notification server is back')
                    self._server_down_logged = False
                return
            except GNTPConnectionError as exc:
                # Said once per outage, like the bus's.
                logger.log(logging.DEBUG if self._server_down_logged else logging.WARNING,
                           'desktop notification failed, using the fallback: %s', exc)
                self._server_down_logged = True
                self._capabilities = None
        self.fallen_back += 1
        try:
            self.fallback.show(event)
        except Exception:
            logger.exception('the fallback display %r failed', self.fallback)

    async def _connected(self) -> Optional[NotificationsBus]:
        """The bus connection: the open one, the one being opened, or a new one (unless
        the last attempt failed less than ``retry_interval`` ago)."""
        if self._bus is not None and self._bus.connected:
            return self._bus
        if self._connecting is None or self._connecting.done():
            self._connecting = asyncio.ensure_future(self._connect())
        return await asyncio.shield(self._connecting)

    async def _connect(self) -> Optional[NotificationsBus]:
        loop = asyncio.get_event_loop()
        if loop.time() < self._retry_at:
            return None
        bus = NotificationsBus(self._on_signal, self._on_lost)
        try:
            await bus.connect(self.bus, self.call_timeout)
        except GNTPConnectionError as exc:
            # Said once per outage: without a desktop session every attempt fails.
            logger.log(logging.DEBUG if self._bus_down_logged else logging.WARNING,
                       '%s; notifications go to the fallback, the bus is tried again '
                       'every %s s', exc, self.retry_interval)
            self._bus_down_logged = True
            bus.close()
            self._retry_at = loop.time() + self.retry_interval
            return None
        if self._bus_down_logged:
            logger.warning('connected to the D-Bus session bus again')
            self._bus_down_logged = False
        self._bus, self._capabilities = bus, None
        return bus

    async def _notify(self, bus: NotificationsBus, capabilities: List[str],
                      event: DisplayEvent, image: Optional[str],
                      app_icon: Optional[str]) -> None:
        request = event.request
        assert isinstance(request, NotifyRequest)
        n = request.notification
        key = (request.app_name, n.coalescing_id) if n.coalescing_id else None
        callback = n.gntp_callback
        url = callback.url if isinstance(callback, URLCallback) \
            and fd.is_openable_url(callback.url) else None
        waits = event.has_callback and event.callback_result is None
        body = fd.notify_body(
            request.app_name, n.title, n.text or '', capabilities=capabilities,
            replaces_id=self._coalesced.get(key, 0) if key else 0, app_icon=app_icon,
            image_path=image, priority=n.priority, sticky=bool(n.sticky),
            clickable=waits or url is not None, expire_timeout=self.expire_timeout)
        (desktop_id,) = await bus.call('Notify', fd.NOTIFY_SIGNATURE, body,
                                       self.call_timeout)
        desktop_id = int(desktop_id)
        self.notified += 1
        if desktop_id in self._shown:  # replaced in place: the earlier one ended unanswered
            self._finish(desktop_id, 'TIMEDOUT')
        if key is not None:
            _remember(self._coalesced, key, desktop_id)
        if not waits and url is None:
            return
        shown = _Shown(event, url)
        while len(self._shown) >= _REMEMBERED:
            self._finish(next(iter(self._shown)), 'TIMEDOUT')
        self._shown[desktop_id] = shown
        if event.handle is not None:
            self._by_handle[event.handle] = desktop_id
            if waits and not n.sticky:
                shown.timer = asyncio.get_event_loop().call_later(
                    self.expire_timeout + self.grace, self._expire, desktop_id)
        if desktop_id in self._early:
            self._finish(desktop_id, self._early.pop(desktop_id))

    # -- what the desktop reports ---------------------------------------------------------------

    def _on_signal(self, member: str, body: Tuple[Any, ...]) -> None:
        if member == 'NameOwnerChanged':
            if len(body) == 3 and body[0] == fd.BUS_NAME:
                self._capabilities = None
                if body[1]:  # the notification server left: its notifications are gone
                    self._end_all()
            return
        outcome = fd.signal_result(member, body)
        if outcome is None:
            return
        desktop_id, result = outcome
        if desktop_id in self._shown:
            self._finish(desktop_id, result)
        elif desktop_id not in self._early:  # maybe ours, before Notify's answer was read
            _remember(self._early, desktop_id, result)

    def _on_lost(self) -> None:
        self._bus = None
        self._capabilities = None
        self._end_all()

    def _end_all(self) -> None:
        self._early.clear()
        self._coalesced.clear()
        for desktop_id in list(self._shown):
            self._finish(desktop_id, 'TIMEDOUT')

    def _expire(self, desktop_id: int) -> None:
        if desktop_id in self._shown:
            self._finish(desktop_id, 'TIMEDOUT')
            self._close_on_desktop(desktop_id)

    def _finish(self, desktop_id: int, result: Optional[str]) -> None:
        """The first outcome of a notification: open its URL or answer its callback."""
        shown = self._forget(desktop_id)
        if shown is None or result is None:
            return
        if result == 'CLICK' and shown.url is not None:
            try:
                self.opener(shown.url)
            except Exception:
                logger.exception('opening %s failed', shown.url)
        if shown.event.handle is not None:
            try:
                shown.event.send_callback(result)
            except GNTPValidationError:
                logger.debug('the sender of %r has gone', shown.event)

    def _forget(self, desktop_id: int) -> Optional[_Shown]:
        shown = self._shown.pop(desktop_id, None)
        if shown is not None:
            if shown.timer is not None:
                shown.timer.cancel()
            if shown.event.handle is not None:
                self._by_handle.pop(shown.event.handle, None)
        return shown

    def _close_on_desktop(self, desktop_id: int) -> None:
        bus = self._bus
        if bus is None or not bus.connected:
            return

        async def close() -> None:
            try:
                await bus.call('CloseNotification', 'u', (desktop_id,), self.call_timeout)
            except GNTPConnectionError as exc:
                logger.info('CloseNotification %d: %s', desktop_id, exc)
        asyncio.ensure_future(close())
