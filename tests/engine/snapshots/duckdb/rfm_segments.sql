WITH l0 AS (
  SELECT
    "e"."customer_id",
    "s0"."recency_days" AS "recency_days",
    COALESCE("s0"."orders_24m", 0) AS "orders_24m",
    COALESCE("s0"."revenue_24m", 0) AS "revenue_24m",
    COALESCE("s0"."revenue_12m", 0) AS "revenue_12m"
  FROM (
    SELECT
      "customer_id"
    FROM "customers"
  ) AS e
  LEFT JOIN (
    SELECT
      "customer_id",
      DATE_DIFF(
        'DAY',
        MAX("order_date") FILTER(WHERE
          "order_date" <= CAST('2026-10-31' AS DATE) AND "amount" >= 0),
        CAST('2026-10-31' AS DATE)
      ) AS "recency_days",
      COUNT(*) FILTER(WHERE
        "order_date" > CAST('2024-10-31' AS DATE)
        AND "order_date" <= CAST('2026-10-31' AS DATE)
        AND "amount" >= 0) AS "orders_24m",
      SUM("amount") FILTER(WHERE
        "order_date" > CAST('2024-10-31' AS DATE)
        AND "order_date" <= CAST('2026-10-31' AS DATE)) AS "revenue_24m",
      SUM("amount") FILTER(WHERE
        "order_date" > CAST('2025-10-31' AS DATE)
        AND "order_date" <= CAST('2026-10-31' AS DATE)) AS "revenue_12m"
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
      "orders_24m" > 0
    ), FALSE) AS "__rfm__scope",
    "recency_days" AS "__rfm__r",
    "orders_24m" AS "__rfm__f",
    "revenue_24m" AS "__rfm__m"
  FROM l0
), l2 AS (
  SELECT
    *,
    CASE
      WHEN "__rfm__scope" AND NOT "__rfm__r" IS NULL
      THEN NTILE(5) OVER (
        PARTITION BY "__rfm__scope" AND NOT "__rfm__r" IS NULL
        ORDER BY "__rfm__r" DESC, "customer_id"
      )
      ELSE 1
    END AS "__rfm__r_score",
    CASE
      WHEN "__rfm__scope" AND NOT "__rfm__f" IS NULL
      THEN NTILE(5) OVER (
        PARTITION BY "__rfm__scope" AND NOT "__rfm__f" IS NULL
        ORDER BY "__rfm__f" ASC, "customer_id"
      )
      ELSE 1
    END AS "__rfm__f_score",
    CASE
      WHEN "__rfm__scope" AND NOT "__rfm__m" IS NULL
      THEN NTILE(5) OVER (
        PARTITION BY "__rfm__scope" AND NOT "__rfm__m" IS NULL
        ORDER BY "__rfm__m" ASC, "customer_id"
      )
      ELSE 1
    END AS "__rfm__m_score"
  FROM l1
), l3 AS (
  SELECT
    *,
    CASE
      WHEN COALESCE((
        "__rfm__r_score" = 5 AND "__rfm__f_score" >= 4
      ), FALSE)
      THEN 'champions'
      WHEN COALESCE((
        "__rfm__r_score" BETWEEN 3 AND 4 AND "__rfm__f_score" >= 4
      ), FALSE)
      THEN 'loyal_customers'
      WHEN COALESCE((
        "__rfm__r_score" >= 4 AND "__rfm__f_score" BETWEEN 2 AND 3
      ), FALSE)
      THEN 'potential_loyalists'
      WHEN COALESCE((
        "__rfm__r_score" = 5 AND "__rfm__f_score" = 1
      ), FALSE)
      THEN 'new_customers'
      WHEN COALESCE((
        "__rfm__r_score" = 4 AND "__rfm__f_score" = 1
      ), FALSE)
      THEN 'promising'
      WHEN COALESCE((
        "__rfm__r_score" = 3 AND "__rfm__f_score" = 3
      ), FALSE)
      THEN 'need_attention'
      WHEN COALESCE((
        "__rfm__r_score" = 3 AND "__rfm__f_score" <= 2
      ), FALSE)
      THEN 'about_to_sleep'
      WHEN COALESCE((
        "__rfm__r_score" <= 2 AND "__rfm__f_score" = 5
      ), FALSE)
      THEN 'cant_lose'
      WHEN COALESCE((
        "__rfm__r_score" <= 2 AND "__rfm__f_score" BETWEEN 3 AND 4
      ), FALSE)
      THEN 'at_risk'
      WHEN COALESCE((
        "__rfm__r_score" <= 2 AND "__rfm__f_score" <= 2
      ), FALSE)
      THEN 'hibernating'
      ELSE 'hibernating'
    END AS "__rfm__core",
    CASE
      WHEN NOT (
        COALESCE((
          "orders_24m" > 0
        ), FALSE)
      )
      THEN NULL
      ELSE "__rfm__r_score" * 100 + "__rfm__f_score" * 10 + "__rfm__m_score"
    END AS "rfm.score"
  FROM l2
), l4 AS (
  SELECT
    *,
    CASE
      WHEN NOT (
        COALESCE((
          "orders_24m" > 0
        ), FALSE)
      )
      THEN NULL
      ELSE "__rfm__core"
    END AS "rfm"
  FROM l3
)
SELECT
  "customer_id",
  "rfm",
  "rfm.score",
  "revenue_12m"
FROM l4
ORDER BY
  "customer_id"
