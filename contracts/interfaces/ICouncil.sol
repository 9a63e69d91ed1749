// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ICouncil
/// @notice Governance of the ledger: M of N council members approve every sensitive action.
interface ICouncil {
    /// @notice A proposal as stored on chain; `calls` run in order, all or nothing.
    struct ProposalView {
        address proposer;
        uint64 createdAt;
        uint64 deadline;
        bool executed;
        bool cancelled;
        uint256 approvals;
        address[] targets;
        bytes[] calldatas;
        string description;
    }

    event ProposalCreated(
        uint256 indexed proposalId,
        address indexed proposer,
        address[] targets,
        bytes[] calldatas,
        string description,
        uint64 deadline
    );
    event ProposalApproved(uint256 indexed proposalId, address indexed member, uint256 approvals);
    event ApprovalRevoked(uint256 indexed proposalId, address indexed member, uint256 approvals);
    event ProposalExecuted(uint256 indexed proposalId, address indexed executor);
    event ProposalCancelled(uint256 indexed proposalId, address indexed by);
    event CouncilMemberAdded(address indexed member);
    event CouncilMemberRemoved(address indexed member);
    event ThresholdChanged(uint256 previousThreshold, uint256 threshold);
    event ProposalLifetimeChanged(uint64 previousLifetime, uint64 lifetime);

    error CouncilUnauthorizedMember(address account);
    error CouncilOnlySelf(address caller);
    error CouncilProposalUnknown(uint256 proposalId);
    error CouncilProposalClosed(uint256 proposalId);
    error CouncilProposalExpired(uint256 proposalId, uint64 deadline);
    error CouncilAlreadyApproved(uint256 proposalId, address member);
    error CouncilNotApproved(uint256 proposalId, address member);
    error CouncilNotEnoughApprovals(uint256 proposalId, uint256 approvals, uint256 threshold);
    error CouncilInvalidThreshold(uint256 threshold, uint256 members);
    error CouncilInvalidMember(address account);
    error CouncilAlreadyMember(address account);
    error CouncilTooManyMembers(uint256 maxMembers);
    error CouncilInvalidProposal(uint256 calls, uint256 maxCalls);
    error CouncilLengthMismatch(uint256 targets, uint256 calldatas);
    error CouncilInvalidTarget(address target);
    error CouncilInvalidLifetime(uint64 lifetime);

    /// @notice Proposes calls for the council to approve; the proposer's approval is counted.
    function propose(address[] calldata targets, bytes[] calldata calldatas, string calldata description)
        external
        returns (uint256 proposalId);

    /// @notice Approves a proposal as the calling council member.
    function approve(uint256 proposalId) external;

    /// @notice Withdraws the caller's approval before execution.
    function revokeApproval(uint256 proposalId) external;

    /// @notice Runs an approved proposal's calls; any council member may execute.
    function execute(uint256 proposalId) external;

    /// @notice Cancels an open proposal; only its proposer may.
    function cancel(uint256 proposalId) external;

    function addMember(address account) external;
    function removeMember(address account) external;
    function setThreshold(uint256 threshold) external;
    function setProposalLifetime(uint64 lifetime) external;

    function isMember(address account) external view returns (bool);
    function members() external view returns (address[] memory);
    function threshold() external view returns (uint256);
    function proposalLifetime() external view returns (uint64);
    function proposalCount() external view returns (uint256);
    function proposal(uint256 proposalId) external view returns (ProposalView memory);
    function hasApproved(uint256 proposalId, address member) external view returns (bool);
    function approvalCount(uint256 proposalId) external view returns (uint256);
}
