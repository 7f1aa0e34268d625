"""Interoperability: kfdm's independent ``gntp`` package parses what we send.

kfdm 1.0.3 refuses to decode requests without a password and its password check crashes on
Python 3 (gntp-protocol.md §11.4), so plain messages are parsed with its password check
bypassed; key hashes are checked against the shared vectors and our own reader instead.
"""

from __future__ import annotations

import pytest

from gntplib import Event, Notification, Resource, SocketCallback
from gntplib.packers import MessagePacker
from gntplib.requests import NotifyRequest, RegisterRequest

gntp_core = pytest.importorskip('gntp.core')


@pytest.fixture
def kfdm_parse(monkeypatch):
    # kfdm cannot verify passwords on Python 3; skip that step of its parser only.
    monkeypatch.setattr(gntp_core._GNTPBase, '_validate_password', lambda self, password: None)
    return gntp_core.parse_gntp


def test_kfdm_parses_our_register(kfdm_parse):
    icon = Resource(data=b'ascii icon bytes')  # kfdm decodes payloads as UTF-8
    request = RegisterRequest('Interop App', icon, [
        Event('update', 'Update available'), Event('error', enabled=False)],
        custom_headers=[('X-Creator', 'gntplib')])
    parsed = kfdm_parse(MessagePacker().pack(request))
    assert parsed.info['messagetype'] == 'REGISTER'
    assert parsed.headers['Application-Name'] == 'Interop App'
    assert parsed.headers['Notifications-Count'] == '2'
    assert parsed.headers['X-Creator'] == 'gntplib'
    assert [(n['Notification-Name'], n['Notification-Enabled']) for n in parsed.notifications] \
        == [('update', 'True'), ('error', 'False')]
    resource = parsed.resources[icon.identifier()]
    assert icon.data is not None
    assert resource['Length'] == str(len(icon.data))
    assert resource['Data'] in (icon.data, icon.data.decode())


def test_kfdm_parses_our_notify(kfdm_parse):
    request = NotifyRequest('Interop App', Notification(
        'update', 'Grüße', 'first line', 'id-7', True, 1,
        gntp_callback=SocketCallback('ctx', 'string')), app_specific_headers=[('Tag', 'x')])
    parsed = kfdm_parse(MessagePacker().pack(request))
    headers = parsed.headers
    assert parsed.info['messagetype'] == 'NOTIFY'
    assert (headers['Notification-Title'], headers['Notification-Text'],
            headers['Notification-ID'], headers['Notification-Sticky'],
            headers['Notification-Priority']) == ('Grüße', 'first line', 'id-7', 'True', '1')
    assert headers['Notification-Callback-Context'] == 'ctx'
    assert headers['Data-Tag'] == 'x'
