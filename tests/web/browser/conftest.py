"""Browser tests: Playwright (Python) driving Debian's Chromium headless against a live server.

Chromium comes from the system (``/usr/bin/chromium``, Debian's ``chromium`` package), not from
Playwright's own download, which needs the internet at test time. When it is missing and the
tests run as root on Debian or Ubuntu, the session installs ``chromium`` and ``fonts-noto-cjk``
with apt-get once (``FENJI_BROWSER_AUTOINSTALL=0`` turns that off); otherwise the tests are
skipped with the reason. Screenshots of the pages go to ``test-artifacts/screenshots``.

Every page is checked for browser console errors and script errors, which is where a content
security policy violation or a broken chart would show.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Playwright's synchronous API runs an event loop in the test thread; the ORM calls the tests
# make between page actions are plain synchronous calls all the same.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _install_chromium() -> str | None:
    """Install Debian's Chromium (and CJK fonts for readable screenshots) once per machine."""
    if os.environ.get("FENJI_BROWSER_AUTOINSTALL", "1") == "0" or os.geteuid() != 0:
        return None
    if shutil.which("apt-get") is None:
        return None
    lock_path = Path("/tmp/fenji-browser-install.lock")
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # xdist workers: one installs, the others wait
        if _chromium() is None:
            env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
            subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
            subprocess.run(
                ["apt-get", "install", "-y", "-qq", "chromium", "fonts-noto-cjk"],
                env=env,
                check=False,
            )
    return _chromium()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = _chromium() or _install_chromium()
    if path is None:
        reason = (
            "browser tests need Debian's Chromium (apt-get install chromium fonts-noto-cjk); "
            "it is not installed and could not be installed here"
        )
        # CI (.ci/run) requires them: a green run must not hide browser tests that never ran.
        if os.environ.get("FENJI_TEST_REQUIRE_BROWSER") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class PageErrors:
    """Console errors and uncaught script errors seen by a page."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def console(self, message: Any) -> None:
        if message.type == "error":
            self.messages.append(f"console: {message.text}")

    def page_error(self, error: Any) -> None:
        self.messages.append(f"script: {error}")


@pytest.fixture
def page_errors() -> PageErrors:
    return PageErrors()


@pytest.fixture
def new_page(browser: Any, page_errors: PageErrors) -> Iterator[Callable[..., Any]]:
    """``new_page(lang="zh-CN")``: a page in a fresh browser context (its own cookies)."""
    contexts: list[Any] = []

    def make(lang: str = "zh-CN") -> Any:
        context = browser.new_context(
            locale=lang, viewport={"width": 1440, "height": 960}, device_scale_factor=1
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        page = context.new_page()
        page.on("console", page_errors.console)
        page.on("pageerror", page_errors.page_error)
        return page

    yield make
    for context in contexts:
        context.close()
    assert not page_errors.messages, "\n".join(page_errors.messages)


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as a test artifact.

    ``caret="initial"``: hiding the caret, Playwright's default, leaves an empty ``style``
    attribute on every input, which HTMX then copies onto the inputs a swap brings (its
    attribute settling) and the content security policy refuses: an error the page does not
    have."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.evaluate("window.scrollTo(0, 0)")  # else the sticky top bar lands mid-picture
    page.screenshot(path=str(path), full_page=True, caret="initial")
    return path


class LiveServer:
    """``fenji serve`` in its own process over the test database."""

    def __init__(self, url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.url = url
        self.proc = proc
        self.log = log

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the server's log, for a failing test's message."""
        return self.log.read_text(errors="replace")[-chars:]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def fenji_server(
    django_db_setup: None, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A real ``fenji serve`` process (waitress, as in production) over the test database,
    one per test module; each test builds its data with ``company`` and the database is
    emptied after it (``transactional_db``: the server only sees committed rows).

    The server's log goes to a file (``LiveServer.log``), not a pipe nobody reads: a server
    that logs more than a pipe holds (runs started from the web log there too) would block."""
    from ..runs_support import child_env

    with django_db_blocker.unblock():
        env = child_env()
    port = _free_port()
    log = tmp_path_factory.mktemp("fenji-serve") / "server.log"
    with log.open("wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fenji.cli", "serve", "--port", str(port), "--no-migrate"],
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                tail = log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"fenji serve did not start: {tail}") from None
            time.sleep(0.2)
    yield LiveServer(url, proc, log)
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture
def company(transactional_db: None) -> Any:
    """The test company, committed so that the server process sees it."""
    from ..ui_world import build_world

    return build_world()


@pytest.fixture
def login(
    company: Any, fenji_server: LiveServer, new_page: Callable[..., Any]
) -> Callable[..., Any]:
    """``login("rep_a")``: a page logged in through the login form as that user."""

    def log_in(user: str, *, lang: str = "zh-CN") -> Any:
        page = new_page(lang)
        page.goto(f"{fenji_server.url}/login/")
        page.fill("#id_username", user)
        page.fill("#id_password", f"{user}-pass")
        page.click("[data-testid=login-submit]")
        page.wait_for_url(f"{fenji_server.url}/dashboard/**")
        return page

    return log_in
