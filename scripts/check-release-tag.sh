#!/usr/bin/env bash
# The release tag must be vMAJOR.MINOR.PATCH and name the version the package reports
# (src/ecspresso/__init__.py): an image labelled v1.2.3 must print v1.2.3. release.yml runs this.
set -euo pipefail
tag=${1:?usage: check-release-tag.sh vMAJOR.MINOR.PATCH}
here=$(cd "$(dirname "$0")/.." && pwd)
if ! [[ "$tag" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  echo "::error::tag $tag is not vMAJOR.MINOR.PATCH"
  exit 1
fi
version=$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' "$here/src/ecspresso/__init__.py")
if [ "$tag" != "v$version" ]; then
  echo "::error::tag $tag does not match the package version $version (src/ecspresso/__init__.py): bump it first"
  exit 1
fi
