// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IPointsLedger
/// @notice Balances of every scheme's points per member, readable through ERC-1155 (token id =
/// scheme id). Points move only through the ledger's own functions under each scheme's rules.
interface IPointsLedger {
    /// @notice Points issued for `source` (the approved service record or other cause behind them).
    event PointsIssued(
        uint256 indexed schemeId,
        address indexed member,
        bytes32 indexed source,
        uint256 amount,
        uint256 period,
        address operator
    );
    /// @notice All of a member's balances moved to their new address after recovery.
    event BalancesRecovered(address indexed previous, address indexed successor, uint256[] schemeIds, uint256[] amounts);
    event MetadataURIChanged(string uri);

    error PointsNotAMember(address account);
    error PointsMemberFrozen(address account);
    error PointsTransferNotAllowed(address from, address to);
    error PointsInvalidAmount(uint256 amount);
    error PointsInvalidSource(bytes32 source);
    error PointsQuotaExceeded(uint256 schemeId, uint256 period, uint256 requested, uint256 remaining);
    error PointsUnauthorizedCaller(address caller);
    error PointsSourceAlreadyPaid(bytes32 source);

    /// @notice Issues points of `schemeId` to `member` for `source`, within the scheme's quota;
    /// a source is paid once.
    /// @dev Only ISSUANCE_ROLE: the contracts that enforce why points are due (review, exchange).
    function issue(address member, uint256 schemeId, uint256 amount, bytes32 source) external;

    /// @notice Moves every balance of `previous` to `successor`; only the member registry calls it.
    function recoverBalances(address previous, address successor) external;

    function issued(uint256 schemeId) external view returns (uint256);
    function burned(uint256 schemeId) external view returns (uint256);
    function isPaid(bytes32 source) external view returns (bool);
    function quotaUsed(uint256 schemeId) external view returns (uint256);
    function currentPeriod(uint256 schemeId) external view returns (uint256);
    function remainingQuota(uint256 schemeId) external view returns (uint256);
}
