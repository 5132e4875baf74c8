"""Keys: NIP-19 and NIP-49 formats, and custodial keys sealed at rest."""
