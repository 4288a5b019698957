#!/usr/bin/env bash
# Downloads the Keycloak server distribution from Maven Central once, unpacks it into a cache
# folder outside the repo and prints two lines: the kc.sh path, then the JAVA_HOME to run it with
# (Keycloak needs Java 21+). Idempotent: a second run only finds Java and prints the same lines.
set -euo pipefail
VERSION="${KEYCLOAK_VERSION:-26.5.6}"
CACHE="${RECOVERY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/recovery-engine}"
DIR="$CACHE/keycloak-$VERSION"
KC="$DIR/bin/kc.sh"

# The major version of a JDK folder's java, e.g. 25 from `openjdk version "25.0.1"`.
java_major() { "$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1; }
# JAVA_HOME if it is 21+, else the newest 21+ JDK in the system JVM folder.
find_java() {
  local candidates=() d m
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  for d in /usr/lib/jvm/*; do [ -d "$d" ] && candidates+=("$d"); done
  for d in "${candidates[@]}"; do
    [ -x "$d/bin/java" ] || continue
    m="$(java_major "$d")"
    if [ -n "$m" ] && [ "$m" -ge 21 ]; then echo "$m $d"; fi
  done | sort -rn | head -n1 | cut -d' ' -f2-
}
JAVA="$(find_java)"
if [ -z "$JAVA" ]; then
  echo "keycloak: no Java 21+ runtime found (JAVA_HOME or /usr/lib/jvm/*); install one, e.g. Temurin 25" >&2
  exit 1
fi

if [ ! -x "$KC" ]; then
  if ! command -v mvn >/dev/null 2>&1; then
    echo "keycloak: mvn is missing (Debian: apt-get install -y maven), needed to fetch it from Maven Central" >&2
    exit 1
  fi
  echo "keycloak: downloading org.keycloak:keycloak-quarkus-dist:$VERSION from Maven Central..." >&2
  mkdir -p "$CACHE"
  # A folder of its own per run, so two runs at once do not share one; the result lands by mv.
  TMP="$(mktemp -d "$CACHE/keycloak-$VERSION.tmp.XXXXXX")"
  trap 'rm -rf "$TMP"' EXIT
  t0=$(date +%s)
  mvn -q -B dependency:copy \
    "-Dartifact=org.keycloak:keycloak-quarkus-dist:$VERSION:tar.gz" "-DoutputDirectory=$TMP" >&2
  tar -xzf "$TMP/keycloak-quarkus-dist-$VERSION.tar.gz" -C "$TMP"
  if [ ! -d "$DIR" ]; then mv "$TMP/keycloak-$VERSION" "$DIR"; fi
  echo "keycloak: cached in $DIR ($(( $(date +%s) - t0 )) s)" >&2
fi
echo "$KC"
echo "$JAVA"
