"""The inference node: HTTP API, retrieval from datanets, attributed answers, signed receipts."""
