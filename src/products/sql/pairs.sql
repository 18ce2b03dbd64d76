-- The baskets for items bought together (docs/products.md; `pairs.rs` counts the pairs): each of
-- the filter's sales orders with its items (`items.sql`), each item once, by order. The rows are
-- sorted here, where a sort spills to disk, so that `pairs.rs` holds one order at a time and the
-- counts: bounded by the catalogue, not by the shop's orders.
SELECT DISTINCT l.order_key, i.item
FROM revenue_lines l
JOIN items i ON i.product_key = l.product_key
ORDER BY l.order_key, i.item
