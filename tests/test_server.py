"""The embedded GNTP server (gntplib.server) and its display backends, over real sockets."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
import os
import re
import shutil
import socket
import stat
import sys
import threading
from typing import Any, List, Optional, Tuple

import pytest
from tornado.ioloop import PeriodicCallback
from tornado.iostream import IOStream, StreamClosedError

from gntplib import (
    Event, GNTPAuthenticationError, GNTPConnectionError, GNTPResponseError, GNTPValidationError,
    Notification, Publisher, Resource, SocketCallback, Subscriber, ciphers, keys,
)
from gntplib.display import (
    ConsoleDisplay, Display, DisplayEvent, JSONLinesDisplay, NotifySendDisplay, format_address,
)
from gntplib.keys import Key
from gntplib.reader import ReaderLimits
from gntplib.requests import NotifyRequest, RegisterRequest, parse_response
from gntplib.server import GNTPServer, ServerThread, is_loopback, normalize_callback_result
from gntplib.wire import MessageBuffer
from tests.support.hardening_support import NOTIFY, NOTIFY_CALLBACK, REGISTER, exchange
from tests.support.vectors import by_name, message_bytes, vectors

VECTOR_PASSWORD = 'pässwörd€'
TIMESTAMP = re.compile(rb'Notification-Callback-Timestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ')


# -- helpers -----------------------------------------------------------------------------------

def split(data: bytes) -> List[bytes]:
    buffer = MessageBuffer(max_size=1 << 20)
    buffer.feed(data)
    buffer.feed(b'')
    messages: List[bytes] = []
    while True:
        message = buffer.next_message()
        if message is None:
            return messages
        messages.append(message)


def resource(icon: Any) -> Resource:
    assert isinstance(icon, Resource), icon
    return icon


def running(thread: ServerThread) -> GNTPServer:
    assert thread.server is not None
    return thread.server


def error_code(data: bytes) -> int:
    messages = split(data)
    assert len(messages) == 1, data
    response = parse_response(messages[0])
    assert response.message_type == '-ERROR', data
    assert response.error_code is not None
    return response.error_code


def publisher(port: int, **kwargs: Any) -> Publisher:
    return Publisher('App', [Event('update'), Event('quiet', enabled=False)], port=port,
                     timeout=5, **kwargs)


def assert_still_serving(port: int) -> None:
    assert publisher(port).register().ok


async def connect(port: int) -> IOStream:
    stream = IOStream(socket.socket())
    await stream.connect(('127.0.0.1', port))
    return stream


async def async_exchange(port: int, data: bytes) -> bytes:
    """Send ``data`` and read until the server closes (``b''`` if it reset the connection)."""
    stream = await connect(port)
    try:
        await stream.write(data)
        return await stream.read_until_close()
    except StreamClosedError:
        return b''
    finally:
        stream.close()


class BrokenDisplay(Display):
    def show(self, event: DisplayEvent) -> None:
        raise RuntimeError('display exploded')


# -- requests, responses and the registry ------------------------------------------------------

@pytest.mark.gntp_server(password='secret')
def test_register_and_notify_update_registry_and_answer_ok(gntp_server_thread):
    pub = publisher(gntp_server_thread.port, app_specific_headers=[('Tag', '42')])
    assert pub.register().action == 'REGISTER'
    response = pub.publish('update', 'Title', 'line 1\nline 2', id_='n-1', sticky=True,
                           priority=2, icon=Resource(b'\x89PNG\r\n\r\nicon'))
    assert (response.action, response.notification_id) == ('NOTIFY', 'n-1')
    assert response.headers['Data-Tag'] == '42'
    apps = gntp_server_thread.applications
    assert {name: e.enabled for name, e in apps['App'].events.items()} == \
        {'update': True, 'quiet': False}
    notify = gntp_server_thread.received[-1]
    assert isinstance(notify, NotifyRequest)
    n = notify.notification
    assert (n.title, n.text, n.sticky, n.priority) == ('Title', 'line 1\nline 2', True, 2)
    assert resource(n.icon).data == b'\x89PNG\r\n\r\nicon'
    assert notify.received is not None
    assert notify.received.resources == {resource(n.icon).identifier(): b'\x89PNG\r\n\r\nicon'}


def test_ok_without_notification_id_leaves_the_header_out(gntp_server_thread):
    pub = publisher(gntp_server_thread.port)
    pub.register()
    assert 'Notification-ID' not in pub.publish('update', 'Hi').headers


@pytest.mark.parametrize('name', [v['name'] for v in vectors('requests.json')]
                         + [v['name'] for v in vectors('encrypted.json') if 'kind' not in v])
def test_every_request_vector_is_accepted_and_parsed(name):
    vector = next(v for v in vectors('requests.json') + vectors('encrypted.json')
                  if v['name'] == name)
    expected = {**vector.get('expected', {}), **vector}  # quirk vectors keep facts in 'expected'
    with ServerThread(password=VECTOR_PASSWORD, callback_result='CLICK') as thread:
        if expected['message_type'] == 'NOTIFY':
            exchange(thread.port, message_bytes(by_name('requests.json', 'register')))
            for event in thread.list_applications()[0].notifications:
                thread.set_notification_enabled('Vector App', event.name, True)
        answer = split(exchange(thread.port, message_bytes(vector)))
        assert parse_response(answer[0], '-OK').action == expected['message_type']
        received = thread.received[-1].received
        if 'sections' in expected:
            assert [[list(pair) for pair in s] for s in received.sections] == expected['sections']
        assert received.resources == {r['identifier']: base64.b64decode(r['data_b64'])
                                      for r in vector.get('resources', [])}
        if 'Notification-Callback-Context' in received.headers():
            assert parse_response(answer[1], '-CALLBACK').callback_result == 'CLICK'
        else:
            assert len(answer) == 1
    if vector.get('security', expected).get('password'):
        with ServerThread(password='not the password') as thread:
            assert error_code(exchange(thread.port, message_bytes(vector))) == 400


@pytest.mark.parametrize('request_vector, response_vectors', [
    ('register', ['ok-register']),
    ('notify-socket-callback', ['ok-notify', 'callback-click']),
    ('subscribe-auth-sha256', ['ok-subscribe']),
])
def test_answers_are_the_canonical_vector_bytes(request_vector, response_vectors):
    with ServerThread(password=VECTOR_PASSWORD, callback_result='CLICK') as thread:
        exchange(thread.port, message_bytes(by_name('requests.json', 'register')))
        answer = split(exchange(thread.port, message_bytes(by_name('requests.json',
                                                                    request_vector))))
    expected = [message_bytes(by_name('responses.json', name)) for name in response_vectors]
    assert [TIMESTAMP.sub(b'T', m) for m in answer] == [TIMESTAMP.sub(b'T', m) for m in expected]


def test_errors_are_the_canonical_vector_bytes():
    with ServerThread(password='other') as thread:
        notify = message_bytes(by_name('requests.json', 'notify-minimal'))
        assert exchange(thread.port, notify) == \
            message_bytes(by_name('responses.json', 'error-unknown-application'))
        signed = message_bytes(by_name('requests.json', 'register-auth-sha256'))
        assert exchange(thread.port, signed) == \
            message_bytes(by_name('responses.json', 'error-not-authorized'))


# -- every error code --------------------------------------------------------------------------

@pytest.mark.parametrize('data, code', [
    (b'GET / HTTP/1.1\r\nHost: example\r\n\r\n', 301),
    (b'<policy-file-request/>\x00', 301),
    (b'\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', 301),
    (b'GNTP/1.0 ' + b'x' * 5000, 301),
    (b'GNTP/2.0 NOTIFY NONE\r\n\r\n', 302),
    (b'GNTP/1.0 FROB NONE\r\nName: value\r\n\r\n', 300),
    (b'GNTP/1.0 NOTIFY ROT13:00\r\n\r\n', 300),
    (b'GNTP/1.0 NOTIFY NONE\r\nnot a header line\r\n\r\n', 300),
    (REGISTER.replace(b'Count: 1', b'Count: 0'), 300),
    (REGISTER.replace(b'Count: 1', b'Count: many'), 300),
    (b'GNTP/1.0 REGISTER NONE\r\nApplication-Name: App\r\n\r\n', 303),
    (NOTIFY.replace(b'Notification-Title: Hi\r\n', b''), 303),
    (b'GNTP/1.0 SUBSCRIBE NONE\r\nSubscriber-ID: 1\r\nSubscriber-Name: me\r\n\r\n', 400),
    (b'GNTP/1.0 NOTIFY NONE SHA256:00ff.00ff\r\n', 400),
    (b'GNTP/1.0 NOTIFY AES:00112233445566778899AABBCCDDEEFF\r\n', 400),
    (b'GNTP/1.0 NOTIFY AES:0011 SHA256:00ff.00ff\r\n', 400),
    (NOTIFY, 401),
])
def test_bad_requests_get_their_error_code_and_the_server_keeps_serving(
        gntp_server_thread, data, code):
    assert error_code(exchange(gntp_server_thread.port, data)) == code
    assert gntp_server_thread.errors[-1][1] == code
    assert len(gntp_server_thread.received) == (1 if code == 401 else 0)
    assert_still_serving(gntp_server_thread.port)


def test_unknown_and_disabled_notifications_get_402_and_404(gntp_server_thread):
    pub = publisher(gntp_server_thread.port)
    pub.register()
    with pytest.raises(GNTPResponseError) as unknown:
        pub.publish('never-registered', 'Hi')
    with pytest.raises(GNTPResponseError) as disabled:
        pub.publish('quiet', 'Hi')
    assert (unknown.value.error_code, disabled.value.error_code) == (402, 404)
    gntp_server_thread.call(
        lambda: setattr(gntp_server_thread.server.applications['App'].events['quiet'],
                        'enabled', True))
    assert pub.publish('quiet', 'Hi').ok


@pytest.mark.gntp_server(display=BrokenDisplay())
def test_a_failing_handler_gives_500_and_is_logged(gntp_server_thread, caplog):
    with caplog.at_level(logging.ERROR, logger='gntplib.server'):
        with pytest.raises(GNTPResponseError) as failure:
            publisher(gntp_server_thread.port).register()
    assert failure.value.error_code == 500
    assert 'display exploded' in caplog.text
    assert gntp_server_thread.applications == {}  # nothing half-registered


@pytest.mark.gntp_server(password='secret')
def test_passwords_every_hash_and_cipher(gntp_server_thread):
    port = gntp_server_thread.port
    for hashing in (keys.MD5, keys.SHA1, keys.SHA256, keys.SHA512):
        assert publisher(port, password='secret', key_hashing=hashing).register().ok
    for cipher in (ciphers.AES, ciphers.DES, ciphers.DES3):
        pub = publisher(port, password='secret', key_hashing=keys.SHA512, encryption=cipher)
        assert pub.publish('update', 'Encrypted', icon=Resource(b'icon bytes')).ok
        assert gntp_server_thread.received[-1].received.encryption_algorithm_id == \
            cipher.algorithm_id
    assert gntp_server_thread.received[-1].notification.icon.data == b'icon bytes'
    with pytest.raises(GNTPAuthenticationError):
        publisher(port, password='wrong').register()


@pytest.mark.gntp_server(password=['first', 'second'], require_password_from_loopback=True)
def test_required_key_hash_and_password_lists(gntp_server_thread):
    port = gntp_server_thread.port
    with pytest.raises(GNTPAuthenticationError) as missing:
        publisher(port).register()
    assert missing.value.description == 'Missing key hash'
    assert publisher(port, password='second').register().ok


def test_key_hash_without_a_configured_password_is_refused(gntp_server_thread):
    with pytest.raises(GNTPAuthenticationError):
        publisher(gntp_server_thread.port, password='anything').register()


@pytest.mark.parametrize('address, loopback', [
    (('127.0.0.1', 1), True), (('127.8.9.10', 1), True), (('::1', 1, 0, 0), True),
    (('::ffff:127.0.0.1', 1, 0, 0), True), (('10.0.0.1', 1), False),
    (('2001:db8::1', 1, 0, 0), False), (('localhost', 1), False), ('', False),
])
def test_is_loopback(address, loopback):
    assert is_loopback(address) is loopback


@pytest.mark.gntp_server(password=VECTOR_PASSWORD, encrypt_responses=True,
                         callback_result='CLOSE')
def test_encrypted_responses_in_spec_mode(gntp_server_thread):
    vector = by_name('encrypted.json', 'notify-aes-sha256')
    exchange(gntp_server_thread.port, message_bytes(by_name('requests.json', 'register')))
    ok, callback = split(exchange(gntp_server_thread.port, message_bytes(vector)))
    iv = vector['security']['iv_hex']
    assert ok.startswith(f'GNTP/1.0 -OK AES:{iv}\r\n'.encode())
    assert callback.startswith(f'GNTP/1.0 -CALLBACK AES:{iv}\r\n'.encode())
    key = Key(VECTOR_PASSWORD, 'SHA256', bytes.fromhex(vector['security']['salt_hex']))
    assert parse_response(ok, '-OK', key).notification_id == 'vec-0001'
    assert parse_response(callback, '-CALLBACK', key).callback_result == 'CLOSE'
    # The client reads encrypted answers too; -ERROR always stays plain.
    pub = publisher(gntp_server_thread.port, password=VECTOR_PASSWORD, encryption=ciphers.AES)
    assert pub.register().encryption_algorithm_id == 'AES'
    with pytest.raises(GNTPResponseError) as disabled:
        pub.publish('quiet', 'Hi')
    assert disabled.value.response is not None
    assert disabled.value.response.encryption_algorithm_id == 'NONE'


@pytest.mark.gntp_server(password=VECTOR_PASSWORD)
def test_plain_responses_to_encrypted_requests_by_default(gntp_server_thread):
    exchange(gntp_server_thread.port, message_bytes(by_name('requests.json', 'register')))
    vector = by_name('encrypted.json', 'notify-des-md5')
    with socket.create_connection(('127.0.0.1', gntp_server_thread.port), timeout=5) as sock:
        sock.sendall(message_bytes(vector))
        assert sock.recv(4096).startswith(b'GNTP/1.0 -OK NONE\r\nResponse-Action: NOTIFY\r\n')


@pytest.mark.gntp_server(password=VECTOR_PASSWORD)
def test_a_resource_that_does_not_decrypt_gets_400(gntp_server_thread):
    parts = by_name('encrypted.json', 'notify-aes-sha256-with-icon')['message_parts']
    icon = bytes.fromhex(parts[3]['binary_hex'])
    # The last block swapped for the first: same length, but the padding no longer checks out.
    tampered = b''.join(p['text'].encode() if 'text' in p else bytes.fromhex(p['binary_hex'])
                        for p in parts[:3]) + icon[:-16] + icon[:16] + parts[4]['text'].encode()
    assert error_code(exchange(gntp_server_thread.port, tampered)) == 400
    assert 'cannot decrypt resource' in gntp_server_thread.errors[-1][2]


# -- limits and robustness ---------------------------------------------------------------------

@pytest.mark.gntp_server(limits=ReaderLimits(max_resource_size=1000, max_header_count=8))
def test_documented_limits_give_300(gntp_server_thread):
    port = gntp_server_thread.port
    pub = publisher(port)
    pub.register()
    with pytest.raises(GNTPResponseError) as big:
        pub.publish('update', 'Big', icon=Resource(b'x' * 1001))
    many = Publisher('App', ['update'], port=port,
                     custom_headers=[(f'H{i}', 'v') for i in range(8)])
    with pytest.raises(GNTPResponseError) as crowded:
        many.publish('update', 'Crowded')
    assert (big.value.error_code, crowded.value.error_code) == (300, 300)
    assert pub.publish('update', 'Small', icon=Resource(b'x' * 1000)).ok


@pytest.mark.gntp_server(idle_timeout=0.2)
@pytest.mark.parametrize('data', [b'', b'GNTP/1.0 NOTIFY NONE\r\nApplication-Name: App\r\n'])
def test_silent_clients_get_200_timed_out(gntp_server_thread, data):
    assert error_code(exchange(gntp_server_thread.port, data)) == 200
    assert_still_serving(gntp_server_thread.port)


@pytest.mark.gntp_server(idle_timeout=5, request_timeout=0.4)
@pytest.mark.gen_test(timeout=10)
async def test_a_trickling_client_is_cut_off_by_the_request_timeout(gntp_server, io_loop):
    stream = await connect(gntp_server.port)
    data = b'GNTP/1.0 NOTIFY NONE\r\nX-Pad: ' + b'a' * 10000
    position = 0

    def drip() -> None:  # one byte every 20 ms: never silent long enough for idle_timeout
        nonlocal position
        if not stream.closed():
            stream.write(data[position:position + 1]).add_done_callback(lambda f: f.exception())
            position += 1
    dripper = PeriodicCallback(drip, 20)
    dripper.start()
    started = io_loop.time()
    try:
        answer = await stream.read_until(b'\r\n\r\n')
    finally:
        dripper.stop()
        stream.close()
    assert b'Error-Code: 200' in answer
    assert 0.3 < io_loop.time() - started < 4
    assert gntp_server.errors[-1][1] == 200


def test_a_50_mb_header_line_gets_300_while_the_client_is_still_sending(gntp_server_thread):
    payload = b'GNTP/1.0 NOTIFY NONE\r\nX-Huge: ' + b'a' * (50 * 1024 * 1024)
    sock = socket.create_connection(('127.0.0.1', gntp_server_thread.port), timeout=10)
    send_errors: List[OSError] = []

    def send() -> None:
        try:
            sock.sendall(payload)
        except OSError as exc:
            send_errors.append(exc)
    sender = threading.Thread(target=send)
    sender.start()
    answer = b''
    while not answer.endswith(b'\r\n\r\n'):
        chunk = sock.recv(4096)
        assert chunk, 'closed without an answer'
        answer += chunk
    sender.join(10)
    sock.close()
    assert error_code(answer) == 300
    assert not sender.is_alive()
    assert_still_serving(gntp_server_thread.port)


@pytest.mark.parametrize('data', [
    REGISTER[:40],
    NOTIFY[:-2] + b'Notification-Icon: x-growl-resource://abc\r\n\r\nIdentifier: abc\r\n'
                  b'Length: 100\r\n\r\n' + b'z' * 10,
])
def test_truncated_requests_are_dropped_and_nothing_else_is_lost(gntp_server_thread, data):
    assert publisher(gntp_server_thread.port).register().ok
    with socket.create_connection(('127.0.0.1', gntp_server_thread.port)) as sock:
        sock.sendall(data)
    # Connections are accepted in order, so the truncated one is handled before this one.
    assert publisher(gntp_server_thread.port).publish('update', 'after').ok
    received = gntp_server_thread.received
    assert len(received) == 2 and received[-1].notification.title == 'after'
    gntp_server_thread.wait_for(lambda server: server.connections == 0)


@pytest.mark.gntp_server(idle_timeout=5)
@pytest.mark.gen_test(timeout=30)
async def test_thousands_of_connections_and_hundreds_of_idle_ones(gntp_server):
    idle = [await connect(gntp_server.port) for _ in range(300)]
    try:
        for _ in range(20):  # 2000 requests, 100 at a time
            answers = await asyncio.gather(*[async_exchange(gntp_server.port, REGISTER)
                                             for _ in range(100)])
            assert all(a.startswith(b'GNTP/1.0 -OK NONE\r\n') for a in answers)
        garbage = await asyncio.gather(*[async_exchange(gntp_server.port, b'\x00junk\r\n\r\n')
                                         for _ in range(100)])
        assert all(b'Error-Code: 301' in g for g in garbage)
    finally:
        for stream in idle:
            stream.close()
    assert len(gntp_server.received) == 2000


@pytest.mark.gntp_server(max_connections=3)
@pytest.mark.gen_test(timeout=10)
async def test_connections_beyond_max_connections_are_closed(gntp_server):
    idle = [await connect(gntp_server.port) for _ in range(3)]
    await gntp_server.wait_for(lambda: gntp_server.connections == 3)
    assert await async_exchange(gntp_server.port, REGISTER) == b''
    for stream in idle:
        stream.close()
    await gntp_server.wait_for(lambda: gntp_server.connections == 0)
    assert (await async_exchange(gntp_server.port, REGISTER)).startswith(b'GNTP/1.0 -OK')


# -- socket callbacks --------------------------------------------------------------------------

@pytest.mark.gntp_server(callback_result='CLICKED')
def test_callback_result_answers_every_socket_callback(gntp_server_thread):
    clicks: List[Any] = []
    pub = publisher(gntp_server_thread.port, app_specific_headers=[('Tag', '7')])
    pub.register()
    ok = pub.publish('update', 'Hi', id_='n-1',
                     gntp_callback=SocketCallback('ctx', 'string', on_click=clicks.append))
    assert ok.notification_id == 'n-1'
    headers = dict(clicks[0].headers)
    timestamp = headers.pop('Notification-Callback-Timestamp')
    assert re.fullmatch(r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ', timestamp)
    assert headers == {
        'Application-Name': 'App', 'Notification-ID': 'n-1',
        'Notification-Callback-Result': 'CLICK', 'Notification-Callback-Context': 'ctx',
        'Notification-Callback-Context-Type': 'string', 'Data-Tag': '7'}
    assert gntp_server_thread.pending_callbacks == {}


@pytest.mark.parametrize('result, event, spelling', [
    ('CLICK', 'click', 'CLICK'), ('close', 'close', 'CLOSE'), ('TIMEDOUT', 'timeout', 'TIMEDOUT'),
    ('CLICKED', 'click', 'CLICK'), ('TIMEOUT', 'timeout', 'TIMEDOUT'),
])
def test_send_callback_triggers_the_result(gntp_server_thread, result, event, spelling):
    seen: List[Tuple[str, str]] = []
    sent: List[bool] = []
    handlers = {f'on_{name}': (lambda r, name=name: seen.append((name, r.callback_result)))
                for name in ('click', 'close', 'timeout')}
    pub = publisher(gntp_server_thread.port)
    pub.register()

    def on_ok(response: Any) -> None:
        [handle] = gntp_server_thread.pending_callbacks
        target = handle if result.isupper() else 'n-2'  # by handle, or by Notification-ID
        sent.append(gntp_server_thread.send_callback(target, result))

    pub.publish('update', 'Hi', id_='n-2', callback=on_ok,
                gntp_callback=SocketCallback('c', 't', **handlers))
    assert sent == [True]
    assert seen == [(event, spelling)]


@pytest.mark.gntp_server(notification_timeout=0.2)
def test_non_sticky_notifications_time_out_and_sticky_ones_wait(gntp_server_thread):
    port = gntp_server_thread.port
    timeouts: List[Any] = []
    pub = publisher(port, callback_timeout=0.5)
    pub.register()
    pub.publish('update', 'fades', gntp_callback=SocketCallback(on_timeout=timeouts.append))
    assert [r.callback_result for r in timeouts] == ['TIMEDOUT']
    pub.publish('update', 'sticky', sticky=True,
                gntp_callback=SocketCallback(on_timeout=timeouts.append))
    assert len(timeouts) == 1  # the client gave up after 0.5 s; no callback was sent
    gntp_server_thread.wait_for(lambda server: not server.pending_callbacks)


def test_a_callback_for_a_client_that_left_is_dropped(gntp_server_thread):
    assert publisher(gntp_server_thread.port).register().ok
    with socket.create_connection(('127.0.0.1', gntp_server_thread.port), timeout=5) as sock:
        sock.sendall(NOTIFY_CALLBACK)
        assert sock.recv(4096).startswith(b'GNTP/1.0 -OK')
        assert list(gntp_server_thread.pending_callbacks.values())[0].context == 'ctx'
    gntp_server_thread.wait_for(lambda server: not server.pending_callbacks)
    with pytest.raises(GNTPValidationError):
        gntp_server_thread.send_callback('cb-1')


@pytest.mark.gen_test(timeout=10)
async def test_only_one_callback_per_notification(gntp_server):
    assert (await async_exchange(gntp_server.port, REGISTER)).startswith(b'GNTP/1.0 -OK')
    stream = await connect(gntp_server.port)
    await stream.write(NOTIFY_CALLBACK)
    assert (await stream.read_until(b'\r\n\r\n')).startswith(b'GNTP/1.0 -OK')
    first = gntp_server.send_callback('cb-1', 'CLICK')
    second = gntp_server.send_callback('cb-1', 'CLOSE')
    assert (await first, await second) == (True, False)
    rest = await stream.read_until_close()
    assert rest.count(b'-CALLBACK') == 1 and b'Result: CLICK' in rest
    with pytest.raises(GNTPValidationError):
        normalize_callback_result('DOUBLECLICK')
    with pytest.raises(GNTPValidationError):
        gntp_server.send_callback(12345)


# -- subscriptions and forwarding --------------------------------------------------------------

def test_subscribe_forwards_register_and_notify_to_the_subscriber():
    subscriber_id = 'sub-0001'
    with ServerThread(password='hub-pw', subscription_ttl=120, callback_result='CLICK') as hub, \
            ServerThread(password='hub-pw' + subscriber_id) as receiver:
        subscriber = Subscriber(subscriber_id, 'laptop', ('127.0.0.1', hub.port), 'hub-pw',
                                port=receiver.port, timeout=5)
        assert subscriber.subscribe().subscription_ttl == 120
        assert subscriber.ttl == 120
        [subscription] = hub.subscribers.values()
        assert (subscription.name, subscription.host, subscription.port) == \
            ('laptop', '127.0.0.1', receiver.port)
        assert 'hub-pw' not in repr(subscription)
        pub = publisher(hub.port)
        pub.register()
        pub.publish('update', 'Forwarded', 'body', id_='f-1', icon=Resource(b'icon'),
                    gntp_callback=SocketCallback(on_click=lambda r: None))
        for number in range(3):  # forwarded in order: none overtakes the REGISTER
            pub.publish('update', f'Next {number}')
        register, notify, *others = receiver.wait_for_requests(5)
        hub.wait_for(lambda server: len(server.forwards) == 5)
        assert [error for _, _, error in hub.forwards] == [None] * 5
        assert [r.notification.title for r in others if isinstance(r, NotifyRequest)] == \
            ['Next 0', 'Next 1', 'Next 2']
        assert subscriber.subscribe().ok  # a renewal keeps the subscription
        assert list(hub.subscribers) == [subscriber_id]
        assert isinstance(register, RegisterRequest) and isinstance(notify, NotifyRequest)
        assert register.app_name == 'App' and notify.notification.title == 'Forwarded'
        assert resource(notify.notification.icon).data == b'icon'
        assert notify.notification.gntp_callback is None
        assert notify.received is not None and notify.received.key is not None
        assert notify.received.key.algorithm_id == 'SHA256'


def test_forwarding_failures_are_logged_and_expired_subscribers_dropped(caplog):
    with ServerThread(password='hub-pw') as hub:
        dead = socket.socket()
        dead.bind(('127.0.0.1', 0))
        dead_port = dead.getsockname()[1]
        dead.close()
        Subscriber('s-1', 'gone', ('127.0.0.1', hub.port), 'hub-pw', port=dead_port).subscribe()
        with caplog.at_level(logging.WARNING, logger='gntplib.server'):
            assert publisher(hub.port).register().ok
            hub.wait_for(lambda server: len(server.forwards) == 1)
        assert hub.forwards[0][2] is not None and 'forwarding REGISTER' in caplog.text
        hub.call(lambda: setattr(running(hub).subscribers['s-1'], 'expires', 0))
        assert publisher(hub.port).register().ok
        assert hub.subscribers == {} and len(hub.forwards) == 1


def test_subscribe_needs_the_hub_password(gntp_server_thread):
    with pytest.raises(GNTPAuthenticationError):
        Subscriber('s-1', 'me', ('127.0.0.1', gntp_server_thread.port), 'pw').subscribe()


# -- display backends --------------------------------------------------------------------------

def test_console_and_json_displays_describe_what_happened():
    text, lines = io.StringIO(), io.StringIO()
    with ServerThread(password='pw', callback_result='CLOSE',
                      display=[ConsoleDisplay(text, prefix='> '), JSONLinesDisplay(lines)]) as t:
        pub = publisher(t.port, password='pw', key_hashing=keys.SHA512)
        pub.register()
        pub.publish('update', 'Title', 'two\nlines', id_='i', sticky=True, priority=-1,
                    icon=Resource(b'png'), gntp_callback=SocketCallback('ctx'))
        pub.publish('update', 'By URL', gntp_callback='http://example.com/cb')
        Subscriber('s', 'sub', ('127.0.0.1', t.port), 'pw').subscribe()
        with pytest.raises(GNTPResponseError):
            pub.publish('quiet', 'Nope')
        t.wait_for(lambda server: not server.pending_callbacks)
    output = text.getvalue()
    assert all(line.startswith('> ') for line in output.splitlines())
    for expected in ('REGISTER from 127.0.0.1:', 'App, events: update, quiet (disabled)',
                     'App/update "Title" [key SHA512]', '>     two\n>     lines',
                     'sticky, priority -1', "socket callback (context 'ctx')",
                     'URL callback http://example.com/cb', 'bytes, md5', "subscriber 'sub'",
                     'ERROR from 127.0.0.1:', '404 Notification disabled', 'CALLBACK to '):
        assert expected in output
    objects = [json.loads(line) for line in lines.getvalue().splitlines()]
    assert [o['type'] for o in objects] == ['REGISTER', 'NOTIFY', 'CALLBACK', 'NOTIFY',
                                            'SUBSCRIBE', 'ERROR']
    for o in objects:
        assert {'type', 'application', 'notification', 'title', 'text', 'headers',
                'resources'} <= set(o)
    notify = objects[1]
    assert (notify['title'], notify['text'], notify['sticky'], notify['priority']) == \
        ('Title', 'two\nlines', True, -1)
    assert notify['resources'] == [{'identifier': Resource(b'png').identifier(), 'length': 3,
                                    'md5': Resource(b'png').identifier()}]
    assert notify['headers']['Notification-ID'] == 'i'
    assert notify['key_hash_algorithm'] == 'SHA512'
    assert objects[2]['result'] == 'CLOSE' and objects[5]['code'] == 404


def test_display_event_without_a_callback_cannot_send_one():
    event = DisplayEvent(NotifyRequest('App', Notification('update', 'Hi')), ('127.0.0.1', 1))
    with pytest.raises(GNTPValidationError):
        event.send_callback('CLICK')
    assert format_address(('::1', 5, 0, 0)) == '[::1]:5' and format_address('x') == 'x'


def test_notify_send_missing_is_skipped_cleanly(caplog):
    display = NotifySendDisplay(command='gntplib-no-such-notify-send')
    assert not display.available
    with caplog.at_level(logging.WARNING, logger='gntplib.display'):
        with ServerThread(display=display) as thread:
            pub = publisher(thread.port)
            pub.register()
            assert pub.publish('update', 'one').ok and pub.publish('update', 'two').ok
    assert caplog.text.count('is not installed') == 1


@pytest.mark.skipif(sys.platform == 'win32', reason='uses a shell script')
def test_notify_send_gets_title_text_urgency_and_icon(tmp_path):
    script = tmp_path / 'fake-notify-send'
    # One file per run: the display does not wait for one notify-send before the next.
    script.write_text(f'#!/bin/sh\nfor a in "$@"; do echo "$a"; done > {tmp_path}/call.$$\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    display = NotifySendDisplay(command=str(script), expire_time=3000)
    with ServerThread(display=display) as thread:
        pub = publisher(thread.port)
        pub.register()
        pub.publish('update', 'Urgent', 'body', priority=2, sticky=True, icon=Resource(b'ICON'))
        pub.publish('update', 'Calm', priority=-2)
    runs = [path.read_text().split('\n')[:-1] for path in tmp_path.glob('call.*')]
    calls = {lines[lines.index('--') + 1]: lines for lines in runs}
    urgent, calm = calls['Urgent'], calls['Calm']
    assert urgent[:3] == ['--app-name=App', '--urgency=critical', '--expire-time=0']
    assert urgent[-3:] == ['--', 'Urgent', 'body']
    icon_arg = next(a for a in urgent if a.startswith('--icon='))
    assert not os.path.exists(icon_arg[len('--icon='):])  # removed by close()
    assert calm[1:3] == ['--urgency=low', '--expire-time=3000']
    assert calm[-2:] == ['Calm', '']


@pytest.mark.skipif(shutil.which('notify-send') is None, reason='notify-send is not installed')
def test_real_notify_send_runs():  # pragma: no cover - depends on the machine
    display = NotifySendDisplay()
    with ServerThread(display=display) as thread:
        pub = publisher(thread.port)
        pub.register()
        assert pub.publish('update', 'gntplib test', 'from the test suite').ok


# -- listening and ServerThread ----------------------------------------------------------------

@pytest.mark.gen_test
async def test_listen_binds_loopback_by_default_and_reports_bind_errors():
    server = GNTPServer()
    server.listen(0)
    port = server.port
    assert port is not None
    try:
        assert {s.getsockname()[0] for s in server._sockets.values()} <= {'127.0.0.1'}
        answer = await async_exchange(port, REGISTER)
        assert answer.startswith(b'GNTP/1.0 -OK')
        with pytest.raises(GNTPConnectionError):
            GNTPServer().listen(port)
    finally:
        await server.shutdown()
    assert 'GNTPServer port=' in repr(server)


def test_server_thread_lifecycle_and_errors():
    thread = ServerThread(password='pw')
    assert not thread.running
    with pytest.raises(GNTPConnectionError):
        thread.received
    with thread:
        assert thread.running and thread.port > 0
        with pytest.raises(GNTPConnectionError):
            ServerThread(port=thread.port).start()
        with pytest.raises(GNTPConnectionError):
            thread.wait_for_requests(1, timeout=0.1)
        assert 'pw' not in repr(thread) + repr(thread.server)
    thread.stop()  # idempotent
    assert not thread.running
    with pytest.raises(GNTPValidationError):
        ServerThread(lambda: GNTPServer(), password='pw')
    with pytest.raises(GNTPValidationError):
        ServerThread(password=['']).start()


def test_server_thread_with_a_factory_and_a_grace_period():
    stream: Optional[socket.socket] = None
    thread = ServerThread(lambda: GNTPServer(callback_result=None)).start()
    try:
        assert publisher(thread.port).register().ok
        stream = socket.create_connection(('127.0.0.1', thread.port), timeout=5)
        stream.sendall(NOTIFY_CALLBACK)
        assert stream.recv(4096).startswith(b'GNTP/1.0 -OK')
    finally:
        thread.stop(grace=0.2)  # the pending callback is cut off after the grace period
    assert stream is not None and stream.recv(4096) == b''
    stream.close()


@pytest.mark.gen_test(timeout=10)
async def test_a_shutting_down_server_accepts_nothing_new_during_its_grace_period(gntp_server):
    idle = await connect(gntp_server.port)  # keeps the grace period running
    await gntp_server.wait_for(lambda: gntp_server.connections == 1)
    shutting_down = asyncio.ensure_future(gntp_server.shutdown(grace=5.0))
    await asyncio.sleep(0)  # one loop step: the task runs up to its wait for the grace period
    assert not shutting_down.done() and gntp_server.connections == 1
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(('127.0.0.1', gntp_server.port), timeout=2).close()
    idle.close()
    await asyncio.wait_for(shutting_down, 5)  # the grace period ends with the last connection
