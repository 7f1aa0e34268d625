"""What the browser receiver remembers: notification cards and the icons they show.

No I/O here: :class:`History` turns accepted requests into JSON-ready cards and keeps the
newest ones, :class:`IconStore` keeps the icon bytes the cards point to, and
:func:`image_type` decides whether bytes are an image the page may show at all.
"""

from __future__ import annotations

import collections
import datetime
from typing import Any, Dict, List, Optional, OrderedDict, Tuple

from ..models import Resource, SocketCallback, URLCallback
from ..requests import NotifyRequest

__all__ = ['History', 'IconStore', 'image_type', 'icon_url', 'URL_SCHEMES']

#: The only URL schemes the page follows (icons and URL callbacks); anything else a sender
#: gives (``javascript:``, ``data:``, ``file:``...) is shown as text or not at all.
URL_SCHEMES = ('http://', 'https://')

# Raster formats a browser shows with <img> and cannot run code from. SVG is left out on
# purpose: it may carry script.
_MAGIC: Tuple[Tuple[bytes, str], ...] = (
    (b'\x89PNG\r\n\x1a\n', 'image/png'),
    (b'\xff\xd8\xff', 'image/jpeg'),
    (b'GIF87a', 'image/gif'),
    (b'GIF89a', 'image/gif'),
    (b'\x00\x00\x01\x00', 'image/x-icon'),
    (b'BM', 'image/bmp'),
)


def image_type(data: bytes) -> Optional[str]:
    """The MIME type of ``data`` if it is a PNG, JPEG, GIF, WebP, ICO or BMP image, else
    ``None`` (such bytes are never served).

    Example:
        >>> image_type(b'\\x89PNG\\r\\n\\x1a\\n...')
        'image/png'
        >>> image_type(b'<svg onload="alert(1)">') is None
        True
    """
    if data[:4] == b'RIFF' and data[8:12] == b'WEBP':
        return 'image/webp'
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    return None


class IconStore:
    """Icon bytes by MD5, the newest kept up to ``max_bytes`` in all.

    Only images (see :func:`image_type`) are stored; :meth:`add` returns ``None`` for
    anything else, so the page shows no icon rather than bytes of an unknown kind.
    """

    def __init__(self, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._icons: OrderedDict[str, Tuple[bytes, str]] = collections.OrderedDict()
        self._size = 0

    def add(self, resource: Resource) -> Optional[str]:
        """Keep an inline resource's bytes; return its MD5 if it is an image."""
        data = resource.data
        key = resource.identifier()
        if data is None or key is None or len(data) > self.max_bytes:
            return None
        if key in self._icons:
            self._icons.move_to_end(key)
            return key
        mime = image_type(data)
        if mime is None:
            return None
        self._icons[key] = (data, mime)
        self._size += len(data)
        while self._size > self.max_bytes:
            _, (old, _mime) = self._icons.popitem(last=False)
            self._size -= len(old)
        return key

    def get(self, key: str) -> Optional[Tuple[bytes, str]]:
        """The bytes and MIME type stored under ``key``, or ``None``."""
        return self._icons.get(key)

    def __len__(self) -> int:
        return len(self._icons)


def icon_url(icon: Any, icons: IconStore) -> Optional[str]:
    """Where the page loads an icon from: ``/icons/<md5>`` for inline image bytes, the URL
    for an ``http(s)`` URL, else ``None``."""
    if isinstance(icon, Resource):
        if icon.data is not None:
            key = icons.add(icon)
            return None if key is None else f'icons/{key}'
        icon = icon.url
    if isinstance(icon, str) and icon.lower().startswith(URL_SCHEMES):
        return icon
    return None


def _iso(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).isoformat(timespec='milliseconds')


class History:
    """The newest notification cards, oldest first, at most ``size`` of them.

    A card is a JSON-ready dict: ``id`` (this history's number), ``app``, ``name`` (the
    notification type), ``title``, ``text``, ``priority``, ``sticky``, ``time`` (ISO 8601,
    UTC), ``icon`` and ``app_icon`` (see :func:`icon_url`), ``notification_id``,
    ``callback`` (``None``, ``{'kind': 'socket'}`` or ``{'kind': 'url', 'url': ...}``),
    ``result`` (``None`` until ``CLICK``, ``CLOSE`` or ``TIMEDOUT`` is known),
    ``dismissed`` and ``coalescing_id``.
    """

    def __init__(self, size: int = 10000, icons: Optional[IconStore] = None) -> None:
        if size < 1:
            raise ValueError('the history keeps at least one notification')
        self.size = size
        self.icons = icons if icons is not None else IconStore()
        self._cards: OrderedDict[int, Dict[str, Any]] = collections.OrderedDict()
        self._coalesced: Dict[Tuple[str, str], int] = {}
        self._next_id = 1

    def add(self, request: NotifyRequest, time: datetime.datetime, app_icon: Any = None,
            type_icon: Any = None) -> Dict[str, Any]:
        """Make the card of an accepted NOTIFY, keep it (dropping the oldest beyond
        :attr:`size`) and return it. Without an icon of its own, the card shows the one
        its notification type was registered with."""
        n = request.notification
        callback = n.gntp_callback
        described: Optional[Dict[str, str]] = None
        if isinstance(callback, SocketCallback):
            described = {'kind': 'socket'}
        elif isinstance(callback, URLCallback):
            url = callback.url
            described = {'kind': 'url', 'url': url} \
                if url.lower().startswith(URL_SCHEMES) else None
        card: Dict[str, Any] = {
            'id': self._next_id, 'app': request.app_name, 'name': n.name, 'title': n.title,
            'text': n.text or '', 'priority': n.priority or 0, 'sticky': bool(n.sticky),
            'time': _iso(time),
            'icon': icon_url(n.icon, self.icons) or icon_url(type_icon, self.icons),
            'app_icon': icon_url(app_icon, self.icons), 'notification_id': n.id_,
            'callback': described, 'result': None, 'dismissed': False,
            'coalescing_id': n.coalescing_id,
        }
        return self._keep(card)

    def restore(self, entry: Any) -> Dict[str, Any]:
        """Add the card of a notification from the server's state store (a
        :class:`~gntplib.state.HistoryEntry`, accepted before the server started): its
        sender waits for nothing any more."""
        moment = datetime.datetime.fromtimestamp(entry.received_at, datetime.timezone.utc)
        return self._keep({
            'id': self._next_id, 'app': entry.app_name, 'name': entry.name,
            'title': entry.title, 'text': entry.text or '', 'priority': entry.priority or 0,
            'sticky': bool(entry.sticky), 'time': _iso(moment),
            'icon': icon_url(entry.icon, self.icons), 'app_icon': None,
            'notification_id': entry.id_, 'callback': None, 'result': None,
            'dismissed': False, 'coalescing_id': entry.coalescing_id,
        })

    def _keep(self, card: Dict[str, Any]) -> Dict[str, Any]:
        self._next_id += 1
        self._cards[card['id']] = card
        while len(self._cards) > self.size:
            _, old = self._cards.popitem(last=False)
            key = (old['app'], old['coalescing_id'])
            if self._coalesced.get(key) == old['id']:
                del self._coalesced[key]
        return card

    def coalesce(self, card: Dict[str, Any]) -> Optional[Dict[str, Any]]:
        """Growl's coalescing: a card with the ``coalescing_id`` of an earlier card of its
        application replaces it. Return that earlier card, dismissed, if it is still shown."""
        if not card['coalescing_id']:
            return None
        key = (card['app'], card['coalescing_id'])
        earlier = self.get(self._coalesced.get(key, 0))
        self._coalesced[key] = card['id']
        if earlier is None or earlier['dismissed']:
            return None
        earlier['dismissed'] = True
        return earlier

    def get(self, card_id: int) -> Optional[Dict[str, Any]]:
        """The card numbered ``card_id``, if still kept."""
        return self._cards.get(card_id)

    def cards(self) -> List[Dict[str, Any]]:
        """Every kept card, oldest first."""
        return list(self._cards.values())

    def __len__(self) -> int:
        return len(self._cards)
