"""Inference: prompts built from retrieved documents, and a batching engine that generates
greedily and measures, per document, what the answer owed to it."""
