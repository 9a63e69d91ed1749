// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {ERC1155Supply} from "@openzeppelin/contracts/token/ERC1155/extensions/ERC1155Supply.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Context} from "@openzeppelin/contracts/utils/Context.sol";
import {Governed} from "./utils/Governed.sol";
import {IPointsLedger} from "./interfaces/IPointsLedger.sol";
import {IMemberRegistry} from "./interfaces/IMemberRegistry.sol";
import {ISchemeRegistry} from "./interfaces/ISchemeRegistry.sol";

/// @title PointsLedger
/// @notice Every scheme's points, per member. Standard tools read it as ERC-1155 (balanceOf,
/// balanceOfBatch, uri, totalSupply); nobody can transfer with the ERC-1155 functions.
/// @dev Every movement passes `_update`, which admits only active members (or a recovery move to
/// the registered successor); issuance checks the scheme's quota per period.
contract PointsLedger is IPointsLedger, ERC1155Supply, Governed {
    /// @notice Held by the contracts that decide when points are due (service records, exchange).
    bytes32 public constant ISSUANCE_ROLE = keccak256("ISSUANCE_ROLE");

    IMemberRegistry private immutable _members;
    ISchemeRegistry private immutable _schemes;

    mapping(uint256 schemeId => uint256) private _issued;
    mapping(uint256 schemeId => uint256) private _burned;
    /// Quota use and the window it counts against, by absolute times, so that a change of quota
    /// period carries the use over for as long as the window it was counted in lasts.
    struct QuotaUsage {
        uint64 start;
        uint64 end;
        uint128 used;
    }

    mapping(uint256 schemeId => QuotaUsage) private _usage;
    mapping(bytes32 source => bool) private _paid;

    constructor(address admin, address forwarder, IMemberRegistry members, ISchemeRegistry schemes, string memory uri_)
        ERC1155(uri_)
        Governed(admin, forwarder)
    {
        _members = members;
        _schemes = schemes;
    }

    /// @inheritdoc IPointsLedger
    function issue(address member, uint256 schemeId, uint256 amount, bytes32 source)
        external
        onlyRole(ISSUANCE_ROLE)
    {
        if (amount == 0 || amount > type(uint128).max) revert PointsInvalidAmount(amount);
        if (source == bytes32(0)) revert PointsInvalidSource(source);
        if (_paid[source]) revert PointsSourceAlreadyPaid(source);
        ISchemeRegistry.Scheme memory s = _schemes.scheme(schemeId);
        (uint256 period, uint256 used, uint64 end) = _quotaWindow(schemeId, s.quotaPeriod);
        uint256 remaining = used >= s.quota ? 0 : s.quota - used;
        if (amount > remaining) revert PointsQuotaExceeded(schemeId, period, amount, remaining);

        _paid[source] = true;
        _usage[schemeId] = QuotaUsage(uint64(period * s.quotaPeriod), end, uint128(used + amount));
        _issued[schemeId] += amount;
        _mint(member, schemeId, amount, "");
        emit PointsIssued(schemeId, member, source, amount, period, _msgSender());
    }

    /// @inheritdoc IPointsLedger
    function recoverBalances(address previous, address successor) external {
        if (msg.sender != address(_members)) revert PointsUnauthorizedCaller(msg.sender);
        uint256 count = _schemes.schemeCount();
        uint256 held = 0;
        for (uint256 id = 1; id <= count; ++id) {
            if (balanceOf(previous, id) != 0) ++held;
        }
        uint256[] memory ids = new uint256[](held);
        uint256[] memory amounts = new uint256[](held);
        uint256 j = 0;
        for (uint256 id = 1; id <= count; ++id) {
            uint256 balance = balanceOf(previous, id);
            if (balance != 0) {
                ids[j] = id;
                amounts[j] = balance;
                ++j;
            }
        }
        if (held != 0) _update(previous, successor, ids, amounts);
        emit BalancesRecovered(previous, successor, ids, amounts);
    }

    /// @notice Sets the ERC-1155 metadata URI template (`{id}` is the scheme id); a council action.
    function setURI(string calldata uri_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _setURI(uri_);
        emit MetadataURIChanged(uri_);
    }

    // --- ERC-1155 transfers are closed: points move only under scheme rules --------------------

    /// @dev Always reverts: members cannot approve operators.
    function setApprovalForAll(address operator, bool) public view override {
        revert PointsTransferNotAllowed(_msgSender(), operator);
    }

    /// @dev Always reverts: no free transfers; gifts and exchange have their own functions.
    function safeTransferFrom(address from, address to, uint256, uint256, bytes memory) public pure override {
        revert PointsTransferNotAllowed(from, to);
    }

    /// @dev Always reverts, as safeTransferFrom.
    function safeBatchTransferFrom(address from, address to, uint256[] memory, uint256[] memory, bytes memory)
        public
        pure
        override
    {
        revert PointsTransferNotAllowed(from, to);
    }

    // --- views ---------------------------------------------------------------------------------

    function issued(uint256 schemeId) external view returns (uint256) {
        return _issued[schemeId];
    }

    function burned(uint256 schemeId) external view returns (uint256) {
        return _burned[schemeId];
    }

    function isPaid(bytes32 source) external view returns (bool) {
        return _paid[source];
    }

    /// @notice Points issued in the scheme's current quota window.
    function quotaUsed(uint256 schemeId) external view returns (uint256 used) {
        (, used,) = _quotaWindow(schemeId, _schemes.scheme(schemeId).quotaPeriod);
    }

    /// @notice The current quota window: block time divided by the quota period.
    function currentPeriod(uint256 schemeId) external view returns (uint256) {
        return block.timestamp / _schemes.scheme(schemeId).quotaPeriod;
    }

    function remainingQuota(uint256 schemeId) external view returns (uint256) {
        ISchemeRegistry.Scheme memory s = _schemes.scheme(schemeId);
        (, uint256 used,) = _quotaWindow(schemeId, s.quotaPeriod);
        return used >= s.quota ? 0 : s.quota - used;
    }

    /// @dev Windows are aligned to the Unix epoch. What was issued counts for as long as any
    /// window it was counted in lasts: while the stored window still reaches into the current one,
    /// its use carries over and the stored end only ever moves later. So no change of period,
    /// however often, hands out the quota twice within one window.
    function _quotaWindow(uint256 schemeId, uint64 quotaPeriod)
        private
        view
        returns (uint256 period, uint256 used, uint64 end)
    {
        QuotaUsage memory u = _usage[schemeId];
        period = block.timestamp / quotaPeriod;
        uint256 start = period * quotaPeriod;
        uint256 windowEnd = start + quotaPeriod;
        if (u.end > start) {
            used = u.used;
            end = u.end > windowEnd ? u.end : uint64(windowEnd);
        } else {
            end = uint64(windowEnd);
        }
    }

    function memberRegistry() external view returns (address) {
        return address(_members);
    }

    function schemeRegistry() external view returns (address) {
        return address(_schemes);
    }

    function supportsInterface(bytes4 interfaceId) public view override(ERC1155, AccessControl) returns (bool) {
        return super.supportsInterface(interfaceId);
    }

    // --- the one path every movement takes -----------------------------------------------------

    function _update(address from, address to, uint256[] memory ids, uint256[] memory values)
        internal
        override
    {
        bool recovery = false;
        if (from != address(0)) {
            IMemberRegistry.MemberStatus status = _members.statusOf(from);
            if (status == IMemberRegistry.MemberStatus.Recovered && to != address(0) && _members.successorOf(from) == to)
            {
                recovery = true;
            } else {
                _requireActive(from, status);
            }
        }
        if (to != address(0) && !recovery) _requireActive(to, _members.statusOf(to));
        if (to == address(0)) {
            for (uint256 i = 0; i < ids.length; ++i) {
                _burned[ids[i]] += values[i];
            }
        }
        super._update(from, to, ids, values);
    }

    function _requireActive(address account, IMemberRegistry.MemberStatus status) private pure {
        if (status == IMemberRegistry.MemberStatus.Frozen) revert PointsMemberFrozen(account);
        if (status != IMemberRegistry.MemberStatus.Active) revert PointsNotAMember(account);
    }

    function _msgSender() internal view override(Context, Governed) returns (address) {
        return Governed._msgSender();
    }

    function _msgData() internal view override(Context, Governed) returns (bytes calldata) {
        return Governed._msgData();
    }

    function _contextSuffixLength() internal view override(Context, Governed) returns (uint256) {
        return Governed._contextSuffixLength();
    }
}
