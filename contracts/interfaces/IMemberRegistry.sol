// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IMemberRegistry
/// @notice Who may hold points: accounts registered by a registrar after real-name verification
/// off-chain. On chain an account carries only a commitment (a keyed hash of the identity), never
/// personal data; one commitment can hold one live account at a time.
interface IMemberRegistry {
    enum MemberStatus {
        None,
        Active,
        Frozen,
        Recovered
    }

    struct Member {
        bytes32 commitment;
        MemberStatus status;
        uint16 frozenReason;
        uint64 registeredAt;
        address registrar;
        address successor;
    }

    event MemberRegistered(address indexed member, bytes32 indexed commitment, address indexed registrar);
    event MemberFrozen(address indexed member, uint16 indexed reason, address indexed by);
    event MemberUnfrozen(address indexed member, uint16 indexed reason, address indexed by);
    event MemberRecovered(address indexed previous, address indexed successor, bytes32 indexed commitment);
    event LedgerLinked(address indexed ledger);
    /// @notice `proxy` (a family member, a community worker) may act for `member`; `consentRef` is
    /// the hash of the signed consent kept off chain.
    event ProxyGranted(address indexed member, address indexed proxy, bytes32 consentRef, address by);
    event ProxyRevoked(address indexed member, address indexed proxy, address by);

    error MemberInvalidAddress(address account);
    error MemberInvalidCommitment(bytes32 commitment);
    error MemberAlreadyRegistered(address account);
    error MemberCommitmentInUse(bytes32 commitment, address holder);
    error MemberNotRegistered(address account);
    error MemberIsFrozen(address account, uint16 reason);
    error MemberNotFrozen(address account);
    error MemberInvalidReason(uint16 reason);
    error MemberAlreadyRecovered(address account, address successor);
    error MemberBatchTooLarge(uint256 size, uint256 maxSize);
    error MemberBatchLengthMismatch(uint256 accounts, uint256 commitments);
    error MemberLedgerAlreadyLinked(address ledger);
    error MemberLedgerNotLinked();
    error MemberInvalidProxy(address proxy);
    error MemberNotProxy(address member, address proxy);
    error MemberProxyExists(address member, address proxy);
    error MemberUnauthorized(address account);

    /// @notice Registers `account` for the person behind `commitment`.
    function register(address account, bytes32 commitment) external;

    /// @notice Registers many accounts at once (all or nothing).
    function registerBatch(address[] calldata accounts, bytes32[] calldata commitments) external;

    /// @notice Stops an account from receiving or moving points, with a reason code.
    function freeze(address account, uint16 reason) external;

    /// @notice Lifts a freeze, with a reason code.
    function unfreeze(address account, uint16 reason) external;

    /// @notice Moves a member to a new address after a lost key; balances follow.
    function recover(address previous, address successor) external;

    /// @notice Records that `proxy` may act for `member`; by the member, a registrar or the council.
    function grantProxy(address member, address proxy, bytes32 consentRef) external;
    /// @notice Ends a proxy grant; by the member, the proxy, a registrar or the council.
    function revokeProxy(address member, address proxy) external;
    function isProxy(address member, address proxy) external view returns (bool);

    function memberOf(address account) external view returns (Member memory);
    function statusOf(address account) external view returns (MemberStatus);
    function successorOf(address account) external view returns (address);
    function holderOf(bytes32 commitment) external view returns (address);
    function isActive(address account) external view returns (bool);
    /// @notice A number that moves whenever any member stops being active (freeze, recovery), so a
    /// contract that saw a member active at epoch E knows they still are while the epoch is E.
    function statusEpoch() external view returns (uint256);
    function memberCount() external view returns (uint256);
}
