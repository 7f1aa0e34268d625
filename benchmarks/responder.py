"""A minimal GNTP responder for the benchmarks: plain asyncio, 127.0.0.1, answers -OK.

It reads each request up to its end (gntp-protocol.md §3.7), answers
``GNTP/1.0 -OK NONE`` with ``Response-Action: <type>``, shuts down its sending side and
drains whatever the client still sends until the client closes (as Growl for Windows
does, so an unread trailing CR LF never turns into a reset that destroys the reply).

Finding the end of a request:

* information line up to CR LF;
* plain text: header sections up to their blank lines (REGISTER: 1 + Notifications-Count
  sections); the distinct ``x-growl-resource://`` identifiers they mention are the binary
  sections to wait for;
* encrypted: the ciphertext block up to the first CR LF CR LF; the pointer headers are
  inside the ciphertext, so the number of binary sections to wait for is the
  ``resources`` hint (``--resources N`` or the ``CONFIG`` command), applied to NOTIFY;
* binary sections: ``Identifier``/``Length`` headers, then exactly Length bytes, counted
  and thrown away (never buffered, so a 50 MB resource costs no memory here).

Control: the responder prints ``READY <port>`` on stdout, then reads commands on stdin,
one per line, and answers each with one line on stdout:

* ``CONFIG delay_ms=<float> resources=<int>`` -> ``OK``: per-reply delay, resource hint;
* ``STATS`` -> one JSON object: cumulative ``utime``/``stime`` (getrusage of this
  process), request counters (by type, and by ``<encryption>/<key hash>``), payload bytes
  and errors; the harness takes differences around a run, and checks with them that each
  contender really sent what the scenario asks for;
* ``QUIT`` -> exits.

Usage (standalone): ``python benchmarks/responder.py --port 23053 --delay-ms 0``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import resource
import sys
from typing import Dict, Optional, Set

MESSAGE_END = b'\r\n\r\n'
CRLF = b'\r\n'
MAX_HEADER_BYTES = 1 << 20
_POINTER = re.compile(rb'x-growl-resource://([^\r\n]*)', re.IGNORECASE)
_COUNT = re.compile(rb'^notifications-count:[ \t]*(\d+)', re.IGNORECASE | re.MULTILINE)
_IDENTIFIER = re.compile(rb'^identifier:[ \t]*([^\r\n]*)', re.IGNORECASE | re.MULTILINE)
_LENGTH = re.compile(rb'^length:[ \t]*(\d+)', re.IGNORECASE | re.MULTILINE)

# States of a connection.
INFO, HEADERS, SECTION_HEAD, PAYLOAD, DONE = range(5)


class Config:
    delay: float = 0.0       # seconds before each reply
    resources: int = 0       # binary sections in an encrypted NOTIFY


class Stats:
    def __init__(self) -> None:
        self.counts: Dict[str, int] = {}
        self.security: Dict[str, int] = {}  # 'AES/SHA256', 'NONE/-', ...: what was sent
        self.errors = 0
        self.payload_bytes = 0
        self.open = 0

    def as_dict(self) -> Dict[str, object]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return {'utime': usage.ru_utime, 'stime': usage.ru_stime,
                'maxrss_kb': usage.ru_maxrss, 'counts': dict(self.counts),
                'security': dict(self.security),
                'errors': self.errors, 'payload_bytes': self.payload_bytes,
                'open': self.open}


CONFIG = Config()
STATS = Stats()


class RequestReader(asyncio.Protocol):
    """Reads one GNTP request, answers -OK, then drains until the client closes."""

    def __init__(self) -> None:
        self.transport: Optional[asyncio.Transport] = None
        self.buf = bytearray()
        self.state = INFO
        self.message_type = b''
        self.encrypted = False
        self.sections_left = 1
        self.main_seen = False
        self.scan_from = 0
        self.wanted: Set[bytes] = set()
        self.wanted_count = 0
        self.seen: Set[bytes] = set()
        self.remaining = 0
        self.current_id = b''

    # -- asyncio callbacks ---------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        STATS.open += 1

    def connection_lost(self, exc: Optional[Exception]) -> None:
        STATS.open -= 1
        if self.state != DONE:
            STATS.errors += 1

    def eof_received(self) -> bool:
        return False  # close our side too

    def data_received(self, data: bytes) -> None:
        if self.state == DONE:
            return  # draining
        if self.state == PAYLOAD and not self.buf:
            # Fast path: count payload bytes without buffering them.
            n = len(data)
            if n <= self.remaining:
                self.remaining -= n
                STATS.payload_bytes += n
                if self.remaining == 0:
                    self._payload_done()
                return
            STATS.payload_bytes += self.remaining
            data = data[self.remaining:]
            self.remaining = 0
            if self._payload_done():
                return
        self.buf += data
        try:
            self._advance()
        except ValueError:
            STATS.errors += 1
            self.state = DONE
            assert self.transport is not None
            self.transport.abort()
            return
        if len(self.buf) > MAX_HEADER_BYTES and self.state != PAYLOAD:
            STATS.errors += 1
            self.state = DONE
            assert self.transport is not None
            self.transport.abort()

    # -- parsing ----------------------------------------------------------------------------

    def _advance(self) -> None:
        buf = self.buf
        pos = 0
        while True:
            if self.state == INFO:
                while pos < len(buf) and buf[pos] in b'\r\n':
                    pos += 1
                end = buf.find(CRLF, pos)
                if end < 0:
                    break
                tokens = bytes(buf[pos:end]).split()
                if len(tokens) < 3 or not tokens[0].startswith(b'GNTP/'):
                    raise ValueError('not a GNTP information line')
                self.message_type = tokens[1].upper()
                self.encrypted = not tokens[2].upper().startswith(b'NONE')
                security = (tokens[2].split(b':')[0] + b'/' +
                            (tokens[3].split(b':')[0] if len(tokens) > 3 else b'-'))
                name = security.decode('ascii', 'replace').upper()
                STATS.security[name] = STATS.security.get(name, 0) + 1
                self.sections_left = 1
                # Plain: the header block "info\r\nA: b\r\n\r\n" ends at the first CRLFCRLF
                # from the info line's own CRLF; encrypted: the ciphertext starts after it.
                self.scan_from = end + 2 if self.encrypted else end
                pos = end + 2
                self.state = HEADERS
            elif self.state == HEADERS:
                end = buf.find(MESSAGE_END, self.scan_from)
                if end < 0:
                    self.scan_from = max(self.scan_from, len(buf) - 3)
                    break
                if not self.encrypted:
                    block = bytes(buf[pos:end])
                    self.wanted.update(_POINTER.findall(block))
                    if self.message_type == b'REGISTER' and not self.main_seen:
                        match = _COUNT.search(block)
                        self.sections_left += int(match.group(1)) if match else 0
                else:
                    self.sections_left = 1  # one ciphertext block holds every section
                self.main_seen = True
                pos = self.scan_from = end + 4
                self.sections_left -= 1
                if self.sections_left > 0:
                    continue
                if self.encrypted:
                    self.wanted_count = CONFIG.resources if self.message_type == b'NOTIFY' \
                        else 0
                else:
                    self.wanted_count = len(self.wanted)
                if self.wanted_count == 0:
                    self._complete()
                    break
                self.state = SECTION_HEAD
            elif self.state == SECTION_HEAD:
                while pos < len(buf) and buf[pos] in b'\r\n':
                    pos += 1
                end = buf.find(MESSAGE_END, pos)
                if end < 0:
                    break
                head = bytes(buf[pos:end])
                ident = _IDENTIFIER.search(head)
                length = _LENGTH.search(head)
                if ident is None or length is None:
                    raise ValueError('binary section without Identifier and Length')
                self.current_id = ident.group(1).strip()
                self.remaining = int(length.group(1))
                pos = end + 4
                self.state = PAYLOAD
            elif self.state == PAYLOAD:
                take = min(self.remaining, len(buf) - pos)
                self.remaining -= take
                STATS.payload_bytes += take
                pos += take
                if self.remaining:
                    break
                if self._payload_done():
                    break
            else:  # DONE
                break
        del buf[:pos]
        self.scan_from = max(0, self.scan_from - pos)
        if self.state == DONE:
            buf.clear()

    def _payload_done(self) -> bool:
        """A binary payload ended; return True when the request is complete."""
        self.seen.add(self.current_id)
        if self.encrypted:
            done = len(self.seen) >= self.wanted_count
        else:
            done = self.wanted <= self.seen
        if done:
            self._complete()
            return True
        self.state = SECTION_HEAD
        return False

    def _complete(self) -> None:
        self.state = DONE
        kind = self.message_type.decode('ascii', 'replace')
        STATS.counts[kind] = STATS.counts.get(kind, 0) + 1
        if CONFIG.delay > 0:
            asyncio.get_running_loop().call_later(CONFIG.delay, self._reply)
        else:
            self._reply()

    def _reply(self) -> None:
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        transport.write(b'GNTP/1.0 -OK NONE\r\nResponse-Action: ' + self.message_type +
                        b'\r\n\r\n')
        transport.write_eof()


async def control(stdin_reader: asyncio.StreamReader) -> None:
    while True:
        line = await stdin_reader.readline()
        if not line:
            return
        words = line.decode().split()
        if not words:
            continue
        command = words[0].upper()
        if command == 'QUIT':
            return
        if command == 'STATS':
            reply = json.dumps(STATS.as_dict())
        elif command == 'CONFIG':
            for word in words[1:]:
                name, _, value = word.partition('=')
                if name == 'delay_ms':
                    CONFIG.delay = float(value) / 1000.0
                elif name == 'resources':
                    CONFIG.resources = int(value)
            reply = 'OK'
        else:
            reply = 'ERROR unknown command'
        sys.stdout.write(reply + '\n')
        sys.stdout.flush()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=0, help='0: any free port')
    parser.add_argument('--delay-ms', type=float, default=0.0)
    parser.add_argument('--resources', type=int, default=0,
                        help='binary sections in each encrypted NOTIFY')
    args = parser.parse_args()
    CONFIG.delay = args.delay_ms / 1000.0
    CONFIG.resources = args.resources
    loop = asyncio.get_running_loop()
    server = await loop.create_server(RequestReader, args.host, args.port, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    sys.stdout.write(f'READY {port}\n')
    sys.stdout.flush()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    async with server:
        await control(reader)


if __name__ == '__main__':
    asyncio.run(main())
