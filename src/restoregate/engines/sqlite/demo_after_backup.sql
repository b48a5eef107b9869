-- After the nightly backup: 106 more people sign up and start writing.
WITH RECURSIVE g(n) AS (SELECT 201 UNION ALL SELECT n + 1 FROM g WHERE n < 306)
INSERT INTO accounts (email) SELECT 'user' || n || '@example.com' FROM g;
INSERT INTO journals (user_id, title, body)
SELECT a.id, 'My first entry', 'nobody else should read this' FROM accounts AS a WHERE a.id > 200;
