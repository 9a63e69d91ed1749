"""The chain layer: the node (local, or a validator network), the connection to it, the one path
every transaction takes (``tx``), revert decoding, the compiler, deployment, relayed writes and one
typed client per contract (``contracts``). It knows nothing of the store or of the domains."""
