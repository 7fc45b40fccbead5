"""`make run`: prepare the database and content, then serve web, worker and Redis together.

Redis is a private instance on a free port unless REDIS_URL names one. Ctrl+C stops everything
(honcho forwards the signal to each process).
"""

import os
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


def main() -> int:
    env = os.environ
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("PORT", "8000")
    # honcho hands each process its own PORT, so the web server reads a name honcho leaves alone.
    env["WEB_PORT"] = env["PORT"]
    env.setdefault("SANDBOX_WORKER_THREADS", "4")
    run_dir = ROOT / ".run"
    run_dir.mkdir(exist_ok=True)
    env["RUN_DIR"] = str(run_dir)
    processes = ["web", "worker"]
    if not env.get("REDIS_URL"):
        port = free_port()
        env["REDIS_PORT"] = str(port)
        env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
        processes.append("redis")

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
