"""Code written for the original 2012 gntplib 0.5 keeps working, and its renamed names warn."""

from __future__ import annotations

import importlib
import json
import logging
from typing import List

import pytest

import gntplib
from tests.support.peers import ScriptedPeer


@pytest.fixture
def peer():
    with ScriptedPeer() as p:
        yield p


def test_0_5_names_are_importable():
    for name in ('Publisher', 'Subscriber', 'Event', 'Resource', 'RawIcon', 'SocketCallback',
                 'URLCallback', 'Notification', 'Response', 'RegisterRequest', 'NotifyRequest',
                 'SubscribeRequest', 'GNTPClient', 'GNTPConnection', 'BaseGNTPConnection',
                 'BaseApp', 'Notifier', 'notify', 'publish', 'subscribe', 'generate_messages',
                 'coerce_to_events', 'coerce_to_callback', 'GNTPError'):
        assert hasattr(gntplib, name), name


def test_notify_warns_and_publishes(peer):
    with pytest.warns(DeprecationWarning, match=r'notify\(\) is deprecated'):
        response = gntplib.notify('OldApp', 'Alert', 'Title', 'Text', port=peer.port)
    assert response.action == 'NOTIFY'
    assert [m.message_type for m in peer.received] == ['REGISTER', 'NOTIFY']


def test_notifier_and_its_notify_warn_and_work(peer):
    with pytest.warns(DeprecationWarning, match='Notifier is deprecated'):
        notifier = gntplib.Notifier('OldApp', ['alert'], port=peer.port)
    notifier.register()
    with pytest.warns(DeprecationWarning, match=r'Notifier.notify\(\) is deprecated'):
        notifier.notify('alert', 'Title')
    assert peer.received[-1].to_request().notification.title == 'Title'


def test_raw_icon_warns_and_is_a_resource(peer):
    with pytest.warns(DeprecationWarning, match='RawIcon is deprecated'):
        icon = gntplib.RawIcon(b'icon-bytes')
    assert isinstance(icon, gntplib.Resource)
    gntplib.Publisher('App', ['e'], port=peer.port).publish('e', 'T', icon=icon)
    assert list(peer.received[-1].resources.values()) == [b'icon-bytes']


def test_0_5_style_calls(peer):
    """Positional Resource(data), (name, enabled) event tuples, callback= and the 0.5
    request constructors."""
    publisher = gntplib.Publisher('App', ['a', ('b', False)], gntplib.Resource(b'app'),
                                  port=peer.port)
    results: List[gntplib.Response] = []
    publisher.register(results.append)
    publisher.publish('a', 'T', 'x', callback=results.append)
    assert [r.action for r in results] == ['REGISTER', 'NOTIFY']
    request = gntplib.RegisterRequest('App', None, [gntplib.Event('e')])
    assert request.notifications == request.events
    client = gntplib.GNTPClient(port=peer.port)
    assert client.process_request(request).action == 'REGISTER'


# -- every public module-level name of 0.5, in the same module (issue 12 item 10) ------------
# Listed from the 0.5 wheel (its modules' top-level assignments, functions and classes).

NAMES_0_5 = {
    'gntplib': (
        'APP_SPECIFIC_HEADER_PREFIX BaseApp BaseGNTPConnection BaseRequest CUSTOM_HEADER_PREFIX '
        'DEFAULT_PORT DEFAULT_TIMEOUT DEFAULT_TTL Event GNTPClient GNTPConnection HeaderPacker '
        'InformationLinePacker LINE_DELIMITER MAX_LINE_SIZE MAX_MESSAGE_SIZE MESSAGE_DELIMITER '
        'MESSAGE_DELIMITER_SIZE MessagePacker MessagePackerFactory Notification Notifier '
        'NotifyRequest NullCipher Publisher RESPONSE_INFORMATION_LINE_RE RawIcon '
        'RegisterRequest Resource Response SECTION_BODY_END SECTION_BODY_START '
        'SECTION_DELIMITER SUPPORTED_VERSIONS SectionPacker SocketCallback SubscribeRequest '
        'Subscriber URLCallback coerce_to_callback coerce_to_events generate_messages notify '
        'parse_information_line parse_response publish subscribe keys GNTPError'),
    'gntplib.keys': 'Key MAX_SALT_BYTES MD5 MIN_SALT_BYTES SHA1 SHA256 SHA512 random_salt',
    'gntplib.ciphers': 'AES ALGORITHM_MAP Cipher DES DES3 KEY_SIZE_MAP',
    'gntplib.async': (
        'AsyncGNTPClient AsyncGNTPConnection AsyncIcon AsyncNotifier AsyncPublisher '
        'AsyncResource AsyncSubscriber collect_async_resources '
        'fetch_async_resources_in_parallel logger'),
    'gntplib.exceptions': 'GNTPError',
}


@pytest.mark.parametrize('module', sorted(NAMES_0_5))
def test_every_0_5_name_resolves_in_its_module(module):
    if module == 'gntplib.async':
        pytest.importorskip('tornado')
    loaded = importlib.import_module(module)
    missing = [name for name in NAMES_0_5[module].split() if not hasattr(loaded, name)]
    assert missing == []


def test_0_5_constants_mean_what_they_meant():
    assert (gntplib.LINE_DELIMITER, gntplib.MESSAGE_DELIMITER) == (b'\r\n', b'\r\n\r\n')
    assert gntplib.MESSAGE_DELIMITER_SIZE == 4
    assert gntplib.SECTION_DELIMITER == gntplib.SECTION_BODY_START == \
        gntplib.SECTION_BODY_END == b'\r\n'
    assert (gntplib.CUSTOM_HEADER_PREFIX, gntplib.APP_SPECIFIC_HEADER_PREFIX) == ('X-', 'Data-')
    assert gntplib.SUPPORTED_VERSIONS == ['1.0']
    assert (gntplib.DEFAULT_PORT, gntplib.DEFAULT_TTL, gntplib.MAX_MESSAGE_SIZE,
            gntplib.MAX_LINE_SIZE) == (23053, 60, 4096, 1024)


@pytest.mark.parametrize('line, expected', [
    (b'GNTP/1.0 -OK NONE', ('1.0', '-OK')),
    (b'GNTP/1.0 -ERROR NONE\r\n', ('1.0', '-ERROR')),
    ('GNTP/1.0 -CALLBACK NONE', ('1.0', '-CALLBACK')),
    (b'GNTP/1.0 -OK AES:00112233445566778899AABBCCDDEEFF', ('1.0', '-OK')),
])
def test_parse_information_line(line, expected):
    assert gntplib.parse_information_line(line) == expected
    matched = gntplib.RESPONSE_INFORMATION_LINE_RE.match(
        line if isinstance(line, bytes) else line.encode())
    assert matched is not None and matched.group(2).decode() == expected[1]


@pytest.mark.parametrize('line, message', [
    (b'GNTP/1.0 NOTIFY NONE', 'invalid information line'),
    (b'HTTP/1.1 200 OK', 'invalid information line'),
    (b'GNTP/2.0 -OK NONE', "unsupported GNTP version '2.0'"),
])
def test_parse_information_line_refuses(line, message):
    with pytest.raises(gntplib.GNTPProtocolError, match=message):
        gntplib.parse_information_line(line)


def test_null_cipher_is_an_object_packers_take():
    null = gntplib.NullCipher
    assert not null and null.algorithm_id == 'NONE' and null.algorithm is None
    assert null.encrypt(b'x') == b'x' and null.decrypt(b'y') == b'y'
    request = gntplib.NotifyRequest('App', gntplib.Notification('e', 'T'))
    assert gntplib.MessagePacker(None, null).pack(request) == gntplib.MessagePacker().pack(request)


def test_salt_names():
    from gntplib import keys
    assert (keys.MIN_SALT_BYTES, keys.MAX_SALT_BYTES) == (4, 16)
    salts = {keys.random_salt() for _ in range(20)}
    assert len(salts) == 20
    assert all(keys.MIN_SALT_BYTES <= len(s) <= keys.MAX_SALT_BYTES for s in salts)


def test_cipher_maps():
    from gntplib import ciphers
    assert ciphers.KEY_SIZE_MAP == {'AES': 24, 'DES': 8, '3DES': 24}
    assert sorted(ciphers.ALGORITHM_MAP) == ['3DES', 'AES', 'DES'] and \
        len(ciphers.ALGORITHM_MAP) == 3
    with pytest.raises(KeyError):
        ciphers.ALGORITHM_MAP['RC4']
    assert 'ALGORITHM_MAP' in repr(ciphers.ALGORITHM_MAP)
    pytest.importorskip('Cryptodome')
    aes = ciphers.ALGORITHM_MAP['AES']
    assert aes.__name__ == 'Cryptodome.Cipher.AES' and aes.block_size == 16
    assert ciphers.ALGORITHM_MAP['3DES'].__name__ == 'Cryptodome.Cipher.DES3'


def test_async_module_logger():
    pytest.importorskip('tornado')
    legacy = importlib.import_module('gntplib.async')
    assert isinstance(legacy.logger, logging.Logger)
    assert legacy.logger is importlib.import_module('gntplib.async_').logger


# -- bytes where 0.5 gave bytes (issue 12 item 11) ------------------------------------------

def test_resource_ids_are_bytes():
    icon = gntplib.Resource(b'icon bytes')
    assert icon.unique_value() == b'811acc5e86ed2c1cbdf9c287c99d982a'
    assert icon.unique_id() == b'x-growl-resource://811acc5e86ed2c1cbdf9c287c99d982a'
    assert icon.identifier() == '811acc5e86ed2c1cbdf9c287c99d982a'
    assert icon.header_value() == 'x-growl-resource://811acc5e86ed2c1cbdf9c287c99d982a'
    url = gntplib.Resource(url='http://example.com/i.png')
    assert (url.unique_value(), url.unique_id(), url.identifier()) == (None, None, None)


def test_key_hex_is_lower_case_bytes_and_the_wire_keeps_upper_case():
    from gntplib.keys import Key
    salt = bytes.fromhex('5A17F00DC0FFEE42A1B2C3D4E5F60718')
    key = Key('pw', 'SHA256', salt)
    assert key.salt_hex == b'5a17f00dc0ffee42a1b2c3d4e5f60718'
    assert key.key_hex == key.key.hex().encode() and key.key_hex.islower()
    assert key.key_hash_hex == key.key_hash.hex().encode()
    assert key.info_token == f'SHA256:{key.key_hash.hex().upper()}.{salt.hex().upper()}'
    request = gntplib.NotifyRequest('App', gntplib.Notification('e', 'T'))
    line = gntplib.MessagePacker(key).pack(request).split(b'\r\n', 1)[0]
    assert line == f'GNTP/1.0 NOTIFY NONE {key.info_token}'.encode()


def test_display_json_of_an_icon_is_still_text():
    from gntplib.display import DisplayEvent
    request = gntplib.NotifyRequest('App', gntplib.Notification(
        'e', 'T', icon=gntplib.Resource(b'icon bytes')))
    data = json.loads(json.dumps(DisplayEvent(request, ('127.0.0.1', 1)).to_dict()))
    assert data['icon'] == {'identifier': '811acc5e86ed2c1cbdf9c287c99d982a', 'length': 10}


# -- Notification-Text is always sent (issue 12 item 2) --------------------------------------

@pytest.mark.parametrize('text', ['', 'body'])
def test_notification_text_is_always_sent(text):
    request = gntplib.NotifyRequest('App', gntplib.Notification('e', 'T', text))
    data = gntplib.MessagePacker().pack(request)
    assert f'\r\nNotification-Text: {text}\r\n'.encode() in data
    parsed = gntplib.parse_request(data)
    assert isinstance(parsed, gntplib.NotifyRequest) and parsed.notification.text == text


def test_publish_with_no_text_sends_an_empty_text_header(peer):
    gntplib.Publisher('App', ['e'], port=peer.port).publish('e', 'Title')
    assert peer.received[-1].to_request().notification.text == ''


def test_no_text_at_all_packs_back_as_it_came():
    data = (b'GNTP/1.0 NOTIFY NONE\r\nApplication-Name: App\r\nNotification-Name: e\r\n'
            b'Notification-Title: T\r\n\r\n')
    request = gntplib.parse_request(data)
    assert isinstance(request, gntplib.NotifyRequest) and request.notification.text is None
    assert gntplib.MessagePacker().pack(request) == data
