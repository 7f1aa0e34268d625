"""What real GNTP clients send, pinned byte for byte against the embedded server.

The bytes of gntp-send 0.3.4 were recorded from the program itself (a socket that saved what
arrived); the others are written from what ``interop.md`` measured on the wire. The real
programs run in ``tests/interop/``; these tests keep the server accepting their bytes on any
machine, and pin the server's side of issue 12 (callback pause, Mac framing, framing errors).
"""

from __future__ import annotations

import socket
import time
from typing import List

import pytest

from gntplib import Publisher, Resource, SocketCallback, URLCallback, ciphers
from gntplib.keys import Key
from gntplib.models import Notification
from gntplib.packers import MessagePackerFactory
from gntplib.requests import BaseRequest, NotifyRequest, RegisterRequest, parse_response
from gntplib.server import ServerThread
from tests.support.hardening_support import NOTIFY_CALLBACK, REGISTER, exchange

# -- gntp-send 0.3.4, as recorded --------------------------------------------------------------

#: No password: a trailing space on the information line, an extra CR LF after the REGISTER.
GNTP_SEND_REGISTER = (
    b'GNTP/1.0 REGISTER NONE \r\nApplication-Name: gntp-send\r\nNotifications-Count: 1\r\n\r\n'
    b'Notification-Name: gntp-send notify\r\nNotification-Display-Name: gntp-send notify\r\n'
    b'Notification-Enabled: True\r\n\r\n\r\n')
GNTP_SEND_NOTIFY = (
    b'GNTP/1.0 NOTIFY NONE \r\nApplication-Name: gntp-send\r\nNotification-Name: gntp-send '
    b'notify\r\nNotification-Title: title\r\nNotification-Text: text\r\n\r\n')
ICON_ID = b'9DD4E461268C8034F5C8564E155C67A6'
#: ``-p secret``: two spaces before the key, upper-case hex, one binary section for the
#: application's and the notification type's icon.
GNTP_SEND_REGISTER_MD5 = (
    b'GNTP/1.0 REGISTER NONE  MD5:4C754AACF52E8C849414EA0BF45D4E84.FD4C07824F05333D\r\n'
    b'Application-Name: gntp-send\r\nApplication-Icon: x-growl-resource://' + ICON_ID + b'\r\n'
    b'Notifications-Count: 1\r\n\r\nNotification-Name: gntp-send notify\r\n'
    b'Notification-Display-Name: gntp-send notify\r\nNotification-Enabled: True\r\n'
    b'Notification-Icon: x-growl-resource://' + ICON_ID + b'\r\n\r\n'
    b'Identifier: ' + ICON_ID + b'\r\nLength: 1\r\n\r\nx\r\n\r\n')
#: The text was "line1 CR LF line2": a bare LF inside the value and a stray NUL.
GNTP_SEND_NOTIFY_MD5 = (
    b'GNTP/1.0 NOTIFY NONE  MD5:A81A2DCFC495C7B565E97E79A7F6F2D0.4CCBADDF7EDEA38E\r\n'
    b'Application-Name: gntp-send\r\nNotification-Name: gntp-send notify\r\n'
    b'Notification-Title: title2\r\nNotification-Text: line1\nline2\x00\r\n'
    b'Notification-Icon: x-growl-resource://' + ICON_ID + b'\r\n\r\n'
    b'Identifier: ' + ICON_ID + b'\r\nLength: 1\r\n\r\nx\r\n\r\n')
#: A REGISTER with an icon and no password, and the sizes of the send() calls that carried
#: it (each line in two: the text, then its CR LF; TCP_NODELAY on).
GNTP_SEND_REGISTER_ICON = (
    b'GNTP/1.0 REGISTER NONE \r\nApplication-Name: gntp-send\r\nApplication-Icon: '
    b'x-growl-resource://' + ICON_ID + b'\r\nNotifications-Count: 1\r\n\r\n'
    b'Notification-Name: gntp-send notify\r\nNotification-Display-Name: gntp-send notify\r\n'
    b'Notification-Enabled: True\r\nNotification-Icon: x-growl-resource://' + ICON_ID +
    b'\r\n\r\nIdentifier: ' + ICON_ID + b'\r\nLength: 1\r\n\r\nx\r\n\r\n')
GNTP_SEND_WRITES = [23, 2, 27, 2, 69, 2, 22, 2, 2, 35, 2, 43, 2, 26, 2, 70, 2, 2, 44, 2, 9, 9]
GNTP_SEND_NOTIFY_URL = (
    b'GNTP/1.0 NOTIFY NONE \r\nApplication-Name: gntp-send\r\nNotification-Name: gntp-send '
    b'notify\r\nNotification-Title: title3\r\nNotification-Text: a\nb\r\n'
    b'Notification-Icon: x-growl-resource://' + ICON_ID + b'\r\n'
    b'Notification-Callback-Target: http://example.com/\r\n\r\n'
    b'Identifier: ' + ICON_ID + b'\r\nLength: 1\r\n\r\nx\r\n\r\n')


def icon_bytes(icon: object) -> bytes:
    assert isinstance(icon, Resource) and icon.data is not None, icon
    return icon.data


def notification(request: BaseRequest) -> Notification:
    assert isinstance(request, NotifyRequest), request
    return request.notification


def ok(answer: bytes) -> bool:
    return answer.startswith(b'GNTP/1.0 -OK NONE\r\n')


def error_code(answer: bytes) -> int:
    response = parse_response(answer)
    assert response.message_type == '-ERROR', answer
    assert response.error_code is not None
    return response.error_code


def test_gntp_send_without_a_password():
    with ServerThread() as server:
        assert ok(exchange(server.port, GNTP_SEND_REGISTER))
        assert ok(exchange(server.port, GNTP_SEND_NOTIFY))
        register, notify = server.received
        assert isinstance(register, RegisterRequest)
        assert [e.name for e in register.events] == ['gntp-send notify']
        assert (notification(notify).title, notification(notify).text) == ('title', 'text')
        assert server.errors == []


def test_gntp_send_with_a_password_one_shared_icon_and_a_reused_salt():
    with ServerThread(password='secret', require_password_from_loopback=True) as server:
        for _ in range(2):  # two processes started in the same second send the same salt
            assert ok(exchange(server.port, GNTP_SEND_REGISTER_MD5))
        assert ok(exchange(server.port, GNTP_SEND_NOTIFY_MD5))
        app = server.applications['gntp-send']
        assert icon_bytes(app.icon) == b'x'
        assert icon_bytes(app.events['gntp-send notify'].icon) == b'x'
        notify = notification(server.received[-1])
        assert notify.text == 'line1\nline2\x00' and icon_bytes(notify.icon) == b'x'
        received = server.received[-1].received
        assert received is not None and received.key is not None
        assert received.key.algorithm_id == 'MD5'


def test_gntp_send_drip_of_tiny_writes_and_a_url_callback():
    with ServerThread() as server:
        with socket.create_connection(('127.0.0.1', server.port), timeout=10) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            data, at = GNTP_SEND_REGISTER_ICON, 0
            assert sum(GNTP_SEND_WRITES) == len(data)
            for size in GNTP_SEND_WRITES:
                sock.sendall(data[at:at + size])
                at += size
            answer = b''
            while chunk := sock.recv(4096):
                answer += chunk
        assert ok(answer)
        assert ok(exchange(server.port, GNTP_SEND_NOTIFY_URL))
        n = notification(server.received[-1])
        assert isinstance(n.gntp_callback, URLCallback)
        assert (n.text, n.gntp_callback.url) == ('a\nb', 'http://example.com/')
        assert icon_bytes(server.applications['gntp-send'].icon) == b'x'


# -- growly / node-notifier ------------------------------------------------------------------

GROWLY_REGISTER = (
    b'GNTP/1.0 REGISTER NONE\r\nApplication-Name: Node\r\nNotifications-Count: 1\r\n\r\n'
    b'Notification-Name: Node\r\nNotification-Display-Name: Node\r\n'
    b'Notification-Enabled: True\r\n\r\n')


def growly_notify(context: bytes) -> bytes:
    # Notification-ID is a per-process counter: two processes both send "1".
    return (b'GNTP/1.0 NOTIFY NONE\r\nApplication-Name: Node\r\nNotification-Name: Node\r\n'
            b'Notification-ID: 1\r\nNotification-Title: t\r\nNotification-Text: x\r\n'
            b'Notification-Callback-Context: ' + context + b'\r\n'
            b'Notification-Callback-Context-Type: string\r\n\r\n')


def read_messages(sock: socket.socket, count: int) -> List[bytes]:
    """Read until ``count`` messages arrived; return what each recv() returned."""
    reads: List[bytes] = []
    while b''.join(reads).count(b'\r\n\r\n') < count:
        chunk = sock.recv(4096)
        assert chunk, reads
        reads.append(chunk)
    return reads


def test_growly_probes_and_repeated_notification_ids():
    with ServerThread() as server:
        socket.create_connection(('127.0.0.1', server.port), timeout=5).close()  # the probe
        assert ok(exchange(server.port, GROWLY_REGISTER))
        first = socket.create_connection(('127.0.0.1', server.port), timeout=10)
        second = socket.create_connection(('127.0.0.1', server.port), timeout=10)
        with first, second:
            first.sendall(growly_notify(b'one'))
            second.sendall(growly_notify(b'two'))
            for sock in (first, second):
                assert ok(read_messages(sock, 1)[0])
            server.wait_for(lambda s: len(s.pending_callbacks) == 2)
            for handle in sorted(server.pending_callbacks):  # by handle: the IDs are equal
                assert server.send_callback(handle, 'CLICK')
            assert b'Context: one\r\n' in b''.join(read_messages(first, 1))
            assert b'Context: two\r\n' in b''.join(read_messages(second, 1))
        assert server.errors == []


@pytest.mark.parametrize('delay', [0.4])
def test_the_callback_never_arrives_in_the_read_of_its_ok(delay):
    """Issue 12 item 6: growly parses one message per read and drops the rest."""
    with ServerThread(callback_result='CLICK', callback_delay=delay) as server:
        assert ok(exchange(server.port, REGISTER))
        with socket.create_connection(('127.0.0.1', server.port), timeout=10) as sock:
            started = time.monotonic()
            sock.sendall(NOTIFY_CALLBACK)
            reads = read_messages(sock, 2)
            arrived = time.monotonic() - started
        assert ok(reads[0]) and reads[0].endswith(b'\r\n\r\n') and b'-CALLBACK' not in reads[0]
        assert b'GNTP/1.0 -CALLBACK' in b''.join(reads[1:])
        assert arrived >= delay * 0.9


def test_without_a_delay_the_callback_follows_at_once():
    with ServerThread(callback_result='CLOSE', callback_delay=0) as server:
        assert ok(exchange(server.port, REGISTER))
        answer = exchange(server.port, NOTIFY_CALLBACK)
        assert ok(answer) and b'Notification-Callback-Result: CLOSE' in answer
    with pytest.raises(ValueError):
        ServerThread(callback_delay=-1).start()


# -- ruby-growl ------------------------------------------------------------------------------

RUBY_ICON = b'\x89PNG ruby'
RUBY_ICON_ID = b'0f4d7a3e-2c1b-4e5f-9a8b-7c6d5e4f3a2b'


def ruby_growl_register(key: Key) -> bytes:
    # UUID resource identifiers, Connection: close, and no Notification-Enabled for the
    # type it registers disabled (the spec's default: disabled).
    return (b'GNTP/1.0 REGISTER NONE ' + key.info_token.encode() + b'\r\n'
            b'Application-Name: ruby-growl\r\nApplication-Icon: x-growl-resource://'
            + RUBY_ICON_ID + b'\r\nNotifications-Count: 2\r\nConnection: close\r\n\r\n'
            b'Notification-Name: on\r\nNotification-Enabled: true\r\n\r\n'
            b'Notification-Name: off\r\n\r\n'
            b'Identifier: ' + RUBY_ICON_ID + b'\r\nLength: '
            + str(len(RUBY_ICON)).encode() + b'\r\n\r\n' + RUBY_ICON + b'\r\n\r\n')


def ruby_growl_notify(key: Key, name: bytes) -> bytes:
    return (b'GNTP/1.0 NOTIFY NONE ' + key.info_token.encode() + b'\r\n'
            b'Application-Name: ruby-growl\r\nNotification-Name: ' + name + b'\r\n'
            b'Notification-Title: hi\r\nConnection: close\r\n'
            b'Notification-Callback-Context: ctx\r\n'
            b'Notification-Callback-Context-Type: string\r\n\r\n')


def test_ruby_growl_with_growl_for_mac_framing():
    """Issue 12 item 7: ruby-growl reads every answer with gets("\\r\\n\\r\\n\\r\\n")."""
    with ServerThread(password='pw', growl_mac_framing=True, callback_result='CLICK',
                      callback_delay=0) as server:
        assert exchange(server.port, ruby_growl_register(Key('pw', 'SHA512'))).endswith(
            b'\r\n\r\n\r\n')
        app = server.applications['ruby-growl']
        assert icon_bytes(app.icon) == RUBY_ICON
        assert (app.events['on'].enabled, app.events['off'].enabled) == (True, False)
        refused = exchange(server.port, ruby_growl_notify(Key('pw', 'SHA512'), b'off'))
        assert refused.endswith(b'\r\n\r\n\r\n') and error_code(refused) == 404
        answer = exchange(server.port, ruby_growl_notify(Key('pw', 'SHA512'), b'on'))
        messages = answer.split(b'\r\n\r\n\r\n')
        assert messages[-1] == b'' and len(messages) == 3, answer
        assert ok(messages[0] + b'\r\n\r\n')
        assert parse_response(messages[1] + b'\r\n\r\n').callback_result == 'CLICK'
        # Our own clients read the Mac framing too.
        clicks: List[str] = []
        pub = Publisher('Mac', ['e'], port=server.port, password='pw', timeout=5)
        assert pub.register().ok
        pub.publish('e', 'x', gntp_callback=SocketCallback(
            on_click=lambda r: clicks.append(str(r.callback_result))))
        assert clicks == ['CLICK']


def test_ruby_growl_encrypted_icon_framing_is_named_not_blamed_on_the_key():
    """Issue 12 item 8: one CR LF between the ciphertext and ``Identifier:``."""
    packer = MessagePackerFactory(password='pw', encryption=ciphers.AES).create()
    request = NotifyRequest('App', Notification('update', 'Hi', icon=Resource(b'icon')))
    good = packer.pack(request)
    bad = good.replace(b'\r\n\r\nIdentifier:', b'\r\nIdentifier:', 1)
    assert bad != good
    with ServerThread(password='pw') as server:
        Publisher('App', ['update'], port=server.port, password='pw', timeout=5).register()
        answer = exchange(server.port, bad)
        assert error_code(answer) == 300
        assert b'blank line' in answer and b'Identifier' in answer
        wrong = MessagePackerFactory(password='other', encryption=ciphers.AES).create()
        assert error_code(exchange(server.port, wrong.pack(request))) == 400
        assert ok(exchange(server.port, packer.pack(request)))


# -- kfdm gntp ---------------------------------------------------------------------------------

def test_kfdm_origin_headers_and_salts_reused_within_a_second():
    key = Key('pw', 'SHA256')
    register = (b'GNTP/1.0 REGISTER NONE ' + key.info_token.encode() + b'\r\n'
                b'Application-Name: kfdm\r\nNotifications-Count: 1\r\n'
                b'Origin-Machine-Name: box\r\nOrigin-Software-Name: gntp.py\r\n'
                b'Origin-Software-Version: 1.0.3\r\nOrigin-Platform-Name: Linux\r\n'
                b'Origin-Platform-Version: 6.1\r\n\r\n'
                b'Notification-Name: n\r\nNotification-Enabled: True\r\n\r\n')
    with ServerThread(password='pw') as server:
        assert ok(exchange(server.port, register)) and ok(exchange(server.port, register))
        received = server.received[-1].received
        assert received is not None
        headers = received.headers()
        assert headers['Origin-Software-Name'] == 'gntp.py'
        assert headers['Origin-Machine-Name'] == 'box'


def test_serve_flags_for_mac_framing_and_the_callback_delay(gntplib_serve):
    serve = gntplib_serve('--json', '--mac-framing', '--callback-result', 'CLICK',
                          '--callback-delay', '0.3')
    assert exchange(serve.port, REGISTER).endswith(b'-OK NONE\r\nResponse-Action: REGISTER'
                                                   b'\r\n\r\n\r\n')
    with socket.create_connection(('127.0.0.1', serve.port), timeout=10) as sock:
        sock.sendall(NOTIFY_CALLBACK)
        reads = read_messages(sock, 2)  # -OK, then the -CALLBACK in a later read
    assert reads[0].endswith(b'\r\n\r\n\r\n') and b'-CALLBACK' not in reads[0]
    assert b''.join(reads[1:]).endswith(b'Context-Type: string\r\n\r\n\r\n')
    serve.stop()
