#!/bin/sh
# The example job of the quick start: prints a few lines, as a build would,
# and leaves two artifacts in its work dir (the current directory).
set -eu
echo "building on $(uname -sr) as $(id -un)"
for step in fetch configure compile test; do
  echo "step: $step"
  sleep 0.2
done
mkdir -p bin
printf '#!/bin/sh\necho hello from builder\n' > bin/hello
chmod +x bin/hello
uname -a > build-environment
echo "done: bin/hello and build-environment are the artifacts"
