"""Tests of ``tornado_app.py`` with Tornado's ``AsyncHTTPTestCase``, against the embedded
GNTP server (``gntplib.server.ServerThread``): no Growl needed.

Run them from the ``examples`` folder::

    python -m unittest -v test_tornado_app
"""

from __future__ import annotations

import asyncio
import socket
import unittest
from urllib.parse import urlencode

from tornado.testing import AsyncHTTPTestCase

from gntplib.server import ServerThread

import tornado_app


def free_port_nobody_listens_on() -> socket.socket:
    """A port bound but not listening: connections to it are refused until ``listen()``."""
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    return sock


class NotifyHandlerTest(AsyncHTTPTestCase):
    def setUp(self) -> None:
        self.gntp = ServerThread().start()  # a GNTP receiver on a free port
        super().setUp()

    def tearDown(self) -> None:
        super().tearDown()
        self.gntp.stop()

    def get_app(self):
        # Built without registering first, as when the receiver was down at start.
        return tornado_app.make_app(tornado_app.make_publisher(port=self.gntp.port))

    def test_post_notify_reaches_the_receiver(self) -> None:
        response = self.fetch('/notify', method='POST',
                              body=urlencode({'title': 'Deployed', 'text': 'v2.0 is live'}))
        self.assertEqual(response.code, 200)
        notify = self.gntp.received[-1]
        self.assertEqual((notify.app_name, notify.notification.title,
                          notify.notification.text), ('Deploy bot', 'Deployed', 'v2.0 is live'))

    def test_notify_later_answers_at_once_and_sends_in_the_background(self) -> None:
        response = self.fetch('/notify-later', method='POST', body=urlencode({'title': 'Later'}))
        self.assertEqual(response.code, 202)
        self.wait_for_background()
        self.assertEqual(self.gntp.received[-1].notification.title, 'Later')

    def test_a_failed_background_notification_is_logged_once(self) -> None:
        dead = free_port_nobody_listens_on()
        self._app.settings['publisher'] = tornado_app.make_publisher(
            port=dead.getsockname()[1])
        with self.assertLogs('tornado_app', 'WARNING') as logs:
            response = self.fetch('/notify-later', method='POST',
                                  body=urlencode({'title': 'Lost'}))
            self.assertEqual(response.code, 202)
            self.wait_for_background()
        dead.close()
        self.assertEqual(len(logs.records), 1)
        self.assertIn("notification 'Lost' not sent", logs.output[0])

    def test_an_app_started_while_the_receiver_is_down_registers_later(self) -> None:
        reserved = free_port_nobody_listens_on()
        publisher = tornado_app.make_publisher(port=reserved.getsockname()[1])

        async def start_then_receiver_comes_up() -> None:
            with self.assertLogs('tornado_app', 'WARNING') as logs:
                registering = asyncio.ensure_future(
                    tornado_app.keep_registered(publisher, retry=0.05))
                while not logs.records:  # the first attempt was refused, and logged
                    await asyncio.sleep(0.01)
            self.assertIn('GNTP receiver not reachable', logs.output[0])
            self.assertFalse(registering.done())  # it keeps trying
            reserved.listen(16)  # the receiver starts
            self.late = ServerThread(sock=reserved).start()
            response = await asyncio.wait_for(registering, 10)
            self.assertEqual(response.action, 'REGISTER')
        self.io_loop.run_sync(start_then_receiver_comes_up, timeout=20)
        try:
            self.assertEqual(self.late.received[-1].app_name, 'Deploy bot')
        finally:
            self.late.stop()

    # -- helpers ------------------------------------------------------------------------------

    def wait_for_background(self) -> None:
        pending = list(self._app.settings['background'])

        async def wait() -> None:
            await asyncio.gather(*pending, return_exceptions=True)
        self.io_loop.run_sync(wait, timeout=10)


if __name__ == '__main__':
    unittest.main()
