"""The two ways AES-CBC runs: pycryptodomex's compiled functions called directly (the fast
path), and its public ``AES.new`` (the fallback). Both must give the vectors' bytes."""

from __future__ import annotations

import os

import pytest

from gntplib import ciphers
from gntplib.ciphers import Cipher
from gntplib.exceptions import GNTPEncryptionError
from gntplib.keys import Key
from tests.support.vectors import load

AES_CASES = [case for case in load('ciphers.json')['cases']
             if case['encryption_algorithm'] == 'AES']


@pytest.fixture(params=['direct', 'public'])
def aes_path(request, monkeypatch):
    if request.param == 'public':
        monkeypatch.setattr(ciphers, '_direct_aes_cbc', lambda: None)
    return request.param


def test_direct_path_is_active_with_this_pycryptodomex():
    assert ciphers._direct_aes_cbc() is not None, (
        'pycryptodomex internals changed: AES falls back to AES.new (correct, but slower)')


@pytest.mark.parametrize('case', AES_CASES, ids=[c['name'] for c in AES_CASES])
def test_both_paths_reproduce_the_aes_vectors(case, aes_path):
    key = Key(case['password'], case['key_hash_algorithm'], bytes.fromhex(case['salt_hex']))
    cipher = Cipher(key, 'AES', bytes.fromhex(case['iv_hex']))
    plaintext = bytes.fromhex(case['plaintext_hex'])
    assert cipher.encrypt(plaintext).hex().upper() == case['ciphertext_hex']
    assert cipher.decrypt(bytes.fromhex(case['ciphertext_hex'])) == plaintext


@pytest.mark.parametrize('size', [0, 1, 15, 16, 17, 4096, 1 << 20])
def test_both_paths_agree_on_any_length(size, aes_path):
    cipher = Cipher(Key('pw', 'SHA256'), 'AES')
    plaintext = os.urandom(size)
    ciphertext = cipher.encrypt(plaintext)
    assert len(ciphertext) == (size // 16 + 1) * 16
    assert cipher.decrypt(ciphertext) == plaintext


def test_both_paths_reject_a_wrong_key_the_same_way(aes_path):
    ciphertext = Cipher(Key('pw', 'SHA256', b'salt'), 'AES', bytes(16)).encrypt(b'x' * 40)
    wrong = Cipher(Key('other', 'SHA256', b'salt'), 'AES', bytes(16))
    with pytest.raises(GNTPEncryptionError, match='invalid padding'):
        wrong.decrypt(ciphertext)


def test_missing_internals_fall_back_to_the_public_api(monkeypatch):
    from Cryptodome.Cipher import _mode_cbc
    monkeypatch.delattr(_mode_cbc, 'raw_cbc_lib')
    assert ciphers._direct_aes_cbc.__wrapped__() is None


def test_internals_that_disagree_with_the_public_api_are_not_used(monkeypatch):
    from Cryptodome.Util import _raw_api
    # A buffer read back wrong: the known-answer check must catch it.
    monkeypatch.setattr(_raw_api, 'get_raw_buffer', lambda buffer: b'\0' * 48)
    assert ciphers._direct_aes_cbc.__wrapped__() is None


@pytest.mark.parametrize('plaintext', [bytearray(b'abc' * 7), memoryview(b'abc' * 7)],
                         ids=['bytearray', 'memoryview'])
def test_both_paths_take_any_bytes_like_input(plaintext, aes_path):
    cipher = Cipher(Key('pw', 'SHA256'), 'AES')
    assert cipher.decrypt(cipher.encrypt(plaintext)) == bytes(plaintext)
