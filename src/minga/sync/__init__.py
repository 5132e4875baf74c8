"""Replication: whatever reaches one node reaches all, by any path (DESIGN.md §5).

- node ↔ node: live subscriptions both ways and NIP-77 negentropy after a cut
  (:mod:`minga.sync.peers`, :mod:`minga.sync.negentropy`), blobs fetched by
  hash with Range resume (:mod:`minga.sync.blobs`);
- public relays as mailboxes (:mod:`minga.sync.mailbox`), private events only
  as NIP-59 gift wraps;
- bundles on a stick or an attachment (:mod:`minga.sync.bundle`);
- mesh radio over Reticulum/LXMF (:mod:`minga.sync.mesh`).

Every path ends in the same store ingest, which verifies every event and
drops duplicates: a path may repeat itself, it can never forge or duplicate.
"""
