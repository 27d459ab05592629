# pragma version ~=0.4.3
"""
@title Tessera node registry
@custom:contract-name node_registry
@license Apache-2.0
@notice The nodes of the network: each one's endpoint, the CID of its
        metadata document (models served, prices), its bonded stake and
        whether it is registered. Clients enumerate the list to choose a
        node; a node that leaves stays listed, marked inactive.
@dev A module: `staking.vy` initializes it, moves the stake and decides
     who may register; its reverts carry that contract's name.
"""


_MAX_ENDPOINT: constant(uint256) = 256
_MAX_CID: constant(uint256) = 128


struct Node:
    endpoint: String[_MAX_ENDPOINT]
    metadata_cid: String[_MAX_CID]
    stake: uint256  # bonded: slashable and counted for eligibility
    registered_at: uint256  # of the latest registration
    active: bool


nodes: public(HashMap[address, Node])
node_count: public(uint256)
_node_list: HashMap[uint256, address]  # append-only, each address once


event Registered:
    node: indexed(address)
    endpoint: String[_MAX_ENDPOINT]
    metadata_cid: String[_MAX_CID]
    stake: uint256


event Updated:
    node: indexed(address)
    endpoint: String[_MAX_ENDPOINT]
    metadata_cid: String[_MAX_CID]


event Left:
    node: indexed(address)
    unbonded: uint256


@external
def update(endpoint: String[_MAX_ENDPOINT], metadata_cid: String[_MAX_CID]):
    """
    @notice Changes the caller's endpoint and metadata document.
    @param endpoint The URL clients reach the node at; not empty.
    @param metadata_cid The CID of the node's metadata document; not empty.
    """
    self._check_registered(msg.sender)
    self._check_listing(endpoint, metadata_cid)
    self.nodes[msg.sender].endpoint = endpoint
    self.nodes[msg.sender].metadata_cid = metadata_cid
    log Updated(node=msg.sender, endpoint=endpoint, metadata_cid=metadata_cid)


@external
@view
def node_at(index: uint256) -> address:
    """
    @notice The `index`-th node ever registered (0-based, in order of
            first registration).
    @param index Below `node_count()`.
    @return address The node.
    """
    assert index < self.node_count, "staking: node index out of range"
    return self._node_list[index]


@internal
def _register(
    node: address, endpoint: String[_MAX_ENDPOINT], metadata_cid: String[_MAX_CID], stake: uint256
):
    assert not self.nodes[node].active, "staking: already registered"
    self._check_listing(endpoint, metadata_cid)
    # registered_at is never 0 once set (timestamps are not), so a returning node is not relisted
    if self.nodes[node].registered_at == 0:
        self._node_list[self.node_count] = node
        self.node_count += 1
    self.nodes[node] = Node(
        endpoint=endpoint,
        metadata_cid=metadata_cid,
        stake=stake,
        registered_at=block.timestamp,
        active=True,
    )
    log Registered(node=node, endpoint=endpoint, metadata_cid=metadata_cid, stake=stake)


@internal
def _deregister(node: address) -> uint256:
    self._check_registered(node)
    stake: uint256 = self.nodes[node].stake
    self.nodes[node].active = False
    self.nodes[node].stake = 0
    log Left(node=node, unbonded=stake)
    return stake


@internal
@view
def _check_registered(node: address):
    assert self.nodes[node].active, "staking: not registered"


@internal
@pure
def _check_listing(endpoint: String[_MAX_ENDPOINT], metadata_cid: String[_MAX_CID]):
    assert len(endpoint) != 0, "staking: empty endpoint"
    assert len(metadata_cid) != 0, "staking: empty metadata cid"
