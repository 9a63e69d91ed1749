// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Governed} from "./utils/Governed.sol";
import {ICatalogue} from "./interfaces/ICatalogue.sol";
import {IMemberRegistry} from "./interfaces/IMemberRegistry.sol";
import {IPointsLedger} from "./interfaces/IPointsLedger.sol";
import {ISchemeRegistry} from "./interfaces/ISchemeRegistry.sol";
import {HeldLots} from "./utils/HeldLots.sol";

/// @title Catalogue
/// @notice The redemption catalogue (兑换): items that a scheme's merchants list, and the orders
/// members place for them. Points of an order are held by the points ledger until the merchant
/// fulfils it (they are burned) or it is cancelled or expires (they return).
/// @dev Redeeming checks and lowers the stock in the same transaction as it holds the points, so
/// the stock never goes below zero however many redemptions arrive at once. Needs SPENDING_ROLE
/// on the points ledger.
contract Catalogue is ICatalogue, Governed {
    /// The scheme registry's merchant role: holders list and fulfil the scheme's items.
    bytes32 public constant MERCHANT_ROLE = keccak256("MERCHANT_ROLE");
    /// SchemeRegistry.FLAG_REDEMPTION: the scheme's points may be redeemed.
    uint32 public constant FLAG_REDEMPTION = 8;
    uint256 public constant MAX_STOCK = 1_000_000;
    uint256 public constant MAX_QUANTITY = 1_000_000;
    /// The most points one order may hold: the points ledger's largest amount.
    uint256 public constant MAX_POINTS = (1 << 88) - 1;
    uint32 public constant MAX_COLLECTION_PERIOD = 366 days;

    ISchemeRegistry private immutable _schemes;
    IMemberRegistry private immutable _members;
    IPointsLedger private immutable _points;

    mapping(uint256 itemId => Item) private _items;
    /// An order as stored: two words (member | quantity | expiry | status; item | points | the lot
    /// its points came from). The order is the points ledger's hold too: the ledger keeps only
    /// what the catalogue holds in all (see HeldLots). The hash of its fulfilment code is in its
    /// OrderFulfilled event only: a new storage word would cost a fulfilment 20,000 gas.
    struct StoredOrder {
        address member;
        uint32 quantity;
        uint40 expiresAt;
        OrderStatus status;
        uint48 itemId;
        uint88 points;
        uint112 lot;
    }

    mapping(uint256 orderId => StoredOrder) private _orders;
    /// The lots of an order whose points came from several (HeldLots.LISTED).
    mapping(uint256 orderId => uint256[]) private _orderLots;
    mapping(uint256 itemId => mapping(address member => uint256)) private _taken;
    uint256 private _itemCount;
    uint256 private _orderCount;

    constructor(
        address admin,
        address forwarder,
        ISchemeRegistry schemes,
        IMemberRegistry members,
        IPointsLedger points
    ) Governed(admin, forwarder) {
        _schemes = schemes;
        _members = members;
        _points = points;
    }

    // --- items ---------------------------------------------------------------------------------

    /// @inheritdoc ICatalogue
    function listItem(
        uint256 schemeId,
        uint256 price,
        uint256 stock,
        uint256 perMember,
        uint40 availableFrom,
        uint40 availableUntil,
        uint32 collectionPeriod,
        bytes32 detailsHash
    ) external returns (uint256 itemId) {
        address sender = _msgSender();
        _checkMerchant(schemeId, sender);
        _checkRedemption(schemeId);
        if (stock == 0) revert CatalogueInvalidStock(stock);
        _checkTerms(price, stock, perMember, availableFrom, availableUntil);
        if (collectionPeriod == 0 || collectionPeriod > MAX_COLLECTION_PERIOD) {
            revert CatalogueInvalidPeriod(collectionPeriod);
        }
        if (detailsHash == bytes32(0)) revert CatalogueInvalidDetails();
        itemId = ++_itemCount;
        _items[itemId] = Item({
            schemeId: uint32(schemeId),
            merchant: sender,
            stock: uint32(stock),
            perMember: uint32(perMember),
            price: uint96(price),
            availableFrom: availableFrom,
            availableUntil: availableUntil,
            collectionPeriod: collectionPeriod,
            delisted: false,
            detailsHash: detailsHash
        });
        emit ItemListed(
            itemId,
            schemeId,
            sender,
            price,
            stock,
            perMember,
            availableFrom,
            availableUntil,
            collectionPeriod,
            detailsHash
        );
    }

    /// @inheritdoc ICatalogue
    function updateItem(
        uint256 itemId,
        uint256 price,
        uint256 stock,
        uint256 perMember,
        uint40 availableFrom,
        uint40 availableUntil
    ) external {
        Item storage it = _item(itemId);
        address sender = _msgSender();
        if (sender != it.merchant) revert CatalogueUnauthorized(itemId, sender);
        _checkMerchant(it.schemeId, sender);
        if (it.delisted) revert CatalogueDelisted(itemId);
        _checkTerms(price, stock, perMember, availableFrom, availableUntil);
        it.price = uint96(price);
        it.stock = uint32(stock);
        it.perMember = uint32(perMember);
        it.availableFrom = availableFrom;
        it.availableUntil = availableUntil;
        emit ItemUpdated(itemId, price, stock, perMember, availableFrom, availableUntil, sender);
    }

    /// @inheritdoc ICatalogue
    function delistItem(uint256 itemId) external {
        Item storage it = _item(itemId);
        address sender = _msgSender();
        if (
            sender != it.merchant && sender != _schemes.issuerOf(it.schemeId)
                && !hasRole(DEFAULT_ADMIN_ROLE, sender)
        ) revert CatalogueUnauthorized(itemId, sender);
        if (it.delisted) revert CatalogueDelisted(itemId);
        it.delisted = true;
        emit ItemDelisted(itemId, sender);
    }

    // --- orders --------------------------------------------------------------------------------

    /// @inheritdoc ICatalogue
    /// @dev The price is part of the request so that a member is never charged a price they did
    /// not see (the merchant may change it between browsing and redeeming).
    function redeem(address member, uint256 itemId, uint256 quantity, uint256 expectedUnitPrice)
        external
        returns (uint256 orderId)
    {
        Item storage it = _item(itemId);
        address sender = _msgSender();
        _checkActsFor(member, sender);
        if (it.delisted) revert CatalogueDelisted(itemId);
        if (quantity == 0 || quantity > MAX_QUANTITY) revert CatalogueInvalidQuantity(quantity);
        uint256 price = it.price;
        if (price != expectedUnitPrice) revert CataloguePriceChanged(itemId, price, expectedUnitPrice);
        if (block.timestamp < it.availableFrom || block.timestamp >= it.availableUntil) {
            revert CatalogueOutsideWindow(itemId, it.availableFrom, it.availableUntil);
        }
        uint256 schemeId = it.schemeId;
        _checkRedemption(schemeId);
        uint256 stock = it.stock;
        if (quantity > stock) revert CatalogueSoldOut(itemId, stock, quantity);
        uint256 taken = _taken[itemId][member];
        if (taken + quantity > it.perMember) {
            revert CatalogueMemberLimit(itemId, member, taken, quantity, it.perMember);
        }
        uint256 points = price * quantity;
        if (points > MAX_POINTS) revert CatalogueInvalidPoints(points);

        it.stock = uint32(stock - quantity);
        _taken[itemId][member] = taken + quantity;
        orderId = ++_orderCount;
        uint40 expiresAt = uint40(block.timestamp) + it.collectionPeriod;
        uint256[] memory lots = _points.hold(schemeId, member, points, bytes32(orderId));
        _orders[orderId] = StoredOrder({
            member: member,
            quantity: uint32(quantity),
            expiresAt: expiresAt,
            status: OrderStatus.Held,
            itemId: uint48(itemId),
            points: uint88(points),
            lot: uint112(HeldLots.keep(lots, _orderLots, orderId))
        });
        emit OrderPlaced(orderId, itemId, member, quantity, points, orderId, expiresAt, sender);
    }

    /// @inheritdoc ICatalogue
    function fulfil(uint256 orderId, bytes32 fulfilmentHash) external {
        StoredOrder storage o = _order(orderId);
        uint256 itemId = o.itemId;
        Item storage it = _items[itemId];
        address sender = _msgSender();
        if (sender != it.merchant) revert CatalogueNotMerchant(it.schemeId, sender);
        _checkMerchant(it.schemeId, sender);
        if (o.status != OrderStatus.Held) revert CatalogueOrderNotHeld(orderId, o.status);
        if (block.timestamp >= o.expiresAt) revert CatalogueOrderExpired(orderId, o.expiresAt);
        if (fulfilmentHash == bytes32(0)) revert CatalogueInvalidFulfilment();
        o.status = OrderStatus.Fulfilled;
        uint256 points = o.points;
        _points.settleHold(_hold(orderId, o, it.schemeId), address(0), 0, points);
        emit OrderFulfilled(orderId, itemId, sender, points, fulfilmentHash);
    }

    /// @inheritdoc ICatalogue
    function cancel(uint256 orderId) external {
        StoredOrder storage o = _order(orderId);
        address sender = _msgSender();
        if (sender != _items[o.itemId].merchant) _checkActsFor(o.member, sender);
        if (o.status != OrderStatus.Held) revert CatalogueOrderNotHeld(orderId, o.status);
        _release(orderId, o, OrderStatus.Cancelled);
        emit OrderCancelled(orderId, o.itemId, sender, o.points);
    }

    /// @inheritdoc ICatalogue
    function expireOrder(uint256 orderId) external {
        StoredOrder storage o = _order(orderId);
        if (o.status != OrderStatus.Held) revert CatalogueOrderNotHeld(orderId, o.status);
        if (block.timestamp < o.expiresAt) revert CatalogueOrderNotDue(orderId, o.expiresAt);
        _release(orderId, o, OrderStatus.Expired);
        emit OrderExpired(orderId, o.itemId, _msgSender(), o.points);
    }

    // --- views ---------------------------------------------------------------------------------

    function item(uint256 itemId) external view returns (Item memory) {
        return _item(itemId);
    }

    /// @notice An order; its hold id is its own id (the points ledger numbers a hold by its reference).
    function order(uint256 orderId) external view returns (Order memory) {
        StoredOrder storage o = _order(orderId);
        return Order({
            member: o.member,
            quantity: o.quantity,
            expiresAt: o.expiresAt,
            status: o.status,
            itemId: o.itemId,
            points: o.points,
            holdId: uint64(orderId)
        });
    }

    /// @notice The expiring lots an order's points came from (expiry month | amount << 24; the rest
    /// never expires): what returns with them if the order is cancelled or expires.
    function orderLots(uint256 orderId) external view returns (uint256[] memory) {
        StoredOrder storage o = _order(orderId);
        return HeldLots.load(o.lot, _orderLots, orderId);
    }

    function itemCount() external view returns (uint256) {
        return _itemCount;
    }

    function orderCount() external view returns (uint256) {
        return _orderCount;
    }

    /// @inheritdoc ICatalogue
    function takenBy(uint256 itemId, address member) external view returns (uint256) {
        return _taken[itemId][member];
    }

    function schemeRegistry() external view returns (address) {
        return address(_schemes);
    }

    function memberRegistry() external view returns (address) {
        return address(_members);
    }

    function pointsLedger() external view returns (address) {
        return address(_points);
    }

    // --- internals -----------------------------------------------------------------------------

    /// @dev Returns the order's points and gives back its units (stock, the member's count).
    function _release(uint256 orderId, StoredOrder storage o, OrderStatus status) private {
        o.status = status;
        uint256 itemId = o.itemId;
        uint256 quantity = o.quantity;
        Item storage it = _items[itemId];
        uint256 stock = it.stock + quantity;
        it.stock = stock > type(uint32).max ? type(uint32).max : uint32(stock);
        _taken[itemId][o.member] -= quantity;
        _points.settleHold(_hold(orderId, o, it.schemeId), address(0), 0, 0);
    }

    /// @dev The order as the points ledger's hold (see IPointsLedger.Hold).
    function _hold(uint256 orderId, StoredOrder storage o, uint256 schemeId)
        private
        view
        returns (IPointsLedger.Hold memory)
    {
        return IPointsLedger.Hold({
            schemeId: schemeId,
            owner: o.member,
            amount: o.points,
            ref: bytes32(orderId),
            lots: HeldLots.load(o.lot, _orderLots, orderId)
        });
    }

    function _checkTerms(uint256 price, uint256 stock, uint256 perMember, uint40 availableFrom, uint40 availableUntil)
        private
        view
    {
        if (price == 0 || price > MAX_POINTS) revert CatalogueInvalidPrice(price);
        if (stock > MAX_STOCK) revert CatalogueInvalidStock(stock);
        if (perMember == 0 || perMember > MAX_QUANTITY) revert CatalogueInvalidLimit(perMember);
        if (availableFrom >= availableUntil || availableUntil <= block.timestamp) {
            revert CatalogueInvalidWindow(availableFrom, availableUntil);
        }
    }

    /// @dev An unknown scheme has no merchants.
    function _checkMerchant(uint256 schemeId, address account) private view {
        if (!_schemes.hasSchemeRole(schemeId, MERCHANT_ROLE, account)) revert CatalogueNotMerchant(schemeId, account);
    }

    function _checkRedemption(uint256 schemeId) private view {
        if (_schemes.policyTerms(schemeId).flags & FLAG_REDEMPTION == 0) revert CatalogueRedemptionClosed(schemeId);
    }

    /// @dev The member themselves, or a proxy the member registry records for them.
    function _checkActsFor(address member, address sender) private view {
        if (sender != member && !_members.isProxy(member, sender)) revert CatalogueNotMemberOrProxy(member, sender);
    }

    function _item(uint256 itemId) private view returns (Item storage) {
        if (itemId == 0 || itemId > _itemCount) revert CatalogueUnknownItem(itemId);
        return _items[itemId];
    }

    function _order(uint256 orderId) private view returns (StoredOrder storage) {
        if (orderId == 0 || orderId > _orderCount) revert CatalogueUnknownOrder(orderId);
        return _orders[orderId];
    }
}
