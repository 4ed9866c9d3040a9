#!/usr/bin/env bash
# What the service tests (python/tests/services, scripts/services) need from
# Debian beyond the Python environment (scripts/python-env.sh brings
# psycopg2-binary, boto3 and moto's server): the PostgreSQL 15 server
# binaries in /usr/lib/postgresql/15/bin with the postgres user, curl, and
# setpriv (util-linux). Installed only when missing, without Debian's own
# cluster "main" (the tests start throwaway clusters).
#
# Usage: bash scripts/services-env.sh      (from any directory; as root, or
#        with sudo available, for apt-get)
# Environment: PG_BIN (default /usr/lib/postgresql/15/bin).
set -euo pipefail

pg_bin="${PG_BIN:-/usr/lib/postgresql/15/bin}"

packages=()
if [ ! -x "$pg_bin/postgres" ] || [ ! -x "$pg_bin/initdb" ] || ! id postgres >/dev/null 2>&1; then
    packages+=(postgresql-15)
fi
command -v curl >/dev/null 2>&1 || packages+=(curl)
command -v setpriv >/dev/null 2>&1 || packages+=(util-linux)

if [ "${#packages[@]}" -gt 0 ]; then
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        sudo=(sudo)
    fi
    # A first install of postgresql-common would otherwise make (and try to
    # start) a cluster "main" on port 5432 that nothing here uses.
    if [ ! -e /etc/postgresql-common/createcluster.conf ]; then
        "${sudo[@]}" mkdir -p /etc/postgresql-common
        echo "create_main_cluster = false" | "${sudo[@]}" tee /etc/postgresql-common/createcluster.conf >/dev/null
    fi
    echo "==> installing ${packages[*]} (Debian packages)"
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
        "${packages[@]}" >/dev/null
fi
echo "services ready: PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}'), curl, setpriv"
