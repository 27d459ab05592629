"""Inference: prompts built from retrieved documents, and a batching engine that generates
greedily and runs its attribution method's probes, per answer, in the same packed steps."""
