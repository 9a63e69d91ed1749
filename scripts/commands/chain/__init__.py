"""``vpl chain``, ``vpl network``, ``vpl deploy`` and ``vpl up``: the chain and the contracts."""
