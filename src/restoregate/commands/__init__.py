"""One module per command, each thin over ``restoregate.api``; ``restoregate.cli`` groups them.

:mod:`.shared` holds what several commands use: the group that turns every failure into
one line and the contract's exit code, ``--output``'s failure report, ``--jobs``, and
writing a report where it was asked for. Modules here import only click and light
modules at the top: ``restoregate --help`` loads every one of them.
"""
