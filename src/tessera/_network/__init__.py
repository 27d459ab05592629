"""The network as clients and operators see it: node metadata by CID, the directory of
registered nodes, the rule that picks one, and failing over to the next."""
