"""The floor: hand-written loops that send precomputed GNTP bytes.

Sync: ``socket()``, ``settimeout()``, ``connect()`` (what a library does once it has the
address; ``socket.create_connection`` would add a ``getaddrinfo`` per call and understate the
floor), ``sendall`` the precomputed request, ``recv`` until the reply's CR LF CR LF, close. Async: the same with ``asyncio.open_connection`` and a
semaphore. Each scenario's message is built once, before timing, with the size and shape
of that scenario's request (key hash, AES ciphertext, 20 KB binary section), so the floor
pays the same kernel and responder costs as a library and none of the Python work.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
from typing import Any, Callable, Dict, List

from _common import (
    APP_NAME, EVENT_NAME, HOST, ICON_SIZE, PASSWORD, TEXT, TITLE, Unsupported, blob, main,
    time_async, time_memory, time_sync,
)

REPLY_END = b'\r\n\r\n'


def _header_block(icon_id: str = '') -> bytes:
    lines = [f'Application-Name: {APP_NAME}', f'Notification-Name: {EVENT_NAME}',
             f'Notification-Title: {TITLE}', f'Notification-Text: {TEXT}']
    if icon_id:
        lines.append(f'Notification-Icon: x-growl-resource://{icon_id}')
    return ''.join(line + '\r\n' for line in lines).encode('utf-8')


def _key_token(salt: bytes) -> tuple:
    key = hashlib.sha256(PASSWORD.encode('utf-8') + salt).digest()
    key_hash = hashlib.sha256(key).hexdigest().upper()
    return key, f'SHA256:{key_hash}.{salt.hex().upper()}'


def _aes_encrypt(key: bytes, iv: bytes, plaintext: bytes) -> bytes:
    """AES-192-CBC with PKCS#7 (pycryptodomex); random bytes of the same length without it
    (the responder does not decrypt, so only the size matters)."""
    pad = 16 - len(plaintext) % 16
    padded = plaintext + bytes([pad]) * pad
    try:
        from Cryptodome.Cipher import AES
    except ImportError:
        return os.urandom(len(padded))
    return AES.new(key[:24], AES.MODE_CBC, iv).encrypt(padded)


def build_message(scenario: str) -> List[bytes]:
    """The request of ``scenario`` as the parts to send."""
    if scenario == 'plain':
        return [b'GNTP/1.0 NOTIFY NONE\r\n' + _header_block() + b'\r\n']
    if scenario == 'sha256':
        _, token = _key_token(bytes(range(16)))
        return [f'GNTP/1.0 NOTIFY NONE {token}\r\n'.encode('ascii') + _header_block() + b'\r\n']
    if scenario == 'aes':
        key, token = _key_token(bytes(range(16)))
        for attempt in range(64):  # an IV whose ciphertext cannot be mistaken for the end
            iv = bytes([attempt]) * 16
            ciphertext = _aes_encrypt(key, iv, _header_block())
            if b'\r\n\r\n' not in ciphertext and not ciphertext.endswith(b'\r\n'):
                break
        head = f'GNTP/1.0 NOTIFY AES:{iv.hex().upper()} {token}\r\n'.encode('ascii')
        return [head + ciphertext + b'\r\n\r\n']
    if scenario == 'icon':
        icon = blob(ICON_SIZE)
        icon_id = hashlib.md5(icon).hexdigest()
        head = b'GNTP/1.0 NOTIFY NONE\r\n' + _header_block(icon_id) + b'\r\n'
        section = f'Identifier: {icon_id}\r\nLength: {len(icon)}\r\n\r\n'.encode('ascii')
        return [head + section + icon + b'\r\n\r\n']
    raise Unsupported(f'no raw message for {scenario}')


def sync_sender(address: tuple, parts: List[bytes]) -> Callable[[], None]:
    def send_one() -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.settimeout(10.0)
            sock.connect(address)
            for part in parts:
                sock.sendall(part)
            reply = b''
            while REPLY_END not in reply:
                chunk = sock.recv(4096)
                if not chunk:
                    raise ConnectionError('responder closed without a reply')
                reply += chunk
        finally:
            sock.close()
    return send_one


def run_async(address: tuple, count: int, concurrency: int) -> Dict[str, Any]:
    message = build_message('plain')[0]
    host, port = address

    async def send_one(semaphore: asyncio.Semaphore) -> None:
        async with semaphore:
            reader, writer = await asyncio.open_connection(host, port)
            try:
                writer.write(message)
                await reader.readuntil(REPLY_END)
            finally:
                writer.close()

    def make_main(timed: Callable[..., Any]) -> Any:
        async def amain() -> None:
            semaphore = asyncio.Semaphore(concurrency)
            await asyncio.gather(*(send_one(semaphore) for _ in range(20)))  # warm-up

            async def body() -> None:
                await asyncio.gather(*(send_one(semaphore) for _ in range(count)))
            await timed(body, count)
        return amain()

    return time_async(make_main)


def make(args: Any) -> Dict[str, Any]:
    address = (HOST, args.port)
    if args.scenario == 'async':
        return run_async(address, args.count, args.concurrency)
    if args.scenario == 'memory':
        def send_blob(data: bytes) -> None:
            icon_id = hashlib.md5(data).hexdigest()
            head = (b'GNTP/1.0 NOTIFY NONE\r\n' + _header_block(icon_id) + b'\r\n' +
                    f'Identifier: {icon_id}\r\nLength: {len(data)}\r\n\r\n'.encode('ascii'))
            sync_sender(address, [head, data, b'\r\n\r\n'])()
        return time_memory(send_blob, args.size)
    if args.scenario == 'pack':
        raise Unsupported('the floor sends precomputed bytes: nothing to pack')
    return time_sync(sync_sender(address, build_message(args.scenario)), args.count,
                     args.warmup)


if __name__ == '__main__':
    main(make)
