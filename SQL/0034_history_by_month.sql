-- Bids, lot events and audit records by month (issue 19, item 3; D45): each becomes a
-- table partitioned by range of its own time (bids.placed_at, lot_events.created_at,
-- audit_log.at), one partition a month in UTC, so that a month long past can be
-- detached, archived and dropped without touching the rest.
--
-- A partitioned table's unique keys must hold its partition key, so the primary keys
-- grow a column: bids (id, placed_at), lot_events (lot_id, seq, created_at), audit_log
-- (seq, at), and bids' sequence is unique with placed_at. What they guarded stays
-- guarded where it was made: bid IDs are random UUIDs, bid and audit numbers come from
-- one sequence each, and a lot's event numbers are taken under the lot's row lock.
--
-- Every table also gets a DEFAULT partition, so that no bid is refused for want of a
-- month (a clock far off, a month not yet created); Gavel creates the current month and
-- the next three at start and every hour (create_history_partitions), so it stays empty.
--
-- The existing rows are copied once into the new tables; on a large database this
-- migration holds the three tables for the length of the copy (Docs/operations.md).

CREATE FUNCTION history_partition_name(p_table text, p_month date) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT p_table || '_' || to_char(p_month, '"y"YYYY"m"MM')
$$;

-- The partitions of the months from p_first to p_last (inclusive) that do not exist yet;
-- returns how many were made. A month whose rows already sit in the DEFAULT partition is
-- left there (PostgreSQL refuses the new partition) and named in a warning. The lock
-- wait is bounded: creating a partition locks its table briefly, and waiting behind a
-- long transaction would hold every bid queued behind the creation.
CREATE FUNCTION create_history_partitions(p_first date, p_last date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    v_month date := date_trunc('month', p_first)::date;
    v_table text;
    v_name text;
    v_created integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('gavel.history-partitions'));
    SET LOCAL lock_timeout = '2s';
    WHILE v_month <= p_last LOOP
        FOREACH v_table IN ARRAY ARRAY['bids', 'lot_events', 'audit_log'] LOOP
            v_name := history_partition_name(v_table, v_month);
            CONTINUE WHEN to_regclass(v_name) IS NOT NULL;
            BEGIN
                EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)', v_name, v_table,
                               v_month::timestamp AT TIME ZONE 'UTC',
                               (v_month + interval '1 month')::timestamp AT TIME ZONE 'UTC');
                IF v_table = 'audit_log' THEN
                    -- Row triggers reach every partition from the parent; TRUNCATE of a
                    -- partition by name needs its own.
                    EXECUTE format('CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON %I '
                                   'FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only()', v_name);
                END IF;
                v_created := v_created + 1;
            EXCEPTION WHEN check_violation THEN
                RAISE WARNING 'partition % not made: the default partition of % holds rows of that month', v_name, v_table;
            END;
        END LOOP;
        v_month := (v_month + interval '1 month')::date;
    END LOOP;
    RETURN v_created;
END
$$;

-- Detaches the months that end on or before p_before, for archiving (pg_dump -t, then
-- DROP TABLE): all three tables of a month together, and only a month in which no lot
-- of a case still open was bid on or had an event, so an open case never loses its
-- history. Returns the names of the tables detached; the months kept, with the reason,
-- go to a notice.
CREATE FUNCTION detach_history_partitions(p_before date) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    v_month date;
    v_open boolean;
    v_table text;
    v_name text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('gavel.history-partitions'));
    SET LOCAL lock_timeout = '2s';
    FOR v_month IN
        SELECT DISTINCT to_date(substring(c.relname FROM '(\d{4}m\d{2})$'), 'YYYY"m"MM')
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent IN ('bids'::regclass, 'lot_events'::regclass, 'audit_log'::regclass)
          AND c.relname ~ 'y\d{4}m\d{2}$'
        ORDER BY 1
    LOOP
        EXIT WHEN (v_month + interval '1 month')::date > p_before;
        EXECUTE format(
            'SELECT EXISTS (SELECT 1 FROM (SELECT lot_id FROM %1$I UNION SELECT lot_id FROM %2$I) m '
            'JOIN lots l ON l.id = m.lot_id JOIN vehicles v ON v.id = l.vehicle_id JOIN cases c ON c.id = v.case_id '
            'WHERE c.status <> %3$L)',
            history_partition_name('bids', v_month), history_partition_name('lot_events', v_month), 'closed')
        INTO v_open;
        IF v_open THEN
            RAISE NOTICE 'month % kept: a case still open has bids or events in it', to_char(v_month, 'YYYY-MM');
            CONTINUE;
        END IF;
        FOREACH v_table IN ARRAY ARRAY['bids', 'lot_events', 'audit_log'] LOOP
            v_name := history_partition_name(v_table, v_month);
            CONTINUE WHEN to_regclass(v_name) IS NULL;
            EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', v_table, v_name);
            RETURN NEXT v_name;
        END LOOP;
    END LOOP;
END
$$;

-- bids
ALTER TABLE bids RENAME TO bids_before_0034;
ALTER TABLE bids_before_0034 RENAME CONSTRAINT bids_pkey TO bids_before_0034_pkey;
ALTER TABLE bids_before_0034 RENAME CONSTRAINT bids_sequence_key TO bids_before_0034_sequence_key;
ALTER INDEX bids_lot RENAME TO bids_before_0034_lot;
CREATE TABLE bids (
    id            uuid NOT NULL,
    lot_id        uuid NOT NULL REFERENCES lots (id),
    bidder_id     uuid NOT NULL REFERENCES users (id),
    sequence      bigint NOT NULL,
    max_amount    minor_units NOT NULL,
    price_after   minor_units NOT NULL,
    leader_after  uuid NOT NULL REFERENCES users (id),
    ends_at_after timestamptz NOT NULL,
    placed_at     timestamptz NOT NULL,
    PRIMARY KEY (id, placed_at),
    UNIQUE (sequence, placed_at)
) PARTITION BY RANGE (placed_at);
CREATE INDEX bids_lot ON bids (lot_id, sequence);
CREATE TABLE bids_default PARTITION OF bids DEFAULT;

-- lot_events
ALTER TABLE lot_events RENAME TO lot_events_before_0034;
ALTER TABLE lot_events_before_0034 RENAME CONSTRAINT lot_events_pkey TO lot_events_before_0034_pkey;
CREATE TABLE lot_events (
    lot_id           uuid NOT NULL REFERENCES lots (id),
    seq              integer NOT NULL CHECK (seq >= 1),
    kind             text NOT NULL CHECK (kind IN ('price', 'extended', 'closed')),
    status           text NOT NULL,
    current_price    bigint,
    bid_count        integer NOT NULL,
    reserve_met      boolean NOT NULL,
    minimum_next_bid bigint NOT NULL,
    ends_at          timestamptz NOT NULL,
    hammer_price     bigint,
    created_at       timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (lot_id, seq, created_at)
) PARTITION BY RANGE (created_at);
CREATE TABLE lot_events_default PARTITION OF lot_events DEFAULT;

-- audit_log: its numbers keep coming from the same sequence, which must outlive the
-- old table it belonged to.
ALTER SEQUENCE audit_log_seq_seq OWNED BY NONE;
ALTER TABLE audit_log RENAME TO audit_log_before_0034;
ALTER TABLE audit_log_before_0034 RENAME CONSTRAINT audit_log_pkey TO audit_log_before_0034_pkey;
ALTER INDEX audit_log_entity RENAME TO audit_log_before_0034_entity;
CREATE TABLE audit_log (
    seq         bigint NOT NULL DEFAULT nextval('audit_log_seq_seq'),
    at          timestamptz NOT NULL DEFAULT now(),
    actor_id    uuid,
    actor_name  text NOT NULL,
    action      text NOT NULL,
    entity_type text NOT NULL,
    entity_id   uuid NOT NULL,
    before      jsonb,
    after       jsonb,
    request_id  text,
    PRIMARY KEY (seq, at)
) PARTITION BY RANGE (at);
ALTER SEQUENCE audit_log_seq_seq OWNED BY audit_log.seq;
CREATE INDEX audit_log_entity ON audit_log (entity_id, seq);
CREATE TRIGGER audit_log_no_update_or_delete BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_is_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
CREATE TABLE audit_log_default PARTITION OF audit_log DEFAULT;
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log_default
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();

-- The months the rows already there fall in, up to three months ahead; then the rows.
SELECT create_history_partitions(
    (least(coalesce((SELECT min(placed_at) FROM bids_before_0034), now()),
           coalesce((SELECT min(created_at) FROM lot_events_before_0034), now()),
           coalesce((SELECT min(at) FROM audit_log_before_0034), now())) AT TIME ZONE 'UTC')::date,
    ((now() + interval '3 months') AT TIME ZONE 'UTC')::date);
INSERT INTO bids SELECT * FROM bids_before_0034;
INSERT INTO lot_events SELECT * FROM lot_events_before_0034;
INSERT INTO audit_log SELECT * FROM audit_log_before_0034;
DROP TABLE bids_before_0034;
DROP TABLE lot_events_before_0034;
DROP TABLE audit_log_before_0034;
-- Plans are made from statistics (D42): the copies are analyzed now, not when autovacuum
-- comes round.
ANALYZE bids, lot_events, audit_log;
