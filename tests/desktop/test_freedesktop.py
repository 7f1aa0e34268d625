"""The sans-IO part: what a GNTP notification becomes on org.freedesktop.Notifications."""

from __future__ import annotations

import base64

import pytest

from gntplib import _freedesktop as fd


@pytest.mark.parametrize('priority, level', [(-2, 0), (-1, 0), (0, 1), (None, 1), (1, 1),
                                             (2, 2), (5, 2), (-9, 0)])
def test_urgency(priority, level):
    assert fd.urgency(priority) == level


def test_escape_markup_leaves_no_tag_or_entity():
    text = '<a href="x">&amp;</a> <img src=/x> & > <'
    escaped = fd.escape_markup(text)
    assert '<' not in escaped and '>' not in escaped
    assert escaped == ('&lt;a href="x"&gt;&amp;amp;&lt;/a&gt; &lt;img src=/x&gt; &amp; '
                       '&gt; &lt;')


def test_hints():
    assert fd.hints(0, False) == {'urgency': ('y', 1)}
    assert fd.hints(-1, True, '/i.png') == {'urgency': ('y', 0), 'resident': ('b', True),
                                            'image-path': ('s', '/i.png')}


def test_notify_body_follows_the_capabilities():
    plain = fd.notify_body('A', 'T', '<b>', capabilities=['body'], clickable=True,
                           replaces_id=7, app_icon='/a.png', expire_timeout=None)
    assert plain == ('A', 7, '/a.png', 'T', '<b>', [], {'urgency': ('y', 1)}, -1)
    rich = fd.notify_body('A', 'T', '<b>', capabilities=['actions', 'body-markup'],
                          clickable=False, sticky=True, expire_timeout=3)
    assert rich[4] == '&lt;b&gt;' and rich[5] == [] and rich[7] == 0
    assert rich[6]['resident'] == ('b', True)
    quick = fd.notify_body('A', 'T', '', capabilities=[], expire_timeout=0.0001)
    assert quick[7] == 1


@pytest.mark.parametrize('member, body, outcome', [
    ('ActionInvoked', (3, 'default'), (3, 'CLICK')),
    ('ActionInvoked', (3, 'other'), None),
    ('NotificationClosed', (3, 1), (3, 'TIMEDOUT')),
    ('NotificationClosed', (3, 2), (3, 'CLOSE')),
    ('NotificationClosed', (3, 3), (3, 'CLOSE')),
    ('NotificationClosed', (3, 4), (3, 'CLOSE')),
    ('NotificationClosed', (3,), None),
    ('ActionInvoked', ('x', 'default'), None),
    ('ActivationToken', (3, 'token'), None),
])
def test_signal_result(member, body, outcome):
    assert fd.signal_result(member, body) == outcome


@pytest.mark.parametrize('url, ok', [
    ('http://example.com', True), ('HTTPS://example.com/x?y#z', True),
    (' https://example.com ', True), ('http://', False), ('file:///etc/passwd', False),
    ('javascript:alert(1)', False), ('ftp://example.com', False), ('', False),
    ('http://[::1', False), (None, False), (b'http://example.com', False)])
def test_is_openable_url(url, ok):
    assert fd.is_openable_url(url) is ok


def test_decode_data_url():
    data = b'\x89PNG' + bytes(range(256))
    encoded = base64.b64encode(data).decode()
    assert fd.decode_data_url('data:image/png;base64,' + encoded, 1000) == data
    assert fd.decode_data_url('DATA:;base64,' + encoded, 1000) == data
    assert fd.decode_data_url('data:,a%20b', 10) == b'a b'
    assert fd.decode_data_url('data:image/png;base64,' + encoded, 100) is None
    assert fd.decode_data_url('data:image/png;base64,' + 'A' * 10 ** 6, 1000) is None
    assert fd.decode_data_url('data:,' + 'a' * 40, 10) is None
    assert fd.decode_data_url('data:;base64,!!!!', 10) is None
    assert fd.decode_data_url('data:no comma', 10) is None
    assert fd.decode_data_url('http://example.com/x.png', 10) is None
