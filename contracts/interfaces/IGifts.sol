// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IGifts
/// @notice Gifts of points between members, and community funds (共同缔造基金) that members donate
/// to and whose manager grants points out for a stated purpose; every donation and grant is an
/// event and each fund's balance, donated and granted totals are readable, so its spending is
/// recorded and visible. Only schemes that allow gifts (SchemeRegistry.FLAG_GIFTS).
/// @dev The funds' points sit in this contract's own account in the points ledger; per scheme, that
/// account's balance is the sum of the scheme's fund balances. Texts (a gift's memo, a fund's
/// details, a grant's purpose) stay off chain; the chain holds their (salted) hash.
interface IGifts {
    struct Fund {
        uint256 schemeId;
        address manager;
        bytes32 detailsHash;
        uint256 balance;
        uint256 donated;
        uint256 granted;
        uint64 createdAt;
    }

    /// @notice `from` gave `amount` points of `schemeId` to `to`; `memoHash` commits to the memo kept off chain.
    event PointsGiven(
        uint256 indexed schemeId,
        address indexed from,
        address indexed to,
        uint256 amount,
        bytes32 memoHash,
        address operator
    );
    event FundCreated(
        uint256 indexed fundId, uint256 indexed schemeId, address indexed manager, bytes32 detailsHash, address by
    );
    event FundManagerChanged(uint256 indexed fundId, address indexed previousManager, address indexed manager, address by);
    /// @notice `member` donated `amount` to fund `fundId`; `ref` names the request (its note's hash).
    event FundDonated(uint256 indexed fundId, address indexed member, uint256 amount, bytes32 ref, address operator);
    /// @notice The fund's manager granted `amount` to `to`; `purposeHash` commits to the stated purpose.
    event FundGranted(uint256 indexed fundId, address indexed to, uint256 amount, bytes32 purposeHash, address manager);

    /// @notice The scheme does not allow gifts (its FLAG_GIFTS is not set).
    error GiftsNotAllowed(uint256 schemeId);
    /// @notice `sender` is neither `member` nor a proxy `member` granted.
    error GiftsUnauthorized(address member, address sender);
    error GiftsNotIssuer(uint256 schemeId, address account);
    error GiftsNotManager(uint256 fundId, address account);
    error GiftsNotAMember(address account);
    error GiftsMemberFrozen(address account);
    /// @notice Points cannot go to `account` here (the giver themselves, the fund's own manager).
    error GiftsInvalidRecipient(address account);
    error GiftsInvalidManager(address manager);
    error GiftsInvalidHash();
    /// @notice An amount must be 1 to 2^88 - 1 (the ledger's largest balance).
    error GiftsInvalidAmount(uint256 amount);
    error GiftsUnknownFund(uint256 fundId);
    error GiftsFundInsufficient(uint256 fundId, uint256 balance, uint256 requested);

    /// @notice Gives `amount` of `from`'s points to `to`, an active member other than `from`; sent
    /// by `from` or their proxy.
    function give(uint256 schemeId, address from, address to, uint256 amount, bytes32 memoHash) external;

    /// @notice Opens a community fund of `schemeId` managed by `manager`; by the scheme's issuer
    /// or the council. Returns its id.
    function createFund(uint256 schemeId, address manager, bytes32 detailsHash) external returns (uint256 fundId);

    /// @notice Names a fund's new manager; by the scheme's issuer or the council.
    function setManager(uint256 fundId, address manager) external;

    /// @notice Moves `amount` of `member`'s points into fund `fundId`; by the member or their proxy.
    function donate(uint256 fundId, address member, uint256 amount, bytes32 ref) external;

    /// @notice Grants `amount` of the fund's points to `to`, an active member, for the purpose
    /// `purposeHash` commits to; by the fund's manager.
    function grant(uint256 fundId, address to, uint256 amount, bytes32 purposeHash) external;

    function fund(uint256 fundId) external view returns (Fund memory);
    function fundCount() external view returns (uint256);
    /// @notice The sum of the balances of a scheme's funds: this contract's balance in the ledger.
    function fundsBalance(uint256 schemeId) external view returns (uint256);
}
