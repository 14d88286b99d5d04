from ecspresso.cli import main

raise SystemExit(main())
