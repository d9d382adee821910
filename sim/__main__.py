"""`python -m sim` is the `guanxi` command."""

from sim.cli import main

raise SystemExit(main())
