"""How dumps are cut into statements before they are replayed (no server needed)."""

from __future__ import annotations

from restoregate.engines.mysql.restore import statements as mysql_statements
from restoregate.engines.sqlite.restore import statements as sqlite_statements

MYSQL_DUMP = r"""/*M!999999\- enable the sandbox mode */
-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB
--
/*!40101 SET NAMES utf8mb4 */;
CREATE TABLE `t` (
  `id` int NOT NULL,
  `note` text
);
INSERT INTO `t` VALUES (1,'a;b'),(2,'it\'s; fine'),(3,"x -- y;");
DELIMITER ;;
CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET NEW.id = NEW.id + 1; END ;;
DELIMITER ;
-- Dump completed
"""


def test_mysql_dumps_split_at_the_delimiter_outside_quotes():
    found = list(mysql_statements(MYSQL_DUMP))
    assert len(found) == 4
    assert found[0].endswith("/*!40101 SET NAMES utf8mb4 */")
    assert found[1].startswith("CREATE TABLE `t`") and found[1].endswith(")")
    assert found[2] == r"""INSERT INTO `t` VALUES (1,'a;b'),(2,'it\'s; fine'),(3,"x -- y;")"""
    assert found[3].startswith("CREATE TRIGGER") and found[3].endswith("END")


def test_comment_only_text_is_not_a_statement():
    assert list(mysql_statements("-- nothing\n/* a comment */;\n\n")) == []


def test_sqlite_scripts_split_where_sqlite_says_a_statement_ends():
    script = (
        "PRAGMA foreign_keys=OFF;\nBEGIN TRANSACTION;\n"
        "CREATE TABLE t (a TEXT);\nINSERT INTO t VALUES('x;\ny');\n"
        "CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n  INSERT INTO t VALUES ('z');\nEND;\n"
        "COMMIT;\n"
    )
    found = list(sqlite_statements(script))
    assert [s.split()[0].rstrip(";") for s in found] == [
        "PRAGMA",
        "BEGIN",
        "CREATE",
        "INSERT",
        "CREATE",
        "COMMIT",
    ]
    assert found[3] == "INSERT INTO t VALUES('x;\ny');"
