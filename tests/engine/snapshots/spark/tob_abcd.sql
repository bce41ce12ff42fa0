WITH l0 AS (
  SELECT
    `e`.`customer_id`,
    `c`.`influence` AS `industry_influence`,
    `c`.`first_deal_date` AS `__attr_first_deal_date`,
    COALESCE(`s0`.`sales_12m`, 0) AS `sales_12m`,
    COALESCE(`s0`.`volume_12m`, 0) AS `volume_12m`
  FROM (
    SELECT
      `customer_id`
    FROM `customers`
  ) AS e
  LEFT JOIN `customers` AS c
    ON `c`.`customer_id` = `e`.`customer_id`
  LEFT JOIN (
    SELECT
      `customer_id`,
      SUM(`amount`) FILTER(WHERE
        `order_date` > CAST('2025-10-31' AS DATE)
        AND `order_date` <= CAST('2026-10-31' AS DATE)) AS `sales_12m`,
      SUM(`quantity`) FILTER(WHERE
        `order_date` > CAST('2025-10-31' AS DATE)
        AND `order_date` <= CAST('2026-10-31' AS DATE)) AS `volume_12m`
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
    ROUND(
      (
        2026 - YEAR(`__attr_first_deal_date`) - CASE
          WHEN MONTH(`__attr_first_deal_date`) > 10
          OR MONTH(`__attr_first_deal_date`) = 10
          AND DAY(`__attr_first_deal_date`) > 31
          THEN 1
          ELSE 0
        END
      ) + DATEDIFF(
        DAY,
        CAST(ADD_MONTHS(
          `__attr_first_deal_date`,
          (
            2026 - YEAR(`__attr_first_deal_date`) - CASE
              WHEN MONTH(`__attr_first_deal_date`) > 10
              OR MONTH(`__attr_first_deal_date`) = 10
              AND DAY(`__attr_first_deal_date`) > 31
              THEN 1
              ELSE 0
            END
          ) * 12
        ) AS DATE),
        CAST('2026-10-31' AS DATE)
      ) / DATEDIFF(
        DAY,
        CAST(ADD_MONTHS(
          `__attr_first_deal_date`,
          (
            2026 - YEAR(`__attr_first_deal_date`) - CASE
              WHEN MONTH(`__attr_first_deal_date`) > 10
              OR MONTH(`__attr_first_deal_date`) = 10
              AND DAY(`__attr_first_deal_date`) > 31
              THEN 1
              ELSE 0
            END
          ) * 12
        ) AS DATE),
        CAST(ADD_MONTHS(
          `__attr_first_deal_date`,
          (
            2026 - YEAR(`__attr_first_deal_date`) - CASE
              WHEN MONTH(`__attr_first_deal_date`) > 10
              OR MONTH(`__attr_first_deal_date`) = 10
              AND DAY(`__attr_first_deal_date`) > 31
              THEN 1
              ELSE 0
            END + 1
          ) * 12
        ) AS DATE)
      ),
      9
    ) AS `tenure_years`,
    `sales_12m` AS `__sales__value`,
    `volume_12m` AS `__volume__value`,
    CASE
      WHEN COALESCE((
        `industry_influence` IN ('行业龙头', '知名品牌', '行业龙头/知名品牌')
      ), FALSE)
      THEN 'A'
      WHEN COALESCE((
        `industry_influence` IN ('有一定市场影响力', '有一定影响力')
      ), FALSE)
      THEN 'B'
      WHEN COALESCE((
        `industry_influence` IN ('中小型企业')
      ), FALSE)
      THEN 'C'
      ELSE 'D'
    END AS `__influence__core`
  FROM l0
), l2 AS (
  SELECT
    *,
    CASE
      WHEN `__sales__value` IS NULL
      THEN 'D'
      WHEN `__sales__value` >= 1000000
      THEN 'A'
      WHEN `__sales__value` >= 500000
      THEN 'B'
      WHEN `__sales__value` >= 200000
      THEN 'C'
      ELSE 'D'
    END AS `__sales__core`,
    CASE
      WHEN `__volume__value` IS NULL
      THEN 'D'
      WHEN `__volume__value` >= 100
      THEN 'A'
      WHEN `__volume__value` >= 50
      THEN 'B'
      WHEN `__volume__value` >= 20
      THEN 'C'
      ELSE 'D'
    END AS `__volume__core`,
    `__influence__core` AS `influence`,
    `tenure_years` AS `__tenure__value`
  FROM l1
), l3 AS (
  SELECT
    *,
    `__sales__core` AS `sales`,
    `__volume__core` AS `volume`,
    CASE
      WHEN `__tenure__value` IS NULL
      THEN 'D'
      WHEN `__tenure__value` > 5
      THEN 'A'
      WHEN `__tenure__value` >= 3
      THEN 'B'
      WHEN `__tenure__value` >= 1
      THEN 'C'
      ELSE 'D'
    END AS `__tenure__core`,
    CASE
      WHEN `influence` = 'A'
      THEN 4
      WHEN `influence` = 'B'
      THEN 3
      WHEN `influence` = 'C'
      THEN 2
      WHEN `influence` = 'D'
      THEN 1
      ELSE 0
    END AS `__overall__p2`
  FROM l2
), l4 AS (
  SELECT
    *,
    `__tenure__core` AS `tenure`,
    CASE
      WHEN `sales` = 'A'
      THEN 4
      WHEN `sales` = 'B'
      THEN 3
      WHEN `sales` = 'C'
      THEN 2
      WHEN `sales` = 'D'
      THEN 1
      ELSE 0
    END AS `__overall__p0`,
    CASE
      WHEN `volume` = 'A'
      THEN 4
      WHEN `volume` = 'B'
      THEN 3
      WHEN `volume` = 'C'
      THEN 2
      WHEN `volume` = 'D'
      THEN 1
      ELSE 0
    END AS `__overall__p1`
  FROM l3
), l5 AS (
  SELECT
    *,
    CASE
      WHEN `tenure` = 'A'
      THEN 4
      WHEN `tenure` = 'B'
      THEN 3
      WHEN `tenure` = 'C'
      THEN 2
      WHEN `tenure` = 'D'
      THEN 1
      ELSE 0
    END AS `__overall__p3`
  FROM l4
), l6 AS (
  SELECT
    *,
    ROUND(
      0.40 * `__overall__p0` + 0.30 * `__overall__p1` + 0.15 * `__overall__p2` + 0.15 * `__overall__p3`,
      9
    ) AS `__overall__score`
  FROM l5
), l7 AS (
  SELECT
    *,
    CASE
      WHEN `__overall__score` IS NULL
      THEN 'D'
      WHEN `__overall__score` >= 3.5
      THEN 'A'
      WHEN `__overall__score` >= 2.5
      THEN 'B'
      WHEN `__overall__score` >= 1.5
      THEN 'C'
      ELSE 'D'
    END AS `__overall__grade`,
    ROUND(`__overall__score`, 2) AS `overall.score`
  FROM l6
), l8 AS (
  SELECT
    *,
    `__overall__grade` AS `__overall__core`
  FROM l7
), l9 AS (
  SELECT
    *,
    `__overall__core` AS `overall`
  FROM l8
)
SELECT
  `customer_id`,
  `sales`,
  `volume`,
  `influence`,
  `tenure`,
  `overall`,
  `overall.score`,
  `sales_12m`
FROM l9
ORDER BY
  `customer_id`
