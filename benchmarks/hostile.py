"""Replay hostile clients at full size against `greenrpc serve` and print what each cost it.

    python3 benchmarks/hostile.py            # about 30 s; prints one JSON object per attack

Each attack runs on a fresh server (the examples' Arith, default limits, in a subprocess). For
each: the server's CPU seconds and peak RSS growth (from /proc), the bytes it answered with, the
bytes it logged, and whether another client's call was answered right after. The attacks are the
ones docs/reliability.md lists under "Hostile clients", at the sizes they were found with.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from greenrpc.wire.gob import headers  # noqa: E402
from greenrpc.wire.gob.encode import WriteStream  # noqa: E402
from greenrpc.wire.gob.primitives import int_bytes, message, uint_bytes  # noqa: E402
from tests.support import continued_value  # noqa: E402

MULTIPLY = b'{"method":"Arith.Multiply","params":[{"A":7,"B":8}],"id":1}\n'
TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def memory_kib(pid: int, name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    raise KeyError(name)


def receive_all(sock: socket.socket, quiet: float = 1.0) -> bytes:
    """Read until the peer closes or sends nothing for quiet seconds."""
    sock.settimeout(quiet)
    chunks = []
    while True:
        try:
            data = sock.recv(1 << 20)
        except socket.timeout:
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


def answers(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(MULTIPLY)
        return b'"Pro":56' in sock.recv(4096)


def gob_header(method: str) -> bytes:
    out = bytearray()
    WriteStream().write_value(headers.Request(method, 1), headers.REQUEST, out)
    return bytes(out)


def send(data: bytes) -> Callable[[socket.socket], bytes]:
    def attack(sock: socket.socket) -> bytes:
        try:
            sock.sendall(data)
        except OSError:  # the server closed first (a message over the size limit)
            pass
        return receive_all(sock)
    return attack


def trickle(start: bytes, rest: bytes, gap: float) -> Callable[[socket.socket], bytes]:
    def attack(sock: socket.socket) -> bytes:
        sock.sendall(start)
        for byte in rest:
            sock.sendall(bytes([byte]))
            time.sleep(gap)
        return receive_all(sock)
    return attack


def http_post(body: bytes) -> bytes:
    return (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)) + body


def run(name: str, attack: Callable[[socket.socket], bytes]) -> dict[str, Any]:
    port = free_port()
    log = tempfile.TemporaryFile()
    server = subprocess.Popen(
        [sys.executable, "-m", "greenrpc", "serve", "arith:Arith", "--listen",
         f"127.0.0.1:{port}"], stderr=log, stdout=subprocess.DEVNULL,
        env=dict(os.environ, PYTHONPATH=f"{ROOT}:{ROOT / 'examples'}"))
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                answers(port)
                break
            except OSError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.05)
        logged = log.tell()
        cpu, rss = cpu_seconds(server.pid), memory_kib(server.pid, "VmRSS")
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
            reply = attack(sock)
        elapsed = time.monotonic() - started
        served = answers(port)
        return {"attack": name, "server_cpu_s": round(cpu_seconds(server.pid) - cpu, 3),
                "peak_rss_growth_mib": round((memory_kib(server.pid, "VmHWM") - rss) / 1024, 1),
                "reply_bytes": len(reply), "log_bytes": log.seek(0, 2) - logged,
                "seconds": round(elapsed, 2), "others_served": served}
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def start_server(port: int, log: Any) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", "greenrpc", "serve", "arith:Arith", "--listen",
         f"127.0.0.1:{port}"], stderr=log, stdout=subprocess.DEVNULL,
        env=dict(os.environ, PYTHONPATH=f"{ROOT}:{ROOT / 'examples'}"))
    deadline = time.monotonic() + 10
    while True:
        try:
            answers(port)
            return server
        except OSError:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.05)


def hold(name: str, count: int, opening: bytes) -> dict[str, Any]:
    """count connections each send opening (a message just under 4 MiB that never ends) and
    keep it open: RSS while they hold it, how many the memory budget refused, whether a fresh
    client is served meanwhile, and RSS once they have all closed."""
    port = free_port()
    with tempfile.TemporaryFile() as log:
        server = start_server(port, log)
        try:
            rss = memory_kib(server.pid, "VmRSS")
            socks = []
            for _ in range(count):
                sock = socket.create_connection(("127.0.0.1", port), timeout=60)
                try:
                    sock.sendall(opening)
                except OSError:
                    pass  # refused while sending
                socks.append(sock)
            time.sleep(1.0)  # let the server read what is in flight
            held = memory_kib(server.pid, "VmRSS")
            served = answers(port)
            refused = sum(not still_open(sock) for sock in socks)
            for sock in socks:
                sock.close()
            time.sleep(1.0)  # closes seen, memory trimmed (50 ms after)
            return {"attack": name, "connections": count, "refused": refused,
                    "held_rss_growth_mib": round((held - rss) / 1024, 1),
                    "peak_rss_growth_mib": round((memory_kib(server.pid, "VmHWM") - rss) / 1024, 1),
                    "rss_after_close_mib": round((memory_kib(server.pid, "VmRSS") - rss) / 1024, 1),
                    "others_served": served}
        finally:
            server.terminate()
            server.wait(timeout=10)


def still_open(sock: socket.socket) -> bool:
    sock.settimeout(0.01)
    try:
        data = sock.recv(65536)
    except socket.timeout:
        return True
    except OSError:
        return False
    return bool(data) and not data.startswith(b"HTTP/1.1 503 ")  # a refused HTTP body


def holding_attacks() -> list[dict[str, Any]]:
    size = (4 << 20) - 1024
    json_part = b'{"method":"Arith.Multiply","params":["' + b"x" * size
    http_part = http_post(b"[" + b"1," * (size // 2) + b"1]")[:-100]
    gob_part = uint_bytes(size + 100) + b"\x00" * size
    return [hold("unterminated JSON messages of 4 MiB", 100, json_part),
            hold("unterminated HTTP bodies of 4 MiB", 100, http_part),
            hold("unfinished gob messages of 4 MiB", 100, gob_part)]


def main() -> None:
    batch = b"[" + b",".join([b"1"] * ((4 << 20) // 2 - 2)) + b"]\n"  # 2.1 M elements in 4 MiB
    fields = (4 << 20) - 64
    definition = message(int_bytes(-100) + b"\x03\x02" + uint_bytes(fields) + b"\x00" * fields
                         + b"\x00\x00")
    definitions, first, second = continued_value((4 << 20) - 300, "s" * 20)
    head = b"GET /healthz HTTP/1.1\r\nX: "
    attacks = [
        ("JSON-RPC 2.0 batch of 2.1 M elements, TCP", send(batch)),
        ("the same batch, HTTP POST", send(http_post(batch))),
        ("gob struct definition of 4 M empty fields", send(gob_header("No.Such") + definition)),
        ("gob value of 4 MiB continuing after an interface, 30 bytes trickled 20 ms apart",
         trickle(gob_header("No.Such") + definitions + first, second, 0.02)),
        ("method name of 3 MiB", send(json.dumps({"method": "N" * (3 << 20), "params": [],
                                                  "id": 1}).encode() + b"\n")),
        ("method name with a forged log line",
         send(b'{"method":"x\\n2026-12-05 12:00:00,000 ERROR greenrpc forged","params":[],'
              b'"id":1}\n')),
        ("HTTP head of 16,385 bytes in one write", send(head + b"p" * (16385 - len(head) - 4)
                                                        + b"\r\n\r\n")),
    ]
    attacks += [
        ("unterminated JSON line of 10 MiB", send(b'{"method":"' + b"x" * (10 << 20))),
    ]
    for name, attack in attacks:
        print(json.dumps(run(name, attack)), flush=True)
    for result in holding_attacks():
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
