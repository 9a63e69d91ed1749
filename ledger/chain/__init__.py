"""The chain layer: the node (``node``: a local one; ``validators``: a validator network), the
connection to it, the one path every transaction takes (``tx``), revert decoding (``revert``,
what each error says in ``revert_messages``), the compiler, deployment (``deploy``), relayed
writes (``relay``) and one typed client per contract (``contracts``). It knows nothing of the
store or of the domains."""
