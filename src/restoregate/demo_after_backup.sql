-- After the nightly backup: 106 more people sign up and start writing.
INSERT INTO accounts (email)
SELECT format('user%s@example.com', g) FROM generate_series(201, 306) AS g;
INSERT INTO journals (user_id, title, body)
SELECT a.id, 'My first entry', 'nobody else should read this'
FROM accounts AS a WHERE a.id > 200;
