#!/usr/bin/env bash
# Makes sure the PostgreSQL server binaries (initdb, pg_ctl, postgres) exist; installs Debian's postgresql
# package when they do not. carry runs its own private cluster with them when DATABASE_URL is unset.
# With --always the binaries are needed even when DATABASE_URL is set (make test and make bench run a
# throwaway cluster of their own).
set -euo pipefail

always=""
[ "${1:-}" = "--always" ] && always=1

have_pg() {
  command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1 && return 0
  compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" >/dev/null 2>&1
}

if have_pg || { [ -n "${DATABASE_URL:-}" ] && [ -z "$always" ]; }; then
  exit 0
fi

echo "PostgreSQL binaries not found; installing the postgresql package with apt-get" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "error: not root and no sudo: install PostgreSQL (apt-get install postgresql) or set DATABASE_URL" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends postgresql >/dev/null
# Debian starts a system cluster on install; carry does not use it.
if command -v pg_ctlcluster >/dev/null 2>&1; then
  for v in /etc/postgresql/*/main; do
    [ -d "$v" ] && $SUDO pg_ctlcluster "$(basename "$(dirname "$v")")" main stop >/dev/null 2>&1 || true
  done
fi
have_pg || { echo "error: PostgreSQL still not found after installing" >&2; exit 1; }
