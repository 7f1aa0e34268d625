"""Faulty GNTP servers on 127.0.0.1, run in a subprocess for the hardening tests.

Running them in their own process keeps the test process's file descriptors, threads and
event loop the client's alone, so a leak check there counts only what the client left.

Each fault listens on its own port. Every fault first reads the request's first section
(up to CR LF CR LF), then:

* ``silent``: never answers; keeps the connection until the client closes it.
* ``slow``: sends a valid ``-OK`` one byte every :data:`DRIP_INTERVAL` seconds (the fault
  being simulated, not synchronisation), then waits for the client to close.
* ``reset``: sends half a ``-OK``, then resets the connection (RST).
* ``close``: closes without a byte.
* ``close-partial``: sends half an information line, then closes.
* ``callback-first``: sends a ``-CALLBACK`` where the ``-OK`` belongs, then waits.
* ``ok-then-drip``: sends ``-OK``, then one CR LF every :data:`DRIP_INTERVAL` seconds for
  ever (a socket callback that never comes, on a stream that is never silent).

Run ``python -m tests.support.fault_peer``: it prints ``{fault: port}`` as one JSON line and serves
until its stdin closes.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import sys
from typing import Awaitable, Callable, Dict

OK = (b'GNTP/1.0 -OK NONE\r\nResponse-Action: REGISTER\r\n'
      b'Origin-Software-Name: fault_peer\r\n\r\n')
CALLBACK = (b'GNTP/1.0 -CALLBACK NONE\r\nApplication-Name: App\r\nNotification-ID: 1\r\n'
            b'Notification-Callback-Result: CLICK\r\nNotification-Callback-Context: c\r\n'
            b'Notification-Callback-Context-Type: string\r\n\r\n')
#: Seconds between the bytes of the ``slow`` and ``ok-then-drip`` faults.
DRIP_INTERVAL = 0.03

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _until_client_closes(reader: asyncio.StreamReader) -> None:
    while await reader.read(65536):
        pass


async def _drip(writer: asyncio.StreamWriter, data: bytes, forever: bool = False) -> None:
    while True:
        for i in range(len(data)):
            writer.write(data[i:i + 1])
            await writer.drain()
            await asyncio.sleep(DRIP_INTERVAL)
        if not forever:
            return


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _until_client_closes(reader)


async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await _drip(writer, OK)
    await _until_client_closes(reader)


async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(OK[:len(OK) // 2])
    await writer.drain()
    sock = writer.get_extra_info('socket')
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    writer.transport.abort()


async def close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    pass


async def close_partial(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b'GNTP/1.0 -O')


async def callback_first(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(CALLBACK)
    await _until_client_closes(reader)


async def ok_then_drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(OK)
    await _drip(writer, b'\r\n', forever=True)


FAULTS: Dict[str, Handler] = {
    'silent': silent, 'slow': slow, 'reset': reset, 'close': close,
    'close-partial': close_partial, 'callback-first': callback_first,
    'ok-then-drip': ok_then_drip,
}


def _serve(fault: Handler) -> Handler:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b'\r\n\r\n')
            await fault(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # the client gave up: what these faults are for
        finally:
            writer.close()
    return handle


async def main() -> None:
    loop = asyncio.get_running_loop()
    servers = {name: await asyncio.start_server(_serve(fault), '127.0.0.1', 0, backlog=2048)
               for name, fault in FAULTS.items()}
    ports = {name: server.sockets[0].getsockname()[1] for name, server in servers.items()}
    sys.stdout.write(json.dumps(ports) + '\n')
    sys.stdout.flush()
    await loop.run_in_executor(None, sys.stdin.read)  # until the test closes our stdin


if __name__ == '__main__':
    asyncio.run(main())
