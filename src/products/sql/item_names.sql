-- Each item of `items.sql` once: its name (the row that is the item itself names it first, a
-- parent listed beside its variants), its category (of a product rolled up: its own when the export
-- lists it, else its listed variants' first, as top_products.sql),
-- the product it belongs to, its number, and how many product_ids it holds. Read as the table `item_names`.
SELECT
  item,
  MIN(item_key) AS item_key,
  COALESCE(MIN(CASE WHEN is_parent THEN name END), MIN(name)) AS name,
  COALESCE(MIN(CASE WHEN is_parent AND listed THEN category END),
           MIN(CASE WHEN listed THEN category END),
           MIN(category)) AS category,
  MIN(product) AS product,
  COUNT(*) AS variants
FROM items
GROUP BY item
