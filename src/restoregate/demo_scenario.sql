-- The app before the incident: 200 accounts, each keeping a private journal.
CREATE TABLE accounts (
    id         serial PRIMARY KEY,
    email      text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);
-- Journals point at accounts, but no foreign key says so (as at the real service).
CREATE TABLE journals (
    id      bigserial PRIMARY KEY,
    user_id integer NOT NULL,
    title   text NOT NULL,
    body    text NOT NULL
);
INSERT INTO accounts (email)
SELECT format('user%s@example.com', g) FROM generate_series(1, 200) AS g;
INSERT INTO journals (user_id, title, body)
SELECT a.id, format('Day %s', d), 'private thoughts'
FROM accounts AS a CROSS JOIN generate_series(1, 3) AS d;
