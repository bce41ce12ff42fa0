WITH l0 AS (
  SELECT
    `e`.`customer_id`,
    COALESCE(`s0`.`sales_12m`, 0) AS `sales_12m`,
    COALESCE(`s0`.`orders_12m`, 0) AS `orders_12m`,
    `s1`.`overdue_days_max` AS `overdue_days_max`
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
      COUNT(*) FILTER(WHERE
        `order_date` > CAST('2025-10-31' AS DATE)
        AND `order_date` <= CAST('2026-10-31' AS DATE)
        AND `amount` >= 0) AS `orders_12m`
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
  LEFT JOIN (
    SELECT
      `customer_id`,
      MAX(DATEDIFF(DAY, `due_date`, CAST('2026-10-31' AS DATE))) FILTER(WHERE
        `due_date` <= CAST('2026-10-31' AS DATE)
        AND (
          `paid_date` IS NULL OR `paid_date` > CAST('2026-10-31' AS DATE)
        )) AS `overdue_days_max`
    FROM `receivables`
    WHERE
      `due_date` <= CAST('2026-10-31' AS DATE)
    GROUP BY
      `customer_id`
  ) AS s1
    ON `s1`.`customer_id` = `e`.`customer_id`
), l1 AS (
  SELECT
    *,
    NOT (
      COALESCE((
        `orders_12m` = 0
      ), FALSE)
    )
    AND NOT (
      COALESCE((
        `overdue_days_max` > 90
      ), FALSE)
    ) AS `__value__scope`,
    `sales_12m` AS `__value__value`
  FROM l0
), l2 AS (
  SELECT
    *,
    `__value__scope` AND NOT `__value__value` IS NULL AS `__value__member`
  FROM l1
), l3 AS (
  SELECT
    *,
    SUM(CASE WHEN `__value__member` THEN `__value__value` END) OVER () AS `__value__total`,
    CASE
      WHEN `__value__member`
      THEN COALESCE(
        SUM(`__value__value`) OVER (
          PARTITION BY `__value__member`
          ORDER BY `__value__value` DESC, `customer_id` NULLS LAST
          ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ),
        0
      )
    END AS `__value__before`
  FROM l2
), l4 AS (
  SELECT
    *,
    CASE
      WHEN `__value__value` IS NULL
      THEN 'C'
      WHEN `__value__before` < 0.70 * `__value__total`
      THEN 'A'
      WHEN `__value__before` < 0.90 * `__value__total`
      THEN 'B'
      ELSE 'C'
    END AS `__value__core`
  FROM l3
), l5 AS (
  SELECT
    *,
    CASE
      WHEN COALESCE((
        `orders_12m` = 0
      ), FALSE)
      THEN 'D'
      WHEN COALESCE((
        `overdue_days_max` > 90
      ), FALSE)
      THEN 'D'
      ELSE `__value__core`
    END AS `value`
  FROM l4
)
SELECT
  `customer_id`,
  `value`,
  `sales_12m`
FROM l5
ORDER BY
  `customer_id`
