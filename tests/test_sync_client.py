"""The synchronous API end to end, against real GNTP peers on 127.0.0.1."""

from __future__ import annotations

import hashlib
import os
import threading
import time
from typing import List

import pytest

import gntplib
from gntplib import (
    Event, GNTPAuthenticationError, GNTPConnectionError, GNTPError, GNTPResponseError,
    GNTPValidationError, Publisher, Resource, SocketCallback, Subscriber,
)
from gntplib.ciphers import AES, DES, DES3
from gntplib.connections import GNTPClient, generate_messages
from gntplib.keys import MD5, SHA1, SHA256, SHA512
from gntplib.packers import pack_response
from gntplib.reader import ReceivedMessage
from gntplib.requests import NotifyRequest, RegisterRequest, Response, SubscribeRequest
from tests.support.peers import ScriptedPeer, ok_for, unanswered_port, unused_port
from tests.support.vectors import by_name, message_bytes

PASSWORD = 'pässwörd€'
CALLBACK_CLICK = message_bytes(by_name('responses.json', 'callback-click'))


@pytest.fixture
def peer():
    with ScriptedPeer() as p:
        yield p


def notify_of(message: ReceivedMessage) -> NotifyRequest:
    request = message.to_request()
    assert isinstance(request, NotifyRequest)
    return request


def publisher_for(peer, **kwargs):
    return Publisher('App', ['update', ('quiet', False)], port=peer.port, **kwargs)


# -- happy paths ---------------------------------------------------------------------------

def test_register_and_publish_reach_the_server(peer):
    publisher = publisher_for(peer)
    seen: List[Response] = []
    response = publisher.register(callback=seen.append)
    assert response.ok and response.action == 'REGISTER'
    assert seen == [response]

    response = publisher.publish('update', 'Hello', 'World', id_='n-1', priority=5,
                                 sticky=True, coalescing_id='c-1')
    assert response.action == 'NOTIFY' and response.notification_id == 'n-1'

    register, notify = [m.to_request() for m in peer.received]
    assert isinstance(register, RegisterRequest)
    assert [(e.name, e.enabled) for e in register.events] == [('update', True), ('quiet', False)]
    assert isinstance(notify, NotifyRequest)
    n = notify.notification
    assert (n.name, n.title, n.text, n.id_, n.sticky, n.priority, n.coalescing_id) == \
        ('update', 'Hello', 'World', 'n-1', True, 2, 'c-1')


def test_unicode_text_and_line_breaks_travel_intact(peer):
    publisher_for(peer).publish('update', 'Grüße ✓', 'line one\nline two — 日本語')
    n = peer.received[-1].to_request().notification
    assert (n.title, n.text) == ('Grüße ✓', 'line one\nline two — 日本語')


def test_cr_in_values_cannot_inject_headers(peer):
    publisher_for(peer).publish('update', 'Title\r\nX-Injected: yes', 'a\rb\r\nc')
    main = dict(peer.received[-1].sections[0])
    assert 'X-Injected' not in main
    assert main['Notification-Title'] == 'Title\nX-Injected: yes'
    assert main['Notification-Text'] == 'a\nb\nc'


@pytest.mark.parametrize('hashing', [MD5, SHA1, SHA256, SHA512], ids=lambda a: a.algorithm_id)
@pytest.mark.parametrize('encryption', [None, DES, AES, DES3],
                         ids=lambda a: a.algorithm_id if a else 'NONE')
def test_every_hash_and_cipher_pair_authenticates(hashing, encryption):
    if encryption is not None and encryption.key_size > hashing.key_size:
        with pytest.raises(GNTPValidationError):
            Publisher('App', ['update'], password=PASSWORD, key_hashing=hashing,
                      encryption=encryption)
        return
    with ScriptedPeer(password=PASSWORD) as peer:
        publisher = publisher_for(peer, password=PASSWORD, key_hashing=hashing,
                                  encryption=encryption)
        publisher.register()
        publisher.publish('update', 'Secret ✓', 'text', icon=Resource(data=b'\x89PNG\r\n\r\n'))
        message = peer.received[-1]
        assert message.key is not None
        assert message.key.algorithm_id == hashing.algorithm_id
        assert message.encryption_algorithm_id == (encryption.algorithm_id if encryption
                                                   else 'NONE')
        assert notify_of(message).notification.title == 'Secret ✓'
        assert list(message.resources.values()) == [b'\x89PNG\r\n\r\n']


def test_each_message_gets_a_fresh_salt_and_iv():
    with ScriptedPeer(password='pw') as peer:
        publisher = publisher_for(peer, password='pw', encryption=AES)
        publisher.register()
        publisher.publish('update', 'Hi')
    first, second = peer.received
    assert first.key and second.key and first.cipher and second.cipher
    assert first.key.salt != second.key.salt
    assert first.cipher.iv != second.cipher.iv


def test_icon_resources_are_sent_as_binary_sections_by_md5(peer):
    app_icon = Resource(data=b'app-icon-bytes')
    event_icon = Resource(data=b'\r\n\r\nGNTP/1.0 NOTIFY NONE\r\n')
    publisher = Publisher('App', [Event('update', icon=event_icon)], icon=app_icon,
                          port=peer.port, custom_headers=[('Attachment', app_icon)])
    publisher.register()
    message = peer.received[-1]
    md5 = hashlib.md5(b'app-icon-bytes').hexdigest()
    assert dict(message.sections[0])['Application-Icon'] == f'x-growl-resource://{md5}'
    assert dict(message.sections[0])['X-Attachment'] == f'x-growl-resource://{md5}'
    assert message.resources == {md5: b'app-icon-bytes',
                                 hashlib.md5(event_icon.data or b"").hexdigest(): event_icon.data}
    assert message.to_request().events[0].icon == event_icon


def test_url_icon_is_sent_as_url(peer):
    publisher_for(peer).publish('update', 'Hi', icon='http://example.com/i.png')
    assert dict(peer.received[-1].sections[0])['Notification-Icon'] == 'http://example.com/i.png'
    assert peer.received[-1].resources == {}


def test_large_resource_goes_out_intact(peer):
    data = bytes(range(256)) * (40 * 1024 * 1024 // 256)  # 40 MB
    publisher_for(peer, timeout=30).publish('update', 'Big', icon=Resource(data=data))
    assert list(peer.received[-1].resources.values()) == [data]


def test_custom_and_app_specific_headers_get_their_prefixes(peer):
    publisher = Publisher('App', ['update'], port=peer.port,
                          custom_headers=[('X-Environment', 'prod'), ('Version', '2.0.1')],
                          app_specific_headers=[('UserID', 12345), ('Data-Session', 'abc')])
    response = publisher.publish('update', 'Hi')
    main = peer.received[-1].sections[0]
    assert ('X-Environment', 'prod') in main and ('X-Version', '2.0.1') in main
    assert ('Data-UserID', '12345') in main and ('Data-Session', 'abc') in main
    assert response.headers['Data-UserID'] == '12345'  # echoed by the server


def test_url_callback_sends_callback_target(peer):
    publisher_for(peer).publish('update', 'Hi', gntp_callback='https://example.com/clicked')
    main = dict(peer.received[-1].sections[0])
    assert main['Notification-Callback-Target'] == 'https://example.com/clicked'
    assert 'Notification-Callback-Context' not in main


def test_subscriber_stores_ttl_and_calls_callback():
    with ScriptedPeer(password='hub-pw') as hub:
        subscriber = Subscriber('sub-1', 'Me', ('127.0.0.1', hub.port), 'hub-pw', port=23054)
        assert subscriber.ttl == gntplib.DEFAULT_TTL
        seen: List[Response] = []
        response = subscriber.subscribe(callback=seen.append)
        assert subscriber.ttl == 300 and seen == [response]
        request = hub.received[-1].to_request()
        assert isinstance(request, SubscribeRequest)
        assert (request.id_, request.name, request.port) == ('sub-1', 'Me', 23054)
        assert hub.received[-1].key is not None  # SUBSCRIBE always carries a key hash
        assert gntplib.subscribe('sub-1', 'Me', ('127.0.0.1', hub.port), 'hub-pw') == 300


def test_quick_publish_registers_then_notifies(peer):
    response = gntplib.publish('QuickApp', 'Alert', 'Warning', 'Hot', port=peer.port)
    assert response.action == 'NOTIFY'
    assert [m.message_type for m in peer.received] == ['REGISTER', 'NOTIFY']


# -- socket callbacks ----------------------------------------------------------------------

def _ok_then(*callback_parts):
    def script(conn):
        return [ok_for(conn.read_request()), *callback_parts]
    return script


@pytest.mark.parametrize('result,handler', [('CLICK', 'click'), ('CLICKED', 'click'),
                                            ('CLOSE', 'close'), ('CLOSED', 'close'),
                                            ('TIMEOUT', 'timeout'), ('TIMEDOUT', 'timeout')])
def test_socket_callback_runs_the_matching_handler(result, handler):
    callback = CALLBACK_CLICK.replace(b'Result: CLICK', b'Result: ' + result.encode())
    calls = []
    with ScriptedPeer(_ok_then(callback)) as peer:
        sc = SocketCallback('open-download 42', 'string',
                            on_click=lambda r: calls.append(('click', r)),
                            on_close=lambda r: calls.append(('close', r)),
                            on_timeout=lambda r: calls.append(('timeout', r)))
        response = publisher_for(peer).publish('update', 'Hi', gntp_callback=sc)
    assert response.action == 'NOTIFY'
    assert [name for name, _ in calls] == [handler]
    assert calls[0][1].headers.get('Notification-Callback-Context') == 'open-download 42'


def test_callback_in_the_same_read_as_ok_is_not_lost():
    """Growl 2.x writes -OK and -CALLBACK back to back; one recv() may return both."""
    stream = message_bytes(by_name('responses.json', 'quirk-growl2-stream-ok-then-callback'))

    def script(conn):
        conn.read_request()
        return stream
    closes: List[Response] = []
    with ScriptedPeer(script) as peer:
        publisher_for(peer).publish('update', 'Hi', on_close=closes.append,
                                    context='open-download 42', context_type='string')
    assert len(closes) == 1 and closes[0].callback_result == 'CLOSE'


def test_socket_callback_options_build_a_socket_callback(peer):
    publisher_for(peer, callback_timeout=0.2).publish('update', 'Hi', context='ctx',
                                                      context_type='string')
    main = dict(peer.received[-1].sections[0])
    assert (main['Notification-Callback-Context'],
            main['Notification-Callback-Context-Type']) == ('ctx', 'string')


def test_publish_stops_waiting_for_a_callback_after_callback_timeout():
    release = threading.Event()

    def script(conn):
        conn.send(ok_for(conn.read_request()))
        release.wait(10)
    clicks: List[Response] = []
    with ScriptedPeer(script) as peer:
        start = time.monotonic()
        response = publisher_for(peer, callback_timeout=0.3).publish(
            'update', 'Sticky', sticky=True, on_click=clicks.append)
        elapsed = time.monotonic() - start
        release.set()
    assert response.ok and clicks == []
    assert 0.25 <= elapsed < 3


def test_publish_returns_when_server_closes_without_a_callback():
    def script(conn):
        conn.send(ok_for(conn.read_request()))  # then the peer closes
    with ScriptedPeer(script) as peer:
        start = time.monotonic()
        response = publisher_for(peer, callback_timeout=30).publish('update', 'Hi',
                                                                    on_click=print)
    assert response.ok and time.monotonic() - start < 5


def test_legacy_subclassed_socket_callback_is_dispatched():
    class Handler(SocketCallback):
        clicked = None

        def on_click(self, response):
            Handler.clicked = response.context
    with ScriptedPeer(_ok_then(CALLBACK_CLICK)) as peer:
        publisher_for(peer).publish('update', 'Hi', gntp_callback=Handler('open-download 42'))
    assert Handler.clicked == 'open-download 42'


# -- errors ----------------------------------------------------------------------------------

def test_connect_timeout_is_a_connection_error():
    with unanswered_port() as port:
        publisher = Publisher('App', ['update'], host='127.0.0.1', port=port, timeout=0.3)
        started = time.monotonic()
        with pytest.raises(GNTPConnectionError, match='timed out connecting'):
            publisher.register()
        assert 0.25 < time.monotonic() - started < 2


def test_connection_refused_is_a_connection_error():
    publisher = Publisher('App', ['update'], port=unused_port())
    with pytest.raises(GNTPConnectionError, match='connecting failed') as info:
        publisher.register()
    assert isinstance(info.value, ConnectionError) and info.value.__cause__ is not None


def test_silent_server_times_out():
    release = threading.Event()

    def script(conn):
        conn.read_request()
        release.wait(10)
    with ScriptedPeer(script) as peer:
        start = time.monotonic()
        with pytest.raises(GNTPConnectionError, match='timed out'):
            publisher_for(peer, timeout=0.3).register()
        assert time.monotonic() - start < 3
        release.set()


def test_slow_byte_by_byte_answer_is_still_read(peer):
    def script(conn):
        for byte in ok_for(conn.read_request()):
            conn.send(bytes([byte]))
    with ScriptedPeer(script) as slow:
        assert publisher_for(slow).register().action == 'REGISTER'


@pytest.mark.parametrize('code,error_class', [(400, GNTPAuthenticationError),
                                              (402, GNTPResponseError),
                                              (999, GNTPResponseError)])
def test_error_responses_raise_with_code_and_description(code, error_class):
    error = pack_response(Response('-ERROR', [('Error-Code', code),
                                              ('Error-Description', 'Nope')]))
    with ScriptedPeer(lambda conn: (conn.read_request(), error)[1]) as peer:
        with pytest.raises(error_class) as info:
            publisher_for(peer).register()
    assert type(info.value) is error_class
    assert info.value.error_code == code and info.value.description == 'Nope'
    assert info.value.response.message_type == '-ERROR'
    assert f'{code} Nope' in str(info.value)


def test_wrong_password_is_an_authentication_error():
    def script(conn):
        try:
            conn.read_request()
        except GNTPAuthenticationError:
            return message_bytes(by_name('responses.json', 'error-not-authorized'))
    with ScriptedPeer(script, password='right') as peer:
        with pytest.raises(GNTPAuthenticationError, match='Invalid key hash'):
            publisher_for(peer, password='wrong').register()


@pytest.mark.parametrize('reply,error_class,match', [
    (b'HTTP/1.1 400 Bad Request\r\n\r\n', GNTPResponseError, 'not a GNTP'),
    (b'GNTP/1.0 -OK NONE\r\nno colon here\r\n\r\n', GNTPResponseError, 'malformed header'),
    (b'GNTP/1.0 -OK NONE\r\nName: \xff\xfe\r\n\r\n', GNTPResponseError, 'UTF-8'),
    (b'GNTP/2.0 -OK NONE\r\n\r\n', GNTPResponseError, 'version'),
    (b'GNTP/1.0 NOTIFY NONE\r\n\r\n', GNTPResponseError, 'unexpected message type'),
    (b'GNTP/1.0 -CALLBACK NONE\r\n\r\n', GNTPResponseError, 'expected -OK'),
    (b'GNTP/1.0 -OK AES:00112233445566778899AABBCCDDEEFF\r\nxx\r\n\r\n', GNTPResponseError,
     'encrypted'),
    (b'GNTP/1.0 -OK NONE\r\n' + b'X-Pad: ' + b'a' * 10000 + b'\r\n\r\n', GNTPResponseError,
     'larger than'),
    (b'GNTP/1.0 -O', GNTPConnectionError, 'closed in the middle'),
    (b'', GNTPConnectionError, 'without answering'),
], ids=['http', 'no-colon', 'not-utf8', 'version', 'request-type', 'callback-first',
        'encrypted-without-key', 'oversized', 'truncated', 'closed'])
def test_bad_responses_raise_gntp_errors(reply, error_class, match):
    def script(conn):
        conn.read_request()
        conn.send(reply)  # and close
    with ScriptedPeer(script) as peer:
        with pytest.raises(error_class, match=match):
            publisher_for(peer).register()


def test_truncated_response_with_whole_info_line_is_read():
    """Growl 2.x may cut a non-ASCII response short (§6.5); keep what is whole."""
    def script(conn):
        conn.read_request()
        conn.send(b'GNTP/1.0 -OK NONE\r\nResponse-Action: REGISTER\r\nOrigin-Machine-Na')
    with ScriptedPeer(script) as peer:
        response = publisher_for(peer).register()
    assert response.ok and dict(response.headers) == {'Response-Action': 'REGISTER'}


def test_reset_connection_is_a_connection_error():
    def script(conn):
        conn.read_request()
        conn.reset()
    with ScriptedPeer(script) as peer:
        with pytest.raises(GNTPConnectionError):
            publisher_for(peer).register()


def test_server_answering_before_reading_everything_is_heard():
    """A server may answer early and close (§6.1); the answer still reaches the caller."""
    def script(conn):
        conn.read_some()
        return pack_response(Response('-ERROR', [('Error-Code', 300),
                                                 ('Error-Description', 'Too big')]))
    with ScriptedPeer(script) as peer:
        with pytest.raises(GNTPResponseError) as info:
            publisher_for(peer, timeout=5).publish('update', 'Big',
                                                   icon=Resource(data=b'x' * (8 << 20)))
    assert info.value.error_code == 300


# -- validation before any I/O ------------------------------------------------------------

def test_no_events_is_a_validation_error():
    with pytest.raises(GNTPValidationError, match='at least one event'):
        Publisher('App', [])


def test_md5_with_aes_fails_when_the_publisher_is_built():
    with pytest.raises(GNTPError, match='too short'):
        Publisher('App', ['e'], password='secret', key_hashing=MD5, encryption=AES)


def test_encryption_without_password_is_refused():
    with pytest.raises(GNTPValidationError, match='needs a password'):
        GNTPClient(encryption=AES)


def test_unknown_client_argument_is_a_validation_error():
    with pytest.raises(GNTPValidationError, match='hots'):
        Publisher('App', ['e'], hots='localhost')


@pytest.mark.parametrize('kwargs', [dict(priority='high'), dict(title=''), dict(icon=42),
                                    dict(gntp_callback=42)])
def test_bad_publish_arguments_are_validation_errors(peer, kwargs):
    args = dict(name='update', title='Hi')
    args.update(kwargs)
    with pytest.raises(GNTPValidationError):
        publisher_for(peer).publish(**args)
    assert peer.connections == 0


def test_gntp_callback_and_socket_options_together_are_refused(peer):
    with pytest.raises(GNTPValidationError, match='not both'):
        publisher_for(peer).publish('update', 'Hi', gntp_callback='http://x', on_click=print)


def test_secrets_never_appear_in_reprs():
    publisher = Publisher('App', ['e'], password='hunter2-secret', encryption=AES)
    subscriber = Subscriber('id', 'me', 'hub', 'hunter2-secret')
    key = SHA256.key('hunter2-secret')
    texts = [repr(publisher), repr(subscriber), repr(publisher.gntp_client), repr(key),
             repr(AES.cipher(key)), repr(publisher.gntp_client.packer_factory)]
    for text in texts:
        assert 'hunter2' not in text
        assert key.key_hex.decode() not in text and key.key.hex() not in text


def test_generate_messages_yields_each_message(peer):
    stream = message_bytes(by_name('responses.json', 'quirk-growl2-stream-ok-then-callback'))

    def script(conn):
        conn.read_request()
        return stream
    import socket
    with ScriptedPeer(script) as p:
        with socket.create_connection(p.address, timeout=5) as sock:
            sock.sendall(b'GNTP/1.0 NOTIFY NONE\r\nApplication-Name: A\r\n'
                         b'Notification-Name: n\r\nNotification-Title: t\r\n\r\n')
            messages = generate_messages(sock)
            types = [next(messages).split(b' ')[1] for _ in range(2)]
    assert types == [b'-OK', b'-CALLBACK']


def _open_fds():
    return len(os.listdir('/proc/self/fd'))


@pytest.mark.skipif(not os.path.isdir('/proc/self/fd'), reason='needs /proc')
def test_a_thousand_failed_calls_leak_no_sockets():
    error = pack_response(Response('-ERROR', [('Error-Code', 500),
                                              ('Error-Description', 'x')]))

    def script(conn):
        message = conn.read_request()
        if message.to_request().notification.title == 'err':
            return error
        return None  # close without answering
    with ScriptedPeer(script) as peer:
        refused = Publisher('App', ['e'], port=unused_port())
        publisher = Publisher('App', ['e'], port=peer.port)
        before = _open_fds()
        for i in range(400):
            with pytest.raises(GNTPConnectionError):
                refused.publish('e', 'refused')
            with pytest.raises(GNTPResponseError):
                publisher.publish('e', 'err')
            if i % 2:
                with pytest.raises(GNTPConnectionError):
                    publisher.publish('e', 'no answer')
        assert peer.wait_idle()
        # Other tests' peers may still be closing sockets in their threads, so allow a few;
        # a leak here would be hundreds.
        assert _open_fds() - before < 10
