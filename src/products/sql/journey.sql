-- The product journey's rows (docs/products.md; `journey.rs` walks them): every sales line of the
-- segment over all time with its item (`items.sql`), and every return with none, by customer and
-- day. The rows are sorted here, where a sort spills to disk, so that `journey.rs` holds one
-- customer at a time: bounded memory at any shop size. Items come as their numbers (`items.sql`),
-- which sort and compare faster than their text.
SELECT l.customer_key, l.date_key, CAST(i.item_key AS INT) AS item_key, l.line_revenue AS net
FROM revenue_lines l
JOIN items i ON i.product_key = l.product_key
UNION ALL
SELECT r.customer_key, r.date_key, CAST(NULL AS INT) AS item_key, -r.amount AS net
FROM revenue_returns r
ORDER BY customer_key, date_key
