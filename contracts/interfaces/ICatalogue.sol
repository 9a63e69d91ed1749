// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title ICatalogue
/// @notice The redemption catalogue (兑换): merchants and providers that a scheme's issuer approved
/// list gifts, tickets and services priced in the scheme's points; members redeem them. Redeeming
/// holds the points; the merchant fulfils the order (the points are burned and the hash of the
/// fulfilment code recorded), or the order is cancelled or expires and the points return.
/// Names, descriptions and places stay in the off-chain store; the chain holds their hash.
interface ICatalogue {
    /// @dev Three storage words: the figures redeem reads and writes share the first two.
    struct Item {
        uint32 schemeId;
        address merchant;
        /// Units left to redeem.
        uint32 stock;
        /// Units one member may hold or have received at once (cancelled and expired orders give
        /// theirs back).
        uint32 perMember;
        /// Points per unit.
        uint96 price;
        uint40 availableFrom;
        uint40 availableUntil;
        /// Seconds after an order during which the merchant can fulfil it; then it expires.
        uint32 collectionPeriod;
        bool delisted;
        bytes32 detailsHash;
    }

    enum OrderStatus {
        None,
        Held,
        Fulfilled,
        Cancelled,
        Expired
    }

    struct Order {
        address member;
        uint32 quantity;
        uint40 expiresAt;
        OrderStatus status;
        uint64 itemId;
        uint96 points;
        /// The order's own id, which numbers its hold in the points ledger's events.
        uint64 holdId;
    }

    event ItemListed(
        uint256 indexed itemId,
        uint256 indexed schemeId,
        address indexed merchant,
        uint256 price,
        uint256 stock,
        uint256 perMember,
        uint40 availableFrom,
        uint40 availableUntil,
        uint32 collectionPeriod,
        bytes32 detailsHash
    );
    event ItemUpdated(
        uint256 indexed itemId,
        uint256 price,
        uint256 stock,
        uint256 perMember,
        uint40 availableFrom,
        uint40 availableUntil,
        address by
    );
    event ItemDelisted(uint256 indexed itemId, address indexed by);
    event OrderPlaced(
        uint256 indexed orderId,
        uint256 indexed itemId,
        address indexed member,
        uint256 quantity,
        uint256 points,
        uint256 holdId,
        uint40 expiresAt,
        address by
    );
    event OrderFulfilled(
        uint256 indexed orderId, uint256 indexed itemId, address indexed merchant, uint256 points, bytes32 fulfilmentHash
    );
    event OrderCancelled(uint256 indexed orderId, uint256 indexed itemId, address indexed by, uint256 points);
    event OrderExpired(uint256 indexed orderId, uint256 indexed itemId, address indexed by, uint256 points);

    error CatalogueUnknownItem(uint256 itemId);
    error CatalogueUnknownOrder(uint256 orderId);
    error CatalogueRedemptionClosed(uint256 schemeId);
    error CatalogueNotMerchant(uint256 schemeId, address account);
    error CatalogueUnauthorized(uint256 itemId, address account);
    error CatalogueNotMemberOrProxy(address member, address account);
    error CatalogueInvalidPrice(uint256 price);
    error CatalogueInvalidStock(uint256 stock);
    error CatalogueInvalidLimit(uint256 perMember);
    error CatalogueInvalidWindow(uint40 availableFrom, uint40 availableUntil);
    error CatalogueInvalidPeriod(uint32 collectionPeriod);
    error CatalogueInvalidDetails();
    error CatalogueInvalidQuantity(uint256 quantity);
    error CatalogueInvalidPoints(uint256 points);
    error CatalogueInvalidFulfilment();
    error CatalogueDelisted(uint256 itemId);
    error CatalogueOutsideWindow(uint256 itemId, uint40 availableFrom, uint40 availableUntil);
    error CataloguePriceChanged(uint256 itemId, uint256 price, uint256 expected);
    error CatalogueSoldOut(uint256 itemId, uint256 stock, uint256 requested);
    error CatalogueMemberLimit(uint256 itemId, address member, uint256 taken, uint256 requested, uint256 perMember);
    error CatalogueOrderNotHeld(uint256 orderId, OrderStatus status);
    error CatalogueOrderExpired(uint256 orderId, uint40 expiresAt);
    error CatalogueOrderNotDue(uint256 orderId, uint40 expiresAt);

    /// @notice Lists an item of `schemeId` (a merchant of the scheme, which must allow redemption);
    /// returns its id.
    function listItem(
        uint256 schemeId,
        uint256 price,
        uint256 stock,
        uint256 perMember,
        uint40 availableFrom,
        uint40 availableUntil,
        uint32 collectionPeriod,
        bytes32 detailsHash
    ) external returns (uint256 itemId);

    /// @notice Sets an item's price, stock left, per-member limit and window (its merchant).
    function updateItem(
        uint256 itemId,
        uint256 price,
        uint256 stock,
        uint256 perMember,
        uint40 availableFrom,
        uint40 availableUntil
    ) external;

    /// @notice Takes an item off the catalogue (its merchant, the scheme's issuer or the council);
    /// orders already placed can still be fulfilled, cancelled or expire.
    function delistItem(uint256 itemId) external;

    /// @notice Redeems `quantity` units for `member` (the member or their proxy) at
    /// `expectedUnitPrice`, the price the member saw: the points are held and the stock drops.
    function redeem(address member, uint256 itemId, uint256 quantity, uint256 expectedUnitPrice)
        external
        returns (uint256 orderId);

    /// @notice The item's merchant hands the item over: the held points are burned and the hash of
    /// the fulfilment code recorded.
    function fulfil(uint256 orderId, bytes32 fulfilmentHash) external;

    /// @notice Cancels a held order (the member, their proxy or the merchant): the points return,
    /// the stock and the member's count are restored.
    function cancel(uint256 orderId) external;

    /// @notice Ends a held order whose collection period is over (anyone): as a cancellation.
    function expireOrder(uint256 orderId) external;

    function item(uint256 itemId) external view returns (Item memory);
    function order(uint256 orderId) external view returns (Order memory);
    function itemCount() external view returns (uint256);
    function orderCount() external view returns (uint256);
    /// @notice Units of `itemId` that `member` holds in orders or has received.
    function takenBy(uint256 itemId, address member) external view returns (uint256);
}
