"""Every vector in ../shared/vectors, reproduced byte for byte."""

from __future__ import annotations

import base64

import pytest

from gntplib import ciphers, keys
from gntplib.ciphers import Cipher
from gntplib.exceptions import GNTPAuthenticationError, GNTPValidationError
from gntplib.keys import Key
from gntplib.packers import MessagePacker, MessagePackerFactory, pack_response
from gntplib.reader import RequestReader
from gntplib.requests import Response, parse_response
from gntplib.wire import MessageBuffer
from tests.support.vectors import by_name, load, message_bytes, vectors

KEY_CASES = load('keys.json')['cases']
CIPHER_DOC = load('ciphers.json')
REQUEST_VECTORS = vectors('requests.json', generated_only=True) + \
    vectors('encrypted.json', generated_only=True)
# The one-section-per-identifier layout is only ever read, never written (§7.4).
PACKABLE = [v for v in REQUEST_VECTORS if v.get('resource_layout') != 'one-section-per-identifier'
            and v['name'] != 'register-shared-icon-one-section']
RESPONSE_VECTORS = vectors('responses.json', generated_only=True)
QUIRK_RESPONSES = [v for v in vectors('responses.json') if 'kind' in v]


def ids(items):
    return [item['name'] for item in items]


def security_of(vector):
    sec = vector['security']
    key = None
    if 'key_hash_algorithm' in sec:
        key = Key(sec['password'], sec['key_hash_algorithm'], bytes.fromhex(sec['salt_hex']))
    cipher = None
    if sec['encryption_algorithm'] != 'NONE':
        assert key is not None
        cipher = Cipher(key, sec['encryption_algorithm'], bytes.fromhex(sec['iv_hex']))
    return key, cipher


# -- keys.json ---------------------------------------------------------------------------

@pytest.mark.parametrize('case', KEY_CASES, ids=ids(KEY_CASES))
def test_key_derivation_matches_vector(case):
    key = Key(case['password'], case['key_hash_algorithm'], bytes.fromhex(case['salt_hex']))
    assert key.password.hex().upper() == case['password_utf8_hex']
    assert key.key_hex == case['key_hex'].lower().encode()
    assert key.key_hash_hex == case['key_hash_hex'].lower().encode()
    assert key.salt_hex == case['salt_hex'].lower().encode()
    assert key.info_token == case['info_line_suffix']
    assert len(key.key) == case['key_length']
    assert key.verify_password(case['password'])
    assert not key.verify_password(case['password'] + 'x')


@pytest.mark.parametrize('case', KEY_CASES, ids=ids(KEY_CASES))
def test_usable_ciphers_match_vector(case):
    hashing = keys.ALGORITHMS[case['key_hash_algorithm']]
    usable = sorted(a.algorithm_id for a in ciphers.ALGORITHMS.values()
                    if a.key_size <= hashing.key_size)
    assert usable == sorted(case['usable_ciphers'])


# -- ciphers.json ------------------------------------------------------------------------

@pytest.mark.parametrize('case', CIPHER_DOC['cases'], ids=ids(CIPHER_DOC['cases']))
def test_cipher_matches_vector(case):
    key = Key(case['password'], case['key_hash_algorithm'], bytes.fromhex(case['salt_hex']))
    assert key.key_hex == case['key_hex'].lower().encode()
    cipher = Cipher(key, case['encryption_algorithm'], bytes.fromhex(case['iv_hex']))
    assert key.key[:cipher.key_size].hex().upper() == case['cipher_key_hex']
    assert cipher.block_size == case['block_size']
    plaintext = bytes.fromhex(case['plaintext_hex'])
    ciphertext = cipher.encrypt(plaintext)
    assert ciphertext.hex().upper() == case['ciphertext_hex']
    assert cipher.decrypt(ciphertext) == plaintext


@pytest.mark.parametrize('combo', CIPHER_DOC['invalid_combinations'],
                         ids=lambda c: f"{c['encryption_algorithm']}-{c['key_hash_algorithm']}")
def test_sender_refuses_hash_too_short_for_cipher(combo):
    hashing = keys.ALGORITHMS[combo['key_hash_algorithm']]
    encryption = ciphers.ALGORITHMS[combo['encryption_algorithm']]
    with pytest.raises(GNTPValidationError, match='too short'):
        MessagePackerFactory('secret', hashing, encryption)
    with pytest.raises(GNTPValidationError):
        Cipher(hashing.key('secret'), encryption.algorithm_id)


# -- requests.json / encrypted.json: encoder -----------------------------------------------

@pytest.mark.parametrize('vector', PACKABLE, ids=ids(PACKABLE))
def test_packer_reproduces_request_vector(vector):
    """Parse the vector to a request object, pack it with the vector's salt and IV: the
    bytes must be identical."""
    data = message_bytes(vector)
    key, cipher = security_of(vector)
    reader = RequestReader(vector['security'].get('password'))
    reader.feed(data)
    request = reader.next_request()
    assert request is not None
    assert MessagePacker(key, cipher).pack(request) == data


# -- requests.json / encrypted.json: decoder -----------------------------------------------

def _read_all(reader, data, chunk_size):
    messages = []
    for start in range(0, len(data), chunk_size):
        reader.feed(data[start:start + chunk_size])
        while (message := reader.next_message()) is not None:
            messages.append(message)
    return messages


@pytest.mark.parametrize('chunk_size', [1, 7, 1 << 20])
@pytest.mark.parametrize('vector', REQUEST_VECTORS, ids=ids(REQUEST_VECTORS))
def test_reader_decodes_request_vector(vector, chunk_size):
    data = message_bytes(vector)
    messages = _read_all(RequestReader(vector['security'].get('password')), data, chunk_size)
    assert len(messages) == 1
    message = messages[0]
    assert message.message_type == vector['message_type']
    assert [[list(h) for h in s] for s in message.sections] == vector['sections']
    expected = {r['identifier']: base64.b64decode(r['data_b64']) for r in vector['resources']}
    assert message.resources == expected
    assert message.encryption_algorithm_id == vector['security']['encryption_algorithm']
    if 'key_hex' in vector['security']:
        assert message.key.key_hex == vector['security']['key_hex'].lower().encode()


@pytest.mark.parametrize('vector', [v for v in REQUEST_VECTORS if 'password' in v['security']],
                         ids=ids([v for v in REQUEST_VECTORS if 'password' in v['security']]))
def test_reader_rejects_wrong_password(vector):
    reader = RequestReader('not the password')
    reader.feed(message_bytes(vector))
    with pytest.raises(GNTPAuthenticationError) as info:
        reader.next_message()
    assert info.value.error_code == 400


def test_quirk_trailing_space_on_info_line_is_accepted():
    vector = by_name('requests.json', 'quirk-info-line-trailing-space')
    reader = RequestReader()
    reader.feed(message_bytes(vector))
    message = reader.next_message()
    assert message is not None
    assert message.message_type == vector['expected']['message_type']
    assert [[list(h) for h in s] for s in message.sections] == vector['expected']['sections']


def test_quirk_lower_case_hex_key_is_accepted():
    vector = by_name('requests.json', 'quirk-lowercase-hex-key')
    expected = vector['expected']
    reader = RequestReader(expected['password'])
    reader.feed(message_bytes(vector))
    message = reader.next_message()
    assert message is not None and message.key is not None
    assert message.key.key_hex == expected['key_hex'].lower().encode()
    assert message.key.key_hash_hex == expected['key_hash_hex'].lower().encode()
    assert message.key.salt_hex == expected['salt_hex'].lower().encode()


# -- responses.json ------------------------------------------------------------------------

@pytest.mark.parametrize('vector', RESPONSE_VECTORS, ids=ids(RESPONSE_VECTORS))
def test_response_vector_parses_and_packs_back(vector):
    data = message_bytes(vector)
    response = parse_response(data)
    assert response.message_type == vector['message_type']
    assert [list(h) for h in response.headers.items()] == vector['sections'][0]
    assert pack_response(response) == data


@pytest.mark.parametrize('vector', QUIRK_RESPONSES, ids=ids(QUIRK_RESPONSES))
def test_quirk_responses_parse_as_expected(vector):
    buffer = MessageBuffer()
    buffer.feed(message_bytes(vector))
    buffer.feed(b'')
    messages = []
    while (message := buffer.next_message()) is not None:
        messages.append(parse_response(message))
    expected = vector['expected'].get('messages', [vector['expected']])
    assert len(messages) == len(expected)
    for response, want in zip(messages, expected):
        assert response.message_type == want['message_type']
        for name in ('Response-Action', 'Notification-ID'):
            if name in want:
                assert response.headers.get(name) == want[name]
        if 'Error-Code' in want:
            assert response.error_code == want['Error-Code']
        if 'event' in want:
            assert response.callback_result == want['result']
            assert response.callback_event == want['event']
            assert response.context == want['context']


@pytest.mark.parametrize('name,event', [('callback-click', 'click'),
                                        ('callback-timedout', 'timeout'),
                                        ('callback-clicked', 'click')])
def test_callback_vectors_map_to_events(name, event):
    assert parse_response(message_bytes(by_name('responses.json', name))).callback_event == event


def test_spec_encrypted_ok_response_is_decrypted_with_the_request_key():
    vector = by_name('encrypted.json', 'spec-encrypted-ok-response')
    request_vector = by_name('encrypted.json', 'notify-aes-sha256')
    key, cipher = security_of(request_vector)
    response = parse_response(message_bytes(vector), '-OK', key)
    assert response.encryption_algorithm_id == 'AES'
    assert response.action == vector['expected']['Response-Action']
    assert response.notification_id == vector['expected']['Notification-ID']
    # ... and the embedded server's opt-in encrypted mode writes exactly these bytes.
    assert pack_response(Response('-OK', response.headers), cipher) == message_bytes(vector)
