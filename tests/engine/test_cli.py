import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIELDS = {
    "request_id",
    "status",
    "payload",
    "error",
    "log",
    "duration_ms",
    "billed_duration_ms",
    "init_duration_ms",
    "max_memory_used_mb",
    "memory_size_mb",
    "cold_start",
    "environment_id",
}


def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sandbox.engine", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


@pytest.fixture
def code(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(
        "N = 0\ndef handler(event, context):\n    global N\n    N += 1\n"
        "    print('got', event)\n    return {'n': N, 'event': event}\n"
    )
    return tmp_path


def test_json_lines_with_warm_reuse(code: Path):
    done = cli(
        "invoke",
        str(code),
        "--handler",
        "app.handler",
        "--event",
        "-",
        "--memory",
        "1769",
        "--repeat",
        "4",
        "--concurrency",
        "2",
        "--interval",
        "0.05",
        "--json",
        stdin='{"k": 1}',
    )
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(rows) == 4
    assert all(set(row) == FIELDS for row in rows)
    assert all(row["status"] == "success" and row["payload"]["event"] == {"k": 1} for row in rows)
    assert sum(row["cold_start"] for row in rows) == 2
    assert all(row["init_duration_ms"] is None for row in rows if not row["cold_start"])
    assert len({row["environment_id"] for row in rows}) == 2


def test_plain_output_is_lambda_logs(code: Path):
    done = cli("invoke", str(code), "--handler", "app.handler", "--memory", "1769")
    assert done.returncode == 0
    assert done.stdout.startswith("START RequestId: ")
    assert "got {}" in done.stdout and "\nREPORT RequestId: " in done.stdout


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["--handler", "missing.handler"], "", "handler file missing.py not found"),
        (["--handler", "app.handler", "--memory", "64"], "", "memory_mb: must be an integer"),
        (["--handler", "app.handler", "--event", "-"], "{not json", "event is not valid JSON"),
        (["--handler", "app.handler", "--env", "NOEQUALS"], "", "--env expects KEY=VALUE"),
        (["--handler", "app.handler", "--repeat", "0"], "", "--repeat must be at least 1"),
        (["--handler", "app.handler", "--timeout", "x"], "", "invalid int value"),
        (["--handler", "bad"], "", "handler: must look like module.function"),
    ],
)
def test_bad_input_exits_2_with_one_line(code: Path, args: list[str], stdin: str, message: str):
    done = cli("invoke", str(code), *args, stdin=stdin)
    assert done.returncode == 2
    assert done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_missing_code_dir_exits_2(tmp_path: Path):
    done = cli("invoke", str(tmp_path / "nope"), "--handler", "app.handler")
    assert done.returncode == 2 and "is not a directory" in done.stderr


def test_a_node_handler_through_the_cli(tmp_path: Path):
    (tmp_path / "index.mjs").write_text(
        "let n = 0;\nexport const handler = async (event) => {\n"
        "  n += 1;\n  console.log('got', event);\n  return { n, event };\n};\n"
    )
    done = cli(
        "invoke",
        str(tmp_path),
        "--runtime",
        "nodejs24.x",
        "--handler",
        "index.handler",
        "--event",
        "-",
        "--repeat",
        "2",
        "--json",
        stdin='{"a": 1}',
    )
    assert done.returncode == 0, done.stderr
    first, second = (json.loads(line) for line in done.stdout.splitlines())
    assert first["payload"] == {"n": 1, "event": {"a": 1}} and first["cold_start"]
    assert second["payload"]["n"] == 2 and not second["cold_start"]
    assert "\tINFO\tgot { a: 1 }" in first["log"]
    missing = cli("invoke", str(tmp_path), "--runtime", "nodejs24.x", "--handler", "app.handler")
    assert missing.returncode == 2
    assert missing.stderr.strip() == (
        f"error: handler file app.js, app.mjs or app.cjs not found in {tmp_path}"
    )
