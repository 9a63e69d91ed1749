// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {ERC2771Context} from "@openzeppelin/contracts/metatx/ERC2771Context.sol";
import {ICouncil} from "./interfaces/ICouncil.sol";

/// @title Council
/// @notice M-of-N governance. Every sensitive action of the ledger (admitting a scheme or an issuer,
/// changing a quota or an exchange value, recovering an account, granting roles and council seats)
/// is a proposal that council members approve on chain before anyone can execute it.
/// @dev The council is the admin (DEFAULT_ADMIN_ROLE) of every other contract, so a proposal's calls
/// run with the council's authority. Approvals are counted against the current membership at
/// execution, so a removed member's approval no longer counts; an approval is tied to the seat it
/// was given from, so a member removed and seated again starts with no approvals.
contract Council is ICouncil, ERC2771Context {
    using EnumerableSet for EnumerableSet.AddressSet;

    uint256 public constant MAX_MEMBERS = 32;
    uint256 public constant MAX_CALLS = 32;
    uint64 public constant MIN_LIFETIME = 60;

    struct Proposal {
        address proposer;
        uint64 createdAt;
        uint64 deadline;
        bool executed;
        bool cancelled;
        address[] targets;
        bytes[] calldatas;
        string description;
    }

    EnumerableSet.AddressSet private _members;
    uint256 private _threshold;
    uint64 private _lifetime;
    uint256 private _proposalCount;
    mapping(uint256 proposalId => Proposal) private _proposals;
    /// The seat number the approval was given from (0: not approved); see `_seat`.
    mapping(uint256 proposalId => mapping(address member => uint256 seat)) private _approved;
    /// Increases each time an account is seated, so approvals from an earlier seat do not count.
    mapping(address member => uint256 seat) private _seat;

    modifier onlyMember() {
        if (!_members.contains(_msgSender())) revert CouncilUnauthorizedMember(_msgSender());
        _;
    }

    modifier onlySelf() {
        if (msg.sender != address(this)) revert CouncilOnlySelf(msg.sender);
        _;
    }

    constructor(address[] memory initialMembers, uint256 initialThreshold, uint64 lifetime, address forwarder)
        ERC2771Context(forwarder)
    {
        for (uint256 i = 0; i < initialMembers.length; ++i) {
            _addMember(initialMembers[i]);
        }
        _setThreshold(initialThreshold);
        _setLifetime(lifetime);
    }

    // --- proposals -----------------------------------------------------------------------------

    /// @inheritdoc ICouncil
    function propose(address[] calldata targets, bytes[] calldata calldatas, string calldata description)
        external
        onlyMember
        returns (uint256 proposalId)
    {
        if (targets.length != calldatas.length) revert CouncilLengthMismatch(targets.length, calldatas.length);
        if (targets.length == 0 || targets.length > MAX_CALLS) revert CouncilInvalidProposal(targets.length, MAX_CALLS);
        for (uint256 i = 0; i < targets.length; ++i) {
            if (targets[i].code.length == 0) revert CouncilInvalidTarget(targets[i]);
        }
        proposalId = ++_proposalCount;
        Proposal storage p = _proposals[proposalId];
        p.proposer = _msgSender();
        p.createdAt = uint64(block.timestamp);
        p.deadline = uint64(block.timestamp) + _lifetime;
        p.targets = targets;
        for (uint256 i = 0; i < calldatas.length; ++i) {
            p.calldatas.push(calldatas[i]);
        }
        p.description = description;
        emit ProposalCreated(proposalId, p.proposer, targets, calldatas, description, p.deadline);
        _approved[proposalId][p.proposer] = _seat[p.proposer];
        emit ProposalApproved(proposalId, p.proposer, approvalCount(proposalId));
    }

    /// @inheritdoc ICouncil
    function approve(uint256 proposalId) external onlyMember {
        _requireOpen(proposalId);
        address member = _msgSender();
        if (_hasApproved(proposalId, member)) revert CouncilAlreadyApproved(proposalId, member);
        _approved[proposalId][member] = _seat[member];
        emit ProposalApproved(proposalId, member, approvalCount(proposalId));
    }

    /// @inheritdoc ICouncil
    function revokeApproval(uint256 proposalId) external onlyMember {
        _requireOpen(proposalId);
        address member = _msgSender();
        if (!_hasApproved(proposalId, member)) revert CouncilNotApproved(proposalId, member);
        _approved[proposalId][member] = 0;
        emit ApprovalRevoked(proposalId, member, approvalCount(proposalId));
    }

    /// @inheritdoc ICouncil
    /// @dev Marked executed before the calls run; a failing call reverts the whole execution with
    /// the target's own error, and the proposal stays open to be executed again.
    function execute(uint256 proposalId) external onlyMember {
        Proposal storage p = _requireOpen(proposalId);
        uint256 approvals = approvalCount(proposalId);
        if (approvals < _threshold) revert CouncilNotEnoughApprovals(proposalId, approvals, _threshold);
        p.executed = true;
        emit ProposalExecuted(proposalId, _msgSender());
        for (uint256 i = 0; i < p.targets.length; ++i) {
            Address.functionCall(p.targets[i], p.calldatas[i]);
        }
    }

    /// @inheritdoc ICouncil
    function cancel(uint256 proposalId) external onlyMember {
        Proposal storage p = _requireOpen(proposalId);
        if (p.proposer != _msgSender()) revert CouncilUnauthorizedMember(_msgSender());
        p.cancelled = true;
        emit ProposalCancelled(proposalId, _msgSender());
    }

    // --- membership (only through an executed proposal) ----------------------------------------

    /// @notice Grants a council seat.
    function addMember(address account) external onlySelf {
        _addMember(account);
    }

    /// @notice Removes a council seat; refused if fewer members than the threshold would remain.
    function removeMember(address account) external onlySelf {
        if (!_members.remove(account)) revert CouncilInvalidMember(account);
        if (_members.length() < _threshold) revert CouncilInvalidThreshold(_threshold, _members.length());
        emit CouncilMemberRemoved(account);
    }

    /// @notice Sets how many approvals a proposal needs (1 <= M <= N).
    function setThreshold(uint256 newThreshold) external onlySelf {
        _setThreshold(newThreshold);
    }

    /// @notice Sets how long a new proposal stays open, in seconds.
    function setProposalLifetime(uint64 lifetime) external onlySelf {
        _setLifetime(lifetime);
    }

    // --- views ---------------------------------------------------------------------------------

    function isMember(address account) external view returns (bool) {
        return _members.contains(account);
    }

    function members() external view returns (address[] memory) {
        return _members.values();
    }

    function threshold() external view returns (uint256) {
        return _threshold;
    }

    function proposalLifetime() external view returns (uint64) {
        return _lifetime;
    }

    function proposalCount() external view returns (uint256) {
        return _proposalCount;
    }

    function proposal(uint256 proposalId) external view returns (ProposalView memory) {
        Proposal storage p = _requireExists(proposalId);
        return ProposalView({
            proposer: p.proposer,
            createdAt: p.createdAt,
            deadline: p.deadline,
            executed: p.executed,
            cancelled: p.cancelled,
            approvals: approvalCount(proposalId),
            targets: p.targets,
            calldatas: p.calldatas,
            description: p.description
        });
    }

    function hasApproved(uint256 proposalId, address member) external view returns (bool) {
        return _members.contains(member) && _hasApproved(proposalId, member);
    }

    /// @notice Approvals by current members (bounded by MAX_MEMBERS).
    function approvalCount(uint256 proposalId) public view returns (uint256 count) {
        uint256 n = _members.length();
        for (uint256 i = 0; i < n; ++i) {
            if (_hasApproved(proposalId, _members.at(i))) ++count;
        }
    }

    // --- internals -----------------------------------------------------------------------------

    function _requireExists(uint256 proposalId) private view returns (Proposal storage p) {
        p = _proposals[proposalId];
        if (p.proposer == address(0)) revert CouncilProposalUnknown(proposalId);
    }

    function _requireOpen(uint256 proposalId) private view returns (Proposal storage p) {
        p = _requireExists(proposalId);
        if (p.executed || p.cancelled) revert CouncilProposalClosed(proposalId);
        if (block.timestamp > p.deadline) revert CouncilProposalExpired(proposalId, p.deadline);
    }

    function _hasApproved(uint256 proposalId, address member) private view returns (bool) {
        uint256 seat = _approved[proposalId][member];
        return seat != 0 && seat == _seat[member];
    }

    function _addMember(address account) private {
        if (account == address(0)) revert CouncilInvalidMember(account);
        if (_members.length() >= MAX_MEMBERS) revert CouncilTooManyMembers(MAX_MEMBERS);
        if (!_members.add(account)) revert CouncilAlreadyMember(account);
        ++_seat[account];
        emit CouncilMemberAdded(account);
    }

    function _setThreshold(uint256 newThreshold) private {
        if (newThreshold == 0 || newThreshold > _members.length()) {
            revert CouncilInvalidThreshold(newThreshold, _members.length());
        }
        emit ThresholdChanged(_threshold, newThreshold);
        _threshold = newThreshold;
    }

    function _setLifetime(uint64 lifetime) private {
        if (lifetime < MIN_LIFETIME) revert CouncilInvalidLifetime(lifetime);
        emit ProposalLifetimeChanged(_lifetime, lifetime);
        _lifetime = lifetime;
    }
}
