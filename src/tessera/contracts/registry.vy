# pragma version ~=0.4.3
"""
@title Tessera registry
@custom:contract-name registry
@license Apache-2.0
@notice Datanets (community datasets) and the batches of signed
        contributions registered to them. A batch is the Merkle root
        of its leaves; each leaf binds a contributor to the EIP-712
        `Contribution` it signed, so one transaction registers many
        contributions and each stays provable on its own.
@dev Leaves are `keccak256(keccak256(abi_encode(struct_hash, contributor)))`
     (double hashed against second pre-image attacks) and inner nodes
     hash sorted pairs, as snekmate's `merkle_proof_verification` expects.
"""

from snekmate.utils import ecdsa
from snekmate.utils import eip712_domain_separator
from snekmate.utils import merkle_proof_verification

initializes: eip712_domain_separator

exports: eip712_domain_separator.eip712Domain


_CONTRIBUTION_TYPE_HASH: constant(bytes32) = keccak256(
    "Contribution(uint256 datanet,bytes32 cid,string license)"
)
_MAX_PROOF: constant(uint256) = 255


struct Datanet:
    owner: address
    name: String[64]
    license: String[64]
    metadata_cid: String[128]
    created_block: uint256
    batch_count: uint256
    contribution_count: uint256


struct Deployment:
    token: address
    settlement: address
    staking: address
    timelock: address
    governor: address
    policy: address
    disputes: address
    models: address
    block: uint256  # where the deployment began: a joining home indexes from here


struct Batch:
    datanet: uint256
    root: bytes32
    leaf_count: uint256
    contributors_hash: bytes32
    contributor_count: uint256
    content_uri: String[128]
    submitter: address
    block_number: uint256
    timestamp: uint256


deployer: public(immutable(address))
deployment: public(Deployment)
datanet_count: public(uint256)
datanets: public(HashMap[uint256, Datanet])
datanet_id_by_name: public(HashMap[String[64], uint256])
batch_count: public(uint256)
batches: public(HashMap[uint256, Batch])
batch_id_by_root: public(HashMap[uint256, HashMap[bytes32, uint256]])
datanet_batches: public(HashMap[uint256, HashMap[uint256, uint256]])


event DatanetCreated:
    datanet: indexed(uint256)
    owner: indexed(address)
    name: String[64]
    license: String[64]
    metadata_cid: String[128]


event DatanetMetadataChanged:
    datanet: indexed(uint256)
    metadata_cid: String[128]


event DatanetOwnershipTransferred:
    datanet: indexed(uint256)
    previous_owner: indexed(address)
    new_owner: indexed(address)


event DeploymentLinked:
    token: address
    settlement: address
    staking: address
    timelock: address
    governor: address
    policy: address
    disputes: address
    models: address
    block: uint256


event BatchRegistered:
    datanet: indexed(uint256)
    batch: indexed(uint256)
    submitter: indexed(address)
    root: bytes32
    leaf_count: uint256
    contributors_hash: bytes32
    contributor_count: uint256
    content_uri: String[128]


@deploy
def __init__():
    """
    @dev Fixes the EIP-712 domain that contributors sign under.
    """
    eip712_domain_separator.__init__("Tessera Registry", "1")
    deployer = msg.sender


@external
def link_deployment(deployment: Deployment):
    """
    @notice Names, once, the contracts deployed beside this registry, so
            that a new home can join the deployment from this address alone
            (`tessera init --join REGISTRY`).
    @dev Only the deployer, only once: afterwards the record is fixed.
    @param deployment The token, settlement, staking, timelock, governor,
           policy, disputes and models addresses and the deployment's
           first block.
    """
    assert msg.sender == deployer, "registry: caller is not the deployer"
    assert self.deployment.token == empty(address), "registry: deployment already linked"
    assert (
        deployment.token != empty(address)
        and deployment.settlement != empty(address)
        and deployment.staking != empty(address)
        and deployment.timelock != empty(address)
        and deployment.governor != empty(address)
        and deployment.policy != empty(address)
        and deployment.disputes != empty(address)
        and deployment.models != empty(address)
    ), "registry: zero address in deployment"
    self.deployment = deployment
    log DeploymentLinked(
        token=deployment.token,
        settlement=deployment.settlement,
        staking=deployment.staking,
        timelock=deployment.timelock,
        governor=deployment.governor,
        policy=deployment.policy,
        disputes=deployment.disputes,
        models=deployment.models,
        block=deployment.block,
    )


@external
def create_datanet(name: String[64], license: String[64], metadata_cid: String[128]) -> uint256:
    """
    @notice Creates a datanet owned by the caller.
    @param name A unique, non-empty name.
    @param license The SPDX identifier every contribution is licensed under.
    @param metadata_cid The CID of the datanet's metadata document.
    @return uint256 The new datanet's id (ids start at 1).
    """
    assert len(name) != 0, "registry: empty name"
    assert len(license) != 0, "registry: empty license"
    assert len(metadata_cid) != 0, "registry: empty metadata cid"
    assert self.datanet_id_by_name[name] == 0, "registry: name taken"

    datanet_id: uint256 = self.datanet_count + 1
    self.datanet_count = datanet_id
    self.datanet_id_by_name[name] = datanet_id
    self.datanets[datanet_id] = Datanet(
        owner=msg.sender,
        name=name,
        license=license,
        metadata_cid=metadata_cid,
        created_block=block.number,
        batch_count=0,
        contribution_count=0,
    )
    log DatanetCreated(
        datanet=datanet_id, owner=msg.sender, name=name, license=license, metadata_cid=metadata_cid
    )
    return datanet_id


@external
def set_metadata(datanet: uint256, metadata_cid: String[128]):
    """
    @notice Points a datanet at a new metadata document.
    @param datanet The datanet's id; only its owner may call.
    @param metadata_cid The CID of the new metadata document.
    """
    self._check_owner(datanet)
    assert len(metadata_cid) != 0, "registry: empty metadata cid"
    self.datanets[datanet].metadata_cid = metadata_cid
    log DatanetMetadataChanged(datanet=datanet, metadata_cid=metadata_cid)


@external
def transfer_datanet(datanet: uint256, new_owner: address):
    """
    @notice Hands a datanet to a new owner.
    @param datanet The datanet's id; only its owner may call.
    @param new_owner The new owner; not the zero address.
    """
    self._check_owner(datanet)
    assert new_owner != empty(address), "registry: new owner is the zero address"
    previous: address = self.datanets[datanet].owner
    self.datanets[datanet].owner = new_owner
    log DatanetOwnershipTransferred(datanet=datanet, previous_owner=previous, new_owner=new_owner)


@external
def register_batch(
    datanet: uint256,
    root: bytes32,
    leaf_count: uint256,
    contributors_hash: bytes32,
    contributor_count: uint256,
    content_uri: String[128],
) -> uint256:
    """
    @notice Registers a batch of signed contributions by its Merkle root.
    @dev Signatures are not checked here (that would cost gas per leaf);
         the batch manifest at `content_uri` carries them and
         `verify_contribution` checks any one of them on demand.
    @param datanet The datanet the contributions belong to.
    @param root The Merkle root over the batch's leaves.
    @param leaf_count The number of contributions in the batch.
    @param contributors_hash keccak256 of the sorted distinct contributor addresses.
    @param contributor_count The number of distinct contributors.
    @param content_uri The CID of the batch manifest (leaves, signatures).
    @return uint256 The new batch's id (ids start at 1).
    """
    assert datanet != 0 and datanet <= self.datanet_count, "registry: unknown datanet"
    assert root != empty(bytes32), "registry: empty root"
    assert leaf_count != 0, "registry: empty batch"
    assert contributor_count != 0 and contributor_count <= leaf_count, "registry: bad contributor count"
    assert len(content_uri) != 0, "registry: empty content uri"
    # one root per datanet: a retried ingest can never register the same batch twice
    assert self.batch_id_by_root[datanet][root] == 0, "registry: batch already registered"

    batch_id: uint256 = self.batch_count + 1
    self.batch_count = batch_id
    self.batch_id_by_root[datanet][root] = batch_id
    index: uint256 = self.datanets[datanet].batch_count
    self.datanet_batches[datanet][index] = batch_id
    self.datanets[datanet].batch_count = index + 1
    self.datanets[datanet].contribution_count += leaf_count
    self.batches[batch_id] = Batch(
        datanet=datanet,
        root=root,
        leaf_count=leaf_count,
        contributors_hash=contributors_hash,
        contributor_count=contributor_count,
        content_uri=content_uri,
        submitter=msg.sender,
        block_number=block.number,
        timestamp=block.timestamp,
    )
    log BatchRegistered(
        datanet=datanet,
        batch=batch_id,
        submitter=msg.sender,
        root=root,
        leaf_count=leaf_count,
        contributors_hash=contributors_hash,
        contributor_count=contributor_count,
        content_uri=content_uri,
    )
    return batch_id


@external
@view
def contribution_digest(datanet: uint256, cid: bytes32) -> bytes32:
    """
    @notice The EIP-712 digest a contributor signs for `cid` in `datanet`.
    @param datanet The datanet's id.
    @param cid The sha256 digest of the chunk (its CIDv1 multihash digest).
    @return bytes32 The digest to sign.
    """
    assert datanet != 0 and datanet <= self.datanet_count, "registry: unknown datanet"
    return eip712_domain_separator._hash_typed_data_v4(self._struct_hash(datanet, cid))


@external
@view
def contribution_leaf(datanet: uint256, cid: bytes32, contributor: address) -> bytes32:
    """
    @notice The Merkle leaf that binds `contributor` to its contribution.
    @param datanet The datanet's id.
    @param cid The sha256 digest of the chunk.
    @param contributor The contributor's address.
    @return bytes32 The leaf hash.
    """
    assert datanet != 0 and datanet <= self.datanet_count, "registry: unknown datanet"
    return self._leaf(self._struct_hash(datanet, cid), contributor)


@external
@view
def verify_contribution(
    batch: uint256,
    cid: bytes32,
    contributor: address,
    signature: Bytes[65],
    proof: DynArray[bytes32, _MAX_PROOF],
) -> bool:
    """
    @notice Checks, from chain state alone, that `contributor` signed
            `cid` for the batch's datanet and that it is in the batch.
    @param batch The batch's id.
    @param cid The sha256 digest of the chunk.
    @param contributor The address that claims the contribution.
    @param signature The contributor's 65-byte EIP-712 signature.
    @param proof The Merkle proof of the contribution's leaf.
    @return bool True if both the signature and the proof hold.
    """
    assert batch != 0 and batch <= self.batch_count, "registry: unknown batch"
    datanet: uint256 = self.batches[batch].datanet
    struct_hash: bytes32 = self._struct_hash(datanet, cid)
    digest: bytes32 = eip712_domain_separator._hash_typed_data_v4(struct_hash)
    if ecdsa._recover_sig(digest, signature) != contributor:
        return False
    return merkle_proof_verification._verify(
        proof, self.batches[batch].root, self._leaf(struct_hash, contributor)
    )


@internal
@view
def _struct_hash(datanet: uint256, cid: bytes32) -> bytes32:
    """
    @dev The EIP-712 struct hash of `Contribution(datanet, cid, license)`,
         with the datanet's license.
    """
    return keccak256(
        abi_encode(_CONTRIBUTION_TYPE_HASH, datanet, cid, keccak256(self.datanets[datanet].license))
    )


@internal
@pure
def _leaf(struct_hash: bytes32, contributor: address) -> bytes32:
    """
    @dev Double-hashed leaf, so that no inner node can pass for a leaf.
    """
    return keccak256(keccak256(abi_encode(struct_hash, contributor)))


@internal
@view
def _check_owner(datanet: uint256):
    """
    @dev Reverts unless `datanet` exists and the caller owns it.
    """
    assert datanet != 0 and datanet <= self.datanet_count, "registry: unknown datanet"
    assert self.datanets[datanet].owner == msg.sender, "registry: caller is not the datanet owner"
