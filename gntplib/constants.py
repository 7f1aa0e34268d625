"""Constants of the GNTP/1.0 protocol and small helpers shared by every layer.

Header names are spelled once, here, in their canonical form (GfW and Growl 2.x
match them case-sensitively, so the spelling matters on the wire).
"""

from __future__ import annotations

import secrets
from typing import Any

__all__ = [
    'DEFAULT_PORT', 'DEFAULT_TIMEOUT', 'DEFAULT_CALLBACK_TIMEOUT', 'DEFAULT_TTL',
    'MAX_MESSAGE_SIZE', 'MAX_LINE_SIZE', 'MAX_REQUEST_SIZE', 'MAX_HEADER_BLOCK_SIZE',
    'MAX_HEADER_COUNT',
    'MAX_RESOURCE_SIZE', 'MAX_RESOURCE_COUNT', 'SALT_SIZE',
    'LINE_DELIMITER', 'MESSAGE_DELIMITER', 'PROTOCOL_VERSION', 'RESOURCE_URL_PREFIX',
    'PRIORITY_VERY_LOW', 'PRIORITY_LOW', 'PRIORITY_NORMAL', 'PRIORITY_HIGH',
    'PRIORITY_EMERGENCY', 'RESPONSE_OK', 'RESPONSE_ERROR', 'RESPONSE_CALLBACK',
    'REQUEST_REGISTER', 'REQUEST_NOTIFY', 'REQUEST_SUBSCRIBE', 'REQUEST_TYPES', 'RESPONSE_TYPES',
    'CALLBACK_CLICK', 'CALLBACK_CLOSE', 'CALLBACK_TIMEOUT', 'CALLBACK_RESULTS',
    'ERROR_TIMED_OUT', 'ERROR_NETWORK_FAILURE', 'ERROR_INVALID_REQUEST', 'ERROR_UNKNOWN_PROTOCOL',
    'ERROR_UNKNOWN_PROTOCOL_VERSION', 'ERROR_REQUIRED_HEADER_MISSING', 'ERROR_NOT_AUTHORIZED',
    'ERROR_UNKNOWN_APPLICATION', 'ERROR_UNKNOWN_NOTIFICATION', 'ERROR_ALREADY_PROCESSED',
    'ERROR_NOTIFICATION_DISABLED', 'ERROR_INTERNAL_SERVER_ERROR', 'ERROR_DESCRIPTIONS',
    'random_bytes', 'random_hex_string', 'encode_utf8', 'decode_utf8', 'safe_int_conversion',
    'validate_priority', 'format_bool', 'parse_bool',
]

# Network defaults
DEFAULT_PORT = 23053
DEFAULT_TIMEOUT = 10.0
#: How long a synchronous ``publish`` waits for a socket callback after ``-OK``.
DEFAULT_CALLBACK_TIMEOUT = 60.0
#: Subscription TTL assumed until the hub answers (what gntplib 0.5 assumed too).
DEFAULT_TTL = 60

# Message limits. A peer exceeding one gets a clear error (the client raises
# GNTPProtocolError; the server answers -ERROR 300, or 301 for the information line) and
# memory stays bounded: the server holds at most MAX_REQUEST_SIZE (+ one resource being
# read) per connection. The server's are configurable with gntplib.reader.ReaderLimits,
# the client's with the ``max_response_size`` client argument (e.g. ``Publisher(...,
# max_response_size=8192)``).
#: Largest response a client accepts, in bytes (a -OK, -ERROR or -CALLBACK).
MAX_MESSAGE_SIZE = 4096
#: Longest information line, in bytes (a SHA512 line is about 230 bytes).
MAX_LINE_SIZE = 1024
#: Largest request (headers and every resource) the embedded server reads: 16 MiB.
MAX_REQUEST_SIZE = 16 * 1024 * 1024
#: Largest header block of a request (all sections, before any binary resource): 1 MiB.
MAX_HEADER_BLOCK_SIZE = 1024 * 1024
#: Most header lines in one request, across all sections (also caps Notifications-Count).
MAX_HEADER_COUNT = 1000
#: Largest single binary resource the embedded server reads: 8 MiB (icons are kilobytes).
MAX_RESOURCE_SIZE = 8 * 1024 * 1024
#: Most binary sections in one request.
MAX_RESOURCE_COUNT = 64
#: Salt bytes per message (the spec asks for 4 to 16).
SALT_SIZE = 16

# Delimiters and fixed tokens
LINE_DELIMITER = b'\r\n'
MESSAGE_DELIMITER = b'\r\n\r\n'
PROTOCOL_VERSION = '1.0'
RESOURCE_URL_PREFIX = 'x-growl-resource://'

# Priority levels
PRIORITY_VERY_LOW = -2
PRIORITY_LOW = -1
PRIORITY_NORMAL = 0
PRIORITY_HIGH = 1
PRIORITY_EMERGENCY = 2

# Message types
RESPONSE_OK = '-OK'
RESPONSE_ERROR = '-ERROR'
RESPONSE_CALLBACK = '-CALLBACK'
RESPONSE_TYPES = (RESPONSE_OK, RESPONSE_ERROR, RESPONSE_CALLBACK)
REQUEST_REGISTER = 'REGISTER'
REQUEST_NOTIFY = 'NOTIFY'
REQUEST_SUBSCRIBE = 'SUBSCRIBE'
REQUEST_TYPES = (REQUEST_REGISTER, REQUEST_NOTIFY, REQUEST_SUBSCRIBE)

# Socket-callback outcomes, and every spelling real servers send for each (§5.4).
CALLBACK_CLICK = 'click'
CALLBACK_CLOSE = 'close'
CALLBACK_TIMEOUT = 'timeout'
CALLBACK_RESULTS = {
    'CLICK': CALLBACK_CLICK, 'CLICKED': CALLBACK_CLICK,
    'CLOSE': CALLBACK_CLOSE, 'CLOSED': CALLBACK_CLOSE,
    'TIMEOUT': CALLBACK_TIMEOUT, 'TIMEDOUT': CALLBACK_TIMEOUT,
}

# Error codes
ERROR_TIMED_OUT = 200
ERROR_NETWORK_FAILURE = 201
ERROR_INVALID_REQUEST = 300
ERROR_UNKNOWN_PROTOCOL = 301
ERROR_UNKNOWN_PROTOCOL_VERSION = 302
ERROR_REQUIRED_HEADER_MISSING = 303
ERROR_NOT_AUTHORIZED = 400
ERROR_UNKNOWN_APPLICATION = 401
ERROR_UNKNOWN_NOTIFICATION = 402
ERROR_ALREADY_PROCESSED = 403
ERROR_NOTIFICATION_DISABLED = 404
ERROR_INTERNAL_SERVER_ERROR = 500
ERROR_DESCRIPTIONS = {
    ERROR_TIMED_OUT: 'Timed out',
    ERROR_NETWORK_FAILURE: 'Network failure',
    ERROR_INVALID_REQUEST: 'Invalid request',
    ERROR_UNKNOWN_PROTOCOL: 'Unknown protocol',
    ERROR_UNKNOWN_PROTOCOL_VERSION: 'Unknown protocol version',
    ERROR_REQUIRED_HEADER_MISSING: 'Required header missing',
    ERROR_NOT_AUTHORIZED: 'Not authorized',
    ERROR_UNKNOWN_APPLICATION: 'Application not registered',
    ERROR_UNKNOWN_NOTIFICATION: 'Notification not registered',
    ERROR_ALREADY_PROCESSED: 'Already processed',
    ERROR_NOTIFICATION_DISABLED: 'Notification disabled',
    ERROR_INTERNAL_SERVER_ERROR: 'Internal server error',
}


def random_bytes(num_bytes: int) -> bytes:
    """Generate cryptographically secure random bytes (from :mod:`secrets`).

    Args:
        num_bytes: Number of random bytes to generate.

    Returns:
        ``num_bytes`` random bytes.

    Raises:
        ValueError: If ``num_bytes`` is negative.

    Example:
        >>> len(random_bytes(16))
        16
    """
    if num_bytes < 0:
        raise ValueError(f'num_bytes must not be negative, got {num_bytes!r}')
    return secrets.token_bytes(num_bytes)


def random_hex_string(num_bytes: int) -> str:
    """Generate a random hex string of ``2 * num_bytes`` characters.

    Example:
        >>> len(random_hex_string(8))
        16
    """
    return random_bytes(num_bytes).hex()


def encode_utf8(text: str) -> bytes:
    """Encode text as UTF-8 bytes.

    Example:
        >>> encode_utf8('Hello')
        b'Hello'
    """
    return text.encode('utf-8')


def decode_utf8(data: bytes) -> str:
    """Decode UTF-8 bytes to text.

    Raises:
        UnicodeDecodeError: If ``data`` is not valid UTF-8.

    Example:
        >>> decode_utf8(b'Hello')
        'Hello'
    """
    return data.decode('utf-8')


def safe_int_conversion(value: Any, default: int = 0) -> int:
    """Convert ``value`` to an int, or return ``default`` when it is not one.

    Example:
        >>> safe_int_conversion('42')
        42
        >>> safe_int_conversion('invalid', default=-1)
        -1
    """
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def validate_priority(priority: int) -> int:
    """Clamp a priority to the valid range -2..2.

    Example:
        >>> validate_priority(5)
        2
        >>> validate_priority(-5)
        -2
    """
    return max(PRIORITY_VERY_LOW, min(PRIORITY_EMERGENCY, int(priority)))


def format_bool(value: bool) -> str:
    """Spell a boolean the way gntplib sends it (``True``/``False``)."""
    return 'True' if value else 'False'


def parse_bool(value: str) -> bool:
    """Read a GNTP boolean: ``Yes``/``True`` in any case are true, anything else false.

    That is what Growl for Windows does with unexpected values.
    """
    return value.strip().lower() in ('yes', 'true')
