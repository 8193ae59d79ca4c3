#!/usr/bin/env bash
# The PostgreSQL ledger's write path, statement by statement, on the server alone: 30 batches of
# 10k changes (as `--bench ledger -- apply-10000`), each in one transaction with the checkpoint's
# update, timed by psql. Variants:
#   unnest  the ledger's statements: arrays `unnest`ed, ON CONFLICT (what the ledger sends)
#   copy    COPY into a temporary table, then the same two statements from it
#   plain   the floor: plain INSERTs, no duplicate check, no ordering rule (unsafe; a bound)
# Usage: bash .ci/with-postgres bash pandadoc-api-ext/benches/apply-sql.sh [variant...]
# Prints per variant the mean ms per batch of each step and the changes/s the server allows.
set -euo pipefail
url=${PANDADOC_TEST_POSTGRES_URL:?run under .ci/with-postgres}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

script() {
  local variant=$1
  cat <<SQL
\set QUIET on
\set ON_ERROR_STOP on
DROP SCHEMA IF EXISTS apply_sql CASCADE; CREATE SCHEMA apply_sql;
CREATE TABLE apply_sql.numbers (phone text COLLATE "C" PRIMARY KEY, status text COLLATE "C" NOT NULL,
  rank smallint NOT NULL, changed timestamptz NOT NULL, recorded timestamptz NOT NULL) WITH (fillfactor = 70);
CREATE TABLE apply_sql.history (phone text COLLATE "C" NOT NULL, status text COLLATE "C" NOT NULL,
  changed timestamptz NOT NULL, recorded timestamptz NOT NULL, PRIMARY KEY (changed, phone, status));
CREATE TABLE apply_sql.checkpoint (id int PRIMARY KEY, batch int); INSERT INTO apply_sql.checkpoint VALUES (1, 0);
SELECT setseed(0.5);
CREATE TABLE apply_sql.src AS SELECT g, '+1555' || lpad((random() * 999999)::int::text, 7, '0') p,
  CASE WHEN random() < 0.5 THEN 'opt-out' ELSE 'opt-in' END s,
  '2025-01-01'::timestamptz + make_interval(secs => g) c FROM generate_series(0, 299999) g;
CHECKPOINT;
SQL
  for i in $(seq 0 29); do
    local from=$((i * 10000)) to=$(((i + 1) * 10000))
    cat <<SQL
\copy (SELECT p, s, c FROM apply_sql.src WHERE g >= $from AND g < $to ORDER BY c) TO '$work/batch.txt'
DROP TABLE IF EXISTS b; CREATE TEMP TABLE b AS SELECT array_agg(p ORDER BY c) p, array_agg(s ORDER BY c) s,
  array_agg(c ORDER BY c) c FROM apply_sql.src WHERE g >= $from AND g < $to;
\timing on
BEGIN;
UPDATE apply_sql.checkpoint SET batch = $i WHERE id = 1;
SQL
    case $variant in
      copy) cat <<SQL
CREATE TEMP TABLE t (p text COLLATE "C", s text COLLATE "C", c timestamptz) ON COMMIT DROP;
\copy t FROM '$work/batch.txt'
INSERT INTO apply_sql.history SELECT p, s, c, now() FROM t ON CONFLICT DO NOTHING;
INSERT INTO apply_sql.numbers AS cur SELECT DISTINCT ON (p) p, s, 1, c, now() FROM t ORDER BY p, c DESC
  ON CONFLICT (phone) DO UPDATE SET status = excluded.status, rank = excluded.rank, changed = excluded.changed,
  recorded = excluded.recorded WHERE (excluded.changed, excluded.rank, excluded.status) > (cur.changed, cur.rank, cur.status);
SQL
        ;;
      unnest) cat <<SQL
SELECT 'no staging';
SELECT 'no staging';
INSERT INTO apply_sql.history SELECT u.p, u.s, u.c, now() FROM b, unnest(b.p, b.s, b.c) u(p, s, c) ON CONFLICT DO NOTHING;
INSERT INTO apply_sql.numbers AS cur SELECT DISTINCT ON (u.p) u.p, u.s, 1, u.c, now() FROM b, unnest(b.p, b.s, b.c) u(p, s, c)
  ORDER BY u.p, u.c DESC ON CONFLICT (phone) DO UPDATE SET status = excluded.status, rank = excluded.rank,
  changed = excluded.changed, recorded = excluded.recorded
  WHERE (excluded.changed, excluded.rank, excluded.status) > (cur.changed, cur.rank, cur.status);
SQL
        ;;
      plain) cat <<SQL
SELECT 'no staging';
SELECT 'no staging';
INSERT INTO apply_sql.history SELECT u.p, u.s, u.c, now() FROM b, unnest(b.p, b.s, b.c) u(p, s, c);
INSERT INTO apply_sql.numbers SELECT DISTINCT ON (u.p) u.p, u.s, 1, u.c, now() FROM b, unnest(b.p, b.s, b.c) u(p, s, c)
  WHERE NOT EXISTS (SELECT 1 FROM apply_sql.numbers n WHERE n.phone = u.p) ORDER BY u.p, u.c DESC;
SQL
        ;;
      *) echo "unknown variant $variant" >&2; exit 2 ;;
    esac
    printf 'COMMIT;\n\\timing off\n'
  done
  echo "DROP SCHEMA apply_sql CASCADE;"
}

for variant in "${@:-unnest copy plain}"; do
  for v in $variant; do
    script "$v" > "$work/script.sql"
    psql "$url" -q -f "$work/script.sql" 2>&1 | awk '/^Time:/ {print $2}' | paste - - - - - - - |
      awk -v v="$v" '{stage += $3 + $4; h += $5; n += $6; c += $7; t += $1 + $2 + $3 + $4 + $5 + $6 + $7}
        END {printf "%-7s staging %5.1f  history %5.1f  numbers %5.1f  commit %4.1f  batch %6.1f ms  %6.0f changes/s\n",
             v, stage / NR, h / NR, n / NR, c / NR, t / NR, 10000 * NR / t * 1000}'
  done
done
