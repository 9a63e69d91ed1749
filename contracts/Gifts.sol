// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Governed} from "./utils/Governed.sol";
import {IGifts} from "./interfaces/IGifts.sol";
import {IMemberRegistry} from "./interfaces/IMemberRegistry.sol";
import {IPointsLedger} from "./interfaces/IPointsLedger.sol";
import {ISchemeRegistry} from "./interfaces/ISchemeRegistry.sol";

/// @title Gifts
/// @notice Gifts of points between members and community funds (共同缔造基金), in schemes that
/// allow gifts. A member (or their proxy: a family member, a community worker) gives points to
/// another member or donates them to a fund; the fund's manager grants them out for a stated
/// purpose. Every movement is an event here and in the points ledger.
/// @dev Holds the points ledger's SPENDING_ROLE: the funds' points are this contract's own account
/// in the ledger, and `fundsBalance(schemeId)` always equals that account's balance.
contract Gifts is IGifts, Governed {
    uint32 public constant FLAG_GIFTS = 4;
    uint256 public constant MAX_AMOUNT = (1 << 88) - 1;

    ISchemeRegistry private immutable _schemes;
    IMemberRegistry private immutable _members;
    IPointsLedger private immutable _ledger;

    mapping(uint256 fundId => Fund) private _funds;
    mapping(uint256 schemeId => uint256) private _fundsBalance;
    uint256 private _fundCount;

    constructor(
        address admin,
        address forwarder,
        ISchemeRegistry schemes,
        IMemberRegistry members,
        IPointsLedger ledger
    ) Governed(admin, forwarder) {
        _schemes = schemes;
        _members = members;
        _ledger = ledger;
    }

    // --- gifts ---------------------------------------------------------------------------------

    /// @inheritdoc IGifts
    /// @dev The ledger checks the scheme is not paused, the points are available (not frozen or
    /// expired), the amount and the recipient's maximum balance.
    function give(uint256 schemeId, address from, address to, uint256 amount, bytes32 memoHash) external {
        _requireGifts(schemeId);
        address sender = _authorize(from);
        _checkAmount(amount);
        if (to == from) revert GiftsInvalidRecipient(to);
        _requireActive(to);
        _ledger.move(schemeId, from, to, amount, memoHash);
        emit PointsGiven(schemeId, from, to, amount, memoHash, sender);
    }

    // --- community funds -----------------------------------------------------------------------

    /// @inheritdoc IGifts
    function createFund(uint256 schemeId, address manager, bytes32 detailsHash) external returns (uint256 fundId) {
        _requireGifts(schemeId);
        address sender = _requireIssuer(schemeId);
        if (manager == address(0)) revert GiftsInvalidManager(manager);
        if (detailsHash == bytes32(0)) revert GiftsInvalidHash();
        fundId = ++_fundCount;
        Fund storage f = _funds[fundId];
        f.schemeId = schemeId;
        f.manager = manager;
        f.detailsHash = detailsHash;
        f.createdAt = uint64(block.timestamp);
        emit FundCreated(fundId, schemeId, manager, detailsHash, sender);
    }

    /// @inheritdoc IGifts
    function setManager(uint256 fundId, address manager) external {
        Fund storage f = _fund(fundId);
        address sender = _requireIssuer(f.schemeId);
        if (manager == address(0) || manager == f.manager) revert GiftsInvalidManager(manager);
        address previous = f.manager;
        f.manager = manager;
        emit FundManagerChanged(fundId, previous, manager, sender);
    }

    /// @inheritdoc IGifts
    /// @dev Points in the fund's (this contract's) ledger account do not expire; granted out, they
    /// count as new for the recipient's expiry (PointsLedger.move).
    function donate(uint256 fundId, address member, uint256 amount, bytes32 ref) external {
        Fund storage f = _fund(fundId);
        uint256 schemeId = f.schemeId;
        _requireGifts(schemeId);
        address sender = _authorize(member);
        _checkAmount(amount);
        f.balance += amount;
        f.donated += amount;
        _fundsBalance[schemeId] += amount;
        _ledger.move(schemeId, member, address(this), amount, ref);
        emit FundDonated(fundId, member, amount, ref, sender);
    }

    /// @inheritdoc IGifts
    /// @dev Grants stay possible after the scheme stops allowing gifts, so no fund is left stuck.
    /// The manager cannot grant to themselves.
    function grant(uint256 fundId, address to, uint256 amount, bytes32 purposeHash) external {
        Fund storage f = _fund(fundId);
        address sender = _msgSender();
        if (sender != f.manager) revert GiftsNotManager(fundId, sender);
        if (purposeHash == bytes32(0)) revert GiftsInvalidHash();
        if (to == sender) revert GiftsInvalidRecipient(to);
        _requireActive(to);
        _checkAmount(amount);
        uint256 balance = f.balance;
        if (amount > balance) revert GiftsFundInsufficient(fundId, balance, amount);
        uint256 schemeId = f.schemeId;
        f.balance = balance - amount;
        f.granted += amount;
        _fundsBalance[schemeId] -= amount;
        _ledger.move(schemeId, address(this), to, amount, purposeHash);
        emit FundGranted(fundId, to, amount, purposeHash, sender);
    }

    // --- views ---------------------------------------------------------------------------------

    function fund(uint256 fundId) external view returns (Fund memory) {
        return _fund(fundId);
    }

    function fundCount() external view returns (uint256) {
        return _fundCount;
    }

    function fundsBalance(uint256 schemeId) external view returns (uint256) {
        return _fundsBalance[schemeId];
    }

    /// @notice The registries and ledger this contract works with (deployment checks its wiring).
    function contracts() external view returns (address schemes, address members, address ledger) {
        return (address(_schemes), address(_members), address(_ledger));
    }

    // --- internals -----------------------------------------------------------------------------

    function _fund(uint256 fundId) private view returns (Fund storage f) {
        f = _funds[fundId];
        if (f.schemeId == 0) revert GiftsUnknownFund(fundId);
    }

    function _requireGifts(uint256 schemeId) private view {
        if (_schemes.policyTerms(schemeId).flags & FLAG_GIFTS == 0) revert GiftsNotAllowed(schemeId);
    }

    /// @dev The sender, if it is `member` or a proxy `member` granted; `member` must be active.
    function _authorize(address member) private view returns (address sender) {
        sender = _msgSender();
        if (sender != member && !_members.isProxy(member, sender)) revert GiftsUnauthorized(member, sender);
        _requireActive(member);
    }

    function _requireIssuer(uint256 schemeId) private view returns (address sender) {
        sender = _msgSender();
        if (sender != _schemes.issuerOf(schemeId) && !hasRole(DEFAULT_ADMIN_ROLE, sender)) {
            revert GiftsNotIssuer(schemeId, sender);
        }
    }

    function _checkAmount(uint256 amount) private pure {
        if (amount == 0 || amount > MAX_AMOUNT) revert GiftsInvalidAmount(amount);
    }

    function _requireActive(address account) private view {
        IMemberRegistry.MemberStatus status = _members.statusOf(account);
        if (status == IMemberRegistry.MemberStatus.Frozen) revert GiftsMemberFrozen(account);
        if (status != IMemberRegistry.MemberStatus.Active) revert GiftsNotAMember(account);
    }
}
