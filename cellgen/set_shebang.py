#!/usr/bin/env python3
"""set_shebang.py INTERPRETER IN OUT: copies the script IN to OUT (mode 0755)
with its `#!/usr/bin/env NAME` line replaced by `#!INTERPRETER`."""
import os
import sys

interpreter, src, dst = sys.argv[1:4]
with open(src, encoding="utf-8") as f:
    first, rest = f.read().split("\n", 1)
if not first.startswith("#!"):
    sys.exit(f"set_shebang.py: {src} has no #! line")
with open(dst, "w", encoding="utf-8") as f:
    f.write(f"#!{interpreter}\n{rest}")
os.chmod(dst, 0o755)
