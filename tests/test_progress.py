"""Progress: a bar with targets done/total, the table being read and an ETA on a
terminal; nothing at all on a stderr that is not one."""

from __future__ import annotations

import io

from click.testing import CliRunner
from rich.console import Console

from restoregate.cli import cli
from restoregate.report.progress import TerminalProgress
from tests.gate import gate

APP = "".join(  # rows in every table: empty ones are answered without a probe
    f"CREATE TABLE parent_{i} (id serial PRIMARY KEY); INSERT INTO parent_{i} DEFAULT VALUES;"
    f"CREATE TABLE child_{i} (id serial PRIMARY KEY, parent_id int REFERENCES parent_{i});"
    f"INSERT INTO child_{i} (parent_id) VALUES (1);"
    for i in range(3)
)


def test_a_terminal_sees_targets_done_of_total_and_the_table_being_read(db):
    db.execute(APP)
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=200)
    seen: list[tuple[float, float | None, str]] = []
    with TerminalProgress(console) as progress:
        original = progress.target

        def target(what: str, count: int = 1) -> None:
            original(what, count)
            task = progress._progress.tasks[0]
            seen.append((task.completed, task.total, task.fields["current"]))
            console.print(progress._progress.get_renderable())  # what the bar shows now

        progress.target = target  # type: ignore[method-assign]
        report = gate(db.dsn, progress=progress)
    assert report.exit_code == 0
    # 6 sequence-fed columns + 1 read of positions + 3 references, done by few probes
    assert seen[-1][:2] == (10, 10), seen
    assert any("public.child_0" in s[2] for s in seen), f"the table being read is named: {seen}"
    shown = screen.getvalue()
    assert "10/10" in shown and "targets" in shown and "eta" in shown


def test_nothing_is_drawn_on_a_stderr_that_is_not_a_terminal(db):
    db.execute(APP)
    result = CliRunner().invoke(cli, ["check", "--dsn", db.dsn], catch_exceptions=False)
    assert result.exit_code == 0
    assert result.stderr == ""
