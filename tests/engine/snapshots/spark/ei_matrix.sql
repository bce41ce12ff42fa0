WITH l0 AS (
  SELECT
    `e`.`customer_id`,
    COALESCE(`s0`.`sales_12m`, 0) AS `sales_12m`,
    COALESCE(`s0`.`order_months_12m`, 0) AS `order_months_12m`
  FROM (
    SELECT
      `customer_id`
    FROM `customers`
  ) AS e
  LEFT JOIN (
    SELECT
      `customer_id`,
      SUM(`amount`) FILTER(WHERE
        `order_date` > CAST('2025-10-31' AS DATE)
        AND `order_date` <= CAST('2026-10-31' AS DATE)) AS `sales_12m`,
      COUNT(DISTINCT CAST(TRUNC(`order_date`, 'MONTH') AS DATE)) FILTER(WHERE
        `order_date` > CAST('2025-10-31' AS DATE)
        AND `order_date` <= CAST('2026-10-31' AS DATE)
        AND `amount` >= 0) AS `order_months_12m`
    FROM `orders`
    WHERE
      `order_date` <= CAST('2026-10-31' AS DATE)
      AND `order_date` > CAST('2025-10-31' AS DATE)
      AND (
        `status` IS NULL
        OR NOT LOWER(TRIM(`status`)) IN ('cancelled', 'canceled', '已取消', '取消', 'void', '作废')
      )
    GROUP BY
      `customer_id`
  ) AS s0
    ON `s0`.`customer_id` = `e`.`customer_id`
), l1 AS (
  SELECT
    *,
    ROUND(`order_months_12m` / 12, 9) AS `stability`,
    NOT (
      COALESCE((
        `sales_12m` <= 0
      ), FALSE)
    ) AS `__ei__scope`,
    `sales_12m` AS `__ei__x_value`
  FROM l0
), l2 AS (
  SELECT
    *,
    MEDIAN(
      CAST(CASE
        WHEN `__ei__scope` AND COALESCE((
          `sales_12m` > 0
        ), FALSE)
        THEN `__ei__x_value`
      END AS DECIMAL(38, 12))
    ) OVER () AS `__ei__cutx`,
    `stability` AS `__ei__y_value`
  FROM l1
), l3 AS (
  SELECT
    *,
    COALESCE((
      `__ei__x_value` >= `__ei__cutx`
    ), FALSE) AS `__ei__x_high`,
    COALESCE((
      `__ei__y_value` >= 0.75
    ), FALSE) AS `__ei__y_high`
  FROM l2
), l4 AS (
  SELECT
    *,
    CASE
      WHEN `__ei__x_high` AND `__ei__y_high`
      THEN 'EI'
      WHEN `__ei__x_high`
      THEN 'EII'
      WHEN `__ei__y_high`
      THEN 'EIII'
      ELSE 'EIV'
    END AS `__ei__core`
  FROM l3
), l5 AS (
  SELECT
    *,
    CASE WHEN COALESCE((
      `sales_12m` <= 0
    ), FALSE) THEN 'EIV' ELSE `__ei__core` END AS `ei`
  FROM l4
)
SELECT
  `customer_id`,
  `ei`,
  `sales_12m`
FROM l5
ORDER BY
  `customer_id`
