"""The documentation builds without warnings, and every example in it runs.

What is checked
===============

* ``sphinx-build -W -b html docs`` succeeds (skipped, saying so, when Sphinx is missing;
  the ``test`` extra installs it, so CI always builds).
* Every Python example in ``docs/*.rst`` and ``README.md`` runs against a real embedded
  GNTP server (:class:`gntplib.server.ServerThread`): ``.. code-block:: python`` blocks,
  ``::`` literal blocks (Sphinx highlights those as Python, so they must be Python; shell
  sessions and other text say ``.. code-block:: console``/``text``) and ```` ```python ````
  fences. The blocks of one page run in order in one namespace, like a script.
* Every ``gntplib ...`` command shown in a console/shell block parses with the real
  argparse parser (they are not run: ``serve`` would block, and they mostly talk to hosts
  that do not exist); every subcommand, option and environment variable of the command
  line is mentioned in ``docs/cli.rst``.
* ``examples/tornado_app.py``, which ``docs/async.rst`` includes, is run against a GNTP
  server by ``tests/test_async.py``.
* The API reference has a page for every public module and lists every name ``gntplib``
  exports; the docstring examples of the modules ``tests/test_doctests.py`` does not cover
  run too.
* The README's first example runs, as a reader would run it, against the receiver the
  README starts just before it (``gntplib serve --password ...`` on port 23053, inside the
  ``default_port_lock`` fixture).
* Install instructions ask for this gntplib (``'gntplib>=4'``: PyPI's name also carries an
  unrelated 3.x line) and quote every extra (zsh rejects ``gntplib[crypto]`` bare), in the
  docs, the README, error hints, examples and scripts.
* ``mypy --strict gntplib`` passes (skipped when mypy is missing; the ``test`` extra
  installs it).

How examples reach a server without Growl or the internet
=========================================================

The examples are written the way users write code: for a GNTP receiver on
``localhost:23053`` (or ``growl.local``, ``hub.example.com``...), and with icons at
``https://example.com/...``. The harness does not rewrite them; it provides that world:

* **GNTP.** Each page gets its own ``ServerThread`` on a free port. While the page runs,
  every connection to port 23053, whatever the host, goes to that server: the harness
  wraps ``socket.getaddrinfo`` (any host on port 23053 resolves to loopback) and
  ``socket.socket.connect`` (port 23053 becomes the server's port). Both transports, the
  blocking one and Tornado's, go through these two calls, so the library runs unmodified.
  This is the one place we patch: the OS cannot promise us port 23053 (Growl, ``gntplib
  serve`` or a parallel test run may hold it), and the example hosts do not exist. The
  server accepts the passwords in ``DOC_PASSWORDS`` and answers every socket callback with
  ``CLICK`` at once, so callback examples show a click and never wait. Its own outgoing
  connections to port 23053 (forwarding to subscribers the examples created) go to a port
  that refuses them.
* **HTTP.** ``AsyncHTTPClient`` is configured (Tornado's own extension point) with a client
  that sends requests for ``example.com`` to a local Tornado app, which serves a small PNG
  for any ``*.png`` path and 404 otherwise. ``Resource.from_url`` and URL callbacks never
  fetch anything, so they need nothing.
* **Files.** Examples run in a temporary directory holding ``icon.png`` and
  ``app_icon.png``.
* **Top-level await.** A block that uses ``await`` outside a function runs as a coroutine
  on a fresh event loop, as it would in ``python -m asyncio`` or a notebook.

Markers
=======

An RST comment right before a block (``<!-- ... -->`` in Markdown) changes how it runs;
the comment is invisible in the rendered docs:

* ``.. doc-test: raises GNTPValidationError`` -- the block must raise that exception (or a
  subclass); blocks that show a failure run and the failure is asserted.
* ``.. doc-test: skip -- <reason>`` -- the block is not run. Keep these rare; a reason is
  required (``MAX_SKIPPED`` caps them).
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import builtins
import contextlib
import doctest
import importlib
import importlib.util
import inspect
import io
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import traceback
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, NamedTuple, Optional, Tuple
from urllib.parse import urlsplit

import pytest

tornado = pytest.importorskip('tornado')

from tornado.httpclient import AsyncHTTPClient  # noqa: E402
from tornado.httpserver import HTTPServer  # noqa: E402
from tornado.ioloop import IOLoop  # noqa: E402
from tornado.netutil import bind_sockets  # noqa: E402
from tornado.simple_httpclient import SimpleAsyncHTTPClient  # noqa: E402
from tornado.web import Application, HTTPError, RequestHandler  # noqa: E402

import gntplib  # noqa: E402
from gntplib import constants  # noqa: E402
from gntplib.cli import build_parser  # noqa: E402
from gntplib.server import ServerThread  # noqa: E402
from tests.support.console import running  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / 'docs'
README = ROOT / 'README.md'
PAGES = sorted(p for p in DOCS.rglob('*.rst') if '_build' not in p.parts) + [README]

#: The passwords the examples use; the page server accepts all of them.
DOC_PASSWORDS = ['my-secret-password', 'secret', 'hub-password']
#: The port the examples talk to (Growl's), redirected to the page server.
EXAMPLE_PORT = constants.DEFAULT_PORT
#: At most this many blocks may carry ``doc-test: skip``.
MAX_SKIPPED = 3

PYTHON_LANGS = {'python', 'python3', 'py'}
SHELL_LANGS = {'console', 'shell', 'sh', 'bash', 'shell-session'}

#: A 1x1 PNG: ``icon.png`` and what the local web app serves.
ICON_PNG = bytes.fromhex(
    '89504e470d0a1a0a0000000d4948445200000001000000010806000000'
    '1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2ac3a'
    'f20000000049454e44ae426082')


# -- extracting the blocks ---------------------------------------------------------------------

class Block(NamedTuple):
    path: Path
    line: int            # 1-based line of the first line of code
    lang: str            # 'python', 'console', 'text', ...
    code: str            # dedented
    marker: Optional[Tuple[str, str]]  # ('skip', reason) or ('raises', exception name)

    @property
    def where(self) -> str:
        return f'{self.path.relative_to(ROOT)}:{self.line}'


_RST_DIRECTIVE = re.compile(r'^(\s*)\.\.\s+(?:code-block|code|sourcecode)::\s*(\S*)\s*$')
_RST_MARKER = re.compile(r'^\s*\.\.\s+doc-test:\s*(skip|raises)\b\s*(.*?)\s*$')
_MD_FENCE = re.compile(r'^( {0,3})(```+|~~~+)\s*([\w+-]*)')
_MD_MARKER = re.compile(r'<!--\s*doc-test:\s*(skip|raises)\b\s*(.*?)\s*-->')


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _marker(kind: str, arg: str) -> Tuple[str, str]:
    arg = arg.lstrip('-— ').strip()
    return kind, arg


def _rst_body(lines: List[str], start: int, base: int, options: bool
              ) -> Tuple[int, int, List[str]]:
    """Collect the indented body after line ``start - 1``; return (first line, end, body)."""
    j = start
    if options:
        while j < len(lines) and lines[j].strip().startswith(':') and _indent(lines[j]) > base:
            j += 1
    body: List[str] = []
    first = None
    while j < len(lines) and (not lines[j].strip() or _indent(lines[j]) > base):
        if first is None and lines[j].strip():
            first = j
        if first is not None:
            body.append(lines[j])
        j += 1
    while body and not body[-1].strip():
        body.pop()
    return (first if first is not None else start), j, body


def rst_blocks(path: Path) -> List[Block]:
    """The literal blocks of an RST page: code-block directives and ``::`` paragraphs."""
    lines = path.read_text(encoding='utf-8').splitlines()
    blocks: List[Block] = []
    marker: Optional[Tuple[str, str]] = None
    i = 0
    while i < len(lines):
        line = lines[i]
        found = _RST_MARKER.match(line)
        directive = _RST_DIRECTIVE.match(line)
        if found:
            marker = _marker(found.group(1), found.group(2))
            i += 1
            continue
        if directive:
            lang = directive.group(2) or 'python'
            first, end, body = _rst_body(lines, i + 1, _indent(line), options=True)
        elif line.rstrip().endswith('::') and not line.lstrip().startswith('..'):
            lang = 'python'
            first, end, body = _rst_body(lines, i + 1, _indent(line), options=False)
        else:
            i += 1
            continue
        if body:
            blocks.append(Block(path, first + 1, lang.lower(),
                                textwrap.dedent('\n'.join(body)) + '\n', marker))
            marker = None
        i = max(end, i + 1)
    assert marker is None, f'{path}: a doc-test marker is not followed by a code block'
    return blocks


def md_blocks(path: Path) -> List[Block]:
    """The fenced code blocks of a Markdown file."""
    lines = path.read_text(encoding='utf-8').splitlines()
    blocks: List[Block] = []
    marker: Optional[Tuple[str, str]] = None
    i = 0
    while i < len(lines):
        found = _MD_MARKER.search(lines[i])
        fence = _MD_FENCE.match(lines[i])
        if found:
            marker = _marker(found.group(1), found.group(2))
        if not fence:
            i += 1
            continue
        closing = fence.group(2)
        j = i + 1
        while j < len(lines) and not lines[j].strip().startswith(closing):
            j += 1
        code = textwrap.dedent('\n'.join(lines[i + 1:j])) + '\n'
        blocks.append(Block(path, i + 2, (fence.group(3) or 'text').lower(), code, marker))
        marker = None
        i = j + 1
    assert marker is None, f'{path}: a doc-test marker is not followed by a code block'
    return blocks


def page_blocks(path: Path) -> List[Block]:
    return md_blocks(path) if path.suffix == '.md' else rst_blocks(path)


def python_blocks(path: Path) -> List[Block]:
    return [b for b in page_blocks(path) if b.lang in PYTHON_LANGS]


def _page_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


# -- the world the examples run in -------------------------------------------------------------

class _IconHandler(RequestHandler):
    def get(self, name: str) -> None:
        if not name.endswith('.png'):
            raise HTTPError(404)
        self.set_header('Content-Type', 'image/png')
        self.write(ICON_PNG)


class WebThread:
    """A Tornado web app on loopback, in its own thread: the harness's ``example.com``."""

    def __init__(self) -> None:
        self._sockets = bind_sockets(0, '127.0.0.1')
        self.port: int = self._sockets[0].getsockname()[1]
        self._loop: Optional[IOLoop] = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name='docs-web')

    def _run(self) -> None:
        loop = IOLoop(make_current=False)
        asyncio.set_event_loop(loop.asyncio_loop)

        async def setup() -> HTTPServer:
            server = HTTPServer(Application([(r'/(.*)', _IconHandler)]))
            server.add_sockets(self._sockets)
            return server
        server = loop.run_sync(setup)
        self._loop = loop
        self._ready.set()
        loop.start()
        server.stop()
        loop.close(all_fds=True)

    def __enter__(self) -> 'WebThread':
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._loop is not None:
            self._loop.add_callback(self._loop.stop)
        self._thread.join(10)


class ExampleWebClient(SimpleAsyncHTTPClient):
    """Tornado's HTTP client, except that ``example.com`` is the local :class:`WebThread`."""

    web_port = 0

    def fetch_impl(self, request: Any, callback: Callable[..., None]) -> None:
        host = urlsplit(request.url).hostname or ''
        if host == 'example.com' or host.endswith('.example.com'):
            request.url = f'http://127.0.0.1:{self.web_port}{urlsplit(request.url).path}'
        super().fetch_impl(request, callback)


class DocWorld:
    """The page server, the redirects and the web app of one page (see the module doc)."""

    def __init__(self, server: ServerThread, server_ident: int, nowhere: int) -> None:
        self.server = server
        self.server_ident = server_ident
        self.nowhere = nowhere

    def route(self, sock: socket.socket, address: Any) -> Any:
        """Where a socket connecting to ``address`` really goes."""
        if not (isinstance(address, tuple) and len(address) >= 2
                and address[1] == EXAMPLE_PORT):
            return address
        port = self.server.port
        if threading.get_ident() == self.server_ident:
            port = self.nowhere  # the page server forwarding to a subscriber
        if sock.family == socket.AF_INET6:
            return ('::ffff:127.0.0.1', port) + tuple(address[2:])
        return ('127.0.0.1', port)


@pytest.fixture
def doc_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DocWorld]:
    (tmp_path / 'icon.png').write_bytes(ICON_PNG)
    (tmp_path / 'app_icon.png').write_bytes(ICON_PNG)
    monkeypatch.chdir(tmp_path)
    # Bound but not listening: connections to it are refused, and nobody else can take it.
    nowhere_sock = socket.socket()
    nowhere_sock.bind(('127.0.0.1', 0))
    with ServerThread(password=DOC_PASSWORDS, callback_result='CLICK') as server, \
            WebThread() as web, contextlib.closing(nowhere_sock):
        world = DocWorld(server, server.call(threading.get_ident),
                         nowhere_sock.getsockname()[1])

        real_getaddrinfo = socket.getaddrinfo
        real_connect = socket.socket.connect
        real_connect_ex = socket.socket.connect_ex

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if str(port) == str(EXAMPLE_PORT):
                host = '127.0.0.1'  # growl.local, hub.example.com... exist here
            return real_getaddrinfo(host, port, *args, **kwargs)

        def connect(sock: socket.socket, address: Any) -> Any:
            return real_connect(sock, world.route(sock, address))

        def connect_ex(sock: socket.socket, address: Any) -> Any:
            return real_connect_ex(sock, world.route(sock, address))

        monkeypatch.setattr(socket, 'getaddrinfo', getaddrinfo)
        monkeypatch.setattr(socket.socket, 'connect', connect)
        monkeypatch.setattr(socket.socket, 'connect_ex', connect_ex)
        saved = AsyncHTTPClient._save_configuration()
        ExampleWebClient.web_port = web.port
        AsyncHTTPClient.configure(ExampleWebClient)
        try:
            yield world
        finally:
            AsyncHTTPClient._restore_configuration(saved)


# -- running a block ---------------------------------------------------------------------------

def _exception_matches(exc: BaseException, name: str) -> bool:
    return any(cls.__name__ == name for cls in type(exc).__mro__)


def run_block(block: Block, namespace: Dict[str, Any]) -> str:
    """Run one block in ``namespace``; return what it printed. Fails the test with the
    page and line when the block fails (or does not raise what its marker says)."""
    source = '\n' * (block.line - 1) + block.code  # tracebacks point into the page
    try:
        code = compile(source, str(block.path), 'exec', dont_inherit=True,
                       flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    except SyntaxError as exc:
        pytest.fail(f'{block.where}: not valid Python ({exc.msg}, line {exc.lineno}); give '
                    'non-Python blocks a language (.. code-block:: console / text)')
    expected = block.marker[1] if block.marker and block.marker[0] == 'raises' else None
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            if code.co_flags & inspect.CO_COROUTINE:
                asyncio.run(eval(code, namespace))
            else:
                exec(code, namespace)
    except Exception as exc:
        if expected and _exception_matches(exc, expected):
            return out.getvalue()
        pytest.fail(f'{block.where}: the example failed:\n'
                    f'{"".join(traceback.format_exception(type(exc), exc, exc.__traceback__))}'
                    f'--- it printed ---\n{out.getvalue()}', pytrace=False)
    if expected:
        pytest.fail(f'{block.where}: the example should raise {expected}, and did not',
                    pytrace=False)
    return out.getvalue()


# -- the tests ---------------------------------------------------------------------------------

def test_sphinx_build_has_no_warnings(tmp_path: Path) -> None:
    """``sphinx-build -W`` (warnings are errors) builds the HTML docs."""
    if importlib.util.find_spec('sphinx') is None:
        pytest.skip('Sphinx is not installed (pip install -e .[test] installs it); the docs '
                    'build was NOT checked')
    result = subprocess.run(
        [sys.executable, '-m', 'sphinx', '-W', '--keep-going', '-q', '-b', 'html',
         '-d', str(tmp_path / 'doctrees'), str(DOCS), str(tmp_path / 'html')],
        capture_output=True, text=True, cwd=str(ROOT), timeout=300)
    assert result.returncode == 0, f'sphinx-build failed:\n{result.stdout}\n{result.stderr}'
    assert (tmp_path / 'html' / 'index.html').exists()


@pytest.mark.parametrize('page', PAGES, ids=_page_id)
def test_examples_run(page: Path, doc_world: DocWorld) -> None:
    """Every Python block of the page runs, in order, against the page's GNTP server."""
    namespace: Dict[str, Any] = {'__name__': '__main__'}
    for block in python_blocks(page):
        if block.marker and block.marker[0] == 'skip':
            continue
        output = run_block(block, namespace)
        print(f'--- {block.where}\n{output}', end='')  # shown by pytest when a later block fails


def test_the_examples_are_found() -> None:
    """The extractor sees the blocks (a broken extractor would make every page pass)."""
    blocks = {page.name: python_blocks(page) for page in PAGES}
    assert len(blocks['README.md']) >= 3
    for name in ('quickstart.rst', 'tutorial.rst', 'guide.rst', 'async.rst', 'server.rst',
                 'migration.rst', 'security.rst'):
        assert len(blocks[name]) >= 3, name
    assert sum(len(b) for b in blocks.values()) >= 60


def test_markers_are_rare_and_explained() -> None:
    markers = [(b.where, b.marker) for page in PAGES for b in page_blocks(page) if b.marker]
    for where, (kind, arg) in markers:
        assert arg, f'{where}: doc-test {kind} needs an argument (a reason / an exception)'
        if kind == 'raises':
            assert hasattr(gntplib, arg) or hasattr(builtins, arg), \
                f'{where}: unknown exception {arg}'
    skipped = [where for where, (kind, _) in markers if kind == 'skip']
    assert len(skipped) <= MAX_SKIPPED, f'too many skipped examples: {skipped}'


def test_literal_blocks_are_python_or_say_what_they_are() -> None:
    """``::`` blocks render as Python, so they must be Python."""
    for page in PAGES:
        for block in python_blocks(page):
            try:
                compile(block.code, block.where, 'exec', dont_inherit=True,
                        flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            except SyntaxError as exc:
                pytest.fail(f'{block.where}: not Python ({exc.msg}); use '
                            '.. code-block:: console (or text)')


# -- the command line in the docs --------------------------------------------------------------

_SHELL_STOP = {'|', '||', '&&', ';', '&', '>', '>>', '2>', '<'}


def _logical_lines(block: Block) -> Iterator[str]:
    """The block's commands, with backslash-continued lines joined; console output (lines
    without a ``$`` prompt) left out."""
    pending = ''
    for raw in block.code.splitlines():
        line = raw.strip()
        if not pending and block.lang == 'console':
            if not line.startswith('$ '):
                continue  # output
            line = line[2:]
        if line.endswith('\\'):
            pending += line[:-1] + ' '
            continue
        yield pending + line
        pending = ''
    if pending:
        yield pending


def cli_invocations(block: Block) -> Iterator[List[str]]:
    """The argument lists of the ``gntplib`` commands a shell block shows."""
    for line in _logical_lines(block):
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError as exc:
            pytest.fail(f'{block.where}: cannot split {line!r} like a shell: {exc}')
        while tokens and re.match(r'^[A-Za-z_][A-Za-z0-9_]*=', tokens[0]):
            tokens = tokens[1:]  # VAR=value prefix
        for i, token in enumerate(tokens):
            if token in _SHELL_STOP:
                tokens = tokens[:i]
                break
        if tokens[:1] == ['gntplib']:
            yield tokens[1:]
        elif len(tokens) >= 3 and tokens[0].startswith('python') and tokens[1:3] == [
                '-m', 'gntplib']:
            yield tokens[3:]


def _all_invocations() -> List[Tuple[str, List[str]]]:
    return [(block.where, argv) for page in PAGES for block in page_blocks(page)
            if block.lang in SHELL_LANGS for argv in cli_invocations(block)]


def test_cli_commands_in_the_docs_parse() -> None:
    invocations = _all_invocations()
    assert len(invocations) >= 10
    for where, argv in invocations:
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                build_parser().parse_args(argv)
        except SystemExit as exc:  # --help and --version exit 0; errors exit 2
            assert exc.code == 0, f'{where}: gntplib {shlex.join(argv)}: {out.getvalue()}'


def _subcommands(parser: argparse.ArgumentParser) -> Dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def test_every_cli_command_option_and_variable_is_documented() -> None:
    text = (DOCS / 'cli.rst').read_text(encoding='utf-8')
    parser = build_parser()
    for name, sub in _subcommands(parser).items():
        assert f'gntplib {name}' in text, f'docs/cli.rst does not show "gntplib {name}"'
        for action in sub._actions:
            for option in action.option_strings:
                if option.startswith('--') and option != '--help':
                    assert f'``{option}' in text, f'docs/cli.rst: {name} {option} missing'
    for option in ('--version', '--verbose'):
        assert option in text
    for variable in ('GNTP_HOST', 'GNTP_PORT', 'GNTP_PASSWORD'):
        assert variable in text


# -- the API reference -------------------------------------------------------------------------

def _public_modules() -> List[str]:
    names = [p.stem for p in (ROOT / 'gntplib').glob('*.py')]
    # gntplib.async is 0.5's alias of async_ (same objects): documented on the migration page.
    return sorted(n for n in names if not n.startswith('_') and n != 'async')


def test_every_public_module_has_an_api_page() -> None:
    api = '\n'.join(p.read_text(encoding='utf-8') for p in (DOCS / 'api').glob('*.rst'))
    for name in _public_modules():
        assert f'.. automodule:: gntplib.{name}\n' in api, f'no API page for gntplib.{name}'


def test_api_index_lists_every_name_the_package_exports() -> None:
    text = (DOCS / 'api' / 'index.rst').read_text(encoding='utf-8')
    for name in gntplib.__all__:
        assert re.search(rf'\b{re.escape(name)}\b', text), f'docs/api/index.rst: {name}'


def _doctest_modules() -> List[str]:
    covered = set()
    spec = importlib.util.spec_from_file_location('_doctests', ROOT / 'tests' /
                                                  'test_doctests.py')
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        covered = set(getattr(module, 'MODULES', ()))
    return ['gntplib'] + [f'gntplib.{n}' for n in _public_modules() if n not in covered]


@pytest.mark.parametrize('name', _doctest_modules())
def test_docstring_examples_of_the_other_modules_run(name: str) -> None:
    """The API reference shows the docstrings; their examples run (tests/test_doctests.py
    covers the core modules)."""
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


# -- typing ------------------------------------------------------------------------------------

def test_mypy_strict_passes() -> None:
    """The public API is fully typed: ``mypy --strict gntplib`` (config in setup.cfg)."""
    if importlib.util.find_spec('mypy') is None:
        pytest.skip('mypy is not installed (pip install -e .[test] installs it); typing was '
                    'NOT checked')
    result = subprocess.run([sys.executable, '-m', 'mypy', '--strict', 'gntplib'],
                            capture_output=True, text=True, cwd=str(ROOT), timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (ROOT / 'gntplib' / 'py.typed').exists()


# -- install instructions ------------------------------------------------------------------------

def _texts_with_install_instructions() -> List[Path]:
    files = PAGES + sorted((ROOT / 'gntplib').rglob('*.py'))
    files += sorted((ROOT / 'examples').rglob('*.py')) + sorted((ROOT / 'scripts').rglob('*'))
    return [path for path in files if path.is_file()]


def _pip_install_words(paths: Optional[List[Path]] = None) -> Iterator[Tuple[str, str]]:
    """``(where, word)`` for every word after ``pip install`` in ``paths``: by default the
    docs, the README, the code (error hints, docstrings), the examples and the scripts."""
    for path in paths if paths is not None else _texts_with_install_instructions():
        text = path.read_text(encoding='utf-8', errors='replace')
        for number, line in enumerate(text.splitlines(), 1):
            if paths is not None and 'error:' in line:
                continue  # a page showing an error hint, which names the extra only
            for match in re.finditer(r'pip install((?:\s+[^\s`#;)]+)+)', line):
                for word in match.group(1).split():
                    yield f'{path.relative_to(ROOT)}:{number}', word


def test_extras_are_quoted_everywhere() -> None:
    """zsh, macOS's default shell, rejects ``pip install gntplib[crypto]`` (no match)."""
    words = list(_pip_install_words())
    assert len(words) >= 15
    for where, word in words:
        if '[' in word:
            assert word[0] in '\'"', f'{where}: quote {word} (zsh rejects it bare)'


def test_install_instructions_ask_for_this_gntplib() -> None:
    """PyPI's ``gntplib`` name also carries an unrelated 3.x line: the docs ask for 4 or
    later. (Error hints name the extra only: gntplib is installed by then.)"""
    assert int(gntplib.__version__.split('.')[0]) >= 4
    from_pypi = [(where, word.strip('\'"')) for where, word in _pip_install_words(PAGES)
                 if re.match(r'^[\'"]?gntplib\b', word)]
    assert len(from_pypi) >= 8
    for where, word in from_pypi:
        assert word.endswith('>=4'), f'{where}: {word} may install gntplib 3.x'
    readme = README.read_text(encoding='utf-8')
    assert "pip install '.[all]'" in readme  # from a checkout


# -- the README's first steps, run as written ----------------------------------------------------

def test_the_readme_sample_runs_against_the_receiver_the_readme_starts(
        default_port_lock: None, tmp_path: Path) -> None:
    """The README starts ``gntplib serve`` (with the sample's password), then shows the
    sample; both run here exactly as written, on port 23053, as a reader would run them."""
    blocks = md_blocks(README)
    usage = next(i for i, b in enumerate(blocks) if b.lang in PYTHON_LANGS)
    serve_lines = [line for block in blocks[:usage] if block.lang in SHELL_LANGS
                   for line in block.code.splitlines() if line.startswith('gntplib serve')]
    assert serve_lines, 'the README starts no receiver before its first example'
    argv = shlex.split(serve_lines[-1], comments=True)
    env = dict(os.environ, XDG_STATE_HOME=str(tmp_path / 'state'))  # not the user's state
    with running([sys.executable, '-m', 'gntplib', *argv[1:]], tmp_path, env) as (
            server, out, err):
        assert '127.0.0.1:23053 (password set' in err.until('listening on')
        sample = subprocess.run([sys.executable, '-c', blocks[usage].code], cwd=str(tmp_path),
                                capture_output=True, text=True, timeout=60,
                                stdin=subprocess.DEVNULL)
        assert sample.returncode == 0, sample.stderr
        assert 'MyApp/update "New Version"' in out.until('NOTIFY from')
        server.send_signal(signal.SIGINT)
        assert server.wait(20) == 130
