#!/usr/bin/env bash
# Print, one per line, what napari needs from the system and cannot find: the
# virtual display (xvfb-run) and Qt's xcb libraries.  Prints nothing when all
# are there.  Always exits 0.
#
# The library list is read once into a variable: `ldconfig -p | grep -q ...`
# under `set -o pipefail` fails at random (grep exits at the first match and
# ldconfig dies of SIGPIPE), which made the set-up run apt again on machines
# that had everything.
set -uo pipefail
libs="$( { ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null || true; } )"
command -v xvfb-run >/dev/null || echo xvfb-run
for lib in libxcb-cursor.so.0 libxkbcommon-x11.so.0; do
  grep -qF "$lib" <<<"$libs" || echo "$lib"
done
exit 0
