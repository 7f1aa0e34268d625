"""A session-bus connection to ``org.freedesktop.Notifications`` (asyncio, jeepney).

One connection: method calls with a deadline, and the notification server's signals
(plus the bus's ``NameOwnerChanged`` for its name) handed to a callback. When the bus
goes away the ``on_lost`` callback runs once; the owner makes a new connection later.
jeepney is imported when a connection is opened, not before.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

from . import _freedesktop as fd
from .exceptions import GNTPConnectionError

__all__ = ['NotificationsBus', 'SignalHandler']

logger = logging.getLogger(__name__)

#: ``handler(member, body)``: a signal of the notification server, or ``NameOwnerChanged``.
SignalHandler = Callable[[str, Tuple[Any, ...]], None]


class NotificationsBus:
    """A D-Bus connection for calling the notification server and hearing its signals.

    Args:
        on_signal: Called on the loop with each signal's member name and body.
        on_lost: Called once on the loop when the connection ends by itself.
    """

    def __init__(self, on_signal: SignalHandler, on_lost: Callable[[], None]) -> None:
        self.on_signal = on_signal
        self.on_lost = on_lost
        self._conn: Any = None
        self._reader: Optional['asyncio.Task[None]'] = None
        self._calls: Dict[int, 'asyncio.Future[Any]'] = {}
        self._closing = False

    @property
    def connected(self) -> bool:
        """Whether the connection is open."""
        return self._reader is not None and not self._reader.done()

    async def connect(self, bus: str = 'SESSION', timeout: float = 5.0) -> None:
        """Open the connection to ``bus`` (``'SESSION'`` or a D-Bus address) and subscribe
        to the notification server's signals.

        Raises:
            GNTPConnectionError: The bus cannot be reached in ``timeout`` seconds.
        """
        from jeepney import MatchRule, message_bus
        from jeepney.io.asyncio import open_dbus_connection
        try:
            self._conn = await asyncio.wait_for(open_dbus_connection(bus), timeout)
        except KeyError:
            raise GNTPConnectionError('cannot connect to the D-Bus session bus: '
                                      'DBUS_SESSION_BUS_ADDRESS is not set') from None
        except (OSError, EOFError, RuntimeError, ValueError, asyncio.TimeoutError) as exc:
            raise GNTPConnectionError(f'cannot connect to the D-Bus {bus.lower()} bus: '
                                      f'{exc or type(exc).__name__}') from exc
        self._reader = asyncio.ensure_future(self._read())
        notifications = MatchRule(type='signal', sender=fd.BUS_NAME, interface=fd.INTERFACE,
                                  path=fd.OBJECT_PATH)
        owner = MatchRule(type='signal', sender='org.freedesktop.DBus',
                          interface='org.freedesktop.DBus', member='NameOwnerChanged',
                          path='/org/freedesktop/DBus')
        owner.add_arg_condition(0, fd.BUS_NAME)
        for rule in (notifications, owner):
            await self._send(message_bus.AddMatch(rule), timeout)

    async def call(self, method: str, signature: Optional[str] = None,
                   body: Sequence[Any] = (), timeout: float = 5.0) -> Tuple[Any, ...]:
        """Call a method of the notification server and return the reply's body.

        Raises:
            GNTPConnectionError: No reply in ``timeout`` seconds, an error reply (such
                as no notification server on the bus), or the connection is gone.
        """
        from jeepney import DBusAddress, new_method_call
        address = DBusAddress(fd.OBJECT_PATH, bus_name=fd.BUS_NAME, interface=fd.INTERFACE)
        return await self._send(new_method_call(address, method, signature, tuple(body)),
                                timeout)

    async def _send(self, message: Any, timeout: float) -> Tuple[Any, ...]:
        from jeepney import MessageType
        if not self.connected:
            raise GNTPConnectionError('not connected to the D-Bus session bus')
        serial = next(self._conn.outgoing_serial)
        reply: 'asyncio.Future[Any]' = asyncio.get_event_loop().create_future()
        self._calls[serial] = reply
        member = message.header.fields.get(_MEMBER, '?')
        try:
            await self._conn.send(message, serial=serial)
            answer = await asyncio.wait_for(asyncio.shield(reply), timeout)
        except asyncio.TimeoutError:
            raise GNTPConnectionError(f'{member}: no answer from the notification server '
                                      f'in {timeout} s') from None
        except OSError as exc:
            raise GNTPConnectionError(f'{member}: the D-Bus connection failed: {exc}') from exc
        finally:
            self._calls.pop(serial, None)
        if answer is None:
            raise GNTPConnectionError(f'{member}: the D-Bus connection was lost')
        if answer.header.message_type == MessageType.error:
            name = answer.header.fields.get(_ERROR_NAME, 'error')
            detail = answer.body[0] if answer.body and isinstance(answer.body[0], str) else ''
            raise GNTPConnectionError(f'{member}: {name}: {detail}'.rstrip(': '))
        return tuple(answer.body)

    async def _read(self) -> None:
        from jeepney import MessageType
        try:
            while True:
                message = await self._conn.receive()
                kind = message.header.message_type
                if kind in (MessageType.method_return, MessageType.error):
                    reply = self._calls.get(message.header.fields.get(_REPLY_SERIAL, -1))
                    if reply is not None and not reply.done():
                        reply.set_result(message)
                elif kind == MessageType.signal:
                    try:
                        self.on_signal(message.header.fields.get(_MEMBER, ''),
                                       tuple(message.body))
                    except Exception:
                        logger.exception('handling a notification server signal failed')
        except (OSError, EOFError, ValueError) as exc:
            if not self._closing:
                logger.warning('the D-Bus connection was lost: %s', exc or type(exc).__name__)
        finally:
            for reply in self._calls.values():
                if not reply.done():
                    reply.set_result(None)
            if not self._closing:
                self.on_lost()

    def close(self) -> None:
        """Close the connection (``on_lost`` is not called)."""
        self._closing = True
        if self._reader is not None:
            self._reader.cancel()
        if self._conn is not None:
            self._conn.writer.close()

    async def wait_closed(self) -> None:
        """Wait until :meth:`close` has finished."""
        if self._reader is not None:
            await asyncio.wait([self._reader])
        if self._conn is not None:
            try:
                await self._conn.writer.wait_closed()
            except OSError:
                pass


# jeepney.HeaderFields values, spelt out so this module imports without jeepney.
_MEMBER = 3
_ERROR_NAME = 4
_REPLY_SERIAL = 5
