// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Governed} from "./utils/Governed.sol";
import {IMemberRegistry} from "./interfaces/IMemberRegistry.sol";
import {IPointsLedger} from "./interfaces/IPointsLedger.sol";

/// @title MemberRegistry
/// @notice The permissioned part of the ledger: only registered, unfrozen accounts hold or move points.
/// @dev Registrars register and freeze; recovery is a council action (DEFAULT_ADMIN_ROLE is the council).
contract MemberRegistry is IMemberRegistry, Governed {
    bytes32 public constant REGISTRAR_ROLE = keccak256("REGISTRAR_ROLE");
    /// @notice Supervisors who read everything; checked by the API and later audit tools.
    bytes32 public constant AUDITOR_ROLE = keccak256("AUDITOR_ROLE");
    uint256 public constant MAX_BATCH = 200;

    mapping(address account => Member) private _members;
    mapping(bytes32 commitment => address holder) private _holders;
    uint256 private _memberCount;
    IPointsLedger private _ledger;
    /// Moves on every freeze and recovery (never on registration or unfreezing, which only make
    /// members active), from 1; see statusEpoch.
    uint256 private _statusEpoch = 1;
    mapping(address member => mapping(address proxy => bool)) private _proxies;

    modifier onlyRegistrarOrCouncil() {
        address sender = _msgSender();
        if (!_isRegistrarOrCouncil(sender)) revert AccessControlUnauthorizedAccount(sender, REGISTRAR_ROLE);
        _;
    }

    constructor(address admin, address forwarder) Governed(admin, forwarder) {}

    /// @notice Links the points ledger that recovery moves balances in; once, at deployment.
    function linkLedger(IPointsLedger pointsLedger) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (address(_ledger) != address(0)) revert MemberLedgerAlreadyLinked(address(_ledger));
        _ledger = pointsLedger;
        emit LedgerLinked(address(pointsLedger));
    }

    /// @inheritdoc IMemberRegistry
    function register(address account, bytes32 commitment) external onlyRole(REGISTRAR_ROLE) {
        _register(account, commitment);
    }

    /// @inheritdoc IMemberRegistry
    function registerBatch(address[] calldata accounts, bytes32[] calldata commitments)
        external
        onlyRole(REGISTRAR_ROLE)
    {
        if (accounts.length != commitments.length) {
            revert MemberBatchLengthMismatch(accounts.length, commitments.length);
        }
        if (accounts.length > MAX_BATCH) revert MemberBatchTooLarge(accounts.length, MAX_BATCH);
        for (uint256 i = 0; i < accounts.length; ++i) {
            _register(accounts[i], commitments[i]);
        }
    }

    /// @inheritdoc IMemberRegistry
    function freeze(address account, uint16 reason) external onlyRegistrarOrCouncil {
        if (reason == 0) revert MemberInvalidReason(reason);
        Member storage m = _live(account);
        if (m.status == MemberStatus.Frozen) revert MemberIsFrozen(account, m.frozenReason);
        m.status = MemberStatus.Frozen;
        ++_statusEpoch;
        m.frozenReason = reason;
        emit MemberFrozen(account, reason, _msgSender());
    }

    /// @inheritdoc IMemberRegistry
    function unfreeze(address account, uint16 reason) external onlyRegistrarOrCouncil {
        if (reason == 0) revert MemberInvalidReason(reason);
        Member storage m = _live(account);
        if (m.status != MemberStatus.Frozen) revert MemberNotFrozen(account);
        m.status = MemberStatus.Active;
        m.frozenReason = 0;
        emit MemberUnfrozen(account, reason, _msgSender());
    }

    /// @inheritdoc IMemberRegistry
    /// @dev A frozen member stays frozen at the new address: recovery is no way out of a freeze.
    function recover(address previous, address successor) external onlyRole(DEFAULT_ADMIN_ROLE) {
        Member storage old = _live(previous);
        if (address(_ledger) == address(0)) revert MemberLedgerNotLinked();
        if (successor == address(0) || successor == previous) revert MemberInvalidAddress(successor);
        if (_members[successor].status != MemberStatus.None) revert MemberAlreadyRegistered(successor);

        bytes32 commitment = old.commitment;
        _members[successor] = Member({
            commitment: commitment,
            status: old.status,
            frozenReason: old.frozenReason,
            registeredAt: uint64(block.timestamp),
            registrar: _msgSender(),
            successor: address(0)
        });
        old.status = MemberStatus.Recovered;
        ++_statusEpoch;
        old.successor = successor;
        _holders[commitment] = successor;
        emit MemberRecovered(previous, successor, commitment);

        _ledger.recoverBalances(previous, successor);
    }

    /// @inheritdoc IMemberRegistry
    /// @dev Grants are tied to the member's address: after a recovery they are granted again.
    function grantProxy(address member, address proxy, bytes32 consentRef) external {
        address sender = _msgSender();
        if (sender != member && !_isRegistrarOrCouncil(sender)) revert MemberUnauthorized(sender);
        _live(member);
        if (proxy == address(0) || proxy == member) revert MemberInvalidProxy(proxy);
        if (consentRef == bytes32(0)) revert MemberInvalidCommitment(consentRef);
        if (_proxies[member][proxy]) revert MemberProxyExists(member, proxy);
        _proxies[member][proxy] = true;
        emit ProxyGranted(member, proxy, consentRef, sender);
    }

    /// @inheritdoc IMemberRegistry
    function revokeProxy(address member, address proxy) external {
        address sender = _msgSender();
        if (sender != member && sender != proxy && !_isRegistrarOrCouncil(sender)) revert MemberUnauthorized(sender);
        if (!_proxies[member][proxy]) revert MemberNotProxy(member, proxy);
        _proxies[member][proxy] = false;
        emit ProxyRevoked(member, proxy, sender);
    }

    // --- views ---------------------------------------------------------------------------------

    function memberOf(address account) external view returns (Member memory) {
        return _members[account];
    }

    function statusOf(address account) external view returns (MemberStatus) {
        return _members[account].status;
    }

    function successorOf(address account) external view returns (address) {
        return _members[account].successor;
    }

    function holderOf(bytes32 commitment) external view returns (address) {
        return _holders[commitment];
    }

    function isActive(address account) external view returns (bool) {
        return _members[account].status == MemberStatus.Active;
    }

    function isProxy(address member, address proxy) external view returns (bool) {
        return _proxies[member][proxy];
    }

    function memberCount() external view returns (uint256) {
        return _memberCount;
    }

    /// @inheritdoc IMemberRegistry
    function statusEpoch() external view returns (uint256) {
        return _statusEpoch;
    }

    function ledger() external view returns (address) {
        return address(_ledger);
    }

    // --- internals -----------------------------------------------------------------------------

    function _isRegistrarOrCouncil(address account) private view returns (bool) {
        return hasRole(REGISTRAR_ROLE, account) || hasRole(DEFAULT_ADMIN_ROLE, account);
    }

    function _register(address account, bytes32 commitment) private {
        if (account == address(0)) revert MemberInvalidAddress(account);
        if (commitment == bytes32(0)) revert MemberInvalidCommitment(commitment);
        if (_members[account].status != MemberStatus.None) revert MemberAlreadyRegistered(account);
        address holder = _holders[commitment];
        if (holder != address(0)) revert MemberCommitmentInUse(commitment, holder);

        _members[account] = Member({
            commitment: commitment,
            status: MemberStatus.Active,
            frozenReason: 0,
            registeredAt: uint64(block.timestamp),
            registrar: _msgSender(),
            successor: address(0)
        });
        _holders[commitment] = account;
        ++_memberCount;
        emit MemberRegistered(account, commitment, _msgSender());
    }

    /// @dev A registered account that has not been recovered to another address.
    function _live(address account) private view returns (Member storage m) {
        m = _members[account];
        if (m.status == MemberStatus.None) revert MemberNotRegistered(account);
        if (m.status == MemberStatus.Recovered) revert MemberAlreadyRecovered(account, m.successor);
    }
}
