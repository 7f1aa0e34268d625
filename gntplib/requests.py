"""GNTP requests and responses as Python objects, and the response parser (§4, §5).

A request object knows its header sections; :mod:`gntplib.packers` turns it into bytes and
:mod:`gntplib.reader` turns bytes back into it. :func:`parse_response` reads what a server
answers.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from . import constants as c
from .ciphers import Cipher
from .exceptions import GNTPProtocolError, GNTPResponseError, error_for_code
from .keys import Key
from .models import (
    Event, Icon, Notification, Resource, SocketCallback, URLCallback, format_header_value,
    require_text, validate_header_name,
)
from .wire import HeaderDict, parse_header_lines, parse_info_line

__all__ = ['BaseRequest', 'RegisterRequest', 'NotifyRequest', 'SubscribeRequest', 'Response',
           'parse_response', 'HeaderList', 'RawSection', 'normalize_headers',
           'RESPONSE_INFORMATION_LINE_RE', 'SUPPORTED_VERSIONS', 'parse_information_line']

HeaderList = List[Tuple[str, Any]]
#: A header section before formatting: values may still be Resources, booleans or ints.
RawSection = List[Tuple[str, Any]]


def normalize_headers(headers: Optional[Sequence[Tuple[str, Any]]], prefix: str,
                      also_allowed: Tuple[str, ...] = ()) -> HeaderList:
    """Return ``headers`` as a list of pairs whose names carry ``prefix``.

    A name that lacks the prefix (and every name in ``also_allowed``) gets it added, as
    gntplib 0.5 did: ``('Version', '2')`` becomes ``('X-Version', '2')``.
    """
    result: HeaderList = []
    if not headers:
        return result
    for item in headers:
        try:
            name, value = item
        except (TypeError, ValueError):
            raise c_validation(f'a header must be a (name, value) pair, got {item!r}') from None
        validate_header_name(name)
        if not name.lower().startswith((prefix.lower(),) + tuple(a.lower() for a in also_allowed)):
            name = prefix + name
        result.append((name, value))
    return result


def c_validation(message: str) -> Exception:
    from .exceptions import GNTPValidationError
    return GNTPValidationError(message)


class BaseRequest:
    """Base class of the three request types.

    Args:
        custom_headers: ``X-`` headers, as ``(name, value)`` pairs (``Origin-`` headers
            may be given here too).
        app_specific_headers: ``Data-`` headers, echoed back by the server.

    Attributes:
        received_headers: The values of the request's ``Received`` headers, oldest first:
            one per server that forwarded it (§4.4). Forwarding servers add them, so
            applications leave this empty; it is packed (one ``Received`` line each, after
            the request's own headers) but not compared by ``==``.
    """

    message_type = ''

    def __init__(self, custom_headers: Optional[Sequence[Tuple[str, Any]]] = None,
                 app_specific_headers: Optional[Sequence[Tuple[str, Any]]] = None) -> None:
        self.custom_headers = normalize_headers(custom_headers, 'X-', ('Origin-',)) \
            if custom_headers else []
        self.app_specific_headers = normalize_headers(app_specific_headers, 'Data-') \
            if app_specific_headers else []
        self.received_headers: List[str] = []
        #: Set by the parser: the :class:`~gntplib.reader.ReceivedMessage` this came from.
        self.received: Any = None

    def header_sections(self) -> List[RawSection]:
        """The request's header sections, main section first, values not yet formatted."""
        raise NotImplementedError

    def _extra_headers(self) -> HeaderList:
        if self.received_headers:
            return ([('Received', value) for value in self.received_headers]
                    + self.custom_headers + self.app_specific_headers)
        return self.custom_headers + self.app_specific_headers

    def _key(self) -> Tuple[Any, ...]:
        return ()

    def __eq__(self, other: object) -> bool:
        if type(self) is not type(other):
            return NotImplemented
        assert isinstance(other, BaseRequest)
        return (self._key(), self._formatted_extras()) == \
            (other._key(), other._formatted_extras())

    def _formatted_extras(self) -> List[Tuple[str, Optional[str]]]:
        # Compare headers as they travel: 42 and '42' are the same header. Received headers
        # say how a request travelled, not what it is, so they are left out.
        return [(name, format_header_value(value))
                for name, value in self.custom_headers + self.app_specific_headers]

    __hash__ = None  # type: ignore[assignment]


class RegisterRequest(BaseRequest):
    """A REGISTER request: an application and the events (notification types) it sends.

    Args:
        app_name: Application name.
        app_icon: Application icon (URL string or :class:`~gntplib.Resource`), or ``None``.
        notifications: The :class:`~gntplib.Event` definitions (at least one).
        custom_headers: ``X-`` headers.
        app_specific_headers: ``Data-`` headers.

    Raises:
        GNTPValidationError: If there are no events.

    Example:
        >>> request = RegisterRequest('MyApp', None, [Event('test')])
    """

    message_type = c.REQUEST_REGISTER

    def __init__(self, app_name: str, app_icon: Optional[Icon], notifications: Sequence[Event],
                 custom_headers: Optional[Sequence[Tuple[str, Any]]] = None,
                 app_specific_headers: Optional[Sequence[Tuple[str, Any]]] = None) -> None:
        super().__init__(custom_headers, app_specific_headers)
        self.app_name = require_text(app_name, 'application name')
        self.app_icon = app_icon
        self.events = list(notifications or ())
        if not self.events:
            raise c_validation('a REGISTER needs at least one event')
        if not all(isinstance(e, Event) for e in self.events):
            raise c_validation('notifications must be Event instances')

    @property
    def notifications(self) -> List[Event]:
        """The events, under gntplib 0.5's name."""
        return self.events

    def header_sections(self) -> List[RawSection]:
        main: RawSection = [
            ('Application-Name', self.app_name),
            ('Application-Icon', self.app_icon),
            ('Notifications-Count', len(self.events)),
        ]
        sections = [main + self._extra_headers()]
        for event in self.events:
            sections.append([
                ('Notification-Name', event.name),
                ('Notification-Display-Name', event.display_name),
                ('Notification-Enabled', event.enabled),
                ('Notification-Icon', event.icon),
            ])
        return sections

    def _key(self) -> Tuple[Any, ...]:
        return (self.app_name, self.app_icon, self.events)

    def __repr__(self) -> str:
        return (f'RegisterRequest({self.app_name!r}, {self.app_icon!r}, {self.events!r})')


class NotifyRequest(BaseRequest):
    """A NOTIFY request: one :class:`~gntplib.Notification` from a registered application.

    Args:
        app_name: Application name (as registered).
        notification: The notification.
        custom_headers: ``X-`` headers.
        app_specific_headers: ``Data-`` headers.
    """

    message_type = c.REQUEST_NOTIFY

    def __init__(self, app_name: str, notification: Notification,
                 custom_headers: Optional[Sequence[Tuple[str, Any]]] = None,
                 app_specific_headers: Optional[Sequence[Tuple[str, Any]]] = None) -> None:
        super().__init__(custom_headers, app_specific_headers)
        self.app_name = require_text(app_name, 'application name')
        if not isinstance(notification, Notification):
            raise c_validation('notification must be a Notification instance')
        self.notification = notification

    def header_sections(self) -> List[RawSection]:
        n = self.notification
        callback = n.gntp_callback
        socket_callback = callback if isinstance(callback, SocketCallback) else None
        main: RawSection = [
            ('Application-Name', self.app_name),
            ('Notification-Name', n.name),
            ('Notification-ID', n.id_),
            ('Notification-Title', n.title),
            ('Notification-Text', n.text),
            ('Notification-Sticky', n.sticky),
            ('Notification-Priority', n.priority),
            ('Notification-Icon', n.icon),
            ('Notification-Coalescing-ID', n.coalescing_id),
            ('Notification-Callback-Context', socket_callback and socket_callback.context),
            ('Notification-Callback-Context-Type',
             socket_callback and socket_callback.context_type),
            ('Notification-Callback-Target',
             callback.url if isinstance(callback, URLCallback) else None),
        ]
        if self.custom_headers or self.app_specific_headers or self.received_headers:
            main += self._extra_headers()
        return [main]

    def _key(self) -> Tuple[Any, ...]:
        return (self.app_name, self.notification)

    def __repr__(self) -> str:
        return f'NotifyRequest({self.app_name!r}, {self.notification!r})'


class SubscribeRequest(BaseRequest):
    """A SUBSCRIBE request, asking a hub to forward its notifications (§4.3, §10).

    Args:
        id_: The subscriber's unique ID (kept across renewals).
        name: The subscriber's friendly name.
        port: The port on which the subscriber receives forwarded notifications.
        custom_headers: ``X-`` headers.
        app_specific_headers: ``Data-`` headers.
    """

    message_type = c.REQUEST_SUBSCRIBE

    def __init__(self, id_: str, name: str, port: Optional[int] = c.DEFAULT_PORT,
                 custom_headers: Optional[Sequence[Tuple[str, Any]]] = None,
                 app_specific_headers: Optional[Sequence[Tuple[str, Any]]] = None) -> None:
        super().__init__(custom_headers, app_specific_headers)
        self.id_ = require_text(id_, 'subscriber ID')
        self.name = require_text(name, 'subscriber name')
        if port is not None and (isinstance(port, bool) or not isinstance(port, int)
                                 or not 0 < port < 65536):
            raise c_validation(f'subscriber port must be an int from 1 to 65535, got {port!r}')
        self.port = port

    def header_sections(self) -> List[RawSection]:
        main: RawSection = [
            ('Subscriber-ID', self.id_),
            ('Subscriber-Name', self.name),
            ('Subscriber-Port', self.port),
        ]
        return [main + self._extra_headers()]

    def _key(self) -> Tuple[Any, ...]:
        return (self.id_, self.name, self.port or c.DEFAULT_PORT)

    def __repr__(self) -> str:
        return f'SubscribeRequest({self.id_!r}, {self.name!r}, {self.port!r})'


class Response:
    """A server's answer: ``-OK``, ``-ERROR`` or ``-CALLBACK``.

    Attributes:
        message_type: ``'-OK'``, ``'-ERROR'`` or ``'-CALLBACK'``.
        headers: The headers, a mapping whose names match case-insensitively.
        encryption_algorithm_id: ``'NONE'`` unless the server encrypted the response.

    Example:
        >>> message = b'GNTP/1.0 -OK NONE\\r\\nResponse-Action: REGISTER\\r\\n\\r\\n'
        >>> response = parse_response(message)
        >>> response.action
        'REGISTER'
    """

    def __init__(self, message_type: str, headers: Optional[Any] = None,
                 encryption_algorithm_id: str = 'NONE') -> None:
        self.message_type = message_type
        self.headers = headers if type(headers) is HeaderDict or \
            isinstance(headers, HeaderDict) else HeaderDict(headers)
        self.encryption_algorithm_id = encryption_algorithm_id

    @property
    def ok(self) -> bool:
        """``True`` for ``-OK``."""
        return self.message_type == c.RESPONSE_OK

    @property
    def action(self) -> Optional[str]:
        """``Response-Action``: the request type answered."""
        return self.headers.get('Response-Action')

    @property
    def notification_id(self) -> Optional[str]:
        """``Notification-ID``, when the server sent one."""
        return self.headers.get('Notification-ID')

    @property
    def error_code(self) -> Optional[int]:
        """``Error-Code`` as an int (``None`` if absent or not a number)."""
        code = self.headers.get('Error-Code')
        try:
            return int(code) if code is not None else None
        except ValueError:
            return None

    @property
    def error_description(self) -> Optional[str]:
        """``Error-Description``."""
        return self.headers.get('Error-Description')

    @property
    def callback_result(self) -> Optional[str]:
        """``Notification-Callback-Result`` as sent (``CLICK``, ``CLOSED``, ...)."""
        return self.headers.get('Notification-Callback-Result')

    @property
    def callback_event(self) -> Optional[str]:
        """The callback outcome: ``'click'``, ``'close'``, ``'timeout'``, or ``None``.

        Every spelling real servers use is understood, in any case (§5.4).
        """
        result = self.callback_result
        return c.CALLBACK_RESULTS.get(result.strip().upper()) if result else None

    @property
    def context(self) -> Optional[str]:
        """``Notification-Callback-Context``."""
        return self.headers.get('Notification-Callback-Context')

    @property
    def subscription_ttl(self) -> Optional[int]:
        """``Subscription-TTL`` in seconds (``None`` if absent or not a number)."""
        ttl = self.headers.get('Subscription-TTL')
        value = c.safe_int_conversion(ttl, -1) if ttl is not None else -1
        return value if value >= 0 else None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Response):
            return NotImplemented
        return (self.message_type, dict(self.headers)) == (other.message_type, dict(other.headers))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f'Response({self.message_type!r}, {dict(self.headers)!r})'


def _decrypt_response_block(block: bytes, algorithm_id: str, iv: bytes,
                            key: Optional[Key]) -> bytes:
    if key is None:
        raise GNTPProtocolError(f'the response is encrypted with {algorithm_id}, but the '
                                'request had no key to decrypt it with')
    ciphertext = block[:-4] if block.endswith(c.MESSAGE_DELIMITER) else block
    from .exceptions import GNTPEncryptionError
    try:
        return Cipher(key, algorithm_id, iv).decrypt(ciphertext) + c.MESSAGE_DELIMITER
    except GNTPEncryptionError as exc:
        raise GNTPProtocolError(f'cannot decrypt the encrypted response: {exc}') from exc


#: The information lines nearly every response has, mapped to their message type: these skip
#: the general parser.
_PLAIN_RESPONSE_LINES = {f'GNTP/{c.PROTOCOL_VERSION} {message_type} NONE'.encode('ascii'):
                         message_type for message_type in c.RESPONSE_TYPES}


def parse_response(message: bytes, expected_type: Optional[str] = None,
                   key: Optional[Key] = None) -> Response:
    """Parse a GNTP response message.

    Args:
        message: The raw bytes of one message (as given by a
            :class:`~gntplib.wire.MessageBuffer`).
        expected_type: ``'-OK'`` or ``'-CALLBACK'``; with it, an ``-ERROR`` raises the
            matching :class:`~gntplib.exceptions.GNTPResponseError` and any other type
            raises :class:`~gntplib.exceptions.GNTPProtocolError`.
        key: The request's key, to read a response the server encrypted (§9.6).

    Returns:
        The :class:`Response`.

    Raises:
        GNTPAuthenticationError: ``-ERROR`` 400 (when ``expected_type`` is given).
        GNTPResponseError: any other ``-ERROR`` (when ``expected_type`` is given).
        GNTPProtocolError: the bytes are not a valid response.

    Example:
        >>> message = b'GNTP/1.0 -OK NONE\\r\\nResponse-Action: REGISTER\\r\\n\\r\\n'
        >>> parse_response(message, expected_type='-OK').headers
        {'Response-Action': 'REGISTER'}
    """
    if type(message) is not bytes:
        message = bytes(message)
    if message[:1] in b'\r\n':
        message = message.lstrip(b'\r\n')
    line_end = message.find(c.LINE_DELIMITER)
    if line_end < 0:
        raise GNTPProtocolError(f'response has no information line: {message[:40]!r}')
    block = message[line_end + 2:]
    message_type = _PLAIN_RESPONSE_LINES.get(message[:line_end])
    encryption_algorithm_id = 'NONE'
    if message_type is None:
        info = parse_info_line(message[:line_end])
        message_type, encryption_algorithm_id = info.message_type, info.encryption_algorithm_id
        if message_type not in c.RESPONSE_TYPES:
            raise GNTPProtocolError(f'unexpected message type {message_type!r} in a response')
        if info.iv is not None:
            block = _decrypt_response_block(block, encryption_algorithm_id, info.iv, key)
    response = Response(message_type, HeaderDict(parse_header_lines(block)),
                        encryption_algorithm_id)
    if expected_type is not None and response.message_type != expected_type:
        if response.message_type == c.RESPONSE_ERROR:
            code = response.error_code
            raise error_for_code(code if code is not None else c.ERROR_INTERNAL_SERVER_ERROR,
                                 response.error_description or 'no description', response)
        raise GNTPProtocolError(f'expected {expected_type} but the server sent '
                                f'{response.message_type}', response=response)
    return response


#: Matches a response's information line (bytes): the groups are the version and the
#: message type. The encryption token may be ``NONE`` or ``<algorithm>:<iv>``.
RESPONSE_INFORMATION_LINE_RE = re.compile(
    rb'\s*GNTP/(\S+) +(-OK|-ERROR|-CALLBACK) +(?:NONE|[A-Za-z0-9]+:[0-9A-Fa-f]+)\s*\Z')
#: The GNTP versions gntplib speaks.
SUPPORTED_VERSIONS = [c.PROTOCOL_VERSION]


def parse_information_line(line: Union[bytes, str]) -> Tuple[str, str]:
    """Read a response's information line (as gntplib 0.5 did).

    Args:
        line: The line, with or without its CR LF.

    Returns:
        ``(version, message_type)``, e.g. ``('1.0', '-OK')``.

    Raises:
        GNTPProtocolError: The line is not a response's information line, or its version
            is not one of :data:`SUPPORTED_VERSIONS`.

    Example:
        >>> parse_information_line(b'GNTP/1.0 -OK NONE')
        ('1.0', '-OK')
    """
    data = line.encode('utf-8') if isinstance(line, str) else bytes(line)
    matched = RESPONSE_INFORMATION_LINE_RE.match(data)
    if matched is None:
        raise GNTPProtocolError(f'invalid information line: {data[:80]!r}')
    version, message_type = (group.decode('ascii') for group in matched.groups())
    if version not in SUPPORTED_VERSIONS:
        raise GNTPProtocolError(f'unsupported GNTP version {version!r}',
                                c.ERROR_UNKNOWN_PROTOCOL_VERSION)
    return version, message_type


# -- building requests back from parsed sections (used by gntplib.reader) ------------------

def _required(headers: Dict[str, str], name: str) -> str:
    value = headers.get(name.lower())
    if value is None or value == '':
        raise GNTPProtocolError(f'Required header missing: {name}',
                                c.ERROR_REQUIRED_HEADER_MISSING)
    return value


def _extras(section: List[Tuple[str, str]]) -> Tuple[HeaderList, HeaderList]:
    custom = [(n, v) for n, v in section if n.lower().startswith(('x-', 'origin-'))]
    data = [(n, v) for n, v in section if n.lower().startswith('data-')]
    return custom, data


def _lower(section: List[Tuple[str, str]]) -> Dict[str, str]:
    return {name.lower(): value for name, value in section}


def build_request(message_type: str, sections: List[List[Tuple[str, Any]]]) -> BaseRequest:
    """Build a request object from parsed sections whose pointer values are already
    :class:`~gntplib.Resource` objects (or plain strings).

    Raises:
        GNTPProtocolError: 303 when a required header is missing, 300 when a value is bad.
    """
    main = sections[0] if sections else []
    headers = _lower(main)
    custom, data = _extras(main)
    try:
        if message_type == c.REQUEST_REGISTER:
            events = []
            for section in sections[1:]:
                h = _lower(section)
                events.append(Event(_required(h, 'Notification-Name'),
                                    h.get('notification-display-name'),
                                    c.parse_bool(h.get('notification-enabled', 'False')),
                                    h.get('notification-icon') or None))
            return RegisterRequest(_required(headers, 'Application-Name'),
                                   headers.get('application-icon') or None, events, custom, data)
        if message_type == c.REQUEST_NOTIFY:
            return NotifyRequest(_required(headers, 'Application-Name'),
                                 _notification_from(headers), custom, data)
        if message_type == c.REQUEST_SUBSCRIBE:
            port = headers.get('subscriber-port')
            return SubscribeRequest(_required(headers, 'Subscriber-ID'),
                                    _required(headers, 'Subscriber-Name'),
                                    _int_header(port, 'Subscriber-Port')
                                    if port else c.DEFAULT_PORT, custom, data)
    except GNTPResponseError:
        raise
    except ValueError as exc:  # a GNTPValidationError from a model
        raise GNTPProtocolError(f'invalid request: {exc}') from exc
    raise GNTPProtocolError(f'unknown request type {message_type!r}')


def _int_header(value: str, name: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise GNTPProtocolError(f'{name} is not an integer: {value!r}') from None


def _notification_from(headers: Dict[str, Any]) -> Notification:
    target = headers.get('notification-callback-target') \
        or headers.get('notification-callback-context-target')
    context = headers.get('notification-callback-context')
    callback: Any = None
    if target:
        callback = URLCallback(target)
    elif context is not None:
        callback = SocketCallback(context or 'None',
                                  headers.get('notification-callback-context-type') or 'None')
    priority = headers.get('notification-priority')
    sticky = headers.get('notification-sticky')
    return Notification(
        _required(headers, 'Notification-Name'),
        _required(headers, 'Notification-Title'),
        headers.get('notification-text'),  # None when absent: packs back the same
        headers.get('notification-id') or None,
        c.parse_bool(sticky) if sticky is not None else None,
        # Out-of-range or non-numeric priorities are shown as normal (what GfW does).
        c.validate_priority(c.safe_int_conversion(priority)) if priority is not None else None,
        headers.get('notification-icon') or None,
        headers.get('notification-coalescing-id') or None,
        callback)


def resource_or_text(value: str, resources: Dict[str, bytes]) -> Any:
    """Turn a pointer value into a :class:`~gntplib.Resource` when its data arrived."""
    if value[:len(c.RESOURCE_URL_PREFIX)].lower() == c.RESOURCE_URL_PREFIX:
        data = resources.get(value[len(c.RESOURCE_URL_PREFIX):].strip())
        if data is not None:
            return Resource(data=data)
    return value
