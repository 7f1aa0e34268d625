"""The things a GNTP message talks about: events, notifications, resources and callbacks.

Plain data with validation; nothing here does I/O except :meth:`Resource.from_file`.
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any, Callable, Optional, Tuple, Union

from .constants import RESOURCE_URL_PREFIX, validate_priority
from .exceptions import GNTPResourceError, GNTPValidationError

if TYPE_CHECKING:  # pragma: no cover
    from .requests import Response

__all__ = ['Resource', 'Event', 'Notification', 'SocketCallback', 'URLCallback',
           'Icon', 'GNTPCallback', 'ResponseHandler', 'format_header_value',
           'validate_header_name', 'require_text']

ResponseHandler = Callable[['Response'], Any]

_HEADER_NAME = re.compile(r'[A-Za-z0-9][A-Za-z0-9-]*\Z')
_LINE_BREAKS = re.compile(r'\r\n?')


class Resource:
    """A binary resource (usually an icon), sent inline or as a URL.

    A resource with ``data`` travels in the message as a binary section identified by the
    lower-case MD5 hex of its bytes, and headers point to it as
    ``x-growl-resource://<md5>``. A resource with only a ``url`` is sent as that URL.

    Args:
        data: The resource's bytes.
        url: A URL for servers to fetch the resource from (used when there is no data).

    Example:
        >>> Resource(data=b'icon bytes').header_value()
        'x-growl-resource://811acc5e86ed2c1cbdf9c287c99d982a'
    """

    def __init__(self, data: Optional[bytes] = None, url: Optional[str] = None) -> None:
        if data is not None and not isinstance(data, (bytes, bytearray, memoryview)):
            raise GNTPValidationError(f'resource data must be bytes, not {type(data).__name__}')
        if url is not None and not isinstance(url, str):
            raise GNTPValidationError(f'resource url must be a str, not {type(url).__name__}')
        self.data = bytes(data) if data is not None else None
        self.url = url
        self._unique_value: Optional[str] = None

    @classmethod
    def from_file(cls, path: Any) -> 'Resource':
        """Read a resource from a file.

        Raises:
            GNTPResourceError: If the file cannot be read.
        """
        try:
            with open(path, 'rb') as f:
                return cls(data=f.read())
        except OSError as exc:
            raise GNTPResourceError(f'cannot read resource file {str(path)!r}: '
                                    f'{exc.strerror or exc}') from exc

    @classmethod
    def from_url(cls, url: str) -> 'Resource':
        """A resource that servers fetch from ``url``."""
        return cls(url=url)

    def identifier(self) -> Optional[str]:
        """The lower-case MD5 hex of the data, as text: the ``Identifier`` of its binary
        section (``None`` without data)."""
        if self._unique_value is None and self.data is not None:
            self._unique_value = hashlib.md5(self.data).hexdigest()
        return self._unique_value

    def unique_value(self) -> Optional[bytes]:
        """The lower-case MD5 hex of the data, as ASCII bytes (``None`` without data), as
        gntplib 0.5 returned it; :meth:`identifier` gives the same as text.

        Example:
            >>> Resource(b'icon bytes').unique_value()
            b'811acc5e86ed2c1cbdf9c287c99d982a'
        """
        identifier = self.identifier()
        return identifier.encode('ascii') if identifier else None

    def unique_id(self) -> Optional[bytes]:
        """The ``x-growl-resource://<md5>`` pointer to the data, as ASCII bytes (``None``
        without data)."""
        identifier = self.identifier()
        return (RESOURCE_URL_PREFIX + identifier).encode('ascii') if identifier else None

    def header_value(self) -> Optional[str]:
        """What a header pointing to this resource carries: the pointer, else the URL."""
        identifier = self.identifier()
        return RESOURCE_URL_PREFIX + identifier if identifier else self.url

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Resource):
            return NotImplemented
        return self.data == other.data and (self.data is not None or self.url == other.url)

    def __hash__(self) -> int:
        return hash(self.identifier() or self.url)

    def __repr__(self) -> str:
        if self.data is not None:
            return f'<{type(self).__name__} md5={self.identifier()} length={len(self.data)}>'
        return f'<{type(self).__name__} url={self.url!r}>'


Icon = Union[str, Resource]


def require_text(value: Any, what: str, allow_empty: bool = False) -> str:
    """Check that ``value`` is a string (non-empty unless ``allow_empty``) and return it."""
    if not isinstance(value, str):
        raise GNTPValidationError(f'{what} must be a str, not {type(value).__name__}')
    if (not value or value.isspace()) and not allow_empty:
        raise GNTPValidationError(f'{what} must not be empty')
    return value


def _check_icon(icon: Any, what: str) -> Optional[Icon]:
    if icon is None or isinstance(icon, (str, Resource)):
        return icon
    raise GNTPValidationError(f'{what} must be a URL string or a Resource, '
                              f'not {type(icon).__name__}')


def validate_header_name(name: Any) -> str:
    """Check that ``name`` is a valid header name (ASCII letters, digits and ``-``)."""
    if not isinstance(name, str) or not _HEADER_NAME.match(name):
        raise GNTPValidationError(f'invalid header name {name!r}: use ASCII letters, digits '
                                  f'and "-"')
    return name


def format_header_value(value: Any) -> Optional[str]:
    """Turn a Python value into header text, or ``None`` to leave the header out.

    Booleans become ``True``/``False``, resources their pointer or URL. CR LF and lone CR
    become LF: a value can never end a header line early (no header injection), and a bare
    LF is GNTP's own way to break a line inside a value.
    """
    if type(value) is str and '\r' not in value:  # the common case, first
        return value
    if value is None:
        return None
    if isinstance(value, bool):
        return 'True' if value else 'False'  # format_bool, without a call per header
    if isinstance(value, Resource):
        return value.header_value()
    text = value if isinstance(value, str) else str(value)
    if '\r' in text:
        text = _LINE_BREAKS.sub('\n', text)
    return text


class Event:
    """A notification type an application registers.

    Args:
        name: The event (notification type) name that ``publish`` refers to.
        display_name: Name shown to the user; defaults to ``name`` on the server.
        enabled: Whether the type is enabled by default.
        icon: Default icon for the type (URL string or :class:`Resource`).

    Example:
        >>> Event('update', 'Update Available')
        Event('update', display_name='Update Available', enabled=True, icon=None)
    """

    def __init__(self, name: str, display_name: Optional[str] = None, enabled: bool = True,
                 icon: Optional[Icon] = None) -> None:
        self.name = require_text(name, 'event name')
        self.display_name = display_name
        self.enabled = bool(enabled)
        self.icon = _check_icon(icon, 'event icon')

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return ((self.name, self.display_name, self.enabled, self.icon)
                == (other.name, other.display_name, other.enabled, other.icon))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f'Event({self.name!r}, display_name={self.display_name!r}, '
                f'enabled={self.enabled!r}, icon={self.icon!r})')


class URLCallback:
    """A URL callback: the server opens ``url`` when the user clicks the notification."""

    def __init__(self, url: str) -> None:
        self.url = require_text(url, 'callback URL')

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, URLCallback):
            return NotImplemented
        return self.url == other.url

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f'URLCallback({self.url!r})'


class SocketCallback:
    """A socket callback: the server reports a click, close or timeout on the connection.

    Pass handlers, or subclass and override :meth:`on_click`, :meth:`on_close` and
    :meth:`on_timeout`. Each handler is called with the ``-CALLBACK``
    :class:`~gntplib.requests.Response`, whose ``headers`` carry
    ``Notification-Callback-Context``.

    Args:
        context: Opaque text the server returns in the callback.
        context_type: A label for the context's type.
        on_click: Called when the user clicks the notification.
        on_close: Called when the user closes it.
        on_timeout: Called when it times out.

    Example:
        >>> callback = SocketCallback(context='open-file', on_click=print)
    """

    def __init__(self, context: str = 'None', context_type: str = 'None',
                 on_click: Optional[ResponseHandler] = None,
                 on_close: Optional[ResponseHandler] = None,
                 on_timeout: Optional[ResponseHandler] = None) -> None:
        self.context = require_text(context, 'callback context')
        self.context_type = require_text(context_type, 'callback context type')
        self._handlers = {'click': on_click, 'close': on_close, 'timeout': on_timeout}

    def _run(self, event: str, response: 'Response') -> Any:
        handler = self._handlers[event]
        return handler(response) if handler is not None else None

    def on_click(self, response: 'Response') -> Any:
        """Handle a click; calls the ``on_click`` handler given to the constructor."""
        return self._run('click', response)

    def on_close(self, response: 'Response') -> Any:
        """Handle a close; calls the ``on_close`` handler given to the constructor."""
        return self._run('close', response)

    def on_timeout(self, response: 'Response') -> Any:
        """Handle a timeout; calls the ``on_timeout`` handler given to the constructor."""
        return self._run('timeout', response)

    def __call__(self, response: 'Response') -> Any:
        """Dispatch a ``-CALLBACK`` response to the matching handler."""
        event = response.callback_event
        if event == 'click':
            return self.on_click(response)
        if event == 'close':
            return self.on_close(response)
        if event == 'timeout':
            return self.on_timeout(response)
        return None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SocketCallback):
            return NotImplemented
        return (self.context, self.context_type) == (other.context, other.context_type)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f'SocketCallback(context={self.context!r}, context_type={self.context_type!r})'


GNTPCallback = Union[URLCallback, SocketCallback]


class Notification:
    """One notification, as sent by a NOTIFY request.

    ``None`` for ``text``, ``sticky`` or ``priority`` leaves the header out (the server's
    default applies); :meth:`gntplib.Publisher.publish` always sends sticky and priority.
    An empty ``text`` (the default) is sent as an empty ``Notification-Text``, as gntplib 0.5
    did: some receivers, growl-for-linux among them, refuse a NOTIFY without it.

    Args:
        name: The registered event name.
        title: The title (must not be empty).
        text: The body; may contain line breaks.
        id_: An ID of the sender's choosing, echoed in the response and callback.
        sticky: Keep the notification on screen until dismissed.
        priority: -2 (very low) to 2 (emergency); clamped to that range.
        icon: A URL string or :class:`Resource`.
        coalescing_id: Notifications with the same coalescing ID replace each other.
        gntp_callback: A :class:`URLCallback` or :class:`SocketCallback`.
    """

    def __init__(self, name: str, title: str, text: Optional[str] = '', id_: Optional[str] = None,
                 sticky: Optional[bool] = None, priority: Optional[int] = None,
                 icon: Optional[Icon] = None, coalescing_id: Optional[str] = None,
                 gntp_callback: Optional[GNTPCallback] = None) -> None:
        self.name = require_text(name, 'event name')
        self.title = require_text(title, 'notification title')
        self.text = require_text(text, 'notification text', allow_empty=True) \
            if text is not None else None
        self.id_ = id_
        self.sticky = None if sticky is None else bool(sticky)
        if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int)):
            raise GNTPValidationError(f'priority must be an int from -2 to 2, got {priority!r}')
        self.priority = None if priority is None else validate_priority(priority)
        self.icon = None if icon is None else _check_icon(icon, 'notification icon')
        self.coalescing_id = coalescing_id
        if gntp_callback is not None and not isinstance(gntp_callback,
                                                        (URLCallback, SocketCallback)):
            raise GNTPValidationError('gntp_callback must be a URL string, URLCallback or '
                                      f'SocketCallback, not {type(gntp_callback).__name__}')
        self.gntp_callback = gntp_callback

    @property
    def socket_callback(self) -> Optional[SocketCallback]:
        """The :class:`SocketCallback`, if this notification has one."""
        cb = self.gntp_callback
        return cb if isinstance(cb, SocketCallback) else None

    def _key(self) -> Tuple[Any, ...]:
        return (self.name, self.title, self.text or '', self.id_, bool(self.sticky),
                self.priority or 0, self.icon, self.coalescing_id, self.gntp_callback)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Notification):
            return NotImplemented
        return self._key() == other._key()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f'Notification({self.name!r}, {self.title!r}, text={self.text!r}, '
                f'id_={self.id_!r}, sticky={self.sticky!r}, priority={self.priority!r}, '
                f'icon={self.icon!r}, coalescing_id={self.coalescing_id!r}, '
                f'gntp_callback={self.gntp_callback!r})')
