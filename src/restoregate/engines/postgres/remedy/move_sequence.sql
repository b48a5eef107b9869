DO $restoregate$
DECLARE
    -- set by the SELECT set_config(...) just before: names arrive as values, never as SQL
    seq_schema text := pg_catalog.current_setting('restoregate.sequence_schema');
    seq_name text := pg_catalog.current_setting('restoregate.sequence_name');
    largest numeric := NULLIF(pg_catalog.current_setting('restoregate.largest_key'), '')::numeric;
    headroom text := pg_catalog.current_setting('restoregate.headroom');
    usable numeric := pg_catalog.current_setting('restoregate.limit')::numeric;
    seq_oid oid;
    step bigint;
    first bigint;
    cycles boolean;
    last_value numeric;
    called boolean;
    upcoming numeric;
    room numeric;
    target numeric;
    owner_table text;
    owner_schema text;
    owner_column text;
BEGIN
    SELECT s.seqrelid, s.seqincrement, CASE WHEN s.seqincrement > 0 THEN s.seqmin ELSE s.seqmax END,
           s.seqcycle
      INTO seq_oid, step, first, cycles
      FROM pg_catalog.pg_sequence AS s
      JOIN pg_catalog.pg_class AS c ON c.oid = s.seqrelid
      JOIN pg_catalog.pg_namespace AS n ON n.oid = c.relnamespace
     WHERE n.nspname = seq_schema AND c.relname = seq_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'restoregate: sequence %.% does not exist',
            pg_catalog.quote_ident(seq_schema), pg_catalog.quote_ident(seq_name);
    END IF;
    IF largest IS NULL THEN
        RAISE NOTICE 'restoregate: %.%: no keys yet, nothing to move',
            pg_catalog.quote_ident(seq_schema), pg_catalog.quote_ident(seq_name);
        RETURN;
    END IF;
    largest := CASE WHEN step > 0 THEN pg_catalog.ceil(largest) ELSE pg_catalog.floor(largest) END;
    -- a change to nothing, for its lock: nextval() elsewhere waits from here to the end
    EXECUTE pg_catalog.format('ALTER SEQUENCE %I.%I INCREMENT BY %s', seq_schema, seq_name, step);
    EXECUTE pg_catalog.format('SELECT last_value, is_called FROM %I.%I', seq_schema, seq_name)
       INTO last_value, called;
    upcoming := CASE WHEN called THEN last_value + step ELSE last_value END;
    IF cycles AND (upcoming - usable) * pg_catalog.sign(step) > 0 THEN
        upcoming := first;  -- it wraps around
    END IF;
    IF (upcoming - largest) * pg_catalog.sign(step) > 0 THEN
        RAISE NOTICE 'restoregate: %.% already hands out % next, beyond %: left as it is',
            pg_catalog.quote_ident(seq_schema), pg_catalog.quote_ident(seq_name), upcoming, largest;
        RETURN;
    END IF;
    IF pg_catalog.right(headroom, 1) = '%' THEN
        room := pg_catalog.ceil(pg_catalog.abs(largest - first)
                * pg_catalog.rtrim(headroom, '%')::numeric / 100);
    ELSE
        room := headroom::numeric;
    END IF;
    target := largest + pg_catalog.sign(step) * (1 + room);
    IF (target - usable) * pg_catalog.sign(step) > 0 THEN
        target := usable;  -- the headroom shrinks to what the column can hold
    END IF;
    IF (target - largest) * pg_catalog.sign(step) <= 0 THEN
        RAISE EXCEPTION 'restoregate: %.% cannot move beyond %: no value is left before %',
            pg_catalog.quote_ident(seq_schema), pg_catalog.quote_ident(seq_name), largest, usable
            USING HINT = 'widen the column and the sequence (for example to bigint), then plan again';
    END IF;
    SELECT t.relname, tn.nspname, a.attname INTO owner_table, owner_schema, owner_column
      FROM pg_catalog.pg_depend AS d
      JOIN pg_catalog.pg_class AS t ON t.oid = d.refobjid
      JOIN pg_catalog.pg_namespace AS tn ON tn.oid = t.relnamespace
      JOIN pg_catalog.pg_attribute AS a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
     WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = seq_oid
       AND d.deptype = 'i';
    IF FOUND THEN  -- an identity column: its own statement, as transactional as the other
        EXECUTE pg_catalog.format('ALTER TABLE %I.%I ALTER COLUMN %I RESTART WITH %s',
            owner_schema, owner_table, owner_column, target);
    ELSE
        EXECUTE pg_catalog.format('ALTER SEQUENCE %I.%I RESTART WITH %s', seq_schema, seq_name, target);
    END IF;
    RAISE NOTICE 'restoregate: %.% moved from % to % (largest key %)',
        pg_catalog.quote_ident(seq_schema), pg_catalog.quote_ident(seq_name), upcoming, target, largest;
END
$restoregate$;
