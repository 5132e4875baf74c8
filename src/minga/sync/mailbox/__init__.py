"""Public relays as mailboxes (DESIGN.md §5, path 2).

- :mod:`.relaylist`: NIP-65 relay lists — the outlet's, signed from the
  settings, and its members' (where they write);
- :mod:`.outbox`: which events go out, one job per relay per event, batched
  posts with retries (:mod:`.post` speaks EVENT/OK);
- :mod:`.inbox`: live subscriptions on inbox and members' write relays, every
  event through the node's own checks;
- :mod:`.giftwrap`: NIP-59 with NIP-44 v2, the only form in which a private
  event crosses a public relay;
- :mod:`.service`: the outbox thread and inbox task of a running node.
"""
