"""What is wrong with a scenario file: one Problem per finding, all raised as a ScenarioError."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.scenario.model import Loc


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a scenario file."""

    file: str
    line: int
    column: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class ScenarioError(ValueError):
    """A scenario file is invalid; ``problems`` lists everything found, in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.file, p.line, p.column))
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)


def dotted(loc: Loc) -> str:
    """A data path as a problem names its field: ``customers[0].accounts[1].pin``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
