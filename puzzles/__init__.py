"""Domain: puzzle families behind one ``Task`` interface, their generators, exact solvers and
validators, text formats and datasets. Imports no model code.

* ``puzzles.task``      the ``Task`` interface, ``TaskSpec``, the registry, the shared parallel
                        generator ``generate_many`` and ``check_answers``
* ``puzzles.sudoku``    Sudoku: bitmask solver, minimal-puzzle generator, validator,
                        symmetries and ``SudokuTask``
* ``puzzles.rating``    the plain MRV Sudoku rating: guesses of a naked-singles solver, with a
                        pluggable choice of branch cell and value order
* ``puzzles.maze``      mazes: DFS/Wilson/Kruskal/Prim generators, shortest-path solutions,
                        validator, dihedral symmetries and ``MazeTask``
* ``puzzles.formats``   text formats (Sudoku lines and CSV, maze blocks, the default
                        one-character-per-cell blocks of a new family)
* ``puzzles.datasets``  ``Dataset``: .npz / text files, splits
* ``puzzles.atomic``    safe outputs: temporary file + rename, all-or-nothing, path checks
* ``puzzles.argtypes``  checked numbers for the command-line flags
* ``puzzles.cli``       ``unmask generate TASK`` and ``unmask validate TASK``
* ``puzzles.tokens``    maze cell codes (and the old names of the spec helpers)
"""
