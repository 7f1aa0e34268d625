"""The browser receiver's display backend: keeps the history and tells open pages.

:class:`WebDisplay` runs on the GNTP server's IOLoop like every display. For each accepted
NOTIFY it adds a card to its :class:`~gntplib.web.history.History` and sends it to every
open page; it turns a page's Click and Dismiss into the sender's ``-CALLBACK``, and its
enable switches into the server's registry.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Callable, Dict, List, Optional, Set

from tornado.ioloop import IOLoop

from ..display import Display, DisplayEvent
from ..exceptions import GNTPError, GNTPValidationError
from ..requests import NotifyRequest
from . import registry
from .history import History, IconStore

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
            panel shows (set by :meth:`bind`).
    """

    def __init__(self, history_size: int = 10000, icon_bytes: int = 64 * 1024 * 1024) -> None:
        self.history = History(history_size, IconStore(icon_bytes))
        self.server: Any = None
        self._listeners: Set[Listener] = set()
        self._pending: Dict[int, DisplayEvent] = {}   # card id -> event awaiting -CALLBACK
        self._cards_by_handle: Dict[int, int] = {}
        self._on_close: List[Callable[[], None]] = []

    def bind(self, server: Any) -> None:
        """Use ``server``'s registry for the applications panel."""
        self.server = server

    def add_close_hook(self, hook: Callable[[], None]) -> None:
        """Call ``hook`` when the server closes its displays (it shuts down)."""
        self._on_close.append(hook)

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
        """The applications panel: see :func:`gntplib.web.registry.list_applications`."""
        if self.server is None:
            return []
        return registry.list_applications(self.server, self.history.icons)

    def _broadcast_apps(self) -> None:
        self._broadcast({'type': 'apps', 'apps': self.applications()})

    # -- the Display interface -------------------------------------------------------------

    def show(self, event: DisplayEvent) -> None:
        """Add a NOTIFY to the history and send it to the pages; after a REGISTER, send the
        new applications panel."""
        request = event.request
        if not isinstance(request, NotifyRequest):
            if event.message_type == 'REGISTER':
                # The server updates its registry after showing the REGISTER.
                IOLoop.current().add_callback(self._broadcast_apps)
            return
        app_icon = None if self.server is None \
            else registry.application_icon(self.server, request.app_name)
        card = self.history.add(request, event.time, app_icon)
        if event.handle is not None:
            self._pending[card['id']] = event
            self._cards_by_handle[event.handle] = card['id']
        self._broadcast({'type': 'card', 'card': card})

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

    def _answer(self, card_id: int, result: str) -> bool:
        event = self._pending.pop(card_id, None)
        if event is None:
            return False
        if event.handle is not None:
            self._cards_by_handle.pop(event.handle, None)
        try:
            event.send_callback(result)
        except GNTPError:  # answered meanwhile (timed out, or the sender left)
            return False
        return True

    def click(self, card_id: Any) -> None:
        """The user clicked a card: send ``CLICK`` to a waiting sender (a URL callback is
        opened by the page itself).

        Raises:
            GNTPValidationError: If the card is not in the history.
        """
        card = self._card(card_id)
        sent = self._answer(card['id'], 'CLICK')
        if card['result'] is None and (sent or card['callback'] is None
                                       or card['callback']['kind'] == 'url'):
            card['result'] = 'CLICK'
        self._broadcast({'type': 'update', 'card': card})

    def dismiss(self, card_id: Any) -> None:
        """The user dismissed a card: send ``CLOSE`` to a waiting sender and hide it.

        Raises:
            GNTPValidationError: If the card is not in the history.
        """
        card = self._card(card_id)
        if self._answer(card['id'], 'CLOSE') and card['result'] is None:
            card['result'] = 'CLOSE'
        card['dismissed'] = True
        self._broadcast({'type': 'update', 'card': card})

    def set_enabled(self, app_name: str, notification_name: str, enabled: bool) -> None:
        """Switch a notification type on or off and update the pages' panels.

        Raises:
            GNTPValidationError: If there is no server or no such registered type.
        """
        if self.server is None:
            raise GNTPValidationError('this display is not bound to a server')
        registry.set_enabled(self.server, app_name, notification_name, enabled)
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
