"""How a client's security settings are read: algorithm objects or names, and clear errors
for anything GNTP does not define (before anything is sent)."""

from __future__ import annotations

import pytest

from gntplib import Publisher, ciphers, keys
from gntplib.exceptions import GNTPError, GNTPValidationError
from gntplib.ciphers import Cipher
from gntplib.keys import Key
from gntplib.packers import MessagePacker, MessagePackerFactory


def key_of(packer: MessagePacker) -> Key:
    assert packer.key is not None
    return packer.key


def cipher_of(packer: MessagePacker) -> Cipher:
    assert isinstance(packer.cipher, Cipher)
    return packer.cipher


@pytest.mark.parametrize('hashing', [keys.SHA512, 'SHA512', 'sha512', keys.Algorithm('sha512', 64)])
def test_hashing_given_as_object_or_name(hashing):
    factory = MessagePackerFactory('pw', hashing, ciphers.AES)
    assert factory.hashing is keys.SHA512
    assert key_of(factory.create()).algorithm_id == 'SHA512'


@pytest.mark.parametrize('encryption', [ciphers.DES3, '3DES', '3des'])
def test_encryption_given_as_object_or_name(encryption):
    factory = MessagePackerFactory('pw', keys.SHA256, encryption)
    assert factory.encryption is ciphers.DES3
    assert factory.create().cipher.algorithm_id == '3DES'


@pytest.mark.parametrize('hashing', [keys.Algorithm('SHA3', 32), 'BLAKE2', 42])
def test_unknown_hashing_is_refused_when_the_publisher_is_made(hashing):
    with pytest.raises(GNTPValidationError, match='unsupported key hash algorithm'):
        Publisher('App', ['e'], password='pw', key_hashing=hashing)


@pytest.mark.parametrize('encryption', [ciphers.Algorithm('RC4', 16), 'BLOWFISH'])
def test_unknown_encryption_is_refused_when_the_publisher_is_made(encryption):
    with pytest.raises(GNTPError, match='unsupported encryption algorithm'):
        Publisher('App', ['e'], password='pw', encryption=encryption)


def test_each_message_gets_its_own_salt_and_iv():
    factory = MessagePackerFactory('pw', keys.SHA256, ciphers.AES)
    packers = [factory.create() for _ in range(50)]
    salts = {key_of(p).salt for p in packers}
    ivs = {cipher_of(p).iv for p in packers}
    assert len(salts) == len(ivs) == 50
    assert all(len(key_of(p).salt) == 16 and len(cipher_of(p).iv) == 16 for p in packers)
    assert not salts & ivs
    assert all(key_of(p).verify_password('pw') for p in packers)
