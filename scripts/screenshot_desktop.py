"""Make the screenshot of docs/desktop.rst: a real notification of ``gntplib serve --desktop``.

A private D-Bus session bus, an Xvfb display and dunst (tests/desktop/processes.py) show
what ``gntplib notify`` sends to ``gntplib serve --desktop``; ImageMagick's ``import``
takes the screen and ``convert`` trims it to the notification. Run it with
``bash scripts/screenshot-desktop [OUTPUT.png]`` (needs scripts/deps/desktop.sh).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.desktop.processes import Dunst, PrivateBus, Xvfb, wait_until  # noqa: E402


def main(output: Path) -> None:
    with tempfile.TemporaryDirectory(prefix='gntplib-screenshot-') as tmp:
        directory = Path(tmp)
        bus = PrivateBus(directory).start()
        xvfb = Xvfb(640, 240)
        dunst = Dunst(directory, bus, xvfb)
        env = dict(dunst.env, PYTHONPATH=str(ROOT))
        serve = subprocess.Popen([sys.executable, '-m', 'gntplib', 'serve', '--port', '0',
                                  '--desktop', '--no-state'], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.PIPE, text=True, env=env)
        try:
            assert serve.stderr is not None
            said = [serve.stderr.readline()]
            while said[-1] and 'listening on' not in said[-1] and len(said) < 20:
                said.append(serve.stderr.readline())
            match = re.search(r'listening on 127\.0\.0\.1:(\d+)', said[-1])
            assert match, f'gntplib serve did not start: {said}'
            icon = directory / 'icon.png'
            subprocess.run(['convert', '-size', '48x48', 'radial-gradient:#7fd3ff-#0b5fa5',
                            '-fill', 'white', '-draw', 'circle 24,24 24,14', str(icon)],
                           check=True)
            subprocess.run([sys.executable, '-m', 'gntplib', 'notify', '--port', match[1],
                            '--app', 'Build bot', '--event', 'finished', '--sticky',
                            '--title', 'Build #42 passed',
                            '--text', 'All 1,204 tests passed in 3 min 12 s. '
                            'Click to open the report.', '--icon', str(icon),
                            '--callback-url', 'https://ci.example.com/builds/42'],
                           check=True, env=env, stdout=subprocess.DEVNULL)
            wait_until(lambda: dunst.count() == 1, 10, 'the notification on screen')
            shot = directory / 'screen.png'
            wait_until(lambda: subprocess.run(
                ['import', '-display', xvfb.display, '-window', 'root', str(shot)],
                env=dunst.env).returncode == 0, 10, 'the screenshot')
            output.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(['convert', str(shot), '-trim', '+repage', '-bordercolor', 'black',
                            '-border', '12', '-strip', str(output)], check=True)
        finally:
            serve.terminate()
            serve.wait(10)
            if serve.stderr is not None:
                serve.stderr.close()
            dunst.stop()
            xvfb.stop()
            bus.stop()
    print(f'wrote {os.path.relpath(output)}')


if __name__ == '__main__':
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else
         ROOT / 'docs' / 'images' / 'desktop-notification.png')
