"""`python -m tuivirt`: the same entry point as the `tuivirt` console script."""

from tuivirt.cli import main

raise SystemExit(main())
