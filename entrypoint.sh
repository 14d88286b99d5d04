#!/bin/bash
# Entrypoint of the ecspresso-py image (the GitHub Action and any CI).
#
# bash, not sh: the runner passes inputs as INPUT_<NAME> with hyphens kept
# (INPUT_ROLLBACK-ON-FAILURE), and Debian's sh (dash) drops such variables from the environment
# of the program it execs, so those inputs would silently fall back to their defaults.
#
# The Action's inputs arrive as INPUT_* variables, which ecspresso.action reads itself: nothing
# here looks at them, so no input ever reaches a shell. Arguments given to the container are
# passed through unchanged.
#   exec  Python becomes PID 1 and receives the runner's SIGINT/SIGTERM on cancel.
#   -I    isolated: the workspace (the working directory) and a leaked PYTHONPATH/PYTHONHOME
#         cannot shadow the installed packages; user site and PYTHON* variables are ignored.
#   -u    unbuffered, since -I ignores PYTHONUNBUFFERED: workflow commands stay in order with logs.
# ECSPRESSO_PYTHON selects another interpreter, for running this script outside the image.
exec "${ECSPRESSO_PYTHON:-/opt/venv/bin/python}" -I -u -m ecspresso.action "$@"
