import io
import stat
import zipfile
from pathlib import Path

import pytest

from sandbox.engine import FunctionSpec, SpecError
from tests.engine.support import TRIVIAL, make_spec


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("memory_mb", 64, "between 128 and 10240 MB"),
        ("memory_mb", 10241, "between 128 and 10240 MB"),
        ("timeout_s", 0, "between 1 and 900 seconds"),
        ("timeout_s", 901, "between 1 and 900 seconds"),
        ("ephemeral_storage_mb", 511, "between 512 and 10240 MB"),
        ("architecture", "sparc", "x86_64, arm64"),
        ("runtime", "python2.7", "python3.11"),
        ("handler", "nodot", "module.function"),
        ("name", "bad name!", "letters, digits"),
        ("account_id", "12345", "12 digits"),
    ],
)
def test_out_of_range_values_name_the_field_and_range(field: str, value: object, allowed: str):
    with pytest.raises(SpecError) as info:
        make_spec(TRIVIAL, **{field: value})
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")
    assert allowed in str(info.value)


def test_environment_is_limited_to_4_kb_and_reserved_keys_are_refused():
    with pytest.raises(SpecError, match="4096 bytes"):
        make_spec(TRIVIAL, environment={"BIG": "x" * 4100})
    with pytest.raises(SpecError, match="AWS_REGION is reserved"):
        make_spec(TRIVIAL, environment={"AWS_REGION": "eu-west-1"})
    make_spec(TRIVIAL, environment={"K": "v" * 4000})


def test_provisioned_cannot_exceed_reserved():
    with pytest.raises(SpecError, match="provisioned_concurrency"):
        make_spec(TRIVIAL, reserved_concurrency=1, provisioned_concurrency=2)


def test_version_key_changes_with_code_and_config_but_not_concurrency():
    a = make_spec(TRIVIAL, namespace="n")
    assert make_spec(TRIVIAL, namespace="n").version_key == a.version_key
    assert make_spec(TRIVIAL + "\n# v2\n", namespace="n").version_key != a.version_key
    assert make_spec(TRIVIAL, namespace="n", memory_mb=256).version_key != a.version_key
    assert make_spec(TRIVIAL, namespace="n", environment={"A": "1"}).version_key != a.version_key
    assert make_spec(TRIVIAL, namespace="other").version_key != a.version_key
    # Its environments report their account's ARN: another account's are not shared.
    assert make_spec(TRIVIAL, namespace="n", account_id="210987654321").version_key != a.version_key
    assert make_spec(TRIVIAL, namespace="n", reserved_concurrency=3).version_key == a.version_key


def test_code_from_directory_refuses_symlinks(tmp_path: Path):
    (tmp_path / "app.py").write_text(TRIVIAL)
    spec = FunctionSpec(name="d", handler="app.handler", code=tmp_path)
    assert dict(spec.files) == {"app.py": TRIVIAL.encode()}
    (tmp_path / "passwd").symlink_to("/etc/passwd")
    with pytest.raises(SpecError, match="symbolic links"):
        FunctionSpec(name="d", handler="app.handler", code=tmp_path)


def _zip(entries: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for info, data in entries:
            archive.writestr(info, data)
    return buffer.getvalue()


def test_from_zip_unpacks_a_package():
    data = _zip([("app.py", TRIVIAL.encode()), ("lib/util.py", b"X = 1\n")])
    spec = FunctionSpec.from_zip(data, name="z", handler="app.handler")
    assert {name for name, _ in spec.files} == {"app.py", "lib/util.py"}


@pytest.mark.parametrize("name", ["/etc/cron.d/evil", "../evil.py", "a/../../evil.py"])
def test_from_zip_rejects_escaping_paths(name: str):
    data = _zip([("app.py", TRIVIAL.encode()), (name, b"x")])
    with pytest.raises(SpecError) as info:
        FunctionSpec.from_zip(data, name="z", handler="app.handler")
    assert info.value.field == "code"


def test_from_zip_rejects_symlinks():
    link = zipfile.ZipInfo("passwd")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    data = _zip([("app.py", TRIVIAL.encode()), (link, b"/etc/passwd")])
    with pytest.raises(SpecError, match="links"):
        FunctionSpec.from_zip(data, name="z", handler="app.handler")


def test_from_zip_rejects_garbage_and_oversized_packages(monkeypatch: pytest.MonkeyPatch):
    with pytest.raises(SpecError, match="not a valid zip"):
        FunctionSpec.from_zip(b"not a zip", name="z", handler="app.handler")
    monkeypatch.setattr("sandbox.engine.spec.CODE_MAX_BYTES", 1000)
    data = _zip([("app.py", b"#" * 2000)])
    with pytest.raises(SpecError, match="at most 1000 bytes"):
        FunctionSpec.from_zip(data, name="z", handler="app.handler")


def test_to_config_round_trips_every_field_through_json():
    import json

    from sandbox.engine.spec import CONFIG_FIELDS

    spec = FunctionSpec(
        name="orders",
        handler="pkg/app.handler",
        code={"pkg/app.py": "def handler(e, c):\n    return 1\n", "data.txt": b"caf\xc3\xa9"},
        memory_mb=256,
        timeout_s=10,
        ephemeral_storage_mb=1024,
        environment={"TABLE": "orders"},
        architecture="arm64",
        reserved_concurrency=4,
        provisioned_concurrency=1,
        namespace="user-1/fn-2",
        account_id="210987654321",
    )
    config = json.loads(json.dumps(spec.to_config()))
    assert list(config) == list(CONFIG_FIELDS)
    assert config["code"] == {
        "data.txt": "café",
        "pkg/app.py": "def handler(e, c):\n    return 1\n",
    }
    again = FunctionSpec.from_config(config)
    assert again.version_key == spec.version_key
    assert (again.reserved_concurrency, again.provisioned_concurrency) == (4, 1)
    assert again.account_id == "210987654321"


def test_from_config_applies_overrides_and_refuses_unknown_fields():
    config = make_spec(TRIVIAL).to_config()
    assert FunctionSpec.from_config(config, memory_mb=512).memory_mb == 512
    with pytest.raises(SpecError) as caught:
        FunctionSpec.from_config({**config, "memory": 512})
    assert caught.value.field == "memory"
    with pytest.raises(SpecError) as caught:
        FunctionSpec.from_config(config, timeout_s=901)
    assert caught.value.field == "timeout_s"


def test_version_names_the_published_version_and_keeps_its_own_warm_environments():
    code = {"app.py": "def handler(e, c):\n    return 1\n"}
    latest = FunctionSpec(name="v", handler="app.handler", code=code)
    three = FunctionSpec(name="v", handler="app.handler", code=code, version="3")
    assert latest.version == "$LATEST" and three.to_config()["version"] == "3"
    assert latest.version_key != three.version_key
    for bad in ("0", "v1", "", "$latest"):
        with pytest.raises(SpecError, match="version"):
            FunctionSpec(name="v", handler="app.handler", code=code, version=bad)
