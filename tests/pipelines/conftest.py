"""Fixtures of the live tests: an ``mlflow server`` and ``dagster dev`` (webserver and daemon)
on free loopback ports with a temporary DAGSTER_HOME, started once per test session and
stopped after the last test that uses them; the job's run with the tiny preset, launched once
through GraphQL; and a headless Chromium (Debian's ``chromium`` and ``chromium-driver``, which
``make install`` installs) driven by selenium.

Tests that ask for ``browser`` run after the other live tests, so that they look at the runs
those tests made instead of launching their own.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

import pytest
from mlflow.tracking import MlflowClient

from deploy.webserver_client import DagsterWebserver
from pipelines.presets import load_preset

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], T], timeout: float, what: str, every: float = 1.0) -> T:
    """The first truthy value of ``predicate()``, polled every ``every`` seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f} s")


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@dataclass
class LiveServices:
    """An MLflow server and ``dagster dev`` under ``root``, each in its own process group.

    ``tracking``: the MLflow server's URL (tracking and UI); ``dagster_url``: the Dagster
    webserver's; ``incoming``: the sensor's folder (``UNSUP_INCOMING_DIR``).
    """

    root: Path
    mlflow_port: int = field(default_factory=free_port)
    dagster_port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen] = field(default_factory=list)
    wait_for = staticmethod(wait_for)

    @property
    def tracking(self) -> str:
        return f"http://127.0.0.1:{self.mlflow_port}"

    @property
    def dagster_url(self) -> str:
        return f"http://127.0.0.1:{self.dagster_port}"

    @property
    def incoming(self) -> Path:
        return self.root / "incoming"

    @cached_property
    def dagster(self) -> DagsterWebserver:
        """The webserver's GraphQL client."""
        return DagsterWebserver(self.dagster_url)

    def client(self) -> MlflowClient:
        """MLflow's REST client of the server."""
        return MlflowClient(tracking_uri=self.tracking)

    def run_config(self, preset: str = "tiny") -> dict[str, Any]:
        """A preset's run config whose MLflow links and figures point at this server."""
        return {
            **load_preset(preset),
            "resources": {"mlflow": {"config": {"ui_url": self.tracking}}},
        }

    def start(self) -> None:
        home = self.root / "dagster_home"
        home.mkdir(parents=True)
        self.incoming.mkdir()
        (home / "dagster.yaml").write_text(
            "telemetry:\n  enabled: false\nrun_queue:\n  max_concurrent_runs: 1\n"
        )
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "MLFLOW_TRACKING_URI": self.tracking,
            "UNSUP_INCOMING_DIR": str(self.incoming),
            "UNSUP_SENSOR_INTERVAL": "3",
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "DAGSTER_DISABLE_TELEMETRY": "true",
            "PYTHONUNBUFFERED": "1",
        }
        self._start(
            "mlflow",
            [
                *(str(BIN / "mlflow"), "server", "--host", "127.0.0.1"),
                *("--port", str(self.mlflow_port), "--workers", "1"),
                *("--backend-store-uri", f"sqlite:///{self.root / 'mlflow.db'}"),
                *("--artifacts-destination", str(self.root / "artifacts")),
            ],
            env,
        )
        self._start(
            "dagster",
            [
                *(str(BIN / "dagster"), "dev", "-w", "workspace.yaml"),
                *("-h", "127.0.0.1", "-p", str(self.dagster_port)),
            ],
            env,
        )
        wait_for(
            lambda: http_ok(f"{self.tracking}/health"), 120, "mlflow server\n" + self.log("mlflow")
        )
        wait_for(lambda: http_ok(f"{self.dagster_url}/server_info"), 180, "dagster webserver")
        wait_for(self.dagster.repository, 180, "the code location")

    def _start(self, name: str, command: list[str], env: dict) -> None:
        log = open(self.root / f"{name}.log", "w")  # noqa: SIM115 - the server writes to it
        self.processes.append(
            subprocess.Popen(
                command,
                cwd=REPO,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )

    def log(self, name: str) -> str:
        """The last 4,000 characters of a service's output (``mlflow`` or ``dagster``)."""
        path = self.root / f"{name}.log"
        return path.read_text()[-4000:] if path.exists() else ""

    def stop(self) -> None:
        """SIGTERM to every process group, SIGKILL to those still there after 30 s."""
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    def stopped(self) -> bool:
        return all(process.poll() is not None for process in self.processes)


LIVE_SERVICES = pytest.StashKey[LiveServices]()


@pytest.fixture(scope="session")
def live_services(request, tmp_path_factory) -> Iterator[LiveServices]:
    """The MLflow server and ``dagster dev``, once per session; every process is stopped
    after the last test that uses them (and at the latest when the session ends)."""
    services = LiveServices(tmp_path_factory.mktemp("live"))
    request.config.stash[LIVE_SERVICES] = services
    try:
        services.start()
        yield services
    finally:
        services.stop()
    assert services.stopped()


@pytest.fixture(scope="session")
def tiny_run(live_services) -> str:
    """The Dagster run id of the job with the tiny preset, launched once through GraphQL."""
    dagster = live_services.dagster
    run_id = dagster.launch(live_services.run_config("tiny"))
    status, _ = dagster.wait(run_id, 600)
    assert status == "SUCCESS", dagster.step_failures(run_id)
    return run_id


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium through selenium and Debian's chromedriver (no driver download).

    Skipped with a one-line reason where Chromium or selenium is missing, except under
    ``CI=true``, where that is a failure.
    """
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        webdriver = None
    if webdriver is None or chromium is None or driver is None:
        message = (
            "the browser tests need selenium (the dev extra) and the Debian packages chromium "
            "and chromium-driver (make install)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",  # root in a container
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1100",
    ):
        options.add_argument(argument)
    chrome = webdriver.Chrome(service=Service(driver), options=options)
    chrome.set_page_load_timeout(60)
    try:
        yield chrome
    finally:
        chrome.quit()


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where tests keep what a person looks at afterwards (screenshots): ``$TEST_ARTIFACTS``,
    default ``<repo>/test-artifacts`` (git-ignored)."""
    root = Path(os.environ.get("TEST_ARTIFACTS") or REPO / "test-artifacts")
    root.mkdir(parents=True, exist_ok=True)
    return root


def _uses(item: pytest.Item, fixture: str) -> bool:
    return fixture in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests of the live services go right after the other live tests."""
    late = [item for item in items if _uses(item, "browser") and _uses(item, "live_services")]
    if not late:
        return
    rest = [item for item in items if not (_uses(item, "browser") and _uses(item, "live_services"))]
    users = [n for n, item in enumerate(rest) if _uses(item, "live_services")]
    at = users[-1] + 1 if users else len(rest)
    items[:] = [*rest[:at], *late, *rest[at:]]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None):
    """Stop the live services once no later test of the session uses them (the daemon would
    otherwise keep ticking through the rest of the suite)."""
    result = yield
    services = item.config.stash.get(LIVE_SERVICES, None)
    if services is not None and _uses(item, "live_services"):
        remaining = item.session.items[item.session.items.index(item) + 1 :]
        if not any(_uses(later, "live_services") for later in remaining):
            services.stop()
    return result
