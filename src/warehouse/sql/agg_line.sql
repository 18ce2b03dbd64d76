-- agg_line (derived): every line of fact_order_line with its order's payment methods (as in
-- agg_order.sql), which the filtered lines read, and whether it is the first line of its order in
-- its product's category. Every filter keeps or drops all the lines of an order in a category
-- (the range, the country and the method are the order's; the category is the line's), so a
-- filter's orders per category are a plain sum of that mark: the categories KPI needs no
-- grouping by order. The import runs this per month over the month's facts (and an append over
-- every month when it changed a product's category), computing the mark in one pass rather than
-- by this window's sort; a warehouse written before it existed reads it as a view.
SELECT
  * EXCLUDE (category),
  CASE WHEN ROW_NUMBER() OVER (PARTITION BY date_key, order_key, category ORDER BY line_no) = 1
       THEN 1 ELSE 0 END AS first_in_category
FROM (
{agg_line_rows}
) r
ORDER BY date_key, order_key, line_no
