WITH l0 AS (
  SELECT
    `e`.`customer_id`,
    `s0`.`recency_days` AS `recency_days`,
    COALESCE(`s0`.`orders_12m`, 0) AS `orders_12m`,
    COALESCE(`s0`.`revenue_12m`, 0) AS `revenue_12m`
  FROM (
    SELECT
      `customer_id`
    FROM `customers`
  ) AS e
  LEFT JOIN (
    SELECT
      `customer_id`,
      DATEDIFF(
        DAY,
        MAX(`order_date`) FILTER(WHERE
          `order_date` <= CAST('2026-10-31' AS DATE) AND `amount` >= 0),
        CAST('2026-10-31' AS DATE)
      ) AS `recency_days`,
      COUNT(*) FILTER(WHERE
        `order_date` > CAST('2025-10-31' AS DATE)
        AND `order_date` <= CAST('2026-10-31' AS DATE)
        AND `amount` >= 0) AS `orders_12m`,
      SUM(`amount`) FILTER(WHERE
        `order_date` > CAST('2025-10-31' AS DATE)
        AND `order_date` <= CAST('2026-10-31' AS DATE)) AS `revenue_12m`
    FROM `orders`
    WHERE
      `order_date` <= CAST('2026-10-31' AS DATE)
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
    COALESCE((
      `orders_12m` > 0
    ), FALSE) AS `__rfm8__scope`,
    `recency_days` AS `__rfm8__r`,
    `orders_12m` AS `__rfm8__f`,
    `revenue_12m` AS `__rfm8__m`
  FROM l0
), l2 AS (
  SELECT
    *,
    SUM(CASE WHEN `__rfm8__scope` THEN `__rfm8__r` END) OVER () AS `__rfm8__cutr_sum`,
    COUNT(CASE WHEN `__rfm8__scope` THEN `__rfm8__r` END) OVER () AS `__rfm8__cutr_n`,
    SUM(CASE WHEN `__rfm8__scope` THEN `__rfm8__f` END) OVER () AS `__rfm8__cutf_sum`,
    COUNT(CASE WHEN `__rfm8__scope` THEN `__rfm8__f` END) OVER () AS `__rfm8__cutf_n`,
    SUM(CASE WHEN `__rfm8__scope` THEN `__rfm8__m` END) OVER () AS `__rfm8__cutm_sum`,
    COUNT(CASE WHEN `__rfm8__scope` THEN `__rfm8__m` END) OVER () AS `__rfm8__cutm_n`
  FROM l1
), l3 AS (
  SELECT
    *,
    `__rfm8__cutr_sum` / NULLIF(`__rfm8__cutr_n`, 0) AS `__rfm8__cutr`,
    COALESCE((
      (
        `__rfm8__r`
      ) * `__rfm8__cutr_n` <= `__rfm8__cutr_sum`
    ), FALSE) AS `__rfm8__r_high`,
    `__rfm8__cutf_sum` / NULLIF(`__rfm8__cutf_n`, 0) AS `__rfm8__cutf`,
    COALESCE((
      (
        `__rfm8__f`
      ) * `__rfm8__cutf_n` >= `__rfm8__cutf_sum`
    ), FALSE) AS `__rfm8__f_high`,
    `__rfm8__cutm_sum` / NULLIF(`__rfm8__cutm_n`, 0) AS `__rfm8__cutm`,
    COALESCE((
      (
        `__rfm8__m`
      ) * `__rfm8__cutm_n` >= `__rfm8__cutm_sum`
    ), FALSE) AS `__rfm8__m_high`
  FROM l2
), l4 AS (
  SELECT
    *,
    CASE
      WHEN `__rfm8__r_high` AND `__rfm8__f_high` AND `__rfm8__m_high`
      THEN 'important_value'
      WHEN `__rfm8__r_high` AND NOT `__rfm8__f_high` AND `__rfm8__m_high`
      THEN 'important_development'
      WHEN NOT `__rfm8__r_high` AND `__rfm8__f_high` AND `__rfm8__m_high`
      THEN 'important_retention'
      WHEN NOT `__rfm8__r_high` AND NOT `__rfm8__f_high` AND `__rfm8__m_high`
      THEN 'important_winback'
      WHEN `__rfm8__r_high` AND `__rfm8__f_high` AND NOT `__rfm8__m_high`
      THEN 'general_value'
      WHEN `__rfm8__r_high` AND NOT `__rfm8__f_high` AND NOT `__rfm8__m_high`
      THEN 'general_development'
      WHEN NOT `__rfm8__r_high` AND `__rfm8__f_high` AND NOT `__rfm8__m_high`
      THEN 'general_retention'
      WHEN NOT `__rfm8__r_high` AND NOT `__rfm8__f_high` AND NOT `__rfm8__m_high`
      THEN 'general_winback'
    END AS `__rfm8__core`
  FROM l3
), l5 AS (
  SELECT
    *,
    CASE
      WHEN NOT (
        COALESCE((
          `orders_12m` > 0
        ), FALSE)
      )
      THEN NULL
      ELSE `__rfm8__core`
    END AS `rfm8`
  FROM l4
)
SELECT
  `customer_id`,
  `rfm8`,
  `revenue_12m`
FROM l5
ORDER BY
  `customer_id`
