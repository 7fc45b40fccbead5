"""Run a command with private services: `services.py [--redis] [--postgres] [--moto] -- CMD...`.

Each service is started on a free loopback port in a temporary folder, exported to the command
(REDIS_URL; POSTGRES_URL for the PostgreSQL pass of the suite; LAB_SERVICES_URL for moto) and
stopped afterwards, whatever the command's outcome.
"""

import argparse
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{what} did not start on port {port} within {timeout:.0f} s")


def start_redis(workdir: Path) -> tuple[str, Callable[[], None]]:
    port = free_port()
    process = subprocess.Popen(
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
            "--dir",
            str(workdir),
        ],
        stdout=subprocess.DEVNULL,
    )
    wait_for_port(port, "redis-server")

    def stop() -> None:
        process.terminate()
        process.wait(timeout=10)

    return f"redis://127.0.0.1:{port}/0", stop


def postgres_bin(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))), None
    )
    if not found:
        raise SystemExit(f"{name} not found: install the postgresql package")
    return found


def start_postgres(workdir: Path) -> tuple[str, Callable[[], None]]:
    # PostgreSQL refuses to run as root: as root, run it as the postgres system user.
    as_user: list[str] = []
    data = workdir / "pgdata"
    if os.geteuid() == 0:
        as_user = ["runuser", "-u", "postgres", "--"]
        workdir.chmod(0o755)
        data.mkdir()
        shutil.chown(data, "postgres", "postgres")
    port = free_port()
    subprocess.run(
        [
            *as_user,
            postgres_bin("initdb"),
            "-D",
            str(data),
            "-U",
            "lambdalab",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    process = subprocess.Popen(
        [
            *as_user,
            postgres_bin("postgres"),
            "-D",
            str(data),
            "-p",
            str(port),
            "-k",
            str(data),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
            "-c",
            "full_page_writes=off",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, "postgres")

    def stop() -> None:
        process.terminate()
        process.wait(timeout=20)

    return f"postgres://lambdalab@127.0.0.1:{port}/postgres", stop


def start_moto(workdir: Path) -> tuple[str, Callable[[], None]]:
    """moto in server mode, as the Procfile runs it: the lab's AWS services."""
    port = free_port()
    server = Path(sys.executable).parent / "moto_server"
    process = subprocess.Popen(
        [str(server), "-H", "127.0.0.1", "-p", str(port)],
        cwd=workdir,
        # S3 bucket names are global in moto as on AWS; without this, any account could read
        # and write another account's bucket by name.
        env={**os.environ, "MOTO_S3_ALLOW_CROSSACCOUNT_ACCESS": "false"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for_port(port, "moto_server")

    def stop() -> None:
        process.terminate()
        process.wait(timeout=10)

    return f"http://127.0.0.1:{port}", stop


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--redis", action="store_true")
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--moto", action="store_true")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = [part for part in args.command if part != "--"] if args.command else []
    if not command:
        parser.error("give a command after --")

    stops: list[Callable[[], None]] = []
    env = dict(os.environ)
    workdir = Path(tempfile.mkdtemp(prefix="lambdalab-services-"))
    try:
        if args.redis:
            env["REDIS_URL"], stop = start_redis(workdir)
            stops.append(stop)
        if args.postgres:
            env["POSTGRES_URL"], stop = start_postgres(workdir)
            stops.append(stop)
        if args.moto:
            env["LAB_SERVICES_URL"], stop = start_moto(workdir)
            stops.append(stop)
        return subprocess.call(command, env=env)
    finally:
        for stop in reversed(stops):
            stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
