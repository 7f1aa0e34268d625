"""``gntplib doctor`` run as a user runs it, against real receivers: the embedded server
configured to misbehave the way users meet receivers, and a small scripted receiver for
what our server cannot be made to do (no encryption, no socket callbacks, not GNTP)."""

from __future__ import annotations

import socket
import threading
from typing import Callable, Dict, Iterator, List, Tuple

import pytest

from gntplib import Publisher
from gntplib.doctor import DOCTOR_APP, DOCTOR_EVENT, Doctor
from gntplib.server import ServerThread
from tests.conftest import run_cli


def doctor(port: int, *args: str) -> Tuple[int, Dict[str, List[str]], str]:
    """Run ``gntplib doctor`` on 127.0.0.1:PORT; return its status, its report lines by step
    (``{'connect': ['ok', 'something is ...'], ...}``, the last line per step) and stdout."""
    result = run_cli('doctor', '--host', '127.0.0.1', '--port', str(port),
                     '--callback-timeout', '0.5', '--timeout', '5', *args)
    assert 'Traceback' not in result.stderr, result.stderr
    steps: Dict[str, List[str]] = {}
    for line in result.stdout.splitlines():
        if line.startswith('  '):
            status, step, message = line.split(None, 2)
            steps[step] = [status, message]
    return result.returncode, steps, result.stdout


def dead_port() -> int:
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


class ScriptedReceiver:
    """A real TCP receiver on 127.0.0.1 that answers each request once from a script and
    closes the connection, as growl-for-linux does (so it never sends a socket callback).

    ``answer(request_head)`` gets the request up to its first blank line and returns the
    bytes to send back.
    """

    def __init__(self, answer: Callable[[bytes], bytes]) -> None:
        self.answer = answer
        self.requests: List[bytes] = []
        self._listener = socket.create_server(('127.0.0.1', 0))
        self.port: int = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # closed
            with conn:
                conn.settimeout(5)
                data = b''
                try:
                    while b'\r\n\r\n' not in data:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    if data:
                        self.requests.append(data)
                        conn.sendall(self.answer(data))
                except OSError:
                    pass

    def close(self) -> None:
        try:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() (Linux)
        except OSError:
            pass
        self._listener.close()
        self._thread.join(10)
        assert not self._thread.is_alive()


def gntp_answer(head: bytes, refuse_encrypted: bool = False) -> bytes:
    """``-OK`` to any plain request; with ``refuse_encrypted``, ``-ERROR`` 300 to
    encrypted ones."""
    words = head.split(b'\r\n', 1)[0].split()
    message_type, encryption = words[1].decode(), words[2].split(b':')[0].decode()
    if refuse_encrypted and encryption != 'NONE':
        return (b'GNTP/1.0 -ERROR NONE\r\nError-Code: 300\r\n'
                b'Error-Description: Encryption is not supported\r\n\r\n')
    return f'GNTP/1.0 -OK NONE\r\nResponse-Action: {message_type}\r\n\r\n'.encode()


@pytest.fixture
def scripted() -> Iterator[Callable[[Callable[[bytes], bytes]], ScriptedReceiver]]:
    started: List[ScriptedReceiver] = []

    def start(answer: Callable[[bytes], bytes]) -> ScriptedReceiver:
        receiver = ScriptedReceiver(answer)
        started.append(receiver)
        return receiver
    yield start
    for receiver in started:
        receiver.close()


# -- what works ----------------------------------------------------------------------------------

@pytest.mark.gntp_server(password='s3cret', callback_result='CLICK')
def test_a_healthy_receiver_passes_every_check(gntp_server_thread):
    status, steps, out = doctor(gntp_server_thread.port, '--password', 's3cret')
    assert status == 0, out
    assert {step: found[0] for step, found in steps.items()} == {
        'connect': 'ok', 'register': 'ok', 'notify': 'ok', 'encrypt': 'ok', 'callback': 'ok'}
    assert 'got CLICK' in steps['callback'][1]
    assert out.rstrip().endswith('Notifications get through.')
    assert 'What works: connect, register, notify, encrypt, callback.' in out
    # It really registered, notified and encrypted.
    assert gntp_server_thread.applications[DOCTOR_APP].events[DOCTOR_EVENT].enabled
    kinds = [(r.message_type, r.received.encryption_algorithm_id)
             for r in gntp_server_thread.received]
    assert ('NOTIFY', 'NONE') in kinds and ('REGISTER', 'AES') in kinds


@pytest.mark.gntp_server(notification_timeout=None)
def test_a_receiver_that_never_sends_callbacks_is_a_warning(gntp_server_thread):
    status, steps, out = doctor(gntp_server_thread.port)
    assert status == 0, out  # the notification got through
    assert steps['callback'][0] == 'warn'
    assert 'no socket callback within 0.5 s' in steps['callback'][1]
    assert steps['encrypt'] == ['skip', 'not tried: encryption needs a password (--password)']


def test_a_receiver_that_closes_after_ok_sends_no_callbacks(scripted):
    receiver = scripted(gntp_answer)
    status, steps, out = doctor(receiver.port, '--callback-timeout', '5')  # closes at once
    assert status == 0, out
    assert steps['callback'][0] == 'warn'
    assert 'closed the connection after -OK' in steps['callback'][1]


# -- what does not -------------------------------------------------------------------------------

def test_nothing_listening():
    port = dead_port()
    status, steps, out = doctor(port)
    assert status == 1
    assert steps['connect'][0] == 'FAIL'
    assert steps['connect'][1].startswith(f'nothing is listening on 127.0.0.1:{port}')
    assert set(steps) == {'connect'}
    assert out.rstrip().endswith('Notifications do NOT get through.')


@pytest.mark.gntp_server(password='s3cret', require_password_from_loopback=True)
def test_a_receiver_that_wants_a_password(gntp_server_thread):
    status, steps, out = doctor(gntp_server_thread.port)
    assert status == 1
    assert steps['connect'][0] == 'ok' and steps['register'][0] == 'FAIL'
    assert steps['register'][1].startswith('the receiver wants a password')
    assert '--password' in steps['register'][1]
    assert gntp_server_thread.errors[-1][1] == 400


@pytest.mark.gntp_server(password='s3cret')
def test_a_wrong_password(gntp_server_thread):
    status, steps, out = doctor(gntp_server_thread.port, '--password', 'not-it')
    assert status == 1
    assert steps['register'][0] == 'FAIL'
    assert steps['register'][1].startswith('wrong password')
    assert 'not-it' not in out


def test_a_receiver_without_encryption(scripted):
    receiver = scripted(lambda head: gntp_answer(head, refuse_encrypted=True))
    status, steps, out = doctor(receiver.port, '--password', 's3cret')
    assert status == 0, out
    assert steps['encrypt'][0] == 'warn'
    assert "does not take AES-encrypted messages (300 Encryption is not supported)" in \
        steps['encrypt'][1]
    assert b' AES:' in receiver.requests[2].split(b'\r\n', 1)[0]


def test_something_that_is_not_a_gntp_receiver(scripted):
    receiver = scripted(lambda head: b'HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n')
    status, steps, out = doctor(receiver.port)
    assert status == 1
    assert steps['register'][0] == 'FAIL'
    assert steps['register'][1].startswith('something answers on 127.0.0.1:')
    assert 'but not in GNTP' in steps['register'][1]


def test_an_application_that_is_not_registered(gntp_server_thread):
    status, steps, out = doctor(gntp_server_thread.port, '--app', 'Nobody', '--event', 'e')
    assert status == 1
    assert 'register' not in steps  # it checks the application as it is
    assert steps['notify'][0] == 'FAIL'
    assert steps['notify'][1].startswith("application 'Nobody' is not registered")
    assert gntp_server_thread.errors[-1][1] == 401


def test_a_type_the_application_did_not_register(gntp_server_thread):
    Publisher('Desk', ['on'], port=gntp_server_thread.port).register()
    status, steps, out = doctor(gntp_server_thread.port, '--app', 'Desk', '--event', 'other')
    assert status == 1
    assert steps['notify'][1].startswith("notification type 'other' is not registered")


def test_a_type_the_user_disabled(gntp_server_thread):
    Publisher('Desk', ['on', 'off'], port=gntp_server_thread.port).register()
    gntp_server_thread.set_notification_enabled('Desk', 'off', False)
    status, steps, out = doctor(gntp_server_thread.port, '--app', 'Desk', '--event', 'off')
    assert status == 1
    assert steps['notify'][0] == 'FAIL'
    assert steps['notify'][1].startswith("notification type 'off' of 'Desk' is disabled")
    assert gntp_server_thread.errors[-1][1] == 404
    # The doctor's own type, switched off by the user, stays off when it registers again.
    assert doctor(gntp_server_thread.port)[0] == 0
    gntp_server_thread.set_notification_enabled(DOCTOR_APP, DOCTOR_EVENT, False)
    status, steps, out = doctor(gntp_server_thread.port)
    assert status == 1 and steps['register'][0] == 'ok'
    assert 'is disabled on the receiver' in steps['notify'][1]


def test_app_and_event_go_together():
    result = run_cli('doctor', '--app', 'Desk')
    assert result.returncode == 2
    assert 'gntplib doctor: error: --app and --event go together' in result.stderr


def test_verbose_shows_the_doctors_exchange(gntp_server_thread):
    result = run_cli('doctor', '-v', '--port', str(gntp_server_thread.port),
                     '--callback-timeout', '0.2')
    assert result.returncode == 0, result.stderr
    assert '> GNTP/1.0 REGISTER NONE' in result.stderr
    assert '< Response-Action: NOTIFY' in result.stderr


def test_the_doctor_from_python(capsys):
    with ServerThread(callback_result='CLOSE') as server:
        findings = list(Doctor('127.0.0.1', server.port, callback_timeout=5).checks())
    assert [(f.step, f.status) for f in findings] == [
        ('connect', 'ok'), ('register', 'ok'), ('notify', 'ok'), ('encrypt', 'skip'),
        ('callback', '...'), ('callback', 'ok')]
    assert findings[-1].message == 'the receiver sends socket callbacks (got CLOSE)'
    assert Doctor('127.0.0.1', dead_port()).run() == 1
    assert 'nothing is listening' in capsys.readouterr().out


def test_a_host_that_cannot_be_found() -> None:
    found = next(Doctor('no-such-host.invalid', 23053, timeout=2).checks())
    assert found.status == 'FAIL'
    assert found.message.startswith("cannot find the host 'no-such-host.invalid'")


def test_the_doctors_findings_in_process() -> None:
    """The same findings through the Python API (``Doctor.checks``), for programs."""
    with ServerThread(password='s3cret', callback_result='TIMEDOUT') as server:
        wrong = list(Doctor('127.0.0.1', server.port, 'wrong').checks())
        assert [(f.step, f.status) for f in wrong] == [('connect', 'ok'), ('register', 'FAIL')]
        assert wrong[-1].message.startswith('wrong password')
        unknown = list(Doctor('127.0.0.1', server.port, 's3cret', app='Nobody',
                              event='e').checks())
        assert unknown[-1].message.startswith("application 'Nobody' is not registered")
        good = list(Doctor('127.0.0.1', server.port, 's3cret', hashing='MD5',
                           cipher='DES').checks())
        assert [(f.step, f.status) for f in good][2:4] == [('notify', 'ok'), ('encrypt', 'ok')]
        assert good[3].message == 'an DES-encrypted message got through'
        assert good[-1].message == 'the receiver sends socket callbacks (got TIMEDOUT)'


def test_a_receiver_that_does_not_keep_the_registration(scripted):
    def forgetful(head: bytes) -> bytes:
        if b' NOTIFY ' in head.split(b'\r\n', 1)[0]:
            return (b'GNTP/1.0 -ERROR NONE\r\nError-Code: 401\r\n'
                    b'Error-Description: Application not registered\r\n\r\n')
        return gntp_answer(head)
    receiver = scripted(forgetful)
    status, steps, out = doctor(receiver.port)
    assert status == 1
    assert steps['register'][0] == 'ok' and steps['notify'][0] == 'FAIL'
    assert steps['notify'][1].startswith("the receiver accepted the registration, then did "
                                         "not know 'gntplib doctor'")
    assert len(receiver.requests) == 2  # REGISTER, NOTIFY: no registering again unseen
