import importlib.util
import json

import pytest

from sandbox.engine import protocol
from sandbox.engine.runtimes import RUNTIMES


def test_frames_round_trip_incrementally():
    raw = protocol.encode_response({"type": "result", "n": 1}, b'{"a": 1}')
    raw += protocol.encode_response({"x": 2})
    reader = protocol.FrameReader()
    frames = []
    for byte in raw:
        reader.feed(bytes([byte]))
        frame = reader.next_frame()
        if frame:
            frames.append(frame)
    assert [f.meta for f in frames] == [{"type": "result", "n": 1}, {"x": 2}]
    assert frames[0].data == b'{"a": 1}'


def test_oversized_or_garbage_frames_are_protocol_errors():
    reader = protocol.FrameReader()
    reader.feed(protocol.HEADER.pack(10, protocol.MAX_RESPONSE_BYTES * 2))
    with pytest.raises(protocol.ProtocolError):
        reader.next_frame()
    reader = protocol.FrameReader()
    reader.feed(protocol.HEADER.pack(3, 0) + b"{{{")
    with pytest.raises(protocol.ProtocolError):
        reader.next_frame()


def test_bootstrap_copy_of_the_framing_agrees():
    spec = importlib.util.spec_from_file_location("bootstrap", RUNTIMES["python3.11"].bootstrap)
    assert spec and spec.loader
    bootstrap = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bootstrap)
    assert bootstrap.HEADER.format == protocol.HEADER.format
    assert bootstrap.MAX_RESPONSE_BYTES == protocol.MAX_RESPONSE_BYTES
    value = {"a": [1, 2.5, None, True, "é\n"], "b": {"c": -1}}
    assert bootstrap.dumps(value) == json.dumps(value)
    with pytest.raises(TypeError, match="Object of type set is not JSON serializable"):
        bootstrap.dumps({1, 2})
