"""A scripted notification server: our own small ``org.freedesktop.Notifications`` service.

It claims the name on a private bus (jeepney, asyncio, in its own thread), answers
``GetCapabilities``, ``GetServerInformation``, ``Notify`` and ``CloseNotification`` the
way the spec says, records every call, and sends the signals a test asks for: the edge
cases real daemons show only sometimes (both signals for one notification, no
``actions``, never expiring, leaving the bus and coming back).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Dict, List, Optional, Sequence, Tuple

from jeepney import (DBusAddress, MessageType, new_error, new_method_return, new_signal,
                     message_bus)
from jeepney.io.asyncio import open_dbus_connection

from .processes import wait_until

NAME = 'org.freedesktop.Notifications'
PATH = '/org/freedesktop/Notifications'
EMITTER = DBusAddress(PATH, interface=NAME)
FULL_CAPABILITIES = ('actions', 'body', 'body-markup', 'icon-static', 'persistence')


class ScriptedNotificationServer:
    """A notification server a test scripts.

    Attributes:
        notifications: The ``Notify`` calls, as dicts with the spec's argument names plus
            ``id`` (the id answered).
        closed: The ids of ``CloseNotification`` calls.
    """

    def __init__(self, address: str, capabilities: Sequence[str] = FULL_CAPABILITIES,
                 first_id: int = 1, answer_notify: bool = True,
                 click_before_answer: bool = False) -> None:
        """``answer_notify=False``: a hung server that never answers ``Notify``;
        ``click_before_answer``: ``ActionInvoked`` for a new notification goes out in the
        same write as, and before, the answer to its ``Notify``."""
        self.address = address
        self.capabilities = list(capabilities)
        self.answer_notify = answer_notify
        self.click_before_answer = click_before_answer
        self.next_id = first_id
        self.notifications: List[Dict[str, Any]] = []
        self.closed: List[int] = []
        self.calls: List[str] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._conn: Any = None
        self._serving: Optional['asyncio.Future[None]'] = None

    # -- life ----------------------------------------------------------------------------------

    def start(self) -> 'ScriptedNotificationServer':
        self._thread.start()
        self._run(self._start())
        return self

    async def _start(self) -> None:
        self._conn = await open_dbus_connection(self.address)
        self._serving = asyncio.ensure_future(self._serve())
        reply = await self._call(message_bus.RequestName(NAME, 4))  # DO_NOT_QUEUE
        assert reply == (1,), f'could not own {NAME}: {reply}'

    def stop(self) -> None:
        """Leave the bus (the name goes with the connection)."""
        if self._conn is not None:
            self._run(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _stop(self) -> None:
        assert self._serving is not None
        self._serving.cancel()
        await self._conn.close()
        self._conn = None

    def _run(self, coroutine: Any, timeout: float = 10.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    # -- the service ----------------------------------------------------------------------------

    _replies: Dict[int, 'asyncio.Future[Any]']

    async def _call(self, message: Any) -> Any:
        serial = next(self._conn.outgoing_serial)
        self._replies = getattr(self, '_replies', {})
        future = self._loop.create_future()
        self._replies[serial] = future
        await self._conn.send(message, serial=serial)
        return await asyncio.wait_for(future, 10)

    async def _serve(self) -> None:
        while True:
            message = await self._conn.receive()
            header = message.header
            if header.message_type in (MessageType.method_return, MessageType.error):
                future = getattr(self, '_replies', {}).pop(header.fields.get(5), None)
                if future is not None:
                    future.set_result(tuple(message.body))
            elif header.message_type == MessageType.method_call:
                answer = self._answer(message)
                if answer is None:
                    continue
                data = answer.serialise(next(self._conn.outgoing_serial))
                if self.click_before_answer and self.calls[-1] == 'Notify':
                    data = new_signal(EMITTER, 'ActionInvoked', 'us', (
                        self.notifications[-1]['id'], 'default')).serialise(
                        next(self._conn.outgoing_serial)) + data
                self._conn.writer.write(data)
                await self._conn.writer.drain()

    def _answer(self, message: Any) -> Optional[Any]:
        member = message.header.fields.get(3)
        self.calls.append(member)
        if member == 'GetCapabilities':
            return new_method_return(message, 'as', (self.capabilities,))
        if member == 'GetServerInformation':
            return new_method_return(message, 'ssss', ('scripted', 'gntplib tests', '1',
                                                       '1.2'))
        if member == 'Notify':
            names = ('app_name', 'replaces_id', 'app_icon', 'summary', 'body', 'actions',
                     'hints', 'expire_timeout')
            record = dict(zip(names, message.body))
            record['hints'] = {k: v[1] for k, v in record['hints'].items()}
            if record['replaces_id']:
                record['id'] = record['replaces_id']
            else:
                record['id'] = self.next_id
                self.next_id += 1
            self.notifications.append(record)
            if not self.answer_notify:
                return None
            return new_method_return(message, 'u', (record['id'],))
        if member == 'CloseNotification':
            self.closed.append(message.body[0])
            return new_method_return(message)
        return new_error(message, 'org.freedesktop.DBus.Error.UnknownMethod')

    # -- what a test does -----------------------------------------------------------------------

    def wait_for_notifications(self, count: int = 1, timeout: float = 10.0
                               ) -> List[Dict[str, Any]]:
        wait_until(lambda: len(self.notifications) >= count, timeout,
                   f'{count} Notify call(s)')
        return self.notifications

    def signal(self, *signals: Tuple[str, str, Tuple[Any, ...]]) -> None:
        """Send signals ``(member, signature, body)``, all in one write."""
        async def send() -> None:
            data = b''.join(new_signal(EMITTER, member, signature, body).serialise(
                next(self._conn.outgoing_serial)) for member, signature, body in signals)
            self._conn.writer.write(data)
            await self._conn.writer.drain()
        self._run(send())

    def click(self, notification_id: int) -> Tuple[str, str, Tuple[Any, ...]]:
        return ('ActionInvoked', 'us', (notification_id, 'default'))

    def closed_signal(self, notification_id: int, reason: int
                      ) -> Tuple[str, str, Tuple[Any, ...]]:
        return ('NotificationClosed', 'uu', (notification_id, reason))
