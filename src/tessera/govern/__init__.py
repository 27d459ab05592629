"""Governance: proposals that change the network's parameters, votes, and the policy nodes honour."""
