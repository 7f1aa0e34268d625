"""The exceptions gntplib raises: one hierarchy rooted at :class:`GNTPError`.

::

    GNTPError
    +-- GNTPValidationError(GNTPError, ValueError)       bad arguments, found before any I/O
    +-- GNTPEncryptionError                              crypto missing, encrypt/decrypt failure
    +-- GNTPResourceError                                a resource cannot be read or fetched
    +-- GNTPConnectionError(GNTPError, ConnectionError)  connect/read/write/timeout/EOF
    +-- GNTPResponseError                                the peer answered -ERROR, or sent bad bytes
        +-- GNTPAuthenticationError                      -ERROR 400 NOT_AUTHORIZED
        +-- GNTPProtocolError                            bytes that are not valid GNTP

The built-in co-bases keep older ``except ValueError`` / ``except ConnectionError`` clauses
working. Messages never contain passwords or keys.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from .constants import (
    ERROR_DESCRIPTIONS, ERROR_INVALID_REQUEST, ERROR_NOT_AUTHORIZED,
)

if TYPE_CHECKING:  # pragma: no cover
    from .requests import Response

__all__ = [
    'GNTPError', 'GNTPValidationError', 'GNTPEncryptionError', 'GNTPResourceError',
    'GNTPConnectionError', 'GNTPResponseError', 'GNTPAuthenticationError', 'GNTPProtocolError',
    'error_for_code',
]


class GNTPError(Exception):
    """Base class of every error gntplib raises."""


class GNTPValidationError(GNTPError, ValueError):
    """An argument is invalid (raised before anything is sent)."""


class GNTPEncryptionError(GNTPError):
    """Encryption is unavailable (pycryptodomex missing) or failed."""


class GNTPResourceError(GNTPError):
    """A resource (icon) could not be read or fetched."""


class GNTPConnectionError(GNTPError, ConnectionError):
    """Connecting, writing or reading failed, timed out, or the peer closed too early."""


class GNTPResponseError(GNTPError):
    """The peer answered with ``-ERROR``, or with bytes that are not a valid response.

    Attributes:
        error_code: The GNTP error code (``int``), or ``None`` when unknown.
        description: The ``Error-Description`` text (or what was wrong).
        response: The parsed :class:`~gntplib.requests.Response`, when there is one.
    """

    def __init__(self, description: str, error_code: Optional[int] = None,
                 response: Optional['Response'] = None) -> None:
        message = description if error_code is None else f'{error_code} {description}'
        super().__init__(message)
        self.error_code = error_code
        self.description = description
        self.response = response


class GNTPAuthenticationError(GNTPResponseError):
    """The key hash was missing or wrong (``-ERROR`` 400 ``NOT_AUTHORIZED``)."""

    def __init__(self, description: str = ERROR_DESCRIPTIONS[ERROR_NOT_AUTHORIZED],
                 error_code: Optional[int] = ERROR_NOT_AUTHORIZED,
                 response: Optional['Response'] = None) -> None:
        super().__init__(description, error_code, response)


class GNTPProtocolError(GNTPResponseError):
    """The bytes received are not valid GNTP.

    ``error_code`` is the GNTP code that describes the fault (300 by default), which is what
    the embedded server answers with.
    """

    def __init__(self, description: str, error_code: Optional[int] = ERROR_INVALID_REQUEST,
                 response: Optional['Response'] = None) -> None:
        super().__init__(description, error_code, response)


_ERROR_CLASSES = {ERROR_NOT_AUTHORIZED: GNTPAuthenticationError}


def error_for_code(error_code: int, description: str,
                   response: Optional['Response'] = None) -> GNTPResponseError:
    """Build the exception for a ``-ERROR`` with ``error_code``."""
    error_class = _ERROR_CLASSES.get(error_code, GNTPResponseError)
    return error_class(description, error_code, response)
