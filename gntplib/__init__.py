"""gntplib: send Growl-style desktop notifications over GNTP/1.0.

Example:
    >>> from gntplib import Publisher, Event
    >>> publisher = Publisher('MyApp', [Event('update', 'Update Available')])
    >>> publisher.register()  # doctest: +SKIP
    >>> publisher.publish('update', 'New Version', 'v2.0 released')  # doctest: +SKIP

The synchronous API needs nothing beyond the standard library; encryption needs
``pip install 'gntplib[crypto]'`` and :mod:`gntplib.async_` needs
``pip install 'gntplib[async]'``.
"""

from __future__ import annotations

from . import ciphers, constants, exceptions, keys
from .connections import BaseGNTPConnection, GNTPClient, GNTPConnection, generate_messages
from .constants import (
    DEFAULT_PORT, DEFAULT_TIMEOUT, DEFAULT_TTL, MAX_LINE_SIZE, MAX_MESSAGE_SIZE,
    PRIORITY_EMERGENCY, PRIORITY_HIGH, PRIORITY_LOW, PRIORITY_NORMAL, PRIORITY_VERY_LOW,
)
from .exceptions import (
    GNTPAuthenticationError, GNTPConnectionError, GNTPEncryptionError, GNTPError,
    GNTPProtocolError, GNTPResourceError, GNTPResponseError, GNTPValidationError,
)
from .lib import (
    BaseApp, Notifier, Publisher, RawIcon, Subscriber, coerce_to_callback, coerce_to_events,
    notify, publish, subscribe,
)
from .models import Event, Notification, Resource, SocketCallback, URLCallback
from .packers import MessagePacker, MessagePackerFactory
from .reader import RequestReader, parse_request
from .requests import (
    BaseRequest, NotifyRequest, RegisterRequest, Response, SubscribeRequest, parse_response,
)

__version__ = '4.0.0.dev0'

# gntplib 0.5's module-level names, kept so that old code resolves them here (not in
# __all__: new code finds them in their modules).
from .packers import (  # noqa: E402
    HeaderPacker as HeaderPacker, InformationLinePacker as InformationLinePacker,
    SectionPacker as SectionPacker, plain_cipher as _plain_cipher,
)
from .requests import (  # noqa: E402
    RESPONSE_INFORMATION_LINE_RE as RESPONSE_INFORMATION_LINE_RE,
    SUPPORTED_VERSIONS as SUPPORTED_VERSIONS, parse_information_line as parse_information_line,
)

LINE_DELIMITER = constants.LINE_DELIMITER
MESSAGE_DELIMITER = constants.MESSAGE_DELIMITER
MESSAGE_DELIMITER_SIZE = len(MESSAGE_DELIMITER)
#: What separates sections, and what starts and ends a binary section's body.
SECTION_DELIMITER = SECTION_BODY_START = SECTION_BODY_END = LINE_DELIMITER
CUSTOM_HEADER_PREFIX = 'X-'
APP_SPECIFIC_HEADER_PREFIX = 'Data-'
#: The ``NONE`` encryption, an object (as in 0.5): ``MessagePacker(key, NullCipher)``.
NullCipher = _plain_cipher

__all__ = [
    '__version__', 'ciphers', 'constants', 'exceptions', 'keys',
    'publish', 'subscribe', 'notify', 'coerce_to_events', 'coerce_to_callback',
    'BaseApp', 'Publisher', 'Subscriber', 'Notifier',
    'Event', 'Notification', 'Resource', 'RawIcon', 'SocketCallback', 'URLCallback',
    'BaseRequest', 'RegisterRequest', 'NotifyRequest', 'SubscribeRequest', 'Response',
    'parse_response', 'parse_request', 'RequestReader',
    'MessagePacker', 'MessagePackerFactory',
    'BaseGNTPConnection', 'GNTPConnection', 'GNTPClient', 'generate_messages',
    'GNTPError', 'GNTPValidationError', 'GNTPEncryptionError', 'GNTPResourceError',
    'GNTPConnectionError', 'GNTPResponseError', 'GNTPAuthenticationError', 'GNTPProtocolError',
    'DEFAULT_PORT', 'DEFAULT_TIMEOUT', 'DEFAULT_TTL', 'MAX_MESSAGE_SIZE', 'MAX_LINE_SIZE',
    'PRIORITY_VERY_LOW', 'PRIORITY_LOW', 'PRIORITY_NORMAL', 'PRIORITY_HIGH',
    'PRIORITY_EMERGENCY',
]
