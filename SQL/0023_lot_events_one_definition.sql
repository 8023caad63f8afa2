-- record_lot_events (SQL/0018) and record_lot_events_to_announce (SQL/0022) wrote the
-- same rows with the same SQL; the first now takes the second's rows and payloads and
-- sends them itself, inside its caller's transaction as before. One definition of a
-- lot's event remains for batches.
CREATE OR REPLACE FUNCTION record_lot_events(p_lots uuid[], p_kind text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- Payloads are JSON on one line each (json_build_object escapes any newline).
    PERFORM pg_notify('lot_events', payload)
    FROM unnest(string_to_array(record_lot_events_to_announce(p_lots, p_kind), E'\n')) AS payload;
END
$$;
