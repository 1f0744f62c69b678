#!/usr/bin/env bash
# The real container engine and registries the engine tests run against.
#
#   scripts/test-engine.sh start [--with-buildah] [--with-arm64]
#   scripts/test-engine.sh stop | status | env
#
# start   installs what is missing (Debian 12, root), then starts, unless already up:
#           - dockerd on unix:///var/run/docker.sock, with no bridge and no iptables,
#           - an OCI registry on 127.0.0.1:5000 (no auth),
#           - a second registry on 127.0.0.1:5001 with htpasswd basic auth
#             (user layerplan, password layerplan-secret),
#           - the base image 127.0.0.1:5000/python:3.11-bookworm (debootstrap, cached),
#           - the builder image 127.0.0.1:5000/python:3.11-bookworm-build (the base + gcc,
#             libc6-dev, python3.11-dev from Debian's mirror; cached in the registry),
#           - with --with-arm64: qemu-user-static binfmt (to *run* arm64 images), the arm64
#             base 127.0.0.1:5000/python:3.11-bookworm-arm64 (debootstrap --arch=arm64 under
#             emulation, about 3 minutes once, cached) and the two-platform index
#             127.0.0.1:5000/python:3.11-bookworm-multi naming it and the amd64 base.
#         Idempotent: a second start only checks that everything is up.
# stop    stops what start started (data and caches are kept).
# status  says what is up; exit 0 only when everything is.
# env     prints the export line the tests read (eval "$(scripts/test-engine.sh env)").
#
# Network safety: every server listens on loopback only, dockerd gets no bridge
# (containers run with --network none or host), nothing here talks to anything but
# loopback and Debian's package mirror.
set -euo pipefail

REGISTRY=127.0.0.1:5000
AUTH_REGISTRY=127.0.0.1:5001
AUTH_USER=layerplan
AUTH_PASSWORD=layerplan-secret
BASE_REPO=python
BASE_TAG=3.11-bookworm
BASE="$REGISTRY/$BASE_REPO:$BASE_TAG"
# The base plus a C compiler and Python's headers: the `builder` image that compiles locked
# sdists (like the official -bookworm images beside the -slim ones).
BUILDER_TAG=$BASE_TAG-build
BUILDER="$REGISTRY/$BASE_REPO:$BUILDER_TAG"
DOCKER_SOCK=/var/run/docker.sock
export DOCKER_HOST="unix://$DOCKER_SOCK"

STATE=/run/layerplan-test          # pid files (gone after a reboot, like the processes)
CONF=/etc/layerplan-test           # registry configs and htpasswd
CACHE=/var/cache/layerplan-test    # the base image's rootfs tarball
REGISTRY_DATA=/var/lib/layerplan-test-registry
AUTH_REGISTRY_DATA=/var/lib/layerplan-test-registry-auth
DOCKERD_LOG=/var/log/layerplan-dockerd.log
ROOTFS_TAR="$CACHE/bookworm-minbase-python3-amd64.tar"
ARM64_ROOTFS_TAR="$CACHE/bookworm-minbase-python3-arm64.tar"
ARM64_TAG=$BASE_TAG-arm64
MULTI_TAG=$BASE_TAG-multi
DEBIAN_MIRROR=${LAYERPLAN_DEBIAN_MIRROR:-http://deb.debian.org/debian}

log() { printf '[test-engine] %s\n' "$*" >&2; }
die() { printf '[test-engine] error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- install

APT_UPDATED=0
apt_install() {  # apt_install PKG... -- installs only the packages that are missing
  local missing=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || die "apt-get not found: install ${missing[*]} by hand (Debian 12 expected)"
  # Package scripts must not start their services (docker.io and docker-registry
  # would start a daemon with the default bridge and a registry on 0.0.0.0:5000).
  local made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    made_policy=1
  fi
  if [ "$APT_UPDATED" = 0 ]; then
    log "apt-get update"
    apt-get update -qq >/dev/null
    APT_UPDATED=1
  fi
  log "installing ${missing[*]}"
  local rc=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || rc=$?
  [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  [ "$rc" = 0 ] || die "apt-get install ${missing[*]} failed (exit $rc)"
}

install_all() {
  local pkgs=(docker.io docker-registry skopeo debootstrap apache2-utils curl iproute2)
  [ "$WITH_BUILDAH" = 1 ] && pkgs+=(buildah)
  [ "$WITH_ARM64" = 1 ] && pkgs+=(qemu-user-static binfmt-support)
  apt_install "${pkgs[@]}"
}

# ---------------------------------------------------------------- helpers

pid_alive() {  # pid_alive NAME -- the process recorded in $STATE/NAME.pid runs
  local file="$STATE/$1.pid"
  [ -f "$file" ] && kill -0 "$(cat "$file")" 2>/dev/null
}

wait_for() {  # wait_for SECONDS COMMAND... -- poll every 0.5 s until COMMAND succeeds
  local seconds=$1
  shift
  local tries=$((seconds * 2))
  while [ "$tries" -gt 0 ]; do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.5
    tries=$((tries - 1))
  done
  return 1
}

docker_up() { docker info >/dev/null 2>&1; }

registry_up() {  # registry_up HOST:PORT EXPECTED_STATUS
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 "http://$1/v2/") || true
  [ "$code" = "$2" ]
}

# ---------------------------------------------------------------- dockerd

start_dockerd() {
  if docker_up; then
    log "dockerd already running"
    return 0
  fi
  # A docker0 link left by an earlier daemon makes --bridge=none fail to start cleanly.
  if ip link show docker0 >/dev/null 2>&1; then
    log "deleting stale docker0 link"
    ip link delete docker0 || true
  fi
  log "starting dockerd (log: $DOCKERD_LOG)"
  setsid dockerd --host "unix://$DOCKER_SOCK" --bridge=none --iptables=false --ip6tables=false \
    >>"$DOCKERD_LOG" 2>&1 </dev/null 9>&- &
  echo $! >"$STATE/dockerd.pid"
  wait_for 60 docker_up || die "dockerd did not answer within 60 s; see $DOCKERD_LOG"
  log "dockerd ready"
}

# ---------------------------------------------------------------- registries

write_registry_config() {  # write_registry_config FILE ADDR DATA [auth]
  local file=$1 addr=$2 data=$3 auth=${4:-}
  {
    echo "version: 0.1"
    echo "log:"
    echo "  level: warn"
    echo "  accesslog:"
    echo "    disabled: true"
    echo "storage:"
    echo "  filesystem:"
    echo "    rootdirectory: $data"
    echo "  delete:"
    echo "    enabled: true"
    echo "http:"
    echo "  addr: $addr"
    echo "  secret: layerplan-test-only"
    if [ -n "$auth" ]; then
      echo "auth:"
      echo "  htpasswd:"
      echo "    realm: layerplan-test"
      echo "    path: $CONF/htpasswd"
    fi
  } >"$file.tmp"
  mv "$file.tmp" "$file"
}

start_registry() {  # start_registry NAME ADDR DATA EXPECTED_STATUS [auth]
  local name=$1 addr=$2 data=$3 expect=$4 auth=${5:-}
  if registry_up "$addr" "$expect"; then
    log "registry $addr already running"
    return 0
  fi
  if pid_alive "$name"; then  # ours but not answering: restart it
    kill "$(cat "$STATE/$name.pid")" 2>/dev/null || true
    sleep 1
  fi
  mkdir -p "$data"
  write_registry_config "$CONF/$name.yml" "$addr" "$data" "$auth"
  log "starting registry on $addr (log: /var/log/layerplan-$name.log)"
  setsid docker-registry serve "$CONF/$name.yml" >>"/var/log/layerplan-$name.log" 2>&1 </dev/null 9>&- &
  echo $! >"$STATE/$name.pid"
  wait_for 30 registry_up "$addr" "$expect" \
    || die "registry on $addr did not answer within 30 s; see /var/log/layerplan-$name.log"
}

start_registries() {
  if [ ! -s "$CONF/htpasswd" ] || ! htpasswd -vb "$CONF/htpasswd" "$AUTH_USER" "$AUTH_PASSWORD" >/dev/null 2>&1; then
    htpasswd -Bbc "$CONF/htpasswd" "$AUTH_USER" "$AUTH_PASSWORD" 2>/dev/null
  fi
  start_registry registry "$REGISTRY" "$REGISTRY_DATA" 200
  start_registry registry-auth "$AUTH_REGISTRY" "$AUTH_REGISTRY_DATA" 401 auth
}

# ---------------------------------------------------------------- base image

registry_has_tag() {  # registry_has_tag TAG (of $BASE_REPO)
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -I \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    "http://$REGISTRY/v2/$BASE_REPO/manifests/$1") || true
  [ "$code" = 200 ]
}

registry_has_base() { registry_has_tag "$BASE_TAG"; }

build_rootfs() {
  [ -s "$ROOTFS_TAR" ] && return 0
  local root="$CACHE/rootfs.tmp"
  rm -rf "$root"
  mkdir -p "$root"
  log "debootstrap bookworm (minbase + python3) from $DEBIAN_MIRROR - about a minute"
  debootstrap --variant=minbase --include=python3,ca-certificates bookworm "$root" "$DEBIAN_MIRROR" \
    >"$CACHE/debootstrap.log" 2>&1 || die "debootstrap failed; see $CACHE/debootstrap.log"
  # Trim what an image does not need: apt lists, caches, docs, man pages, locales.
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
    "$root"/var/log/* "$root"/tmp/* "$root"/debootstrap
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} + 2>/dev/null || true
  tar --sort=name --numeric-owner -C "$root" -cf "$ROOTFS_TAR.tmp" .
  mv "$ROOTFS_TAR.tmp" "$ROOTFS_TAR"
  rm -rf "$root"
  log "rootfs cached at $ROOTFS_TAR ($(du -h "$ROOTFS_TAR" | cut -f1))"
}

ensure_base_image() {
  if registry_has_base; then
    # The daemon needs it too, for tests that `docker run` the base.
    if ! docker image inspect "$BASE" >/dev/null 2>&1; then
      log "pulling $BASE into dockerd"
      docker pull -q "$BASE" >/dev/null
    fi
    log "base image $BASE present"
    return 0
  fi
  if ! docker image inspect "$BASE" >/dev/null 2>&1; then
    build_rootfs
    log "importing rootfs as $BASE"
    docker import \
      -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      -c 'CMD ["python3"]' \
      "$ROOTFS_TAR" "$BASE" >/dev/null
  fi
  log "pushing $BASE"
  # dockerd treats 127.0.0.0/8 as an insecure (plain HTTP) registry by default.
  docker push -q "$BASE" >/dev/null
  registry_has_base || die "pushed $BASE but the registry does not serve it"
}

ensure_builder_image() {
  if registry_has_tag "$BUILDER_TAG"; then
    docker image inspect "$BUILDER" >/dev/null 2>&1 || docker pull -q "$BUILDER" >/dev/null
    log "builder image $BUILDER present"
    return 0
  fi
  log "making $BUILDER (apt-get install gcc libc6-dev python3.11-dev from $DEBIAN_MIRROR) - about 20 s"
  local name=layerplan-test-builder-prep
  docker rm -f "$name" >/dev/null 2>&1 || true
  # --network host: apt reaches Debian's mirror (the base's sources.list), as debootstrap did.
  docker run --name "$name" --network host "$BASE" sh -c \
    'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc libc6-dev python3.11-dev && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb' \
    >"$CACHE/builder.log" 2>&1 || die "making the builder image failed; see $CACHE/builder.log"
  docker commit "$name" "$BUILDER" >/dev/null
  docker rm "$name" >/dev/null
  docker push -q "$BUILDER" >/dev/null
  registry_has_tag "$BUILDER_TAG" || die "pushed $BUILDER but the registry does not serve it"
}

# ---------------------------------------------------------------- arm64 emulation

setup_binfmt() {
  [ -d /proc/sys/fs/binfmt_misc ] || return 0
  if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  fi
  if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] && [ -f /usr/lib/binfmt.d/qemu-aarch64.conf ]; then
    cat /usr/lib/binfmt.d/qemu-aarch64.conf >/proc/sys/fs/binfmt_misc/register
  fi
}


# The arm64 base: the same debootstrap as the amd64 one (python3.11 at /usr/bin, the same
# PATH and CMD), with --arch=arm64; its second stage runs arm64 binaries through the qemu
# binfmt handler. The image is pushed by hand (an OCI manifest whose config says
# linux/arm64/v8: `docker import` cannot label a platform on this daemon), then an OCI
# index naming it and the amd64 base goes under $MULTI_TAG. qemu only runs arm64 images;
# layerplan never uses it to build one.
build_rootfs_arm64() {
  [ -s "$ARM64_ROOTFS_TAR" ] && return 0
  local root="$CACHE/rootfs-arm64.tmp"
  rm -rf "$root"
  mkdir -p "$root"
  log "debootstrap --arch=arm64 bookworm (minbase + python3) under qemu - about 3 minutes"
  debootstrap --arch=arm64 --variant=minbase --include=python3,ca-certificates bookworm "$root" "$DEBIAN_MIRROR" \
    >"$CACHE/debootstrap-arm64.log" 2>&1 || die "arm64 debootstrap failed; see $CACHE/debootstrap-arm64.log"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
    "$root"/var/log/* "$root"/tmp/* "$root"/debootstrap
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} + 2>/dev/null || true
  tar --sort=name --numeric-owner -C "$root" -cf "$ARM64_ROOTFS_TAR.tmp" .
  mv "$ARM64_ROOTFS_TAR.tmp" "$ARM64_ROOTFS_TAR"
  rm -rf "$root"
  log "arm64 rootfs cached at $ARM64_ROOTFS_TAR ($(du -h "$ARM64_ROOTFS_TAR" | cut -f1))"
}

push_arm64_and_index() {  # python3 (the host's, stdlib only) talks to the loopback registry
  python3 - "$REGISTRY" "$BASE_REPO" "$BASE_TAG" "$ARM64_TAG" "$MULTI_TAG" "$ARM64_ROOTFS_TAR" <<'PY'
import gzip, hashlib, json, sys, tempfile, urllib.request
registry, repo, amd64_tag, arm64_tag, multi_tag, rootfs = sys.argv[1:]
base = f"http://{registry}/v2/{repo}"
OCI_MANIFEST, OCI_INDEX = "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.index.v1+json"
ACCEPT = ", ".join([OCI_MANIFEST, "application/vnd.docker.distribution.manifest.v2+json"])

def request(method, url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    with urllib.request.urlopen(req, timeout=600) as response:
        return response.headers, response.read()

def push_blob(body):
    name = "sha256:" + hashlib.sha256(body).hexdigest()
    headers, _ = request("POST", f"{base}/blobs/uploads/")
    location = headers["Location"]
    location = location if location.startswith("http") else f"http://{registry}{location}"
    request("PUT", f"{location}{'&' if '?' in location else '?'}digest={name}", body, {"Content-Type": "application/octet-stream"})
    return name, len(body)

def canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()

with tempfile.TemporaryDirectory() as tmp:
    layer = f"{tmp}/layer.tar.gz"
    diff = hashlib.sha256()
    with open(rootfs, "rb") as src, open(layer, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
            while chunk := src.read(1 << 20):
                diff.update(chunk)
                out.write(chunk)
    layer_digest, layer_size = push_blob(open(layer, "rb").read())
config = canonical({
    "architecture": "arm64", "os": "linux", "variant": "v8", "created": "1980-01-01T00:00:00Z",
    "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], "Cmd": ["python3"]},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff.hexdigest()]},
    "history": [{"created": "1980-01-01T00:00:00Z", "created_by": "debootstrap --arch=arm64 --variant=minbase --include=python3,ca-certificates bookworm"}],
})
config_digest, config_size = push_blob(config)
manifest = canonical({
    "schemaVersion": 2, "mediaType": OCI_MANIFEST,
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_size},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest, "size": layer_size}],
})
request("PUT", f"{base}/manifests/{arm64_tag}", manifest, {"Content-Type": OCI_MANIFEST})
headers, amd64 = request("GET", f"{base}/manifests/{amd64_tag}", headers={"Accept": ACCEPT})
amd64_type = headers["Content-Type"].split(";")[0]
index = canonical({
    "schemaVersion": 2, "mediaType": OCI_INDEX,
    "manifests": [
        {"mediaType": amd64_type, "digest": "sha256:" + hashlib.sha256(amd64).hexdigest(), "size": len(amd64),
         "platform": {"architecture": "amd64", "os": "linux"}},
        {"mediaType": OCI_MANIFEST, "digest": "sha256:" + hashlib.sha256(manifest).hexdigest(), "size": len(manifest),
         "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
    ],
})
request("PUT", f"{base}/manifests/{multi_tag}", index, {"Content-Type": OCI_INDEX})
PY
}

ensure_arm64_base() {
  if registry_has_multi; then
    log "arm64 base and index $REGISTRY/$BASE_REPO:$MULTI_TAG present"
    return 0
  fi
  build_rootfs_arm64
  log "pushing $REGISTRY/$BASE_REPO:$ARM64_TAG and the index $REGISTRY/$BASE_REPO:$MULTI_TAG"
  push_arm64_and_index || die "pushing the arm64 base or its index failed"
  registry_has_multi || die "pushed the index but the registry does not serve $MULTI_TAG"
}

registry_has_multi() {
  local code
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -I \
    -H 'Accept: application/vnd.oci.image.index.v1+json' \
    "http://$REGISTRY/v2/$BASE_REPO/manifests/$MULTI_TAG") || true
  [ "$code" = 200 ]
}

# ---------------------------------------------------------------- commands

cmd_start() {
  local t0=$SECONDS
  [ "$(id -u)" = 0 ] || die "must run as root (it installs packages and starts dockerd)"
  mkdir -p "$STATE" "$CONF" "$CACHE"
  # Parallel test workers may all call start: one does the work, the others wait for it.
  exec 9>"$STATE/start.lock"
  flock 9
  install_all
  start_dockerd
  start_registries
  ensure_base_image
  ensure_builder_image
  if [ "$WITH_ARM64" = 1 ]; then
    setup_binfmt
    ensure_arm64_base
  fi
  log "ready in $((SECONDS - t0)) s"
  cmd_env
}

stop_one() {  # stop_one NAME
  local file="$STATE/$1.pid" pid
  [ -f "$file" ] || return 0
  pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $1 (pid $pid)"
    kill "$pid"
    local tries=40
    while [ "$tries" -gt 0 ] && kill -0 "$pid" 2>/dev/null; do sleep 0.5; tries=$((tries - 1)); done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$file"
}

cmd_stop() {
  stop_one registry-auth
  stop_one registry
  stop_one dockerd
}

cmd_status() {
  local ok=0
  if docker_up; then echo "dockerd:        up ($DOCKER_HOST)"; else echo "dockerd:        down"; ok=1; fi
  if registry_up "$REGISTRY" 200; then echo "registry:       up ($REGISTRY)"; else echo "registry:       down"; ok=1; fi
  if registry_up "$AUTH_REGISTRY" 401; then echo "auth registry:  up ($AUTH_REGISTRY)"; else echo "auth registry:  down"; ok=1; fi
  if registry_has_base; then echo "base image:     present ($BASE)"; else echo "base image:     missing"; ok=1; fi
  if registry_has_tag "$BUILDER_TAG"; then echo "builder image:  present ($BUILDER)"; else echo "builder image:  missing"; ok=1; fi
  if registry_has_multi; then echo "arm64 base:     present ($REGISTRY/$BASE_REPO:$MULTI_TAG)"; else echo "arm64 base:     missing (start --with-arm64)"; fi
  return "$ok"
}

cmd_env() {
  echo "export LAYERPLAN_TEST_REGISTRY=$REGISTRY LAYERPLAN_TEST_AUTH_REGISTRY=$AUTH_REGISTRY LAYERPLAN_TEST_BASE=$BASE LAYERPLAN_TEST_BUILDER=$BUILDER LAYERPLAN_TEST_MULTI_BASE=$REGISTRY/$BASE_REPO:$MULTI_TAG DOCKER_HOST=$DOCKER_HOST"
}

usage() { sed -n '2,21s/^# \{0,1\}//p' "$0" >&2; exit 2; }

WITH_BUILDAH=0
WITH_ARM64=0
command=${1:-}
[ $# -gt 0 ] && shift
for arg in "$@"; do
  case $arg in
    --with-buildah) WITH_BUILDAH=1 ;;
    --with-arm64) WITH_ARM64=1 ;;
    *) usage ;;
  esac
done
case $command in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *) usage ;;
esac
