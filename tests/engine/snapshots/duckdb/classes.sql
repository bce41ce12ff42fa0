WITH l0 AS (
  SELECT
    "e"."customer_id",
    "c"."industry" AS "industry",
    "c"."region" AS "region",
    "c"."scale" AS "scale",
    COALESCE("s0"."revenue_12m", 0) AS "revenue_12m",
    COALESCE("s0"."revenue_prev_12m", 0) AS "revenue_prev_12m",
    COALESCE("s0"."purchases", 0) AS "purchases",
    "s0"."days_since_first_order" AS "days_since_first_order",
    "s0"."days_since_last_order" AS "days_since_last_order"
  FROM (
    SELECT
      "customer_id"
    FROM "customers"
  ) AS e
  LEFT JOIN "customers" AS c
    ON "c"."customer_id" = "e"."customer_id"
  LEFT JOIN (
    SELECT
      "customer_id",
      SUM("amount") FILTER(WHERE
        "order_date" > CAST('2025-10-31' AS DATE)
        AND "order_date" <= CAST('2026-10-31' AS DATE)) AS "revenue_12m",
      SUM("amount") FILTER(WHERE
        "order_date" > CAST('2024-10-31' AS DATE)
        AND "order_date" <= CAST('2025-10-31' AS DATE)) AS "revenue_prev_12m",
      COUNT(*) FILTER(WHERE
        "order_date" <= CAST('2026-10-31' AS DATE) AND "amount" >= 0) AS "purchases",
      DATE_DIFF(
        'DAY',
        MIN("order_date") FILTER(WHERE
          "order_date" <= CAST('2026-10-31' AS DATE) AND "amount" >= 0),
        CAST('2026-10-31' AS DATE)
      ) AS "days_since_first_order",
      DATE_DIFF(
        'DAY',
        MAX("order_date") FILTER(WHERE
          "order_date" <= CAST('2026-10-31' AS DATE) AND "amount" >= 0),
        CAST('2026-10-31' AS DATE)
      ) AS "days_since_last_order"
    FROM "orders"
    WHERE
      "order_date" <= CAST('2026-10-31' AS DATE)
      AND (
        "status" IS NULL
        OR NOT LOWER(TRIM("status")) IN ('cancelled', 'canceled', '已取消', '取消', 'void', '作废')
      )
    GROUP BY
      "customer_id"
  ) AS s0
    ON "s0"."customer_id" = "e"."customer_id"
), l1 AS (
  SELECT
    *,
    CASE WHEN "revenue_12m" > 0 THEN "revenue_12m" END AS "ranked_revenue",
    CASE
      WHEN COALESCE((
        "purchases" = 0
      ), FALSE)
      THEN 'potential'
      WHEN COALESCE((
        "days_since_first_order" <= 90
      ), FALSE)
      THEN 'new'
      ELSE 'old'
    END AS "__habit__core",
    CASE
      WHEN COALESCE((
        "purchases" = 0
      ), FALSE)
      THEN 'development'
      WHEN COALESCE((
        "revenue_prev_12m" > 0 AND "revenue_12m" >= 1.2 * "revenue_prev_12m"
      ), FALSE)
      THEN 'upgrade'
      ELSE 'maintenance'
    END AS "__stage__core",
    CASE
      WHEN COALESCE((
        "days_since_last_order" <= 90
      ), FALSE)
      THEN 'active'
      WHEN COALESCE((
        "days_since_last_order" <= 365
      ), FALSE)
      THEN 'dormant'
      WHEN COALESCE((
        "days_since_last_order" > 365
      ), FALSE)
      THEN 'lost'
      ELSE 'potential'
    END AS "__behaviour__core"
  FROM l0
), l2 AS (
  SELECT
    *,
    CASE
      WHEN NOT "ranked_revenue" IS NULL
      THEN NTILE(3) OVER (
        PARTITION BY "ranked_revenue" IS NULL
        ORDER BY "ranked_revenue" DESC, "customer_id"
      )
    END AS "spend_tercile",
    "__habit__core" AS "habit",
    "__stage__core" AS "stage",
    "__behaviour__core" AS "behaviour"
  FROM l1
), l3 AS (
  SELECT
    *,
    CASE
      WHEN COALESCE((
        "spend_tercile" = 1
      ), FALSE)
      THEN 'high'
      WHEN COALESCE((
        "spend_tercile" = 2
      ), FALSE)
      THEN 'middle'
      WHEN COALESCE((
        "spend_tercile" = 3
      ), FALSE)
      THEN 'low'
      ELSE 'none'
    END AS "__purchasing_power__core"
  FROM l2
), l4 AS (
  SELECT
    *,
    "__purchasing_power__core" AS "purchasing_power"
  FROM l3
)
SELECT
  "customer_id",
  "purchasing_power",
  "habit",
  "stage",
  "behaviour",
  "revenue_12m"
FROM l4
ORDER BY
  "customer_id"
