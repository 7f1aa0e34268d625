"""What the server's state holds, as plain records (no I/O).

Every record is built from a request the receiver accepted, and a stored application turns
back into the :class:`~gntplib.RegisterRequest` it came from, so a receiver started on a
state directory knows what it knew before.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union

from ..models import Event, Notification, Resource
from ..requests import NotifyRequest, RegisterRequest

__all__ = ['AppRecord', 'SubscriptionRecord', 'HistoryEntry', 'OutboxItem', 'HistoryLimits',
           'Icon', 'icon_md5']

Icon = Union[str, Resource]


def icon_md5(data: bytes) -> str:
    """The key an icon's bytes are stored under (the MD5 GNTP identifies resources by)."""
    return hashlib.md5(data).hexdigest()


@dataclass(frozen=True)
class HistoryLimits:
    """Bounds of the stored state.

    Attributes:
        max_rows: Notifications the history keeps (the oldest go first).
        max_age: Seconds a notification stays in the history.
        max_icon_size: Bytes an icon may have to be stored; a bigger one is dropped (the
            notification is kept without it).
    """

    max_rows: int = 10000
    max_age: float = 30 * 24 * 3600.0
    max_icon_size: int = 256 * 1024

    def __post_init__(self) -> None:
        if self.max_rows < 1 or self.max_age <= 0 or self.max_icon_size < 0:
            raise ValueError('history limits must be positive')

    def icon(self, icon: Optional[Icon]) -> Optional[Icon]:
        """``icon``, or ``None`` if it is inline and bigger than :attr:`max_icon_size`."""
        if isinstance(icon, Resource) and icon.data is not None \
                and len(icon.data) > self.max_icon_size:
            return None
        if isinstance(icon, Resource) and icon.data is None:
            return icon.url
        return icon


@dataclass
class AppRecord:
    """A registered application and its notification types (with their enabled flags and
    icons), as its last REGISTER left it."""

    name: str
    icon: Optional[Icon]
    events: List[Event]
    host: str = ''
    registered_at: float = 0.0

    @classmethod
    def from_request(cls, request: RegisterRequest, host: str, now: float,
                     limits: HistoryLimits) -> 'AppRecord':
        """The record of an accepted REGISTER (icons over the size limit left out)."""
        events = [Event(e.name, e.display_name, e.enabled, limits.icon(e.icon))
                  for e in request.events]
        return cls(request.app_name, limits.icon(request.app_icon), events, host, now)

    def to_request(self) -> RegisterRequest:
        """The REGISTER this record stands for."""
        return RegisterRequest(self.name, self.icon, list(self.events))


@dataclass
class SubscriptionRecord:
    """A subscriber and the key its SUBSCRIBE proved: the key hash and salt it sent (public
    on the wire) let a restarted hub find which of its passwords the subscriber knows
    without ever storing a password."""

    id_: str
    name: str
    host: str
    port: int
    key_algorithm: str
    key_hash: str
    salt: str
    encryption_algorithm: str
    expires_at: float


@dataclass
class HistoryEntry:
    """One accepted notification."""

    app_name: str
    name: str
    title: str
    text: str = ''
    id_: Optional[str] = None
    priority: int = 0
    sticky: bool = False
    icon: Optional[Icon] = None
    coalescing_id: Optional[str] = None
    host: str = ''
    received_at: float = 0.0
    #: The row number the store gave it (``None`` until stored).
    row: Optional[int] = None

    @classmethod
    def from_request(cls, request: NotifyRequest, host: str, now: float,
                     limits: HistoryLimits) -> 'HistoryEntry':
        """The history entry of an accepted NOTIFY."""
        n: Notification = request.notification
        return cls(request.app_name, n.name, n.title, n.text or '', n.id_, n.priority or 0,
                   bool(n.sticky), limits.icon(n.icon), n.coalescing_id, host, now)

    def payload(self) -> Dict[str, Any]:
        """What is forwarded: JSON-ready text fields (the icon only as a URL)."""
        return {'app': self.app_name, 'event': self.name, 'title': self.title,
                'text': self.text, 'id': self.id_, 'priority': self.priority,
                'sticky': self.sticky, 'coalescing_id': self.coalescing_id,
                'icon_url': self.icon if isinstance(self.icon, str) else None,
                'host': self.host, 'received_at': self.received_at}


@dataclass
class OutboxItem:
    """One forward waiting for its destination."""

    row: int
    destination: str
    payload: Dict[str, Any]
    created_at: float
    attempts: int = 0
    next_attempt_at: float = 0.0
    last_error: Optional[str] = field(default=None)
