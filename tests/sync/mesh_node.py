"""A Reticulum hub for the mesh tests, run as its own process (RNS is one per process).

``python mesh_node.py <dir> <port>`` starts Reticulum with a TCP server
interface on 127.0.0.1:<port> and transport enabled (the minga nodes connect
to it as TCP clients and reach each other through it), an LXMF propagation
node, and an LXMF sender of its own that speaks to minga nodes as a stranger
would. It prints one JSON line ``{"propagation": <hash>, "address": <hash>}``,
then reads commands on stdin, one per line:

- ``send <destination hash> <payload hex>``: an LXMF message carrying the
  payload in minga's field, direct; prints ``sent delivered`` or ``sent failed``;
- ``raw <destination hash> <text>``: an ordinary LXMF text message (no minga field);
- ``quit``.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

CONFIG = """\
[reticulum]
  enable_transport = Yes
  share_instance = No
  panic_on_interface_error = No

[logging]
  loglevel = 2

[interfaces]
  [[hub]]
    type = TCPServerInterface
    enabled = Yes
    listen_ip = 127.0.0.1
    listen_port = {port}
"""


def main() -> None:
    folder, port = Path(sys.argv[1]), int(sys.argv[2])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config").write_text(CONFIG.format(port=port))
    import LXMF
    import RNS

    RNS.Reticulum(configdir=str(folder), loglevel=RNS.LOG_WARNING)
    router = LXMF.LXMRouter(
        identity=RNS.Identity(), storagepath=str(folder / "pn"), propagation_cost=13
    )
    router.enable_propagation()
    sender_identity = RNS.Identity()
    sender = router.register_delivery_identity(sender_identity, display_name="stranger")
    print(
        json.dumps(
            {
                "propagation": router.propagation_destination.hash.hex(),
                "address": sender.hash.hex(),
            }
        ),
        flush=True,
    )
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "quit":
            break
        dest_hash = bytes.fromhex(parts[1])
        deadline = time.time() + 15
        while RNS.Identity.recall(dest_hash) is None and time.time() < deadline:
            RNS.Transport.request_path(dest_hash)
            time.sleep(0.3)
        target = RNS.Destination(
            RNS.Identity.recall(dest_hash),
            RNS.Destination.OUT,
            RNS.Destination.SINGLE,
            "lxmf",
            "delivery",
        )
        if parts[0] == "send":
            fields = {
                LXMF.FIELD_CUSTOM_TYPE: b"minga/nostr-event",
                LXMF.FIELD_CUSTOM_DATA: bytes.fromhex(parts[2]),
            }
            message = LXMF.LXMessage(
                target, sender, b"", b"", fields, desired_method=LXMF.LXMessage.DIRECT
            )
        else:
            message = LXMF.LXMessage(
                target, sender, " ".join(parts[2:]), "hello", desired_method=LXMF.LXMessage.DIRECT
            )
        done = threading.Event()
        message.register_delivery_callback(lambda m, done=done: done.set())
        message.register_failed_callback(lambda m, done=done: done.set())
        router.handle_outbound(message)
        done.wait(60)
        state = "delivered" if message.state == LXMF.LXMessage.DELIVERED else "failed"
        print(f"sent {state}", flush=True)


if __name__ == "__main__":
    main()
