"""The relay: NIP-01 over a websocket at /relay, with NIP-11, NIP-42 and NIP-70."""
