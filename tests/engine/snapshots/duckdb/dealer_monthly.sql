WITH l0 AS (
  SELECT
    "e"."customer_id",
    "e"."business_line",
    COALESCE("s0"."sales_m", 0) AS "sales_m",
    COALESCE("s0"."direct_m", 0) AS "direct_m",
    COALESCE("s0"."order_rows_3m", 0) AS "order_rows_3m",
    COALESCE("s0"."order_months_3m", 0) AS "order_months_3m",
    COALESCE("s1"."due_m", 0) AS "due_m",
    COALESCE("s1"."paid_on_time_m", 0) AS "paid_on_time_m",
    COALESCE("s2"."event_rows_m", 0) AS "event_rows_m",
    COALESCE("s2"."event_bonus_m", 0) AS "event_bonus_m",
    COALESCE("s2"."event_deduction_m", 0) AS "event_deduction_m",
    COALESCE("s2"."red_line_events_m", 0) AS "red_line_events_m",
    COALESCE("s3"."target_m", 0) AS "target_m",
    COALESCE("s3"."target_rows_m", 0) AS "target_rows_m"
  FROM (
    SELECT DISTINCT
      "customer_id",
      "business_line"
    FROM (
      SELECT
        "customer_id",
        "business_line"
      FROM "orders"
      WHERE
        "order_date" <= CAST('2026-10-31' AS DATE) AND NOT "business_line" IS NULL
      UNION
      SELECT
        "customer_id",
        "business_line"
      FROM "targets"
      WHERE
        "month" <= CAST('2026-10-31' AS DATE) AND NOT "business_line" IS NULL
      UNION
      SELECT
        "customer_id",
        "business_line"
      FROM "receivables"
      WHERE
        "due_date" <= CAST('2026-10-31' AS DATE) AND NOT "business_line" IS NULL
      UNION
      SELECT
        "customer_id",
        "business_line"
      FROM "score_events"
      WHERE
        "event_date" <= CAST('2026-10-31' AS DATE) AND NOT "business_line" IS NULL
    ) AS u
  ) AS e
  LEFT JOIN (
    SELECT
      "customer_id",
      "business_line",
      SUM("amount") FILTER(WHERE
        "order_date" >= CAST('2026-10-01' AS DATE)
        AND "order_date" <= CAST('2026-10-31' AS DATE)) AS "sales_m",
      SUM("amount") FILTER(WHERE
        "order_date" >= CAST('2026-10-01' AS DATE)
        AND "order_date" <= CAST('2026-10-31' AS DATE)
        AND (
          "channel" = 'direct'
        )) AS "direct_m",
      COUNT(*) FILTER(WHERE
        "order_date" >= CAST('2026-08-01' AS DATE)
        AND "order_date" <= CAST('2026-10-31' AS DATE)
        AND "amount" >= 0) AS "order_rows_3m",
      COUNT(DISTINCT CAST(DATE_TRUNC('MONTH', "order_date") AS DATE)) FILTER(WHERE
        "order_date" >= CAST('2026-08-01' AS DATE)
        AND "order_date" <= CAST('2026-10-31' AS DATE)
        AND "amount" >= 0) AS "order_months_3m"
    FROM "orders"
    WHERE
      "order_date" <= CAST('2026-10-31' AS DATE)
      AND "order_date" >= CAST('2026-08-01' AS DATE)
      AND (
        "status" IS NULL
        OR NOT LOWER(TRIM("status")) IN ('cancelled', 'canceled', '已取消', '取消', 'void', '作废')
      )
    GROUP BY
      "customer_id",
      "business_line"
  ) AS s0
    ON "s0"."customer_id" = "e"."customer_id"
    AND "s0"."business_line" = "e"."business_line"
  LEFT JOIN (
    SELECT
      "customer_id",
      "business_line",
      SUM("amount") FILTER(WHERE
        "due_date" >= CAST('2026-10-01' AS DATE)
        AND "due_date" <= CAST('2026-10-31' AS DATE)) AS "due_m",
      SUM("amount") FILTER(WHERE
        "due_date" >= CAST('2026-10-01' AS DATE)
        AND "due_date" <= CAST('2026-10-31' AS DATE)
        AND (
          "paid_date" <= "due_date"
        )) AS "paid_on_time_m"
    FROM "receivables"
    WHERE
      "due_date" <= CAST('2026-10-31' AS DATE)
      AND "due_date" >= CAST('2026-10-01' AS DATE)
    GROUP BY
      "customer_id",
      "business_line"
  ) AS s1
    ON "s1"."customer_id" = "e"."customer_id"
    AND "s1"."business_line" = "e"."business_line"
  LEFT JOIN (
    SELECT
      "customer_id",
      "business_line",
      COUNT(*) FILTER(WHERE
        "event_date" >= CAST('2026-10-01' AS DATE)
        AND "event_date" <= CAST('2026-10-31' AS DATE)) AS "event_rows_m",
      SUM("points") FILTER(WHERE
        "event_date" >= CAST('2026-10-01' AS DATE)
        AND "event_date" <= CAST('2026-10-31' AS DATE)
        AND (
          "points" > 0
        )) AS "event_bonus_m",
      SUM(-"points") FILTER(WHERE
        "event_date" >= CAST('2026-10-01' AS DATE)
        AND "event_date" <= CAST('2026-10-31' AS DATE)
        AND (
          "points" < 0
        )) AS "event_deduction_m",
      COUNT(*) FILTER(WHERE
        "event_date" >= CAST('2026-10-01' AS DATE)
        AND "event_date" <= CAST('2026-10-31' AS DATE)
        AND (
          "red_line"
        )) AS "red_line_events_m"
    FROM "score_events"
    WHERE
      "event_date" <= CAST('2026-10-31' AS DATE)
      AND "event_date" >= CAST('2026-10-01' AS DATE)
    GROUP BY
      "customer_id",
      "business_line"
  ) AS s2
    ON "s2"."customer_id" = "e"."customer_id"
    AND "s2"."business_line" = "e"."business_line"
  LEFT JOIN (
    SELECT
      "customer_id",
      "business_line",
      SUM("target_amount") FILTER(WHERE
        "month" >= CAST('2026-10-01' AS DATE) AND "month" <= CAST('2026-10-31' AS DATE)) AS "target_m",
      COUNT(*) FILTER(WHERE
        "month" >= CAST('2026-10-01' AS DATE) AND "month" <= CAST('2026-10-31' AS DATE)) AS "target_rows_m"
    FROM "targets"
    WHERE
      "month" <= CAST('2026-10-31' AS DATE) AND "month" >= CAST('2026-10-01' AS DATE)
    GROUP BY
      "customer_id",
      "business_line"
  ) AS s3
    ON "s3"."customer_id" = "e"."customer_id"
    AND "s3"."business_line" = "e"."business_line"
), l1 AS (
  SELECT
    *,
    ROUND("direct_m" / NULLIF("sales_m", 0), 9) AS "direct_share_m",
    ROUND(
      CASE
        WHEN "target_m" > 0
        THEN CASE
          WHEN 60 * "sales_m" / NULLIF("target_m", 0) IS NULL
          THEN NULL
          ELSE LEAST(60 * "sales_m" / NULLIF("target_m", 0), 60)
        END
      END,
      9
    ) AS "__dealer__raw0",
    ROUND(
      CASE WHEN "due_m" > 0 THEN 20 * "paid_on_time_m" / NULLIF("due_m", 0) ELSE 20 END,
      9
    ) AS "__dealer__raw1",
    ROUND(20 * "order_months_3m" / 3, 9) AS "__dealer__raw2",
    COALESCE("event_bonus_m", 0) AS "__dealer__bonus1",
    COALESCE("event_deduction_m", 0) AS "__dealer__deductions0",
    COALESCE((
      "target_rows_m" > 0 OR "order_rows_3m" > 0 OR "event_rows_m" > 0
    ), FALSE) AS "__population"
  FROM l0
), l2 AS (
  SELECT
    *,
    COALESCE("__dealer__raw0", 0) AS "__dealer__p0",
    COALESCE("__dealer__raw1", 0) AS "__dealer__p1",
    COALESCE("__dealer__raw2", 0) AS "__dealer__p2",
    CASE WHEN COALESCE((
      "direct_share_m" >= 0.5
    ), FALSE) THEN 1 ELSE 0 END AS "__dealer__bonus0"
  FROM l1
  WHERE
    "__population"
), l3 AS (
  SELECT
    *,
    ROUND(
      "__dealer__p0" + "__dealer__p1" + "__dealer__p2" + "__dealer__bonus0" + "__dealer__bonus1" + -"__dealer__deductions0",
      9
    ) AS "__dealer__score"
  FROM l2
), l4 AS (
  SELECT
    *,
    CASE
      WHEN "__dealer__score" IS NULL
      THEN 'D'
      WHEN "__dealer__score" >= 90
      THEN 'A'
      WHEN "__dealer__score" >= 75
      THEN 'B'
      WHEN "__dealer__score" >= 60
      THEN 'C'
      ELSE 'D'
    END AS "__dealer__grade",
    ROUND("__dealer__score", 2) AS "dealer.score"
  FROM l3
), l5 AS (
  SELECT
    *,
    CASE
      WHEN COALESCE((
        "red_line_events_m" > 0
      ), FALSE)
      THEN 'D'
      ELSE "__dealer__grade"
    END AS "__dealer__core"
  FROM l4
), l6 AS (
  SELECT
    *,
    "__dealer__core" AS "dealer"
  FROM l5
)
SELECT
  "customer_id",
  "business_line",
  "dealer",
  "dealer.score",
  "sales_m"
FROM l6
ORDER BY
  "customer_id",
  "business_line"
