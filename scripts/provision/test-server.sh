#!/usr/bin/env bash
# Fetches the Java time-skipping test server from Maven Central and writes a launcher that
# @temporalio/testing can run as an 'existing-path' executable (it passes the port as $1).
# Idempotent; cached outside the repo. Prints the launcher's path.
set -euo pipefail

VERSION="${TEMPORAL_TEST_SERVER_VERSION:-1.38.0}"
CACHE="${RECOVERY_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/recovery-engine}"
DIR="$CACHE/temporal-test-server-$VERSION"
LAUNCHER="$DIR/test-server"

if [ -x "$LAUNCHER" ] && [ -f "$DIR/ready" ]; then echo "$LAUNCHER"; exit 0; fi

for tool in java mvn; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "test-server: '$tool' is missing. Install a JDK >= 11 and Maven (Debian: apt-get install -y default-jdk-headless maven)." >&2
    exit 1
  fi
done

mkdir -p "$DIR/lib"
cat > "$DIR/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.recovery</groupId><artifactId>test-server-deps</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>io.temporal</groupId><artifactId>temporal-test-server</artifactId><version>$VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-nop</artifactId><version>2.0.16</version></dependency>
  </dependencies>
</project>
POM
echo "test-server: fetching io.temporal:temporal-test-server:$VERSION from Maven Central..." >&2
mvn -q -B -f "$DIR/pom.xml" dependency:copy-dependencies -DoutputDirectory="$DIR/lib" -DincludeScope=runtime >&2

# Class-data sharing archive: the SDK waits only ~5 s for the server, and a cold JVM on two
# cores is close to that.
java -XX:ArchiveClassesAtExit="$DIR/app.jsa" -XX:TieredStopAtLevel=1 -cp "$DIR/lib/*" \
  io.temporal.testserver.TestServer 0 >/dev/null 2>&1 &
pid=$!
sleep 8; kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true

cat > "$LAUNCHER" <<SH
#!/usr/bin/env bash
# exec so that stopping the test environment stops the JVM too.
cds=""; [ -f "$DIR/app.jsa" ] && cds="-XX:SharedArchiveFile=$DIR/app.jsa -Xshare:auto"
exec java \$cds -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xss512k -cp "$DIR/lib/*" io.temporal.testserver.TestServer "\$@"
SH
chmod +x "$LAUNCHER"
touch "$DIR/ready"
echo "$LAUNCHER"
