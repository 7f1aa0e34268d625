"""The browser receiver's display backend: keeps the history and tells open pages.

:class:`WebDisplay` runs on the GNTP server's IOLoop like every display. For each accepted
NOTIFY it adds a card to its :class:`~gntplib.web.history.History` and sends it to every
open page; it turns a page's Click and Dismiss into the sender's ``-CALLBACK``, and its
enable switches into the server's registry.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from tornado.ioloop import IOLoop

from ..display import Display, DisplayEvent
from ..exceptions import GNTPValidationError
from ..requests import NotifyRequest, RegisterRequest
from .history import History, IconStore, icon_url

__all__ = ['WebDisplay', 'Listener']

logger = logging.getLogger(__name__)

#: A page connection: called with each JSON message for it.
Listener = Callable[[str], None]


class WebDisplay(Display):
    """Shows notifications in the pages of a :class:`~gntplib.web.WebReceiver`.

    Args:
        history_size: How many notifications the history keeps (the oldest go first).
        icon_bytes: How many bytes of icons are kept for the history.

    Attributes:
        history: The :class:`~gntplib.web.history.History`.
        server: The :class:`~gntplib.server.GNTPServer` whose registry the applications
            panel shows (set by :meth:`start`).
    """

    def __init__(self, history_size: int = 10000, icon_bytes: int = 64 * 1024 * 1024) -> None:
        self.history = History(history_size, IconStore(icon_bytes))
        self.server: Any = None
        self._listeners: Set[Listener] = set()
        self._pending: Dict[int, DisplayEvent] = {}   # card id -> event awaiting -CALLBACK
        self._cards_by_handle: Dict[int, int] = {}
        self._type_icons: Dict[Tuple[str, str], Any] = {}  # (app, type) -> registered icon
        self._on_start: List[Callable[[Any], None]] = []
        self._on_close: List[Callable[[], None]] = []

    def add_hooks(self, on_start: Callable[[Any], None], on_close: Callable[[], None]) -> None:
        """Call ``on_start(server)`` when the server starts serving, ``on_close()`` when it
        shuts down (how :class:`~gntplib.web.WebReceiver` serves the page with it)."""
        self._on_start.append(on_start)
        self._on_close.append(on_close)

    # -- pages ---------------------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        """Send ``listener`` the history and applications, then every change."""
        self._listeners.add(listener)
        listener(json.dumps({'type': 'hello', 'cards': self.history.cards(),
                             'apps': self.applications(), 'history_size': self.history.size}))

    def remove_listener(self, listener: Listener) -> None:
        """Stop sending to ``listener``."""
        self._listeners.discard(listener)

    def _broadcast(self, message: Dict[str, Any]) -> None:
        text = json.dumps(message)
        for listener in list(self._listeners):
            try:
                listener(text)
            except Exception:
                logger.exception('a page connection failed; dropping it')
                self._listeners.discard(listener)

    def applications(self) -> List[Dict[str, Any]]:
        """The applications panel: the server's registered applications, sorted by name,
        each with ``name``, ``icon`` and ``notifications`` (``name``, ``display_name``,
        ``enabled``, ``icon``)."""
        if self.server is None:
            return []
        icons = self.history.icons
        return [{'name': app.name, 'icon': icon_url(app.icon, icons), 'notifications': [
            {'name': n.name, 'display_name': n.display_name or n.name, 'enabled': n.enabled,
             'icon': icon_url(n.icon, icons)} for n in app.notifications]}
            for app in self.server.list_applications()]

    def _broadcast_apps(self) -> None:
        self._broadcast({'type': 'apps', 'apps': self.applications()})

    # -- the Display interface -------------------------------------------------------------

    def start(self, server: Any) -> None:
        """Show ``server``'s registry in the panel, start the history with what the
        server's state store kept (``--state``: the notifications of earlier runs), and
        run the start hooks (the receiver starts serving the page, on the server's loop)."""
        self.server = server
        state = getattr(server, 'state', None)
        if state is not None and not len(self.history):
            for entry in state.store.history(self.history.size):
                self.history.restore(entry)
        for hook in self._on_start:
            hook(server)

    def show(self, event: DisplayEvent) -> None:
        """Add a NOTIFY to the history and send it to the pages (it replaces a card of its
        application with the same coalescing ID); after a REGISTER, send the new
        applications panel."""
        request = event.request
        if isinstance(request, RegisterRequest):
            for key in [key for key in self._type_icons if key[0] == request.app_name]:
                del self._type_icons[key]
            self._type_icons.update(((request.app_name, e.name), e.icon)
                                    for e in request.events if e.icon is not None)
            # The server updates its registry after showing the REGISTER.
            IOLoop.current().add_callback(self._broadcast_apps)
        if not isinstance(request, NotifyRequest):
            return
        card = self.history.add(
            request, event.time, self._application_icon(request.app_name),
            self._type_icons.get((request.app_name, request.notification.name)))
        if event.handle is not None:
            self._pending[card['id']] = event
            self._cards_by_handle[event.handle] = card['id']
        self._forget_dropped()
        replaced = self.history.coalesce(card)
        if replaced is not None:
            self._broadcast({'type': 'update', 'card': replaced})
        self._broadcast({'type': 'card', 'card': card})

    def _forget_dropped(self) -> None:
        # Callbacks whose sender left undecided are never reported: forget them with their
        # cards. Card ids grow, so the oldest pending ones come first.
        while self._pending:
            card_id, event = next(iter(self._pending.items()))
            if self.history.get(card_id) is not None:
                return
            del self._pending[card_id]
            self._cards_by_handle.pop(event.handle or 0, None)

    def show_callback(self, event: DisplayEvent, result: str) -> None:
        """Record which ``-CALLBACK`` the sender got and update the pages."""
        card_id = self._cards_by_handle.pop(event.handle, None) \
            if event.handle is not None else None
        if card_id is None:
            return
        self._pending.pop(card_id, None)
        card = self.history.get(card_id)
        if card is not None:
            card['result'] = result
            self._broadcast({'type': 'update', 'card': card})

    def _application_icon(self, app_name: str) -> Any:
        if self.server is None:
            return None
        try:
            return self.server.application_icon(app_name)
        except GNTPValidationError:  # not registered (any more)
            return None

    def close(self) -> None:
        """Forget the page connections and run the close hooks."""
        self._listeners.clear()
        hooks, self._on_close = self._on_close, []
        for hook in hooks:
            hook()

    # -- what pages ask for ----------------------------------------------------------------

    def _card(self, card_id: Any) -> Dict[str, Any]:
        card = self.history.get(card_id) if isinstance(card_id, int) else None
        if card is None:
            raise GNTPValidationError(f'no notification {card_id!r} in the history')
        return card

    def _answer(self, card_id: int, result: str) -> None:
        # The server tells every display (show_callback) once a callback is decided; a
        # report on one decided already (timed out, sender gone) is a no-op there.
        event = self._pending.get(card_id)
        if event is not None:
            event.send_callback(result)

    def click(self, card_id: Any) -> None:
        """The user clicked a card: send ``CLICK`` to a waiting sender (a URL callback is
        opened by the page itself).

        Raises:
            GNTPValidationError: If the card is not in the history.
        """
        card = self._card(card_id)
        self._answer(card['id'], 'CLICK')
        if card['result'] is None and (card['callback'] is None
                                       or card['callback']['kind'] == 'url'):
            card['result'] = 'CLICK'
        self._broadcast({'type': 'update', 'card': card})

    def dismiss(self, card_id: Any) -> None:
        """The user dismissed a card: send ``CLOSE`` to a waiting sender and hide it.

        Raises:
            GNTPValidationError: If the card is not in the history.
        """
        card = self._card(card_id)
        card['dismissed'] = True
        self._answer(card['id'], 'CLOSE')
        self._broadcast({'type': 'update', 'card': card})

    def set_enabled(self, app_name: str, notification_name: str, enabled: bool) -> None:
        """Switch a notification type on or off and update the pages' panels.

        Raises:
            GNTPValidationError: If there is no server or no such registered type.
        """
        if self.server is None:
            raise GNTPValidationError('this display is not started on a server')
        self.server.set_notification_enabled(app_name, notification_name, enabled)
        self._broadcast_apps()

    def handle_message(self, text: str) -> Optional[str]:
        """Act on one message from a page; return an error text for it, or ``None``.

        Messages are JSON objects: ``{"action": "click" | "dismiss", "id": N}`` or
        ``{"action": "enable", "app": A, "name": N, "enabled": true | false}``.
        """
        try:
            message = json.loads(text)
            action = message.get('action') if isinstance(message, dict) else None
            if action == 'click':
                self.click(message.get('id'))
            elif action == 'dismiss':
                self.dismiss(message.get('id'))
            elif action == 'enable':
                app, name = message.get('app'), message.get('name')
                if not isinstance(app, str) or not isinstance(name, str):
                    raise GNTPValidationError('enable needs "app" and "name"')
                self.set_enabled(app, name, bool(message.get('enabled')))
            else:
                raise GNTPValidationError(f'unknown action {action!r}')
        except GNTPValidationError as exc:
            return str(exc)
        except ValueError:
            return 'not a JSON message'
        return None
