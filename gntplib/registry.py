"""The receiver's registry: the applications a server knows and their notification types.

Socket-free, like the rest of the receiver core: the embedded server
(:class:`gntplib.server.GNTPServer`) keeps one :class:`Registry`, fills it from the REGISTER
requests it accepts, and asks it whether a NOTIFY may be shown. The user's choices (a
notification type switched off in a browser page, say) are kept apart from what the
application registered, so an application registering again on its next start does not
switch a type back on; a disabled type is answered ``-ERROR`` 404, as Growl for Windows does.

Example:
    >>> from gntplib.models import Event
    >>> from gntplib.requests import RegisterRequest
    >>> registry = Registry()
    >>> _ = registry.register(RegisterRequest('App', None, [Event('update')]), ('127.0.0.1', 1))
    >>> registry.set_notification_enabled('App', 'update', False)
    >>> registry.check_notify('App', 'update').code
    404
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any, Dict, List, Optional, Tuple

from . import constants as c
from .exceptions import GNTPValidationError
from .models import Event, Icon
from .requests import RegisterRequest

__all__ = ['Registry', 'RegisteredApplication', 'ApplicationInfo', 'NotificationTypeInfo',
           'Rejection']

Address = Tuple[Any, ...]


class Rejection(Exception):
    """The receiver's own refusal of a request: a GNTP error code and a description.

    It is what the server answers with ``-ERROR`` (:func:`gntplib.receiver.error_response`
    makes the response, in one place). It is not a :class:`~gntplib.exceptions.GNTPError`:
    it never reaches a user of gntplib's clients, who see the peer's ``-ERROR`` as a
    :class:`~gntplib.exceptions.GNTPResponseError`.

    Attributes:
        code: The error code (``400``, ``401``, ...; see :mod:`gntplib.constants`).
        description: What was wrong, one line of text for ``Error-Description``.
    """

    def __init__(self, code: int, description: Optional[str] = None) -> None:
        self.code = code
        self.description = ' '.join((description or c.ERROR_DESCRIPTIONS.get(
            code, 'Error')).split())
        super().__init__(f'{code} {self.description}')

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Rejection):
            return NotImplemented
        return (self.code, self.description) == (other.code, other.description)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f'Rejection({self.code}, {self.description!r})'


@dataclasses.dataclass(frozen=True)
class NotificationTypeInfo:
    """A notification type as the registry lists it (a snapshot).

    Attributes:
        name: ``Notification-Name``.
        display_name: ``Notification-Display-Name`` (``None`` when not sent).
        enabled: Whether NOTIFY of this type is accepted (the user's choice, else the
            application's ``Notification-Enabled``).
        icon: ``Notification-Icon``: a :class:`~gntplib.Resource` or a URL, or ``None``.
    """

    name: str
    display_name: Optional[str]
    enabled: bool
    icon: Optional[Icon]


@dataclasses.dataclass(frozen=True)
class ApplicationInfo:
    """An application as the registry lists it (a snapshot, safe to hand to another thread).

    Attributes:
        name: ``Application-Name``.
        icon: ``Application-Icon``: a :class:`~gntplib.Resource` (``icon.data`` holds
            the bytes) or a URL string, or ``None``.
        notifications: Its notification types, in registration order.
        address: ``host:port`` of the peer that registered it last.
        registered_at: When it registered last (``time.time()``).
    """

    name: str
    icon: Optional[Icon]
    notifications: Tuple[NotificationTypeInfo, ...]
    address: str
    registered_at: float


class RegisteredApplication:
    """An application the server knows from its last REGISTER.

    Attributes:
        name: The application name.
        icon: Its icon (a :class:`~gntplib.Resource` or URL), or ``None``.
        events: Its notification types by name (copies of the request's); set
            ``events[name].enabled = False`` (or use
            :meth:`gntplib.server.GNTPServer.set_notification_enabled`, which also
            survives the next REGISTER) to make the server answer ``-ERROR`` 404 to that type.
        request: The REGISTER request.
        address: Where it came from.
        registered_at: When (``time.time()``).
    """

    def __init__(self, request: RegisterRequest, address: Address) -> None:
        self.name = request.app_name
        self.icon: Optional[Icon] = request.app_icon
        # Copies: switching a type off must not rewrite the request kept in `received`.
        self.events: Dict[str, Event] = {
            event.name: Event(event.name, event.display_name, event.enabled, event.icon)
            for event in request.events}
        self.request = request
        self.address = address
        self.registered_at = time.time()

    def info(self) -> ApplicationInfo:
        """A snapshot of this application for :meth:`Registry.list_applications`."""
        from .display import format_address
        return ApplicationInfo(
            self.name, self.icon,
            tuple(NotificationTypeInfo(e.name, e.display_name, e.enabled, e.icon)
                  for e in self.events.values()),
            format_address(self.address), self.registered_at)

    def __repr__(self) -> str:
        return f'<RegisteredApplication {self.name!r} events={list(self.events)!r}>'


class Registry:
    """The applications a receiver knows, and the user's enabled/disabled choices.

    Attributes:
        applications: :class:`RegisteredApplication` by name (the server's
            ``applications`` attribute is this dict).
    """

    def __init__(self) -> None:
        self.applications: Dict[str, RegisteredApplication] = {}
        self._enabled_by_user: Dict[Tuple[str, str], bool] = {}

    def __repr__(self) -> str:
        return f'<Registry applications={sorted(self.applications)!r}>'

    def register(self, request: RegisterRequest, address: Address) -> RegisteredApplication:
        """Record (or replace) an application from its REGISTER; the user's choices for
        its notification types are applied again."""
        app = RegisteredApplication(request, address)
        for name, event in app.events.items():
            chosen = self._enabled_by_user.get((app.name, name))
            if chosen is not None:
                event.enabled = chosen
        self.applications[app.name] = app
        return app

    def check_notify(self, app_name: str, notification_name: str) -> Optional[Rejection]:
        """Whether a NOTIFY of this application and type may be shown: ``None`` if so,
        else the :class:`Rejection` (401 unknown application, 402 unknown type, 404
        disabled)."""
        app = self.applications.get(app_name)
        if app is None:
            return Rejection(c.ERROR_UNKNOWN_APPLICATION)
        event = app.events.get(notification_name)
        if event is None:
            return Rejection(c.ERROR_UNKNOWN_NOTIFICATION)
        if not event.enabled:
            return Rejection(c.ERROR_NOTIFICATION_DISABLED)
        return None

    def _application(self, app_name: str) -> RegisteredApplication:
        app = self.applications.get(app_name)
        if app is None:
            raise GNTPValidationError(f'no application {app_name!r} is registered')
        return app

    def list_applications(self) -> List[ApplicationInfo]:
        """Snapshots of the registered applications, sorted by name (case-insensitively)."""
        return [app.info() for app in sorted(self.applications.values(),
                                             key=lambda a: (a.name.casefold(), a.name))]

    def set_notification_enabled(self, app_name: str, notification_name: str,
                                 enabled: bool) -> None:
        """Switch a registered notification type on or off (kept across re-registration).

        Raises:
            GNTPValidationError: If the application or the type is not registered.
        """
        event = self._application(app_name).events.get(notification_name)
        if event is None:
            raise GNTPValidationError(f'application {app_name!r} has no notification type '
                                      f'{notification_name!r}')
        event.enabled = bool(enabled)
        self._enabled_by_user[(app_name, notification_name)] = bool(enabled)

    def application_icon(self, app_name: str) -> Optional[Icon]:
        """The application's ``Application-Icon``: a :class:`~gntplib.Resource` with its
        bytes, a URL string, or ``None``.

        Raises:
            GNTPValidationError: If the application is not registered.
        """
        return self._application(app_name).icon
