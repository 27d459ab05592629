"""The deployed governance on every backend: wiring, a whole proposal, exact revert strings."""

from __future__ import annotations

from tessera._chain.deploy import deploy_contracts
from tessera._chain.governance import GovernanceSettings, ProposalState, Support
from tessera._chain.settlement import FeeSplit, SettlementClient
from tessera._govern.governance import Governance

# in process every transaction moves the clock a second: room for the two votes below
FAST = GovernanceSettings(voting_delay=1, voting_period=4, timelock_delay=1)


def test_a_fee_split_passes_on_every_backend(chain, owner, refused):
    deployment = deploy_contracts(chain, owner, governance=FAST)
    settlement = SettlementClient(chain, deployment.settlement)
    gov = Governance(chain, deployment, settlement, lambda _: owner, lambda _: owner.address)
    assert settlement.owner() == deployment.timelock
    with refused("ownable: caller is not the owner"):
        split = FeeSplit(2_000, 2_000, 5_000, 1_000, owner.address)
        chain.transact(settlement.contract.functions.set_fee_split(split.as_abi()), owner)

    proposal = gov.propose(gov.actions.fee_split(split), "contributors get half")
    with refused("governor: voting has not started"):
        gov.governor.vote(owner, proposal, Support.FOR, "")
    gov.wait_for(proposal, ProposalState.ACTIVE)
    gov.vote(proposal, "for")
    with refused("governor: vote already cast"):
        gov.governor.vote(owner, proposal, Support.AGAINST, "")
    assert gov.wait_for(proposal, ProposalState.SUCCEEDED).state == ProposalState.SUCCEEDED
    gov.queue(proposal)
    gov.execute(proposal, wait=True)
    assert settlement.fee_split() == split
    with refused("governor: proposal already executed"):
        gov.governor.execute(owner, proposal)
