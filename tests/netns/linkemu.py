"""A user-space link emulator standing in for ``tc netem`` between namespaces.

The kernel of the machines this project runs on is built without
``sch_netem`` (``CONFIG_NET_SCH_NETEM`` is not set, and there are no loadable
modules), so ``tc qdisc … netem`` answers "Specified qdisc kind is unknown".
This process does netem's job instead: each node's namespace gets a TUN
device whose other end is a file descriptor held here; every IPv4 packet a
node sends comes out of its descriptor, crosses an emulated one-way link
(rate, delay, random loss, a bounded queue) and is written into the
descriptor of the node that owns the destination address.

Each ordered pair of nodes is its own link, as with a veth pair shaped with
netem on both ends: a round trip costs twice the one-way delay. A partition
drops everything between two groups, silently, as a cut cable does (packets
in flight are lost too).

Run by :mod:`tests.netns.netns` as ``python linkemu.py``; it reads one JSON
command per line on stdin and answers one JSON line on stdout:

- ``{"op": "tun", "name": …, "addr": …}`` creates a TUN device (the caller
  moves it into a namespace and configures it) and routes ``addr`` to it;
- ``{"op": "shape", "rate": bits/s, "delay": s, "loss": 0..1, "limit": bytes}``
  shapes every link (rate 0 means unlimited);
- ``{"op": "partition", "groups": [[addr, …], …]}`` / ``{"op": "heal"}``;
- ``{"op": "stats"}`` returns packet counters.

Closing stdin ends the process; its TUN devices disappear with it. Only
standard-library code: it runs without the project's virtualenv.
"""

from __future__ import annotations

import fcntl
import heapq
import json
import os
import random
import select
import struct
import sys
import time
from dataclasses import dataclass, field

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


@dataclass
class Shape:
    rate: float = 0.0  # bits per second, 0 = unlimited
    delay: float = 0.0  # one-way seconds
    loss: float = 0.0  # probability a packet is dropped
    limit: int = 96 * 1024  # bytes waiting to be sent on one link before tail drop


@dataclass
class Link:
    free_at: float = 0.0  # when the link has sent everything queued
    backlog: list[tuple[float, int]] = field(default_factory=list)  # (sent at, size)

    def queued(self, now: float) -> int:
        while self.backlog and self.backlog[0][0] <= now:
            self.backlog.pop(0)
        return sum(size for _, size in self.backlog)


class Emulator:
    def __init__(self, seed: int | None = None) -> None:
        self.fds: dict[str, int] = {}  # address -> tun fd
        self.addr_of: dict[int, str] = {}
        self.shape = Shape()
        self.links: dict[tuple[str, str], Link] = {}
        self.group: dict[str, int] = {}  # address -> partition group (absent: healed)
        self.pending: list[tuple[float, int, str, str, bytes]] = []
        self.seq = 0
        self.rng = random.Random(seed)
        self.stats = {"in": 0, "out": 0, "lost": 0, "cut": 0, "overflow": 0, "unroutable": 0}

    def cut(self, src: str, dst: str) -> bool:
        gs, gd = self.group.get(src), self.group.get(dst)
        return gs is not None and gd is not None and gs != gd

    def receive(self, fd: int, packet: bytes, now: float) -> None:
        self.stats["in"] += 1
        if len(packet) < 20 or packet[0] >> 4 != 4:
            return  # IPv6 and the like: the nodes talk IPv4 only
        src = self.addr_of[fd]
        dst = ".".join(str(b) for b in packet[16:20])
        if dst not in self.fds:
            self.stats["unroutable"] += 1
            return
        if self.cut(src, dst):
            self.stats["cut"] += 1
            return
        shape = self.shape
        if shape.loss and self.rng.random() < shape.loss:
            self.stats["lost"] += 1
            return
        link = self.links.setdefault((src, dst), Link())
        start = max(now, link.free_at)
        if shape.rate:
            if link.queued(now) + len(packet) > shape.limit:
                self.stats["overflow"] += 1
                return
            link.free_at = start + len(packet) * 8 / shape.rate
            link.backlog.append((link.free_at, len(packet)))
        else:
            link.free_at = start
        self.seq += 1
        heapq.heappush(self.pending, (link.free_at + shape.delay, self.seq, src, dst, packet))

    def deliver_due(self, now: float) -> None:
        while self.pending and self.pending[0][0] <= now:
            _, _, src, dst, packet = heapq.heappop(self.pending)
            if self.cut(src, dst):
                self.stats["cut"] += 1
                continue
            fd = self.fds.get(dst)
            if fd is None:
                self.stats["unroutable"] += 1
                continue
            try:
                os.write(fd, packet)
                self.stats["out"] += 1
            except OSError:
                self.stats["overflow"] += 1  # device down or its queue full

    def forget(self, fd: int) -> None:
        addr = self.addr_of.pop(fd, None)
        if addr is not None:
            del self.fds[addr]
        os.close(fd)

    def command(self, line: str) -> dict[str, object]:
        cmd = json.loads(line)
        op = cmd["op"]
        if op == "tun":
            fd = open_tun(cmd["name"])
            self.fds[cmd["addr"]] = fd
            self.addr_of[fd] = cmd["addr"]
        elif op == "shape":
            self.shape = Shape(
                float(cmd.get("rate", 0)),
                float(cmd.get("delay", 0)),
                float(cmd.get("loss", 0)),
                int(cmd.get("limit", Shape.limit)),
            )
            self.links.clear()
        elif op == "partition":
            self.group = {a: i for i, group in enumerate(cmd["groups"]) for a in group}
        elif op == "heal":
            self.group = {}
        elif op == "stats":
            return {"ok": True, **self.stats}
        else:
            return {"ok": False, "error": f"unknown op {op!r}"}
        return {"ok": True}

    def run(self) -> None:
        stdin = sys.stdin.fileno()
        os.set_blocking(stdin, False)
        buffer = b""
        while True:
            now = time.monotonic()
            timeout = max(0.0, self.pending[0][0] - now) if self.pending else 1.0
            readable, _, _ = select.select([stdin, *self.addr_of], [], [], timeout)
            now = time.monotonic()
            for fd in readable:
                if fd == stdin:
                    chunk = os.read(stdin, 65536)
                    if not chunk:
                        return
                    buffer += chunk
                    while b"\n" in buffer:
                        line, buffer = buffer.split(b"\n", 1)
                        try:
                            answer = self.command(line.decode())
                        except (OSError, ValueError, KeyError) as exc:
                            answer = {"ok": False, "error": str(exc)}
                        sys.stdout.write(json.dumps(answer) + "\n")
                        sys.stdout.flush()
                    continue
                for _ in range(64):  # drain a burst without starving the others
                    try:
                        packet = os.read(fd, 65536)
                    except BlockingIOError:
                        break
                    except OSError:
                        self.forget(fd)  # the device went away with its namespace
                        break
                    self.receive(fd, packet, now)
            self.deliver_due(time.monotonic())


if __name__ == "__main__":
    seed = os.environ.get("LINKEMU_SEED")
    Emulator(int(seed) if seed else None).run()
