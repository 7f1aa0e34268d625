"""``gntplib doctor``: find out why notifications do not get through to a receiver.

GNTP failures look alike from the sending side: a refused connection, a receiver that wants
a password, a wrong password, a receiver without encryption, an application it does not
know, a notification type the user switched off, callbacks that never come. The doctor
tries a receiver step by step, the way a notification travels, and names what it finds:

.. code-block:: text

    $ gntplib doctor --password s3cret
    gntplib doctor: checking the GNTP receiver at localhost:23053
      ok    connect   something is listening on localhost:23053
      ok    register  registered 'gntplib doctor' with a SHA256 key hash
      ok    notify    a test notification got through (-OK NOTIFY)
      ok    encrypt   an AES-encrypted message got through
      ok    callback  the receiver sends socket callbacks (got CLICK)
    Notifications get through.

:meth:`Doctor.run` prints that report and returns the exit status: 0 only when a test
notification got through. :meth:`Doctor.checks` yields the same findings as
:class:`Finding` objects for programs.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass
from typing import Any, Dict, Iterator, List, Optional, TextIO

from . import ciphers, constants as c, keys
from .exceptions import (
    GNTPAuthenticationError, GNTPConnectionError, GNTPEncryptionError, GNTPError,
    GNTPProtocolError, GNTPResponseError, GNTPValidationError,
)
from .lib import Publisher
from .models import Event, SocketCallback
from .requests import Response

__all__ = ['Doctor', 'Finding', 'DOCTOR_APP', 'DOCTOR_EVENT']

#: The application and notification type the doctor registers (unless told to check another).
DOCTOR_APP = 'gntplib doctor'
DOCTOR_EVENT = 'test'

OK, FAIL, WARN, SKIP, WAIT = 'ok', 'FAIL', 'warn', 'skip', '...'


@dataclass(frozen=True)
class Finding:
    """One step's outcome.

    Attributes:
        step: ``'connect'``, ``'register'``, ``'notify'``, ``'encrypt'`` or ``'callback'``.
        status: ``'ok'``, ``'FAIL'``, ``'warn'`` (works, with a caveat, or not known),
            ``'skip'`` (not tried) or ``'...'`` (in progress: waiting for the user).
        message: What was found, and what to do about it.
    """

    step: str
    status: str
    message: str


def _is_local(host: str) -> bool:
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host.strip('[]')).is_loopback
    except ValueError:
        return False


class Doctor:
    """Checks one GNTP receiver.

    Args:
        host: The receiver's host.
        port: Its port.
        password: The password to send, or ``None``.
        hashing: The key hash algorithm's name, used with the password.
        timeout: Seconds for connecting and for each answer.
        callback_timeout: Seconds to wait for a socket callback (a click, a close or the
            receiver's timeout).
        app: Check this application, which the receiver should know already, instead of
            registering the doctor's own (:data:`DOCTOR_APP`).
        event: With ``app``: the notification type to try.
        cipher: The cipher to try when a password is given (default AES).
        trace: A text stream to show every request and answer on (``gntplib doctor -v``).

    Example:
        >>> doctor = Doctor('localhost', 23053, password='s3cret')
        >>> status = doctor.run()         # doctest: +SKIP
    """

    def __init__(self, host: str = 'localhost', port: int = c.DEFAULT_PORT,
                 password: Optional[str] = None, *, hashing: str = 'SHA256',
                 timeout: float = 5.0, callback_timeout: float = 10.0,
                 app: Optional[str] = None, event: Optional[str] = None,
                 cipher: str = 'AES', trace: Optional[TextIO] = None) -> None:
        if (app is None) != (event is None):
            raise GNTPValidationError('--app and --event go together: the application and the '
                            'notification type of it to try')
        self.host = host
        self.port = port
        self.password = password
        self.hashing = keys.get_algorithm(hashing)
        self.timeout = timeout
        self.callback_timeout = callback_timeout
        self.app = app or DOCTOR_APP
        self.event = event or DOCTOR_EVENT
        self.own_app = app is None
        self.cipher = ciphers.get_algorithm('AES' if cipher in ('', 'NONE') else cipher)
        self.trace = trace
        self.notified = False

    @property
    def where(self) -> str:
        return f'{self.host}:{self.port}'

    def _publisher(self, **kwargs: Any) -> Publisher:
        options: Dict[str, Any] = {'host': self.host, 'port': self.port,
                                   'timeout': self.timeout, 'password': self.password,
                                   'key_hashing': self.hashing}
        options.update(kwargs)
        if self.trace is not None:
            from ._trace import tracing_client
            options['gntp_client_class'] = tracing_client(self.trace)
        # auto_register=False: a 401 is a finding here, not something to repair unseen.
        return Publisher(self.app, [Event(self.event)], auto_register=False, **options)

    # -- the steps ----------------------------------------------------------------------------

    def checks(self) -> Iterator[Finding]:
        """Run the checks in order, yielding what each found; stops after a failure that
        leaves nothing further to try."""
        connected = self._connect()
        yield connected
        if connected.status != OK:
            return
        if self.own_app:
            registered = self._request('register', lambda p: p.register())
            yield registered
            if registered.status != OK:
                return
        notified = self._request('notify', lambda p: p.publish(
            self.event, 'gntplib doctor', 'A test notification from gntplib doctor: '
            'notifications get through.'))
        yield notified
        if notified.status != OK:
            return
        self.notified = True
        yield self._encrypt()
        yield Finding('callback', WAIT, f'waiting up to {self.callback_timeout:g} s for a '
                      "socket callback: click or close the notification 'gntplib doctor: "
                      "click me'")
        yield self._callback()

    def _connect(self) -> Finding:
        try:
            socket.create_connection((self.host, self.port), self.timeout).close()
        except socket.gaierror as exc:
            return Finding('connect', FAIL, f'cannot find the host {self.host!r}: '
                           f'{exc.strerror or exc}')
        except ConnectionRefusedError:
            hint = ('start one (gntplib serve, or Growl) or check --port'
                    if _is_local(self.host) else
                    'is the receiver running there, and listening on the network, not only '
                    'on its loopback address? Check --host and --port')
            return Finding('connect', FAIL, f'nothing is listening on {self.where}: {hint}')
        except socket.timeout:
            return Finding('connect', FAIL, f'no answer from {self.where} within '
                           f'{self.timeout:g} s: a firewall drops the connection, or the '
                           'host is down')
        except OSError as exc:
            return Finding('connect', FAIL, f'cannot connect to {self.where}: '
                           f'{exc.strerror or exc}')
        return Finding('connect', OK, f'something is listening on {self.where}')

    def _request(self, step: str, send: Any) -> Finding:
        try:
            response = send(self._publisher())
        except GNTPError as exc:
            return Finding(step, FAIL, self._explain(step, exc))
        if step == 'register':
            how = (f'with a {self.hashing.algorithm_id} key hash' if self.password
                   else 'without a password')
            return Finding(step, OK, f'registered {self.app!r} {how}')
        return Finding(step, OK, f'a test notification got through (-OK '
                       f'{response.action or "NOTIFY"})')

    def _explain(self, step: str, exc: GNTPError) -> str:
        """What a failure means, for someone who has not read the GNTP specification."""
        code = getattr(exc, 'error_code', None)
        if isinstance(exc, GNTPAuthenticationError) or code == c.ERROR_NOT_AUTHORIZED:
            if not self.password:
                where = ('from programs on other machines' if not _is_local(self.host)
                         else 'even from this machine')
                return (f'the receiver wants a password {where} ({exc}): pass --password '
                        '(or set GNTP_PASSWORD) with the password set in the receiver')
            return (f'wrong password: the receiver refused the key hash ({exc}); use the '
                    'password set in the receiver')
        if isinstance(exc, GNTPProtocolError):
            return (f'something answers on {self.where}, but not in GNTP ({exc}): is it '
                    'a GNTP receiver, and the right port?')
        if isinstance(exc, GNTPConnectionError):
            return (f'the receiver did not answer ({exc}); some receivers close the '
                    'connection on requests they cannot handle')
        if code == c.ERROR_UNKNOWN_APPLICATION:
            if self.own_app:
                return (f'the receiver accepted the registration, then did not know '
                        f'{self.app!r} ({exc}): it did not keep the registration')
            return (f'application {self.app!r} is not registered on the receiver ({exc}): '
                    f'register it (gntplib register --app APP --event EVENT), or check the '
                    f'name')
        if code == c.ERROR_UNKNOWN_NOTIFICATION:
            return (f'notification type {self.event!r} is not registered for {self.app!r} '
                    f'({exc}): register it with the application')
        if code == c.ERROR_NOTIFICATION_DISABLED:
            return (f'notification type {self.event!r} of {self.app!r} is disabled on the '
                    f'receiver ({exc}): the user switched it off; switch it on in the '
                    "receiver's settings")
        if isinstance(exc, GNTPResponseError):
            return f'the receiver refused the {step.upper()} request: {exc}'
        return str(exc)

    def _encrypt(self) -> Finding:
        name = self.cipher.algorithm_id
        if not self.password:
            return Finding('encrypt', SKIP, 'not tried: encryption needs a password '
                           '(--password)')
        hashing = self.hashing if self.hashing.key_size >= self.cipher.key_size \
            else keys.SHA256
        try:
            publisher = self._publisher(encryption=self.cipher, key_hashing=hashing)
        except GNTPEncryptionError:
            return Finding('encrypt', WARN, f'not tried: {name} encryption is not available '
                           "here (pip install 'gntplib[crypto]')")
        try:
            if self.own_app:
                publisher.register()
            else:
                publisher.publish(self.event, 'gntplib doctor: encrypted',
                                  f'This notification travelled encrypted ({name}).')
        except GNTPError as exc:
            return Finding('encrypt', WARN, f'the receiver does not take {name}-encrypted '
                           f'messages ({exc}), though it takes plain ones: it may not '
                           'support encryption; send without --cipher')
        return Finding('encrypt', OK, f'an {name}-encrypted message got through')

    def _callback(self) -> Finding:
        results: List[Response] = []
        publisher = self._publisher(callback_timeout=self.callback_timeout)
        started = time.monotonic()
        try:
            publisher.publish(self.event, 'gntplib doctor: click me',
                              'Click or close this notification: gntplib doctor is '
                              'checking socket callbacks.',
                              gntp_callback=SocketCallback(
                                  'gntplib doctor', 'string', on_click=results.append,
                                  on_close=results.append, on_timeout=results.append))
        except GNTPError as exc:
            return Finding('callback', WARN, f'a notification asking for a callback was '
                           f'refused ({exc})')
        waited = time.monotonic() - started
        if results:
            return Finding('callback', OK, f'the receiver sends socket callbacks (got '
                           f'{results[0].callback_result})')
        if waited < self.callback_timeout * 0.9:
            return Finding('callback', WARN, 'the receiver closed the connection after -OK '
                           'without a callback: it does not send socket callbacks (use a URL '
                           'callback with it)')
        return Finding('callback', WARN, f'no socket callback within '
                       f'{self.callback_timeout:g} s: the receiver never sends them, or '
                       'nobody clicked or closed the notification (--callback-timeout to wait '
                       'longer)')

    # -- the report ---------------------------------------------------------------------------

    def run(self, out: Optional[TextIO] = None) -> int:
        """Run the checks, print the report to ``out`` (default stdout) and return the exit
        status: 0 when a test notification got through, else 1."""
        import sys
        out = out if out is not None else sys.stdout
        what = f'{self.app!r}/{self.event!r} on ' if not self.own_app else ''
        print(f'gntplib doctor: checking {what}the GNTP receiver at {self.where}', file=out,
              flush=True)
        works: List[str] = []
        for finding in self.checks():
            print(f'  {finding.status:<5} {finding.step:<9} {finding.message}', file=out,
                  flush=True)
            if finding.status == OK:
                works.append(finding.step)
        if works:
            print(f'What works: {", ".join(works)}.', file=out)
        print('Notifications get through.' if self.notified
              else 'Notifications do NOT get through.', file=out, flush=True)
        return 0 if self.notified else 1
