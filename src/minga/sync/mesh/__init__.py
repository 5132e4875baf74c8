"""Mesh radio: small events over Reticulum and LXMF (DESIGN.md §5, path 4).

When nothing else gets through, a node sends short signed events (notes,
gift-wrapped check-ins, dispatches without media, deletions, the roster) as
LXMF messages over whatever Reticulum reaches — a LoRa RNode, packet radio,
ad-hoc Wi-Fi — with store-and-forward through LXMF propagation nodes.

- :mod:`~minga.sync.mesh.codec`: one event in one message, compressed, capped;
- :mod:`~minga.sync.mesh.transport`: Reticulum + the LXMF router, the identity;
- :mod:`~minga.sync.mesh.service`: which events go, the durable queue
  (:class:`~minga.sync.models.MeshPost`), what comes in goes to the store.

See ``docs/mesh.md``.
"""
