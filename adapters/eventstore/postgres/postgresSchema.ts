import type pg from 'pg';

/**
 * The PostgreSQL layout and every SQL statement of the store, for one schema.
 *
 * THE SEQUENCE-GAP PROBLEM, AND OUR ANSWER
 * With a sequence (or identity) for the global position, two writers can take
 * positions 10 and 11 and commit in the order 11, 10. A reader that reads
 * "after 9" between the two commits sees 11, moves its checkpoint to 11, and
 * never sees 10. Emmett avoids this by storing each row's transaction id and
 * reading only below pg_snapshot_xmin(pg_current_snapshot()); Message DB by
 * serialising writers with an advisory lock.
 *
 * We take Message DB's road: every append transaction first takes a
 * transaction-level advisory lock (one key per schema) and only then reads
 * max(position) and assigns the next positions. PostgreSQL makes a commit
 * visible before it releases the transaction's locks, so the next writer can
 * assign positions only after the previous writer's rows are visible: positions
 * become visible in position order, and a reader can never see position n+1
 * without n. It also keeps positions gapless (a rolled-back transaction
 * assigned nothing anyone else saw), which the port promises and the xmin
 * approach cannot give with a sequence. The cost, serial writers, is paid
 * once per batch, not once per append, because of group commit; and one
 * ledger process writing at a time is the common case anyway.
 *
 * Expected revisions are checked under the same lock against the stream's
 * highest revision in `events` itself (an index lookup on UNIQUE (stream_name,
 * revision)), so there is no second table to keep in step. The unique
 * constraint backs the check up against writers that do not follow this
 * protocol: a violation makes the batch run again, and the check then sees
 * their rows and answers WrongExpectedRevision.
 *
 * `committed_at` is the commit time in ms by the server's clock
 * (clock_timestamp(), read under the advisory lock), never below the previous
 * position's, so commit times follow the global order whatever the writers'
 * own clocks say. Tables made before the column existed get it on start-up,
 * filled from each event's recorded time (made non-decreasing along the order).
 *
 * data and metadata are `json`, not `jsonb`: json keeps the text exactly as
 * written (key order, number spelling), which is cheaper and keeps what the
 * application wrote byte for byte.
 */

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,47}$/;

/** Schema names go into SQL text, so only plain lower-case identifiers are accepted. */
export const checkSchemaName = (schema: string): string => {
  if (!SCHEMA_NAME.test(schema)) throw new Error(`postgres event store: schema must match ${SCHEMA_NAME.source}; got "${schema}"`);
  return schema;
};

/** 32-bit FNV-1a of the schema name as a signed int4, the second advisory lock key. */
const lockKey = (schema: string): number => {
  let hash = 0x811c9dc5;
  for (const char of schema) {
    hash ^= char.codePointAt(0) ?? 0;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash | 0;
};

/** First advisory lock key: "LEDG", so our locks do not collide with other users of advisory locks. */
const LOCK_NAMESPACE = 0x4c454447;

export type PostgresSql = ReturnType<typeof postgresSql>;

export const postgresSql = (schemaName: string) => {
  const schema = checkSchemaName(schemaName);
  const lock = `SELECT pg_advisory_xact_lock(${LOCK_NAMESPACE}, ${lockKey(schema)})`;
  const channel = `${schema}_appended`;
  return {
    channel,
    /** DDL under the lock, so two processes starting at once do not race on CREATE ... IF NOT EXISTS. */
    init: `BEGIN; ${lock};
      CREATE SCHEMA IF NOT EXISTS ${schema};
      CREATE TABLE IF NOT EXISTS ${schema}.events (
        position    bigint PRIMARY KEY,
        stream_name text   NOT NULL,
        revision    bigint NOT NULL CHECK (revision >= 0),
        type        text   NOT NULL,
        data        json   NOT NULL,
        metadata    json   NOT NULL,
        UNIQUE (stream_name, revision)
      );
      ALTER TABLE ${schema}.events ADD COLUMN IF NOT EXISTS committed_at bigint;
      UPDATE ${schema}.events e SET committed_at = m.c FROM (
        SELECT position AS p, max(coalesce((metadata->>'recordedAt')::bigint, 0)) OVER (ORDER BY position) AS c FROM ${schema}.events
      ) m WHERE e.committed_at IS NULL AND e.position = m.p;
      ALTER TABLE ${schema}.events ALTER COLUMN committed_at SET NOT NULL;
      COMMIT`,
    /** Simple-query text (no parameters), so BEGIN and the lock cost one round trip. */
    beginAndLock: `BEGIN; ${lock}`,
    /** Run after the lock, in its own statement, so its snapshot includes every earlier writer. */
    readState: {
      name: `${schema}.read_state`,
      text: `SELECT NULL::text AS stream_name, (SELECT coalesce(max(position), -1) FROM ${schema}.events) AS last
        UNION ALL
        SELECT n.name, (SELECT max(revision) FROM ${schema}.events e WHERE e.stream_name = n.name)
        FROM unnest($1::text[]) AS n(name)`,
    },
    write: {
      name: `${schema}.write`,
      // $2 is the last position before this batch: the new commit time never goes below its commit time.
      text: `INSERT INTO ${schema}.events (position, stream_name, revision, type, data, metadata, committed_at)
        SELECT p, s, r, t, d, m, greatest(
          (extract(epoch FROM clock_timestamp()) * 1000)::bigint,
          coalesce((SELECT committed_at FROM ${schema}.events WHERE position = $2), 0))
        FROM json_to_recordset($1::json) AS e(p bigint, s text, r bigint, t text, d json, m json)`,
    },
    notifyAndCommit: `SELECT pg_notify('${channel}', ''); COMMIT`,
    streamPage: {
      name: `${schema}.stream_page`,
      text: `SELECT position, stream_name, revision, type, data, metadata, committed_at FROM ${schema}.events
        WHERE stream_name = $1 AND revision >= $2 ORDER BY revision LIMIT $3`,
    },
    allPage: {
      name: `${schema}.all_page`,
      text: `SELECT position, stream_name, revision, type, data, metadata, committed_at FROM ${schema}.events
        WHERE position > $1 ORDER BY position LIMIT $2`,
    },
  } as const;
};

export const ensureSchema = async (pool: pg.Pool, sql: PostgresSql): Promise<void> => {
  const client = await pool.connect();
  try {
    await client.query(sql.init);
    client.release();
  } catch (error) {
    client.release(error as Error);
    throw error;
  }
};
