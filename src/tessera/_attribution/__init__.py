"""Context attribution: how much each retrieved document counted for an answer.

One method per file behind the `Attributor` of base.py: masked_ablation.py (what the node pays
by), contextcite.py (the ContextCite baseline), and their references (reference.py: any
method's probes from scratch; contextcite_reference.py: MadryLab's library itself).
"""
