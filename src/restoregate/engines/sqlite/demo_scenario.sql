-- The app before the incident: 200 accounts, each keeping a private journal.
CREATE TABLE accounts (
    id         INTEGER PRIMARY KEY,
    email      TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
-- Journals point at accounts, but no foreign key says so (as at the real service).
CREATE TABLE journals (
    id      INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL,
    title   TEXT NOT NULL,
    body    TEXT NOT NULL
);
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 200)
INSERT INTO accounts (email) SELECT 'user' || n || '@example.com' FROM g;
WITH RECURSIVE d(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM d WHERE n < 3)
INSERT INTO journals (user_id, title, body)
SELECT a.id, 'Day ' || d.n, 'private thoughts' FROM accounts AS a CROSS JOIN d;
