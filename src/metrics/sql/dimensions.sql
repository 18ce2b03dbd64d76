-- The values a dashboard's filters offer, and the span of order days.
SELECT 'category' AS kind, category AS value FROM dim_product GROUP BY category
UNION ALL
SELECT 'country' AS kind, country AS value FROM dim_customer WHERE country IS NOT NULL GROUP BY country
UNION ALL
SELECT 'method' AS kind, method AS value FROM dim_payment_method
UNION ALL
SELECT 'channel' AS kind, channel AS value FROM dim_channel
UNION ALL
SELECT 'first_date' AS kind, CAST(MIN(date) AS VARCHAR) AS value FROM dim_date
UNION ALL
-- the last order's day: dim_date runs on to the last refund's
SELECT 'last_date' AS kind, CAST(MAX(date) AS VARCHAR) AS value FROM dim_date
WHERE date_key <= (SELECT MAX(date_key) FROM agg_order)
ORDER BY kind, value
