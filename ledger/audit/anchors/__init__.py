"""Tamper evidence for the off-chain store: Merkle roots of its rows anchored on chain.

What the chain's hashes commit to lives in the store (the details of activities and service
records, issued certificates). An operator with write access to the database could change them
quietly; anchoring makes that visible: ``digest`` computes the leaves and the root of the covered
rows, ``anchoring`` records the root on chain (through ``client``) with a snapshot of the leaves in
the store, and ``verification`` compares the store with its newest anchor.
"""
