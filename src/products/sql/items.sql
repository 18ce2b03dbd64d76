-- Each product's item at the level $1 (docs/products.md): 'variant' keeps every product_id;
-- 'product' rolls variants up to the product they are variants of (dim_product.variant_of), a
-- product without variants being its own; 'category' is the product's category. The item's
-- name: at the product level the product's own row's name when the export lists it, else the
-- name variants share (variant_of); at the other levels the product's name or the category.
-- The analyses read this as the table `items`, and group by `item_key`, the item as a number
-- (grouping by a number is several times faster than by text).
SELECT *, DENSE_RANK() OVER (ORDER BY item) AS item_key
FROM (
SELECT
  product_key,
  CASE $1
    WHEN 'variant' THEN product_id
    WHEN 'product' THEN COALESCE(variant_of, product_id)
    ELSE category
  END AS item,
  CASE $1
    WHEN 'variant' THEN COALESCE(product_name, product_id)
    WHEN 'product' THEN COALESCE(variant_of, product_name, product_id)
    ELSE category
  END AS name,
  -- the row that is the item itself names it first (a parent listed beside its variants)
  variant_of IS NULL AS is_parent,
  listed,
  category,
  COALESCE(variant_of, product_id) AS product
FROM dim_product
) i
