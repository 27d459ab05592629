"""Run a whole proposal through governance: the only way the network's parameters change."""

from __future__ import annotations

from tessera._api import Tessera
from tessera._chain.governance import Action, ProposalState


def enact(t: Tessera, actions: list[Action], description: str = "test change") -> int:
    """Propose with the home's default account (which holds the supply), vote for, queue,
    wait out the timelock and execute. Dev chains' clocks are moved, never slept on in process."""
    gov = t.gov
    proposal = gov.propose(actions, description)
    gov.wait_for(proposal, ProposalState.ACTIVE)
    gov.vote(proposal, "for")
    assert gov.wait_for(proposal, ProposalState.SUCCEEDED).state == ProposalState.SUCCEEDED
    gov.queue(proposal)
    gov.execute(proposal, wait=True)
    assert gov.status(proposal).state == ProposalState.EXECUTED
    return proposal
