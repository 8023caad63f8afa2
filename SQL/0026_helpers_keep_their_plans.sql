-- Two helpers written in SQL that PostgreSQL cannot inline (each holds a subquery) were
-- run by the SQL-function executor, which parses and plans their body again for every
-- statement that calls them: ~90 us a call for lot_increment (pgbench, one client),
-- called up to four times by each accepted bid; ~0.3 ms of planning and set-up for
-- case_effective_status on every read of a case, twice the read itself. As PL/pgSQL
-- they keep their plans for the connection's life. Same signatures, same answers.

CREATE OR REPLACE FUNCTION lot_increment(increments jsonb, price bigint) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN COALESCE(
        (SELECT (band ->> 'step')::bigint
         FROM jsonb_array_elements(increments) WITH ORDINALITY AS t(band, position)
         WHERE band ->> 'below' IS NULL OR price < (band ->> 'below')::bigint
         ORDER BY position LIMIT 1),
        (increments -> -1 ->> 'step')::bigint,
        1);
END
$$;

CREATE OR REPLACE FUNCTION case_effective_status(case_id uuid, status text) RETURNS text
LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF status = 'open'
       AND EXISTS (SELECT 1 FROM vehicles v WHERE v.case_id = case_effective_status.case_id)
       AND NOT EXISTS (SELECT 1 FROM vehicles v WHERE v.case_id = case_effective_status.case_id AND v.status = 'in-stock') THEN
        RETURN 'ready';
    END IF;
    RETURN status;
END
$$;
