"""The argument parser every ccneg command uses: a usage error is one line, exit status 2.

argparse prints the whole usage block before an error; for a command with dozens of flags that
buries the one line that matters ("argument --seed: invalid int value"). Defined here, in the
package every command imports, so that ccneg-build, ccneg-bench and ccneg-train say it alike.
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line naming the option (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)
