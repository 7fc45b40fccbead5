"""Framing between the host and the runtime inside the jail.

A frame is an 8-byte header (meta length, data length; big-endian uint32), a small meta object
and data bytes. Host to runtime, meta and event are marshal: the runtime reads them without
importing json, which is most of a Python cold start's import time. Runtime to host, meta and
response are JSON: the host must never unmarshal bytes that user code could forge.
runtimes/python/bootstrap.py carries a copy of this (nothing from the project is visible inside
the jail); tests/engine/test_protocol.py keeps them in step."""

from __future__ import annotations

import itertools
import json
import marshal
import re
import struct
from dataclasses import dataclass
from typing import Any

HEADER = struct.Struct(">II")
MAX_META_BYTES = 64 * 1024
# Lambda's limits: 6 MB request (6,291,456 bytes) and 6 MB response (6,291,556 bytes).
MAX_REQUEST_BYTES = 6_291_456
MAX_RESPONSE_BYTES = 6_291_556


class ProtocolError(Exception):
    """The runtime sent something that is not a valid frame (it is treated as a crash)."""


@dataclass(frozen=True)
class Frame:
    meta: dict[str, Any]
    data: bytes


def encode_request(meta: dict[str, Any], data: bytes = b"") -> bytes:
    """A host-to-runtime frame (marshal meta; data is marshal too, see encode_event)."""
    raw = marshal.dumps(meta)
    return HEADER.pack(len(raw), len(data)) + raw + data


def encode_event(event_json: bytes) -> bytes:
    """The event, already validated as JSON, in the form the runtime loads without json."""
    return marshal.dumps(json.loads(event_json))


def encode_response(meta: dict[str, Any], data: bytes = b"") -> bytes:
    """A runtime-to-host frame, as the bootstrap writes it (used by tests)."""
    raw = json.dumps(meta).encode()
    return HEADER.pack(len(raw), len(data)) + raw + data


class FrameReader:
    """Incremental decoder: feed() bytes as they arrive, take frames as they complete."""

    def __init__(self, max_data: int = MAX_RESPONSE_BYTES + MAX_META_BYTES) -> None:
        self._buffer = bytearray()
        self._max_data = max_data

    def feed(self, chunk: bytes) -> None:
        self._buffer += chunk

    def next_frame(self) -> Frame | None:
        """Return the next complete frame, None if more bytes are needed; ProtocolError if bad."""
        if len(self._buffer) < HEADER.size:
            return None
        meta_len, data_len = HEADER.unpack_from(self._buffer)
        if meta_len > MAX_META_BYTES or data_len > self._max_data:
            raise ProtocolError(f"frame too large ({meta_len} + {data_len} bytes)")
        end = HEADER.size + meta_len + data_len
        if len(self._buffer) < end:
            return None
        try:
            meta = json.loads(bytes(self._buffer[HEADER.size : HEADER.size + meta_len]))
        except ValueError as exc:
            raise ProtocolError(f"bad frame meta: {exc}") from None
        if not isinstance(meta, dict):
            raise ProtocolError("frame meta is not an object")
        data = bytes(self._buffer[HEADER.size + meta_len : end])
        del self._buffer[:end]
        return Frame(meta, data)


# JSON nested deeper than this is refused wherever it comes from (events, responses, errors):
# parsing and printing it recurses once per level, and Python's limit is 1,000 frames.
MAX_JSON_DEPTH = 200
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_KEEP_BRACKETS = bytes(range(256)).translate(None, b"[]{}")
_DEPTH_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth(data: bytes | str) -> int:
    """How deeply data's arrays and objects nest (0 for a scalar), without parsing it."""
    raw = data.encode() if isinstance(data, str) else data
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _KEEP_BRACKETS)
    if not brackets:
        return 0
    return max(0, *itertools.accumulate(_DEPTH_STEP[b] for b in brackets))


def loads_bounded(data: bytes | str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """json.loads, but ValueError (not RecursionError) for JSON nested over max_depth levels."""
    raw = data.encode() if isinstance(data, str) else data
    openers = raw.count(b"[") + raw.count(b"{")
    depth = json_depth(raw) if openers > max_depth else openers  # few brackets: cannot be deep
    if depth > max_depth:
        raise ValueError(f"JSON is nested {depth} levels deep; the limit is {max_depth}")
    return json.loads(data)
