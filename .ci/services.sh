# Sourced by .ci/run: installs and starts what the tests need beyond Node (a Docker engine, a throwaway
# PostgreSQL cluster, Chromium) and stops what it started when the run ends. A clean machine has none of it.
# Each start_* exports the variables the tests read (see tests/support/services.ts).

apt_ready=0
apt_install() {
  # apt_install PACKAGE...: install Debian packages that are missing (needs root, as CI runs).
  if [ "$apt_ready" = 0 ]; then
    log "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    apt_ready=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

started_dockerd=""
start_docker() {
  command -v dockerd >/dev/null 2>&1 || apt_install docker.io
  if ! docker info >/dev/null 2>&1; then
    log "starting dockerd"
    mkdir -p "$root/.cache"
    dockerd >"$root/.cache/dockerd.log" 2>&1 &
    started_dockerd=$!
    for _ in $(seq 1 60); do
      docker info >/dev/null 2>&1 && break
      sleep 0.5
    done
    docker info >/dev/null 2>&1 || {
      tail -n 20 "$root/.cache/dockerd.log"
      echo "dockerd did not start" >&2
      return 1
    }
  fi
  log "docker engine $(docker version --format '{{.Server.Version}}')"
  export MCPCP_TEST_DOCKER=required
}

build_docker_images() {
  # The docker runner's test images are built from this machine's files (nothing can be pulled): Debian's static
  # busybox, and the host's python3, curl and wget. The tests build them too (idempotent, cached by an input hash);
  # building here first makes a missing package fail CI with a clear line instead of a test timeout.
  local need=()
  # Static: the image has no libc. (Debian's plain busybox package is dynamic; busybox-static replaces it.)
  { [ -x /bin/busybox ] && ! ldd /bin/busybox >/dev/null 2>&1; } || need+=(busybox-static)
  [ -x /usr/bin/python3 ] || need+=(python3)
  [ -x /usr/bin/curl ] || need+=(curl)
  [ -x /usr/bin/wget ] || need+=(wget)
  [ ${#need[@]} -eq 0 ] || apt_install "${need[@]}"
  log "building the docker test images"
  "$root/tests/fixtures/docker/build-images.sh"
}

pg_dir=""
pg_bin=""
start_postgres() {
  [ -n "$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null)" ] || apt_install postgresql
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  pg_dir=$(mktemp -d /tmp/mcpcp-pg.XXXXXX)
  chown postgres "$pg_dir" 2>/dev/null || true
  local port
  port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  local as=()
  [ "$(id -u)" = 0 ] && as=(runuser -u postgres --)
  log "starting a throwaway PostgreSQL ($(basename "$(dirname "$pg_bin")")) on port $port"
  "${as[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U mcpcp --auth=trust -E UTF8 >/dev/null
  "${as[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w \
    -o "-p $port -k $pg_dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
  export MCPCP_TEST_POSTGRES_URL="postgres://mcpcp@127.0.0.1:$port/postgres"
}

start_chromium() {
  command -v chromium >/dev/null 2>&1 || apt_install chromium
  export MCPCP_TEST_CHROMIUM
  MCPCP_TEST_CHROMIUM=$(command -v chromium)
  log "$("$MCPCP_TEST_CHROMIUM" --version 2>/dev/null)"
}

find_conformance_reference() {
  # The official suite's reference server is not on npm; it sits beside the project, unchanged.
  local dir
  for dir in "$root/../shared/conformance-reference" "$root/../../shared/conformance-reference" \
    /work/shared/conformance-reference; do
    if [ -f "$dir/everything-server.ts" ]; then
      export MCPCP_CONFORMANCE_REFERENCE
      MCPCP_CONFORMANCE_REFERENCE=$(cd "$dir" && pwd)
      log "conformance reference server: $MCPCP_CONFORMANCE_REFERENCE"
      return 0
    fi
  done
  echo "the conformance reference server (shared/conformance-reference) was not found" >&2
  return 1
}

stop_services() {
  if [ -n "$pg_dir" ]; then
    local as=()
    [ "$(id -u)" = 0 ] && as=(runuser -u postgres --)
    "${as[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$pg_dir"
  fi
  if [ -n "$started_dockerd" ]; then
    kill "$started_dockerd" 2>/dev/null || true
    wait "$started_dockerd" 2>/dev/null || true
  fi
}
