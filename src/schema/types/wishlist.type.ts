/**
 * The wishlist as a query result is the very object `wishlist_updated` carries (GraphQL type
 * `Wishlist`), so both can never drift apart.
 */
export { VariantInput, VariantRef, WishlistLine, WishlistView } from '../../events/payloads/common.payload';
