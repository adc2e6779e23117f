"""Documented limits on what convcalc accepts, so analysis time stays bounded on hostile input.

docs/spec.md lists them; every one fails with a clear SpecError naming the limit.
"""

MAX_FILE_BYTES = 1 << 20  # 1 MiB of spec text
MAX_YAML_NODES = 500_000  # YAML values after alias expansion (refused before expanding)
MAX_YAML_DEPTH = 64  # nesting of YAML lists and mappings
MAX_LAYERS = 100_000  # layers after blocks, repeats, residuals and parallels are expanded
MAX_NESTING = 32  # blocks inside blocks (and residual/parallel bodies) at use time
MAX_EXPR_CHARS = 200  # length of one ${...} expression
MAX_EXPR_VALUE = 1 << 96  # any value in a ${...} expression, intermediate ones included: two sizes' product
MAX_SIZE = 1 << 48  # any size: channels, spatial extent, kernel; keeps float-based rules exact
MAX_NUMBER_CHARS = 40  # digits of one number as written (sizes stay below 2^48, 15 digits)
MAX_SWEEP_POINTS = 10_000  # points of one `convcalc sweep` (the product of its axes), and of one `scale --search` grid
FIFO_WAIT_S = 5  # seconds a FIFO named as a file waits for its writer (to read) or reader (to write)
