"""Governance: proposals that change network parameters, votes, and the policy nodes honour."""
