#!/usr/bin/env bash
# Shard: build the container image with podman and smoke-test it (issue 6; a step of tests/run-all.sh).
#
#   tests/container-smoke.sh
#
# Works on a machine without a Docker engine and without access to any image registry: nothing is
# pulled. Steps, each bounded by a timeout:
#   1. podman + runc from Debian (apt-get install, as root) if missing
#   2. a static release binary on the host: RUSTFLAGS="-C target-feature=+crt-static"
#      cargo build --release -p shard-broker --target <host triple>, without debug info and symbols
#   3. podman build --format docker -f docker/Dockerfile.prebuilt (FROM scratch; the runtime stage must be
#      identical to docker/Dockerfile's); prints the image size and fails above SHARD_IMAGE_MAX_MB (30)
#   4. a named volume; podman --runtime runc run -d --network host with the ulimits this machine needs,
#      SHARD_LISTENERS / SHARD_ADVERTISED_LISTENERS = 127.0.0.1:<free port>; waits until the image's
#      HEALTHCHECK (shard-broker health) passes; checks the broker runs as uid 65532 and wrote the volume
#   5. mvn test -Pcontainer, phase "before" (tests/java ContainerSmokeTest: produce 1000, share-accept 600)
#   6. podman stop (SIGTERM, must exit 0) + podman start on the same volume, health again
#   7. mvn test -Pcontainer, phase "after" (all 1000 records there, the share group gets only the other 400)
# The container, the volume and the image are removed on exit, failure included. Container logs and
# Surefire reports are kept in target/container-smoke/.
#
# Environment knobs (all optional):
#   CARGO_TARGET_DIR                 honoured; the binary is $CARGO_TARGET_DIR/<triple>/release/shard-broker
#   SHARD_IMAGE_MAX_MB=30            fail when the image is larger
#   SHARD_PODMAN_STORAGE_DRIVER=vfs  use vfs in a private storage root under the work dir instead of podman's
#                                    default (overlay in /var/lib/containers); chosen automatically when
#                                    a probe build fails with the default
#   SHARD_SMOKE_IMAGE=IMAGE          test this existing image (e.g. one built from docker/Dockerfile) instead of
#                                    building one (steps 2-3 skipped; the image is not removed)
#   MVN_ARGS                         extra arguments for mvn
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

MAX_MB="${SHARD_IMAGE_MAX_MB:-30}"
OUT_DIR="$ROOT/target/container-smoke"
TAG="smoke-$$-$(date +%s)"
IMAGE="${SHARD_SMOKE_IMAGE:-localhost/shard-broker:$TAG}"
NAME="shard-$TAG"
VOLUME="shard-$TAG"
WORK="$(mktemp -d /tmp/shard-container-smoke.XXXXXX)"
PODMAN_GLOBAL=(--runtime runc)
CONTAINER_CREATED=0

log() { printf '[container-smoke %(%T)T] %s\n' -1 "$*"; }
die() { log "FAILED: $*" >&2; exit 1; }

# pm ARGS...: podman with this script's global options, bounded (most podman calls take < 1 s).
pm() { timeout --kill-after=10 120 podman "${PODMAN_GLOBAL[@]}" "$@"; }
# pm_quiet ARGS...: pm without podman's complaint that it cannot set up healthcheck timers through
# systemd (there is no systemd here; the script runs the healthcheck itself).
pm_quiet() { pm "$@" 2> >(grep -v 'unable to get systemd connection' >&2); }

cleanup() {
    local rc=$?
    set +e
    if [[ $CONTAINER_CREATED == 1 ]]; then
        pm logs "$NAME" > "$OUT_DIR/container.log" 2>&1
        if [[ $rc -ne 0 ]]; then
            log "last container log lines (all in $OUT_DIR/container.log):"
            sed 's/\x1b\[[0-9;]*m//g' "$OUT_DIR/container.log" | tail -30
        fi
        pm rm -f -v -t 5 "$NAME" >/dev/null 2>&1
    fi
    pm volume rm -f "$VOLUME" >/dev/null 2>&1
    [[ -n "${SHARD_SMOKE_IMAGE:-}" ]] || pm rmi -f "$IMAGE" >/dev/null 2>&1
    rm -rf "$WORK"
    log "removed the container, the volume$([[ -n "${SHARD_SMOKE_IMAGE:-}" ]] || echo " and the image") (exit $rc)"
    exit "$rc"
}

# --- 1. podman + runc ----------------------------------------------------------------------------
install_podman() {
    if command -v podman >/dev/null && command -v runc >/dev/null; then
        return 0
    fi
    if [[ $(id -u) -ne 0 ]]; then
        echo "container-smoke: podman and runc are needed (apt-get install podman runc) and this is not root;" \
             "install them or run as root" >&2
        exit 2
    fi
    command -v apt-get >/dev/null || { echo "container-smoke: podman/runc missing and no apt-get" >&2; exit 2; }
    log "installing podman and runc (apt-get)"
    local t0=$SECONDS
    export DEBIAN_FRONTEND=noninteractive
    timeout 300 apt-get update -qq
    timeout 600 apt-get install -y -qq -o Dpkg::Use-Pty=0 podman runc >/dev/null
    log "apt-get install podman runc: $((SECONDS - t0)) s"
}

install_podman
log "$(podman --version), $(runc --version | head -1)"

mkdir -p "$OUT_DIR"
rm -f "$OUT_DIR"/*.log
rm -rf "$OUT_DIR"/surefire-*

# Storage: podman's default (overlay in /var/lib/containers on the CI machines), or vfs in a private
# root when the default does not work (e.g. overlay on an overlay root file system): the probe builds
# and removes a one-file FROM scratch image.
probe_storage() {
    mkdir -p "$WORK/probe"
    echo probe > "$WORK/probe/f"
    printf 'FROM scratch\nCOPY f /f\n' > "$WORK/probe/Dockerfile"
    timeout 120 podman "${PODMAN_GLOBAL[@]}" build -q --layers=false -t "localhost/shard-probe:$TAG" "$WORK/probe" \
        && timeout 60 podman "${PODMAN_GLOBAL[@]}" rmi "localhost/shard-probe:$TAG"
}
if [[ "${SHARD_PODMAN_STORAGE_DRIVER:-}" != vfs ]] && ! probe_storage >/dev/null 2>"$WORK/probe.err"; then
    log "podman's default storage does not work here ($(tail -c 300 "$WORK/probe.err")); using vfs"
    SHARD_PODMAN_STORAGE_DRIVER=vfs
fi
if [[ "${SHARD_PODMAN_STORAGE_DRIVER:-}" == vfs ]]; then
    PODMAN_GLOBAL+=(--storage-driver vfs --root "$WORK/storage" --runroot "$WORK/run")
fi
log "podman storage driver: $(pm info --format '{{.Store.GraphDriverName}}')"
trap cleanup EXIT

runtime_stage() { sed -n '/^# ---- runtime stage/,$p' "$1" | tail -n +2; }
if ! diff <(runtime_stage docker/Dockerfile) <(runtime_stage docker/Dockerfile.prebuilt); then
    die "the runtime stages of docker/Dockerfile and docker/Dockerfile.prebuilt differ (diff above)"
fi

# --- 2-3. static binary and image (skipped with SHARD_SMOKE_IMAGE) ------------------------------
build_image() {
    TRIPLE="$(rustc -vV | sed -n 's/^host: //p')"
    BIN="${CARGO_TARGET_DIR:-$ROOT/target}/$TRIPLE/release/shard-broker"
    log "building the static binary ($TRIPLE)"
    t0=$SECONDS
    RUSTFLAGS="-C target-feature=+crt-static" CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_STRIP=symbols \
        timeout 1500 cargo build --release -p shard-broker --target "$TRIPLE"
    log "cargo build: $((SECONDS - t0)) s; $BIN: $(stat -c %s "$BIN") bytes"
    if readelf -lW "$BIN" | grep -q 'program interpreter'; then
        die "$BIN is dynamically linked (it needs a program interpreter); the image is FROM scratch"
    fi
    "$BIN" --version >/dev/null

    # --- 3. image -----------------------------------------------------------------------------------
    CONTEXT="$WORK/context"
    mkdir -p "$CONTEXT/out/data"
    cp "$BIN" docker/passwd docker/group docker/broker.toml "$CONTEXT/out/"
    log "podman build -f docker/Dockerfile.prebuilt -t $IMAGE"
    t0=$SECONDS
    # --layers=false: no intermediate images are left behind (the builder stage's included).
    timeout 300 podman "${PODMAN_GLOBAL[@]}" build --format docker --layers=false -q \
        --build-arg "REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
        --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
        -f docker/Dockerfile.prebuilt -t "$IMAGE" "$CONTEXT" >/dev/null
    log "podman build: $((SECONDS - t0)) s"
}

if [[ -n "${SHARD_SMOKE_IMAGE:-}" ]]; then
    log "testing the existing image $IMAGE (SHARD_SMOKE_IMAGE)"
else
    build_image
fi
SIZE=$(pm image inspect --format '{{.Size}}' "$IMAGE")
SIZE_MB=$(awk -v s="$SIZE" 'BEGIN { printf "%.1f", s / 1000000 }')
log "image size: $SIZE_MB MB ($SIZE bytes), target < $MAX_MB MB"
[[ $SIZE -lt $((MAX_MB * 1000000)) ]] || die "image is $SIZE_MB MB, over the $MAX_MB MB target"
# (no --format: podman 4.3's templates cannot reach the image's Healthcheck)
HC="$(pm image inspect "$IMAGE" | tr -d ' \n' | grep -o '"Healthcheck":{"Test":\[[^]]*\]' | head -1 || true)"
[[ "$HC" == *'"/usr/local/bin/shard-broker","health"'* ]] || die "the image has no HEALTHCHECK running 'shard-broker health': $HC"
log "image HEALTHCHECK: ${HC#*:}"

# --- 4. run --------------------------------------------------------------------------------------
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BOOTSTRAP="127.0.0.1:$PORT"
pm volume create "$VOLUME" >/dev/null

# wait_healthy SECONDS: runs the image's HEALTHCHECK (podman healthcheck run) until it passes.
wait_healthy() {
    local limit=$1 t0=$SECONDS
    while :; do
        if [[ "$(pm inspect --format '{{.State.Running}}' "$NAME")" != true ]]; then
            die "the container is not running"
        fi
        if timeout 15 podman "${PODMAN_GLOBAL[@]}" healthcheck run "$NAME" >/dev/null 2>&1; then
            log "healthy after $((SECONDS - t0)) s"
            return 0
        fi
        if (( SECONDS - t0 >= limit )); then
            die "not healthy within $limit s"
        fi
        sleep 0.5
    done
}

# The image's HEALTHCHECK is run by the script (podman healthcheck run): podman 4.3 runs it
# periodically only through systemd timers, and there is no systemd here.
log "podman run $IMAGE, host network, volume $VOLUME, SHARD_LISTENERS=$BOOTSTRAP"
CONTAINER_CREATED=1
pm_quiet run -d --name "$NAME" --network host \
    --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
    -v "$VOLUME:/var/lib/shard" \
    -e "SHARD_LISTENERS=$BOOTSTRAP" -e "SHARD_ADVERTISED_LISTENERS=$BOOTSTRAP" \
    "$IMAGE" >/dev/null
wait_healthy 60

# The health command must also say no (exit 1): nothing listens on port 1.
rc=0
pm exec "$NAME" /usr/local/bin/shard-broker health --address 127.0.0.1:1 --timeout-ms 2000 >/dev/null 2>&1 || rc=$?
[[ $rc == 1 ]] || die "'shard-broker health --address 127.0.0.1:1' exited $rc with nothing listening there, expected 1"

# Non-root: the broker runs as 65532 and writes its volume (a new named volume takes the image
# directory's owner).
USER_IN="$(pm top "$NAME" huser user | awk 'NR == 2 { print $1 " " $2 }')"
[[ "$USER_IN" == "65532 shard" ]] || die "broker process user is '$USER_IN', expected '65532 shard'"
MOUNT="$(pm volume inspect --format '{{.Mountpoint}}' "$VOLUME")"
[[ -f "$MOUNT/meta.json" ]] || die "no meta.json in the volume ($MOUNT): $(ls -la "$MOUNT")"
OWNERS="$(find "$MOUNT" -printf '%u:%g\n' | sort -u | tr '\n' ' ')"
[[ "$OWNERS" == "65532:65532 " ]] || die "files in the volume are owned by $OWNERS, expected 65532:65532 only"
log "broker runs as uid 65532 (shard); the volume holds $(find "$MOUNT" -type f | wc -l) files, all owned by 65532:65532"

# --- 5-7. Java smoke test, restart, verify ------------------------------------------------------
mvn_phase() {
    local phase=$1 rc=0 extra=()
    shift
    read -r -a extra <<< "${MVN_ARGS:-}"
    (cd "$ROOT/tests/java" && timeout 600 mvn -B -ntp -Dstyle.color=never "$@" test -Pcontainer \
        "-Dshard.container.bootstrap=$BOOTSTRAP" "-Dshard.container.phase=$phase" \
        "-Dshard.container.state=$WORK/state.txt" "${extra[@]}") || rc=$?
    mkdir -p "$OUT_DIR/surefire-$phase"
    cp -r "$ROOT/tests/java/target/surefire-reports/." "$OUT_DIR/surefire-$phase/" 2>/dev/null || true
    [[ $rc -eq 0 ]] || die "mvn test -Pcontainer, phase $phase (exit $rc)"
}

log "Java smoke test, phase before"
mvn_phase before clean

log "podman stop (SIGTERM) + podman start"
t0=$SECONDS
pm_quiet stop -t 30 "$NAME" >/dev/null
EXIT_CODE="$(pm inspect --format '{{.State.ExitCode}}' "$NAME")"
[[ "$EXIT_CODE" == 0 ]] || die "the broker exited with $EXIT_CODE on SIGTERM, expected 0"
pm_quiet start "$NAME" >/dev/null
wait_healthy 60
log "restart: $((SECONDS - t0)) s"

log "Java smoke test, phase after"
mvn_phase after
log "OK: image $SIZE_MB MB, data and share state survived the restart"
