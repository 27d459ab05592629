# pragma version ~=0.4.3
"""
@title Tessera timelock
@custom:contract-name timelock
@license Apache-2.0
@notice Holds every governed contract and runs a change only after its
        delay: snekmate's `timelock_controller` as it is. The governor
        is its only proposer, canceller and executor.
@dev The constructor's optional `admin_` lets the deployer wire the
     governor's roles in and must then renounce its admin role, after
     which only the timelock administers itself.
"""

from snekmate.auth import access_control
from snekmate.governance import timelock_controller

initializes: access_control
initializes: timelock_controller[access_control := access_control]

exports: timelock_controller.__interface__


@deploy
def __init__(
    minimum_delay_: uint256,
    proposers_: DynArray[address, 255],
    executors_: DynArray[address, 255],
    admin_: address,
):
    """
    @notice Grants the proposer and canceller roles to `proposers_`, the
            executor role to `executors_`, and the admin role to the
            timelock itself and to `admin_` (the zero address for none).
    @param minimum_delay_ Seconds between scheduling and running a change.
    @param proposers_ Accounts that may schedule and cancel.
    @param executors_ Accounts that may run ready changes.
    @param admin_ An optional admin for the initial wiring.
    """
    access_control.__init__()
    timelock_controller.__init__(minimum_delay_, proposers_, executors_, admin_)
