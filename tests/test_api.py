"""The documented API surface: names, defaults, helpers and their errors."""

from __future__ import annotations

import hashlib
import inspect

import pytest

import gntplib
from gntplib import (
    Event, GNTPEncryptionError, GNTPError, GNTPResourceError, GNTPValidationError,
    Notification, Publisher, Resource, SocketCallback, Subscriber, URLCallback,
    coerce_to_callback, coerce_to_events,
)
from gntplib import ciphers, connections, constants, exceptions, keys, lib, requests
from gntplib.wire import HeaderDict

DOCUMENTED = {
    gntplib: ['publish', 'subscribe', 'Publisher', 'Subscriber', 'Event', 'Notification',
              'Resource', 'SocketCallback', 'URLCallback', 'Response', 'RegisterRequest',
              'NotifyRequest', 'SubscribeRequest', 'GNTPClient', 'GNTPConnection',
              'BaseGNTPConnection', 'notify', 'Notifier', 'RawIcon'],
    keys: ['MD5', 'SHA1', 'SHA256', 'SHA512', 'Key', 'Algorithm'],
    ciphers: ['AES', 'DES', 'DES3', 'Cipher', 'Algorithm'],
    constants: ['DEFAULT_PORT', 'DEFAULT_TIMEOUT', 'DEFAULT_TTL', 'MAX_MESSAGE_SIZE',
                'MAX_LINE_SIZE', 'LINE_DELIMITER', 'MESSAGE_DELIMITER', 'PRIORITY_VERY_LOW',
                'PRIORITY_LOW', 'PRIORITY_NORMAL', 'PRIORITY_HIGH', 'PRIORITY_EMERGENCY',
                'RESPONSE_OK', 'RESPONSE_ERROR', 'RESPONSE_CALLBACK', 'random_bytes',
                'random_hex_string', 'encode_utf8', 'decode_utf8', 'safe_int_conversion',
                'validate_priority'],
    exceptions: ['GNTPError', 'GNTPConnectionError', 'GNTPAuthenticationError',
                 'GNTPResponseError', 'GNTPValidationError', 'GNTPEncryptionError',
                 'GNTPResourceError'],
    lib: ['coerce_to_events', 'coerce_to_callback', 'Publisher', 'Subscriber', 'BaseApp'],
    requests: ['RegisterRequest', 'NotifyRequest', 'SubscribeRequest', 'parse_response'],
    connections: ['GNTPClient', 'GNTPConnection', 'BaseGNTPConnection', 'generate_messages'],
}


@pytest.mark.parametrize('module', list(DOCUMENTED), ids=lambda m: m.__name__)
def test_documented_names_exist_and_are_exported(module):
    for name in DOCUMENTED[module]:
        assert hasattr(module, name), name
        assert name in module.__all__, name


def _signature(obj):
    return str(inspect.signature(obj))


@pytest.mark.parametrize('obj,expected', [
    (gntplib.publish, "(app_name: 'str', event_name: 'str', title: 'str', text: 'str' = '',"),
    (gntplib.subscribe, "(id_: 'str', name: 'str', hub: 'Union[str, Tuple[str, int]]', "
                        "password: 'str', port: 'int' = 23053,"),
    (Publisher.__init__, "(self, name: 'str', event_defs: 'Sequence[EventDef]', icon: "
                         "'Optional[Icon]' = None, custom_headers: 'Headers' = None, "
                         "app_specific_headers: 'Headers' = None, gntp_client_class: "
                         "'Optional[Type[Any]]' = None, *, auto_register: 'bool' = True, "
                         "**kwargs: 'Any')"),
    (Publisher.publish, "(self, name: 'str', title: 'str', text: 'str' = '', id_: "
                        "'Optional[str]' = None, sticky: 'bool' = False, priority: 'int' = 0, "
                        "icon: 'Optional[Icon]' = None, coalescing_id: 'Optional[str]' = None, "
                        "callback: 'Optional[FinalCallback]' = None, gntp_callback:"),
    (Subscriber.__init__, "(self, id_: 'str', name: 'str', hub: 'Union[str, Tuple[str, int]]', "
                          "password: 'str', port: 'int' = 23053, custom_headers"),
    (keys.Key.__init__, "(self, password: 'str', algorithm_id: 'str' = 'SHA256', salt: "
                        "'Optional[bytes]' = None)"),
    (ciphers.Cipher.__init__, "(self, key: 'Key', algorithm_id: 'str' = 'AES', iv: "
                              "'Optional[bytes]' = None)"),
    (connections.GNTPClient.__init__, "(self, host: 'str' = 'localhost', port: 'int' = 23053, "
                                      "timeout: 'Optional[float]' = 10.0, password: "
                                      "'Optional[str]' = None, key_hashing"),
    (connections.GNTPConnection.__init__, "(self, address: 'Address', timeout: "
                                          "'Optional[float]', final_callback"),
    (connections.generate_messages, "(sock: 'socket.socket', buffer_size: 'int' = 1024,"),
    (requests.parse_response, "(message: 'bytes', expected_type: 'Optional[str]' = None,"),
])
def test_documented_signatures(obj, expected):
    assert _signature(obj).startswith(expected)


def test_documented_constant_values():
    c = constants
    assert (c.DEFAULT_PORT, c.DEFAULT_TIMEOUT, c.DEFAULT_TTL) == (23053, 10.0, 60)
    assert (c.MAX_MESSAGE_SIZE, c.MAX_LINE_SIZE) == (4096, 1024)
    assert (c.LINE_DELIMITER, c.MESSAGE_DELIMITER) == (b'\r\n', b'\r\n\r\n')
    assert [c.PRIORITY_VERY_LOW, c.PRIORITY_LOW, c.PRIORITY_NORMAL, c.PRIORITY_HIGH,
            c.PRIORITY_EMERGENCY] == [-2, -1, 0, 1, 2]
    assert (c.RESPONSE_OK, c.RESPONSE_ERROR, c.RESPONSE_CALLBACK) == \
        ('-OK', '-ERROR', '-CALLBACK')
    assert [(a.algorithm_id, a.key_size) for a in (keys.MD5, keys.SHA1, keys.SHA256,
                                                   keys.SHA512)] == \
        [('MD5', 16), ('SHA1', 20), ('SHA256', 32), ('SHA512', 64)]
    assert [(a.algorithm_id, a.key_size) for a in (ciphers.AES, ciphers.DES, ciphers.DES3)] == \
        [('AES', 24), ('DES', 8), ('3DES', 24)]
    assert repr(keys.SHA256) == "Algorithm('SHA256', 32)"
    assert repr(ciphers.DES3) == "Algorithm('3DES', 24)"


def test_constant_helpers():
    c = constants
    assert len(c.random_bytes(16)) == 16 and c.random_bytes(16) != c.random_bytes(16)
    with pytest.raises(ValueError):
        c.random_bytes(-1)
    assert len(c.random_hex_string(8)) == 16
    assert c.encode_utf8('Grüße') == 'Grüße'.encode() and c.decode_utf8(b'Hello') == 'Hello'
    assert c.safe_int_conversion('42') == 42 and c.safe_int_conversion('x', -1) == -1
    assert c.safe_int_conversion(None) == 0
    assert (c.validate_priority(5), c.validate_priority(-5), c.validate_priority(1)) == (2, -2, 1)
    assert [c.parse_bool(v) for v in ('Yes', 'TRUE', 'no', 'False', 'maybe')] == \
        [True, True, False, False, False]


def test_exception_hierarchy_keeps_builtin_bases():
    e = exceptions
    for name in DOCUMENTED[exceptions][1:]:
        assert issubclass(getattr(e, name), GNTPError)
    assert issubclass(e.GNTPValidationError, ValueError)
    assert issubclass(e.GNTPConnectionError, ConnectionError)
    assert issubclass(e.GNTPAuthenticationError, e.GNTPResponseError)
    assert issubclass(e.GNTPProtocolError, e.GNTPResponseError)
    assert isinstance(e.error_for_code(400, 'x'), e.GNTPAuthenticationError)
    assert type(e.error_for_code(401, 'x')) is e.GNTPResponseError


def test_key_api():
    key = keys.Key('secret', 'sha256', salt=b'salt')
    assert key.algorithm_id == 'SHA256' and key.password == b'secret' and key.salt == b'salt'
    assert key == keys.SHA256.key('secret', b'salt')
    assert key != keys.SHA256.key('other', b'salt') and key != 'secret'
    assert hash(key) == hash(keys.SHA256.key('secret', b'salt'))
    assert key.verify_password('secret') and not key.verify_password('Secret')
    assert len(keys.SHA256.key('x').salt) == 16
    with pytest.raises(ValueError, match='unsupported key hash'):
        keys.Key('secret', 'SHA384')
    with pytest.raises(GNTPValidationError, match='must be a str'):
        keys.Key(b'secret')  # type: ignore[arg-type]


def test_cipher_api():
    key = keys.SHA256.key('password')
    cipher = ciphers.AES.cipher(key)
    assert bool(cipher) and not bool(ciphers.NullCipher())
    assert len(cipher.iv) == 16 and cipher.iv_hex == cipher.iv.hex().upper().encode()
    assert cipher.decrypt(cipher.encrypt(b'')) == b''
    with pytest.raises(GNTPEncryptionError, match='unsupported encryption'):
        ciphers.Cipher(key, 'RC2')
    with pytest.raises(GNTPValidationError, match='IV'):
        ciphers.Cipher(key, 'AES', b'short')
    with pytest.raises(GNTPEncryptionError, match='multiple'):
        cipher.decrypt(b'abc')
    # Fixed salts and IV: a wrong key gives valid padding by chance about once in 256 draws.
    iv = bytes(range(16))
    right = ciphers.AES.cipher(keys.SHA256.key('password', b'\x01' * 16), iv)
    wrong = ciphers.AES.cipher(keys.SHA256.key('other', b'\x02' * 16), iv)
    with pytest.raises(GNTPEncryptionError, match='padding'):
        wrong.decrypt(right.encrypt(b'x' * 40))
    assert ciphers.NullCipher().encrypt(b'a') == ciphers.NullCipher().decrypt(b'a') == b'a'


def test_resource_api(tmp_path):
    path = tmp_path / 'icon.png'
    path.write_bytes(b'\x89PNG data')
    icon = Resource.from_file(path)
    assert icon == Resource(data=b'\x89PNG data') and hash(icon) == hash(Resource(b'\x89PNG data'))
    value = icon.unique_value()
    assert value is not None and value == hashlib.md5(b'\x89PNG data').hexdigest().encode()
    assert icon.identifier() == value.decode()
    pointer = icon.unique_id()
    assert pointer is not None and pointer == b'x-growl-resource://' + value
    assert icon.header_value() == pointer.decode()
    assert 'length=9' in repr(icon) and 'PNG' not in repr(icon)
    url = Resource.from_url('http://example.com/i.png')
    assert url.header_value() == 'http://example.com/i.png' and url.unique_id() is None
    with pytest.raises(GNTPResourceError, match='missing.png'):
        Resource.from_file(tmp_path / 'missing.png')
    with pytest.raises(GNTPValidationError):
        Resource(data='not bytes')  # type: ignore[arg-type]


def test_coerce_to_events():
    events = coerce_to_events(['a', ('b', False), Event('c', 'C', icon='http://x/c.png')])
    assert [(e.name, e.enabled, e.display_name) for e in events] == \
        [('a', True, None), ('b', False, None), ('c', True, 'C')]
    assert coerce_to_events('single') == [Event('single')]
    with pytest.raises(GNTPValidationError, match='event definition'):
        coerce_to_events([42])  # type: ignore[list-item]


def test_coerce_to_callback():
    assert coerce_to_callback() is None
    assert coerce_to_callback('http://x/') == URLCallback('http://x/')
    sc = SocketCallback('ctx')
    assert coerce_to_callback(sc) is sc
    built = coerce_to_callback(on_click=print, context='c', context_type='t')
    assert isinstance(built, SocketCallback) and (built.context, built.context_type) == ('c', 't')
    with pytest.raises(GNTPValidationError, match='not both'):
        coerce_to_callback('http://x/', on_click=print)
    with pytest.raises(GNTPValidationError, match='socket callback option'):
        coerce_to_callback(on_clik=print)


def test_notification_defaults_and_validation():
    n = Notification('e', 'Title')
    assert (n.text, n.sticky, n.priority, n.gntp_callback) == ('', None, None, None)
    assert Notification('e', 'T', priority=-9).priority == -2
    assert Notification('e', 'T', gntp_callback=SocketCallback()).socket_callback is not None
    with pytest.raises(GNTPValidationError, match='title'):
        Notification('e', '')
    with pytest.raises(GNTPValidationError, match='event name'):
        Event('')
    with pytest.raises(GNTPValidationError, match='icon'):
        Event('e', icon=b'raw bytes')  # type: ignore[arg-type]


def test_socket_callback_defaults_like_0_5():
    sc = SocketCallback()
    assert (sc.context, sc.context_type) == ('None', 'None')
    # no handler: nothing happens
    assert sc.on_click(None) is None  # type: ignore[arg-type]


def test_header_dict_is_case_insensitive_and_compares_to_dict():
    headers = HeaderDict([('Response-Action', 'NOTIFY')])
    assert headers['response-action'] == 'NOTIFY' and headers.get('RESPONSE-ACTION') == 'NOTIFY'
    assert headers == {'Response-Action': 'NOTIFY'} and list(headers) == ['Response-Action']
    del headers['RESPONSE-action']
    assert len(headers) == 0


def test_invalid_header_names_are_refused():
    with pytest.raises(GNTPValidationError, match='header name'):
        Publisher('App', ['e'], custom_headers=[('Bad Name', 'x')])
    with pytest.raises(GNTPValidationError, match='pair'):
        Publisher('App', ['e'], custom_headers=['X-Alone'])  # type: ignore[list-item]


def test_subscriber_hub_forms():
    assert Subscriber('i', 'n', 'hub.example.com', 'pw').hub == ('hub.example.com', 23053)
    assert Subscriber('i', 'n', ('hub', 9999), 'pw').gntp_client.address == ('hub', 9999)
    with pytest.raises(GNTPValidationError, match='hub'):
        Subscriber('i', 'n', 42, 'pw')  # type: ignore[arg-type]
    with pytest.raises(GNTPValidationError, match='port'):
        Subscriber('i', 'n', 'hub', 'pw', port=0)
