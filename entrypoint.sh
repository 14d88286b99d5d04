#!/bin/bash
# Entrypoint of the ecspresso-py image (the GitHub Action and any CI).
#
# With arguments the image is the CLI: `docker run IMAGE status --events 5` runs
# `ecspresso status --events 5`. Without arguments it is the GitHub Action, which reads its
# inputs from INPUT_* variables (action.yml sets `runs.args: []`, so the runner never passes
# any: without it the runner would pass the `args` input as arguments). The Action refuses to
# run outside GitHub Actions unless INPUT_COMMAND names the command: no deploy by default.
#
# bash, not sh: the runner passes inputs as INPUT_<NAME> with hyphens kept
# (INPUT_ROLLBACK-ON-FAILURE), and Debian's sh (dash) drops such variables from the environment
# of the program it execs, so those inputs would silently fall back to their defaults.
#
# Nothing here looks at the INPUT_* variables, so no input ever reaches a shell; arguments are
# passed through unchanged.
#   exec  Python becomes PID 1 and receives the runner's SIGINT/SIGTERM on cancel.
#   -I    isolated: the workspace (the working directory) and a leaked PYTHONPATH/PYTHONHOME
#         cannot shadow the installed packages; user site and PYTHON* variables are ignored.
#   -u    unbuffered, since -I ignores PYTHONUNBUFFERED: workflow commands stay in order with logs.
# ECSPRESSO_PYTHON selects another interpreter, for running this script outside the image.
python="${ECSPRESSO_PYTHON:-/opt/venv/bin/python}"
if [ "$#" -gt 0 ]; then
    exec "$python" -I -u -m ecspresso "$@"
fi
exec "$python" -I -u -m ecspresso.action
