WITH l0 AS (
  SELECT
    "e"."customer_id",
    "k0"."rank" AS "__value_cluster__cluster_rank",
    "k0"."k" AS "__value_cluster__cluster_k",
    "k0"."distance" AS "__value_cluster__cluster_distance",
    "k0"."size" AS "__value_cluster__cluster_size",
    "k0"."share" AS "__value_cluster__cluster_share",
    "k0"."c0" AS "__value_cluster__cluster_c0",
    "k0"."c1" AS "__value_cluster__cluster_c1",
    "k0"."c2" AS "__value_cluster__cluster_c2",
    COALESCE("s0"."sales_12m", 0) AS "sales_12m",
    COALESCE("s0"."orders_12m", 0) AS "orders_12m",
    "s0"."recency_days" AS "recency_days"
  FROM (
    SELECT
      "customer_id"
    FROM "customers"
  ) AS e
  LEFT JOIN "__fenji_clusters_value_cluster" AS k0
    ON "k0"."customer_id" = "e"."customer_id"
  LEFT JOIN (
    SELECT
      "customer_id",
      SUM("amount") FILTER(WHERE
        "order_date" > CAST('2025-10-31' AS DATE)
        AND "order_date" <= CAST('2026-10-31' AS DATE)) AS "sales_12m",
      COUNT(*) FILTER(WHERE
        "order_date" > CAST('2025-10-31' AS DATE)
        AND "order_date" <= CAST('2026-10-31' AS DATE)
        AND "amount" >= 0) AS "orders_12m",
      DATE_DIFF(
        'DAY',
        MAX("order_date") FILTER(WHERE
          "order_date" <= CAST('2026-10-31' AS DATE) AND "amount" >= 0),
        CAST('2026-10-31' AS DATE)
      ) AS "recency_days"
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
    COALESCE((
      "orders_12m" > 0
    ), FALSE) AS "__value_cluster__scope",
    CASE
      WHEN "__value_cluster__cluster_rank" = 1
      THEN '1'
      WHEN "__value_cluster__cluster_rank" = 2
      THEN '2'
      WHEN "__value_cluster__cluster_rank" = 3
      THEN '3'
      WHEN "__value_cluster__cluster_rank" = 4
      THEN '4'
      WHEN "__value_cluster__cluster_rank" = 5
      THEN '5'
    END AS "__value_cluster__core"
  FROM l0
), l2 AS (
  SELECT
    *,
    CASE
      WHEN NOT (
        COALESCE((
          "orders_12m" > 0
        ), FALSE)
      )
      THEN NULL
      ELSE "__value_cluster__core"
    END AS "value_cluster"
  FROM l1
)
SELECT
  "customer_id",
  "value_cluster",
  "sales_12m"
FROM l2
ORDER BY
  "customer_id"
