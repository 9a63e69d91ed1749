"""The event index: ``follow`` (the ``Indexer``: sync, reorg, block, finalize) writes it, from the
node's logs (``node``) decoded (``decoding``) and handled by ``"Contract:Event"`` (``handlers``),
in one transaction a range (``writes``), with its bookkeeping in ``state``; ``queries`` reads it
into ``pages``, within the ``bounds`` every read keeps."""
