"""The freedesktop.org Desktop Notifications protocol, without I/O.

What a GNTP notification becomes on ``org.freedesktop.Notifications`` (spec 1.2): the
arguments of ``Notify``, the urgency of a priority, the escaping of the body, and what
the ``ActionInvoked``/``NotificationClosed`` signals mean for a socket callback. The bus
connection is in :mod:`gntplib._notifications_bus`, the display in :mod:`gntplib.desktop`.
"""

from __future__ import annotations

import base64
import binascii
import urllib.parse
from typing import Any, Dict, List, Optional, Sequence, Tuple

__all__ = ['BUS_NAME', 'OBJECT_PATH', 'INTERFACE', 'NOTIFY_SIGNATURE', 'DEFAULT_ACTION',
           'CLOSED_EXPIRED', 'CLOSED_DISMISSED', 'CLOSED_BY_CALL', 'CLOSED_UNDEFINED',
           'urgency', 'escape_markup', 'hints', 'notify_body', 'signal_result',
           'is_openable_url', 'decode_data_url']

BUS_NAME = 'org.freedesktop.Notifications'
OBJECT_PATH = '/org/freedesktop/Notifications'
INTERFACE = 'org.freedesktop.Notifications'
#: ``Notify(app_name, replaces_id, app_icon, summary, body, actions, hints, expire_timeout)``
NOTIFY_SIGNATURE = 'susssasa{sv}i'
#: The action a click on the notification itself invokes.
DEFAULT_ACTION = 'default'

# NotificationClosed reasons (spec: "Signals").
CLOSED_EXPIRED = 1
CLOSED_DISMISSED = 2
CLOSED_BY_CALL = 3
CLOSED_UNDEFINED = 4

URGENCY_LOW = 0
URGENCY_NORMAL = 1
URGENCY_CRITICAL = 2


def urgency(priority: Optional[int]) -> int:
    """The urgency level of a GNTP priority: -2 and -1 low, 0 and 1 normal, 2 critical.

    >>> [urgency(p) for p in (-2, -1, 0, 1, 2, None)]
    [0, 0, 1, 1, 2, 1]
    """
    priority = priority or 0
    if priority >= 2:
        return URGENCY_CRITICAL
    return URGENCY_LOW if priority < 0 else URGENCY_NORMAL


def escape_markup(text: str) -> str:
    """Escape text for a body that the notification server reads as markup.

    Only ``&``, ``<`` and ``>`` are special in the body markup (a small XML subset); once
    they are entities, a sender's ``<a href=...>`` or ``<img>`` is shown as text.

    >>> escape_markup('<b>5 & 6</b>')
    '&lt;b&gt;5 &amp; 6&lt;/b&gt;'
    """
    return text.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')


def hints(priority: Optional[int], sticky: bool, image_path: Optional[str] = None
          ) -> Dict[str, Tuple[str, Any]]:
    """The ``hints`` argument of ``Notify``, as ``{name: (D-Bus signature, value)}``.

    A sticky notification is ``resident`` (it stays when its action is invoked); the
    image is the path of a file the notification server can read.

    >>> hints(2, True, '/tmp/icon.png')
    {'urgency': ('y', 2), 'resident': ('b', True), 'image-path': ('s', '/tmp/icon.png')}
    """
    result: Dict[str, Tuple[str, Any]] = {'urgency': ('y', urgency(priority))}
    if sticky:
        result['resident'] = ('b', True)
    if image_path:
        result['image-path'] = ('s', image_path)
    return result


def notify_body(app_name: str, title: str, text: str, *, capabilities: Sequence[str],
                replaces_id: int = 0, app_icon: Optional[str] = None,
                image_path: Optional[str] = None, priority: Optional[int] = None,
                sticky: bool = False, clickable: bool = False,
                expire_timeout: Optional[float] = None) -> Tuple[Any, ...]:
    """The arguments of ``Notify`` (signature :data:`NOTIFY_SIGNATURE`).

    Args:
        app_name: The sending application.
        title: The summary (plain text for every server).
        text: The body; escaped when ``capabilities`` has ``body-markup``.
        capabilities: What ``GetCapabilities`` answered.
        replaces_id: The id of the notification this one replaces (0: none).
        app_icon: Path of the application's icon file.
        image_path: Path of the notification's image file.
        priority: GNTP priority, -2 to 2.
        sticky: Never expires, stays after a click.
        clickable: Declare the ``default`` action (only when the server has ``actions``).
        expire_timeout: Seconds before it expires (``None``: the server's default).

    >>> notify_body('App', 'Hi', '<b>', capabilities=['body-markup', 'actions'],
    ...             clickable=True, expire_timeout=5)
    ('App', 0, '', 'Hi', '&lt;b&gt;', ['default', 'Open'], {'urgency': ('y', 1)}, 5000)
    """
    body = escape_markup(text) if 'body-markup' in capabilities else text
    actions: List[str] = [DEFAULT_ACTION, 'Open'] if clickable and 'actions' in capabilities \
        else []
    if sticky:
        timeout_ms = 0
    elif expire_timeout is None:
        timeout_ms = -1
    else:
        timeout_ms = max(1, int(expire_timeout * 1000))
    return (app_name, replaces_id, app_icon or '', title, body, actions,
            hints(priority, sticky, image_path), timeout_ms)


def signal_result(member: str, body: Sequence[Any]) -> Optional[Tuple[int, str]]:
    """What a notification server's signal means for the notification's socket callback.

    Returns:
        ``(id, result)``: ``result`` is ``'CLICK'`` (the default action was invoked),
        ``'TIMEDOUT'`` (expired) or ``'CLOSE'`` (dismissed by the user, or closed by some
        program's ``CloseNotification``: our own display stops listening before it
        closes one). ``None`` for other signals and other actions.

    >>> signal_result('ActionInvoked', (7, 'default'))
    (7, 'CLICK')
    >>> [signal_result('NotificationClosed', (7, r)) for r in (1, 2, 3)]
    [(7, 'TIMEDOUT'), (7, 'CLOSE'), (7, 'CLOSE')]
    """
    try:
        if member == 'ActionInvoked':
            notification_id, key = int(body[0]), body[1]
            return (notification_id, 'CLICK') if key == DEFAULT_ACTION else None
        if member == 'NotificationClosed':
            notification_id, reason = int(body[0]), int(body[1])
            return notification_id, 'TIMEDOUT' if reason == CLOSED_EXPIRED else 'CLOSE'
    except (IndexError, TypeError, ValueError):
        pass
    return None


def is_openable_url(url: Any) -> bool:
    """Whether a URL callback may be opened on a click: ``http`` and ``https`` only.

    >>> is_openable_url('https://example.com/'), is_openable_url('file:///etc/passwd')
    (True, False)
    """
    if not isinstance(url, str):
        return False
    try:
        parts = urllib.parse.urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in ('http', 'https') and bool(parts.netloc)


def decode_data_url(url: str, max_bytes: int) -> Optional[bytes]:
    """The bytes of a ``data:`` URL (base64 or percent-encoded), ``None`` if it is not one,
    is malformed or decodes to more than ``max_bytes``.

    >>> decode_data_url('data:image/png;base64,iVBORw0K', 100)
    b'\\x89PNG\\r\\n'
    """
    if not url[:5].lower() == 'data:' or ',' not in url:
        return None
    meta, _, payload = url[5:].partition(',')
    # base64 is 4 characters per 3 bytes; check before decoding anything large.
    if len(payload) > (max_bytes * 4) // 3 + 4 and meta.lower().endswith(';base64') \
            or len(payload) > 3 * max_bytes + 3:
        return None
    try:
        if meta.lower().endswith(';base64'):
            data = base64.b64decode(urllib.parse.unquote(payload), validate=True)
        else:
            data = urllib.parse.unquote_to_bytes(payload)
    except (binascii.Error, ValueError):
        return None
    return data if len(data) <= max_bytes else None
