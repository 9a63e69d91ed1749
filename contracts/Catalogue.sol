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

    /// An item as stored: Item, with the first order placed at its current price (orders before
    /// it were placed at one of `_earlierPrices`), in Item's three words.
    struct StoredItem {
        uint32 schemeId;
        address merchant;
        uint32 stock;
        uint32 perMember;
        uint96 price;
        uint40 availableFrom;
        uint40 availableUntil;
        uint32 collectionPeriod;
        bool delisted;
        uint40 priceFrom;
        bytes32 detailsHash;
    }

    /// An order as it is read: the fields of its storage word.
    struct StoredOrder {
        address member;
        uint256 itemId;
        uint256 quantity;
        uint256 expiresAt;
        OrderStatus status;
        /// Whether its points came from expiring lots (kept in `_orderLot`).
        bool lots;
    }

    /// Bit offsets of an order's word: member (160) | item (40) | quantity (20) | expiry (32) |
    /// status (3) | lots (1). An order is one word, so placing it fills one empty storage word
    /// (20,000 gas); its points are its quantity at the price it was placed at (`_priceAt`).
    uint256 private constant ITEM_SHIFT = 160;
    uint256 private constant QUANTITY_SHIFT = 200;
    uint256 private constant EXPIRY_SHIFT = 220;
    uint256 private constant STATUS_SHIFT = 252;
    uint256 private constant LOTS_BIT = 1 << 255;

    /// The item and order counts, in one word.
    struct Counts {
        uint128 items;
        uint128 orders;
    }

    mapping(uint256 itemId => StoredItem) private _items;
    /// An item's earlier prices, oldest first: price | the first order placed at it << 96.
    mapping(uint256 itemId => uint256[]) private _earlierPrices;
    /// Orders, one word each; the order is the points ledger's hold too: the ledger keeps only
    /// what the catalogue holds in all (see HeldLots). The hash of its fulfilment code is in its
    /// OrderFulfilled event only.
    mapping(uint256 orderId => uint256) private _orders;
    /// The lot an order's points came from, or HeldLots.LISTED when they came from several
    /// (listed in `_orderLots`); written only for an order whose points came from expiring lots.
    mapping(uint256 orderId => uint256) private _orderLot;
    mapping(uint256 orderId => uint256[]) private _orderLots;
    mapping(uint256 itemId => mapping(address member => uint256)) private _taken;
    Counts private _counts;

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
        itemId = ++_counts.items;
        _items[itemId] = StoredItem({
            schemeId: uint32(schemeId),
            merchant: sender,
            stock: uint32(stock),
            perMember: uint32(perMember),
            price: uint96(price),
            availableFrom: availableFrom,
            availableUntil: availableUntil,
            collectionPeriod: collectionPeriod,
            delisted: false,
            priceFrom: 0,
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
        StoredItem storage it = _item(itemId);
        address sender = _msgSender();
        if (sender != it.merchant) revert CatalogueUnauthorized(itemId, sender);
        _checkMerchant(it.schemeId, sender);
        if (it.delisted) revert CatalogueDelisted(itemId);
        _checkTerms(price, stock, perMember, availableFrom, availableUntil);
        if (price != it.price) {
            // Orders placed so far keep the price they were placed at.
            _earlierPrices[itemId].push(uint256(it.price) | (uint256(it.priceFrom) << 96));
            it.priceFrom = uint40(_counts.orders + 1);
        }
        it.price = uint96(price);
        it.stock = uint32(stock);
        it.perMember = uint32(perMember);
        it.availableFrom = availableFrom;
        it.availableUntil = availableUntil;
        emit ItemUpdated(itemId, price, stock, perMember, availableFrom, availableUntil, sender);
    }

    /// @inheritdoc ICatalogue
    function delistItem(uint256 itemId) external {
        StoredItem storage it = _item(itemId);
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
        StoredItem storage it = _item(itemId);
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
        orderId = ++_counts.orders;
        uint256 expiresAt = block.timestamp + it.collectionPeriod;
        // The order's word holds the expiry in 32 bits (until the year 2106).
        if (expiresAt > type(uint32).max) revert CatalogueInvalidPeriod(it.collectionPeriod);
        uint256[] memory lots = _points.hold(schemeId, member, points, bytes32(orderId));
        uint256 lot = HeldLots.keep(lots, _orderLots, orderId);
        if (lot != 0) _orderLot[orderId] = lot;
        _orders[orderId] = _word(StoredOrder(member, itemId, quantity, expiresAt, OrderStatus.Held, lot != 0));
        emit OrderPlaced(orderId, itemId, member, quantity, points, orderId, uint40(expiresAt), sender);
    }

    /// @inheritdoc ICatalogue
    function fulfil(uint256 orderId, bytes32 fulfilmentHash) external {
        StoredOrder memory o = _order(orderId);
        StoredItem storage it = _items[o.itemId];
        address sender = _msgSender();
        if (sender != it.merchant) revert CatalogueNotMerchant(it.schemeId, sender);
        _checkMerchant(it.schemeId, sender);
        if (o.status != OrderStatus.Held) revert CatalogueOrderNotHeld(orderId, o.status);
        if (block.timestamp >= o.expiresAt) revert CatalogueOrderExpired(orderId, uint40(o.expiresAt));
        if (fulfilmentHash == bytes32(0)) revert CatalogueInvalidFulfilment();
        _setStatus(orderId, o, OrderStatus.Fulfilled);
        IPointsLedger.Hold memory h = _hold(orderId, o, it);
        _points.settleHold(h, address(0), 0, h.amount);
        emit OrderFulfilled(orderId, o.itemId, sender, h.amount, fulfilmentHash);
    }

    /// @inheritdoc ICatalogue
    function cancel(uint256 orderId) external {
        StoredOrder memory o = _order(orderId);
        address sender = _msgSender();
        if (sender != _items[o.itemId].merchant) _checkActsFor(o.member, sender);
        if (o.status != OrderStatus.Held) revert CatalogueOrderNotHeld(orderId, o.status);
        uint256 points = _release(orderId, o, OrderStatus.Cancelled);
        emit OrderCancelled(orderId, o.itemId, sender, points);
    }

    /// @inheritdoc ICatalogue
    function expireOrder(uint256 orderId) external {
        StoredOrder memory o = _order(orderId);
        if (o.status != OrderStatus.Held) revert CatalogueOrderNotHeld(orderId, o.status);
        if (block.timestamp < o.expiresAt) revert CatalogueOrderNotDue(orderId, uint40(o.expiresAt));
        uint256 points = _release(orderId, o, OrderStatus.Expired);
        emit OrderExpired(orderId, o.itemId, _msgSender(), points);
    }

    // --- views ---------------------------------------------------------------------------------

    function item(uint256 itemId) external view returns (Item memory) {
        StoredItem storage it = _item(itemId);
        return Item({
            schemeId: it.schemeId,
            merchant: it.merchant,
            stock: it.stock,
            perMember: it.perMember,
            price: it.price,
            availableFrom: it.availableFrom,
            availableUntil: it.availableUntil,
            collectionPeriod: it.collectionPeriod,
            delisted: it.delisted,
            detailsHash: it.detailsHash
        });
    }

    /// @notice An order; its hold id is its own id (the points ledger numbers a hold by its reference).
    function order(uint256 orderId) external view returns (Order memory) {
        StoredOrder memory o = _order(orderId);
        return Order({
            member: o.member,
            quantity: uint32(o.quantity),
            expiresAt: uint40(o.expiresAt),
            status: o.status,
            itemId: uint64(o.itemId),
            points: uint96(_orderPoints(orderId, o, _items[o.itemId])),
            holdId: uint64(orderId)
        });
    }

    /// @notice The expiring lots an order's points came from (expiry month | amount << 24; the rest
    /// never expires): what returns with them if the order is cancelled or expires.
    function orderLots(uint256 orderId) external view returns (uint256[] memory) {
        return _lotsOf(orderId, _order(orderId));
    }

    function itemCount() external view returns (uint256) {
        return _counts.items;
    }

    function orderCount() external view returns (uint256) {
        return _counts.orders;
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

    /// @dev Returns the order's points and gives back its units (stock, the member's count);
    /// returns how many points.
    function _release(uint256 orderId, StoredOrder memory o, OrderStatus status) private returns (uint256) {
        _setStatus(orderId, o, status);
        StoredItem storage it = _items[o.itemId];
        uint256 stock = it.stock + o.quantity;
        it.stock = stock > type(uint32).max ? type(uint32).max : uint32(stock);
        _taken[o.itemId][o.member] -= o.quantity;
        IPointsLedger.Hold memory h = _hold(orderId, o, it);
        _points.settleHold(h, address(0), 0, 0);
        return h.amount;
    }

    /// @dev The order as the points ledger's hold (see IPointsLedger.Hold).
    function _hold(uint256 orderId, StoredOrder memory o, StoredItem storage it)
        private
        view
        returns (IPointsLedger.Hold memory)
    {
        return IPointsLedger.Hold({
            schemeId: it.schemeId,
            owner: o.member,
            amount: _orderPoints(orderId, o, it),
            ref: bytes32(orderId),
            lots: _lotsOf(orderId, o)
        });
    }

    /// @dev An order's points: its quantity at the price it was placed at.
    /// The earlier prices are searched by halves, so that settling an old order costs a few reads
    /// however often the merchant changed the price since (it cannot be made too dear to cancel
    /// or expire, which would keep the member's points held).
    function _orderPoints(uint256 orderId, StoredOrder memory o, StoredItem storage it) private view returns (uint256) {
        if (orderId >= it.priceFrom) return o.quantity * it.price;
        uint256[] storage earlier = _earlierPrices[o.itemId];
        // The last entry whose first order is not after `orderId`; the first entry's is 0.
        (uint256 low, uint256 high) = (0, earlier.length - 1);
        while (low < high) {
            uint256 mid = (low + high + 1) / 2;
            if (earlier[mid] >> 96 <= orderId) low = mid;
            else high = mid - 1;
        }
        return o.quantity * uint96(earlier[low]);
    }

    function _lotsOf(uint256 orderId, StoredOrder memory o) private view returns (uint256[] memory lots) {
        if (o.lots) lots = HeldLots.load(_orderLot[orderId], _orderLots, orderId);
    }

    function _word(StoredOrder memory o) private pure returns (uint256) {
        return uint256(uint160(o.member)) | (o.itemId << ITEM_SHIFT) | (o.quantity << QUANTITY_SHIFT)
            | (o.expiresAt << EXPIRY_SHIFT) | (uint256(o.status) << STATUS_SHIFT) | (o.lots ? LOTS_BIT : 0);
    }

    function _setStatus(uint256 orderId, StoredOrder memory o, OrderStatus status) private {
        o.status = status;
        _orders[orderId] = _word(o);
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

    function _item(uint256 itemId) private view returns (StoredItem storage) {
        if (itemId == 0 || itemId > _counts.items) revert CatalogueUnknownItem(itemId);
        return _items[itemId];
    }

    function _order(uint256 orderId) private view returns (StoredOrder memory o) {
        if (orderId == 0 || orderId > _counts.orders) revert CatalogueUnknownOrder(orderId);
        uint256 w = _orders[orderId];
        o.member = address(uint160(w));
        o.itemId = uint40(w >> ITEM_SHIFT);
        o.quantity = (w >> QUANTITY_SHIFT) & ((1 << 20) - 1);
        o.expiresAt = uint32(w >> EXPIRY_SHIFT);
        o.status = OrderStatus((w >> STATUS_SHIFT) & 7);
        o.lots = w & LOTS_BIT != 0;
    }
}
