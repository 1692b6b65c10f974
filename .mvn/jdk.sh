# Sourced by Kiln's scripts (kiln, test, .ci/run): points JAVA_HOME and JAVA at a JDK 25 or newer,
# trying JAVA_HOME, then `java` on PATH, then /usr/lib/jvm/*; stops with one line when there is none.
kiln_java_major() { # java binary -> major version, or nothing
  # the line that says version "25...": JAVA_TOOL_OPTIONS makes java print "Picked up ..." first
  "$1" -version 2>&1 | sed -n 's/^.* version "\([0-9][0-9]*\).*/\1/p' | head -n 1
}
kiln_find_jdk() {
  local candidates=() c m
  [[ -n ${JAVA_HOME:-} ]] && candidates+=("$JAVA_HOME")
  c=$(command -v java 2>/dev/null) && candidates+=("$(dirname "$(dirname "$(readlink -f "$c")")")")
  for c in /usr/lib/jvm/*/; do candidates+=("${c%/}"); done
  for c in "${candidates[@]}"; do
    [[ -x $c/bin/java && -x $c/bin/javac ]] || continue
    m=$(kiln_java_major "$c/bin/java")
    if [[ -n $m && $m -ge 25 ]]; then
      export JAVA_HOME=$c JAVA=$c/bin/java
      return 0
    fi
  done
  echo "kiln: no JDK 25 or newer found (looked at JAVA_HOME, java on PATH, /usr/lib/jvm); hint: install one (e.g. Temurin 25) and set JAVA_HOME to it" >&2
  return 1
}
kiln_find_jdk || exit 1
# Maven on JDK 25 warns about sun.misc.Unsafe in its own libraries; that is not ours to fix.
[[ ${MAVEN_OPTS:-} == *--sun-misc-unsafe-memory-access=allow* ]] \
  || export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
