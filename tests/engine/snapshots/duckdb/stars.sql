WITH l0 AS (
  SELECT
    "e"."customer_id",
    "c"."first_deal_date" AS "__attr_first_deal_date",
    COALESCE("s0"."revenue_12m", 0) AS "revenue_12m",
    COALESCE("s0"."orders_12m", 0) AS "orders_12m"
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
      COUNT(*) FILTER(WHERE
        "order_date" > CAST('2025-10-31' AS DATE)
        AND "order_date" <= CAST('2026-10-31' AS DATE)
        AND "amount" >= 0) AS "orders_12m"
    FROM "orders"
    WHERE
      "order_date" <= CAST('2026-10-31' AS DATE)
      AND "order_date" > CAST('2025-10-31' AS DATE)
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
    ROUND(
      (
        2026 - YEAR("__attr_first_deal_date") - CASE
          WHEN MONTH("__attr_first_deal_date") > 10
          OR MONTH("__attr_first_deal_date") = 10
          AND DAY("__attr_first_deal_date") > 31
          THEN 1
          ELSE 0
        END
      ) + DATE_DIFF(
        'DAY',
        CAST("__attr_first_deal_date" + INTERVAL (
          2026 - YEAR("__attr_first_deal_date") - CASE
            WHEN MONTH("__attr_first_deal_date") > 10
            OR MONTH("__attr_first_deal_date") = 10
            AND DAY("__attr_first_deal_date") > 31
            THEN 1
            ELSE 0
          END
        ) YEAR AS DATE),
        CAST('2026-10-31' AS DATE)
      ) / DATE_DIFF(
        'DAY',
        CAST("__attr_first_deal_date" + INTERVAL (
          2026 - YEAR("__attr_first_deal_date") - CASE
            WHEN MONTH("__attr_first_deal_date") > 10
            OR MONTH("__attr_first_deal_date") = 10
            AND DAY("__attr_first_deal_date") > 31
            THEN 1
            ELSE 0
          END
        ) YEAR AS DATE),
        CAST("__attr_first_deal_date" + INTERVAL (
          2026 - YEAR("__attr_first_deal_date") - CASE
            WHEN MONTH("__attr_first_deal_date") > 10
            OR MONTH("__attr_first_deal_date") = 10
            AND DAY("__attr_first_deal_date") > 31
            THEN 1
            ELSE 0
          END + 1
        ) YEAR AS DATE)
      ),
      9
    ) AS "tenure_years",
    NOT (
      COALESCE((
        "orders_12m" = 0
      ), FALSE)
    ) AS "__stars__scope",
    "revenue_12m" AS "__stars__v0",
    "orders_12m" AS "__stars__v1"
  FROM l0
), l2 AS (
  SELECT
    *,
    CASE
      WHEN "__stars__scope" AND NOT "__stars__v0" IS NULL
      THEN PERCENT_RANK() OVER (
        PARTITION BY "__stars__scope" AND NOT "__stars__v0" IS NULL
        ORDER BY "__stars__v0"
      )
      ELSE 0
    END AS "__stars__rank0",
    CASE
      WHEN "__stars__scope" AND NOT "__stars__v1" IS NULL
      THEN PERCENT_RANK() OVER (
        PARTITION BY "__stars__scope" AND NOT "__stars__v1" IS NULL
        ORDER BY "__stars__v1"
      )
      ELSE 0
    END AS "__stars__rank1",
    "tenure_years" AS "__stars__v2"
  FROM l1
), l3 AS (
  SELECT
    *,
    CASE
      WHEN "__stars__scope" AND NOT "__stars__v2" IS NULL
      THEN PERCENT_RANK() OVER (
        PARTITION BY "__stars__scope" AND NOT "__stars__v2" IS NULL
        ORDER BY "__stars__v2"
      )
      ELSE 0
    END AS "__stars__rank2"
  FROM l2
), l4 AS (
  SELECT
    *,
    ROUND(
      (
        50 * "__stars__rank0" + 30 * "__stars__rank1" + 20 * "__stars__rank2"
      ) / 100,
      9
    ) AS "__stars__composite"
  FROM l3
), l5 AS (
  SELECT
    *,
    CASE
      WHEN "__stars__composite" IS NULL
      THEN '1'
      WHEN "__stars__composite" >= 0.80
      THEN '5'
      WHEN "__stars__composite" >= 0.60
      THEN '4'
      WHEN "__stars__composite" >= 0.40
      THEN '3'
      WHEN "__stars__composite" >= 0.20
      THEN '2'
      ELSE '1'
    END AS "__stars__core",
    CASE
      WHEN COALESCE((
        "orders_12m" = 0
      ), FALSE)
      THEN NULL
      ELSE ROUND("__stars__composite", 4)
    END AS "stars.score"
  FROM l4
), l6 AS (
  SELECT
    *,
    CASE WHEN COALESCE((
      "orders_12m" = 0
    ), FALSE) THEN '1' ELSE "__stars__core" END AS "stars"
  FROM l5
)
SELECT
  "customer_id",
  "stars",
  "stars.score",
  "revenue_12m"
FROM l6
ORDER BY
  "customer_id"
