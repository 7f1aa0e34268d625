"""Fixtures of the browser receiver tests: a receiver on a real server, a real Chromium.

* ``web``: a :class:`~gntplib.web.WebReceiver` started with a
  :class:`~gntplib.server.ServerThread` (loopback, free ports, 10 s callback timeout);
  ``web.thread`` is the thread, ``web.publisher(...)`` makes a Publisher for its port.
* ``browser``: headless Chromium driven by Selenium (Debian's ``chromium`` and
  ``chromium-driver``, installed by ``scripts/deps/browser.sh``). One browser per test
  module, started on first use; each test gets it with its cookies cleared.
"""

from __future__ import annotations

import shutil
import tempfile
from typing import Any, Callable, Iterator, List, Optional

import pytest

pytest.importorskip('tornado')

from gntplib import Publisher  # noqa: E402
from gntplib.server import ServerThread  # noqa: E402
from gntplib.web import WebReceiver  # noqa: E402

#: Headless flags; without the background-networking ones Chromium's own connections
#: (updates, sync, QUIC probes) get in the way of the page's.
CHROMIUM_FLAGS = ('--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
                  '--no-first-run', '--disable-background-networking',
                  '--disable-component-update', '--disable-sync',
                  '--disable-dev-shm-usage', '--window-size=1280,900')


class Web:
    """A started receiver and its server thread."""

    def __init__(self, receiver: WebReceiver, thread: ServerThread) -> None:
        self.receiver = receiver
        self.thread = thread

    @property
    def url(self) -> str:
        return self.receiver.url

    def publisher(self, app: str = 'App', events: Any = ('update',), **kwargs: Any
                  ) -> Publisher:
        return Publisher(app, list(events), port=self.thread.port, **kwargs)

    def on_loop(self, function: Callable[..., Any], *args: Any) -> Any:
        return self.thread.call(function, *args)


@pytest.fixture
def web(request: pytest.FixtureRequest) -> Iterator[Web]:
    """A receiver on a ServerThread; marker ``web`` gives WebReceiver arguments."""
    marker = request.node.get_closest_marker('web')
    kwargs = dict(marker.kwargs) if marker else {}
    server_kwargs = kwargs.pop('server', {})
    server_kwargs.setdefault('notification_timeout', 10.0)
    receiver = WebReceiver(**kwargs)
    thread = ServerThread(display=receiver.display, **server_kwargs)
    thread.start()
    yield Web(receiver, thread)
    thread.stop()


class Browser:
    """Starts Chromium on first use; :meth:`quit` ends it."""

    def __init__(self) -> None:
        self.driver: Any = None
        self.profile: Optional[str] = None

    def get(self, chromium: str, chromedriver: str) -> Any:
        if self.driver is None:
            from selenium import webdriver
            from selenium.webdriver.chrome.service import Service
            self.profile = tempfile.mkdtemp(prefix='gntplib-chromium-')
            options = webdriver.ChromeOptions()
            options.binary_location = chromium
            for flag in CHROMIUM_FLAGS:
                options.add_argument(flag)
            options.add_argument(f'--user-data-dir={self.profile}')
            self.driver = webdriver.Chrome(options=options, service=Service(chromedriver))
            self.driver.set_page_load_timeout(20)
            self.driver.set_script_timeout(20)
        return self.driver

    def quit(self) -> None:
        if self.driver is not None:
            self.driver.quit()
            self.driver = None
        if self.profile is not None:
            shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope='module')
def _browser_holder() -> Iterator[Browser]:
    holder = Browser()
    yield holder
    holder.quit()


@pytest.fixture
def browser(_browser_holder: Browser, require_program: Callable[..., str]) -> Any:
    """The module's headless Chromium (a Selenium WebDriver), cookies cleared, one tab."""
    pytest.importorskip('selenium', reason='pip install -e .[test]')
    driver = _browser_holder.get(require_program('chromium'), require_program('chromedriver'))
    handles: List[str] = driver.window_handles
    for handle in handles[1:]:
        driver.switch_to.window(handle)
        driver.close()
    driver.switch_to.window(handles[0])
    driver.execute_cdp_cmd('Network.clearBrowserCookies', {})
    return driver
