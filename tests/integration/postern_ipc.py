"""postern's framed IPC (lib/ipc.h) from Python, for tests and harnesses.

A frame is one SOCK_SEQPACKET packet: a 16-byte header (type, payload
length, request id, flags; little-endian on the machines we test on) and
the payload, encoded as in lib/pack.h: u32/u64 little-endian, str = u32
length + bytes.
"""
import array
import re
import socket
import struct
from pathlib import Path

HDR = struct.Struct("<IIII")
F_FD = 1


def _load_types():
    """The enum ipc_type of lib/ipc.h, so Python and C never disagree."""
    text = (Path(__file__).resolve().parents[2] / "lib" / "ipc.h").read_text()
    body = text[text.index("enum ipc_type {"):]
    body = body[:body.index("};")]
    names = re.findall(r"^\s*(IPC_[A-Z_]+)\s*[,=]", body, re.M)
    return {name: i for i, name in enumerate(names)}


TYPES = _load_types()
NAMES = {v: k for k, v in TYPES.items()}


class Packer:
    def __init__(self):
        self.b = bytearray()

    def u32(self, v):
        self.b += struct.pack("<I", v)
        return self

    def u64(self, v):
        self.b += struct.pack("<Q", v)
        return self

    def str(self, s):
        if isinstance(s, str):
            s = s.encode()
        self.b += struct.pack("<I", len(s)) + s
        return self

    bytes = str


class Unpacker:
    def __init__(self, data):
        self.d = data
        self.o = 0

    def u32(self):
        v, = struct.unpack_from("<I", self.d, self.o)
        self.o += 4
        return v

    def u64(self):
        v, = struct.unpack_from("<Q", self.d, self.o)
        self.o += 8
        return v

    def bytes(self):
        n = self.u32()
        v = bytes(self.d[self.o:self.o + n])
        if len(v) != n:
            raise ValueError("short string")
        self.o += n
        return v

    def str(self):
        return self.bytes().decode("utf-8", "surrogateescape")

    def done(self):
        return self.o == len(self.d)


def send(sock, type_, payload=b"", req_id=0, fd=None):
    if isinstance(type_, str):
        type_ = TYPES[type_]
    if isinstance(payload, Packer):
        payload = bytes(payload.b)
    frame = HDR.pack(type_, len(payload), req_id, F_FD if fd is not None else 0) + payload
    if fd is not None:
        socket.send_fds(sock, [frame], [fd])
    else:
        sock.send(frame)


def recv(sock, timeout=10.0):
    """Returns (type name, request id, payload bytes, fd or None)."""
    sock.settimeout(timeout)
    msg, fds, _flags, _addr = socket.recv_fds(sock, 16 + 65536, 1)
    if not msg:
        raise EOFError("peer closed")
    t, n, rid, _fl = HDR.unpack_from(msg)
    return NAMES.get(t, t), rid, msg[16:16 + n], (fds[0] if fds else None)
