"""`make run`: prepare the database and content, then serve the app.

The Procfile's processes: web, the Celery worker, Celery beat, Redis and the lab's AWS
services (moto in server mode on a private loopback port).

Learners run this, so it serves with debug off: a secret key generated once and kept in .run/,
static files collected and served by WhiteNoise, only loopback host names, mail on the console.
`DJANGO_DEBUG=true make run` is development mode (Django's debug pages, code reloading).
Redis is a private instance on a free port unless REDIS_URL names one. Ctrl+C stops everything
(honcho forwards the signal to each process).
"""

import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def manage(*args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=True)


def local_secret_key(run_dir: Path) -> str:
    """The key of this checkout: made on the first run, kept (owner-only) for later ones."""
    path = run_dir / "secret_key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return path.read_text().strip()


def configure(env: dict[str, str] | os._Environ[str], run_dir: Path) -> bool:
    """Set the environment of a local run; returns whether it is in debug mode."""
    debug = env.get("DJANGO_DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}
    env["DJANGO_DEBUG"] = "true" if debug else "false"
    if not debug:
        env.setdefault("DJANGO_SECRET_KEY", local_secret_key(run_dir))
        env.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")
        # Plain http on loopback: no HTTPS redirect, HSTS or secure-only cookies.
        env.setdefault("DJANGO_HTTPS", "false")
        env.setdefault("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
    env["WEB_SERVER_FLAGS"] = "--reload" if debug else ""
    return debug


def main() -> int:
    env = os.environ
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("PORT", "8000")
    # honcho hands each process its own PORT, so the web server reads a name honcho leaves alone.
    env["WEB_PORT"] = env["PORT"]
    # Never fewer threads than the account limit (lambdalab/settings.py says why).
    account = int(env.get("SANDBOX_ACCOUNT_CONCURRENCY", "10"))
    env.setdefault("SANDBOX_WORKER_THREADS", str(account + 2))
    if int(env["SANDBOX_WORKER_THREADS"]) < account:
        env["SANDBOX_WORKER_THREADS"] = str(account)
    run_dir = ROOT / ".run"
    run_dir.mkdir(exist_ok=True)
    env["RUN_DIR"] = str(run_dir)
    debug = configure(env, run_dir)
    processes = ["web", "worker", "beat"]
    if not env.get("REDIS_URL"):
        port = free_port()
        env["REDIS_PORT"] = str(port)
        env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
        processes.append("redis")
    if not env.get("LAB_SERVICES_URL"):
        port = free_port()
        env["MOTO_PORT"] = str(port)
        env["LAB_SERVICES_URL"] = f"http://127.0.0.1:{port}"
        processes.append("moto")

    if not debug:
        manage("collectstatic", "--noinput", "-v", "0")
    manage("migrate", "--noinput", "-v", "0")
    manage("load_content")
    manage("create_demo_users")
    print(f"\nLambda Lab is starting at http://127.0.0.1:{env['PORT']}/  (Ctrl+C stops it)\n")
    sys.stdout.flush()
    try:
        return subprocess.call(
            [str(VENV_BIN / "honcho"), "start", "-f", "Procfile", *processes], cwd=ROOT, env=env
        )
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
