#!/bin/sh
# The Debian packages `make docs` needs: LDoc and the discount Markdown
# processor it uses (installed by .ci/deps, see there).
exec sh "$(dirname "$0")/../.ci/deps" lua-ldoc lua-discount
