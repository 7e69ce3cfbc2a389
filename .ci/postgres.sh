# Sourced by .ci/run: a PostgreSQL server on 127.0.0.1 for flux-postgres's
# tests and its bench, and FLUX_POSTGRES_URL pointing at it. CI starts from
# a fresh Debian clone where nothing is installed or running, so this
# installs Debian's `postgresql` package if its server is missing, starts
# its cluster and makes a role and a database with a password (the tests
# connect over TCP, as an application would). Every step checks first, so
# running it again (or on a machine where PostgreSQL already runs) is
# harmless.

flux_postgres_setup() {
  # The server binaries, not only the client: Debian puts them under
  # /usr/lib/postgresql/VERSION/bin, off the PATH.
  if ! command -v pg_ctlcluster >/dev/null 2>&1 || ! compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null; then
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql
  fi
  local version
  version=$(find /usr/lib/postgresql -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1)
  # Debian's package creates the cluster `main`; a machine where it was
  # dropped gets it back.
  if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" { found = 1 } END { exit !found }'; then
    pg_createcluster "$version" main
  fi
  local port
  port=$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" { print $3 }')
  # Exit status 2 means already running: fine. A container has no systemd,
  # so pg_ctlcluster starts the server itself.
  pg_ctlcluster "$version" main start || [ $? -eq 2 ]
  local tries=0
  until pg_isready -q -h 127.0.0.1 -p "$port"; do
    tries=$((tries + 1))
    if [ "$tries" -ge 30 ]; then
      echo "PostgreSQL $version did not start on 127.0.0.1:$port" >&2
      return 1
    fi
    sleep 1
  done
  # Debian's pg_hba.conf asks TCP clients on 127.0.0.1 for a password
  # (scram-sha-256): the role gets one. The tests end a session of their own
  # with pg_terminate_backend, which a role may do to its own sessions.
  runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -p "$port" <<'SQL'
DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'flux') THEN
    CREATE ROLE flux LOGIN PASSWORD 'flux';
  END IF;
END
$$;
SELECT 'CREATE DATABASE flux OWNER flux' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'flux')
\gexec
SQL
  export FLUX_POSTGRES_URL="postgresql://flux:flux@127.0.0.1:$port/flux"
}

flux_postgres_setup
