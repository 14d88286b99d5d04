"""``python -m ecspresso``: the CLI (the image runs it when given arguments, see entrypoint.sh).

Under GitHub Actions (``uses: docker://…`` with ``args:``, or a ``run:`` step) the runner reads
what the CLI prints for workflow commands: nothing it prints may become one (ecspresso.gha_guard).
"""

from ecspresso.cli import console

console()  # main() guards its output under GitHub Actions; exits without interpreter tear-down
