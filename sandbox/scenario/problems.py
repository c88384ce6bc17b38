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


MAX_PROBLEMS = 100  # problems kept in order; the rest are only counted


class ScenarioError(ValueError):
    """A scenario file is invalid; ``problems`` lists the first MAX_PROBLEMS found, in file
    order, and ``omitted`` counts the rest."""

    def __init__(self, problems: list[Problem]) -> None:
        ordered = sorted(problems, key=lambda p: (p.file, p.line, p.column))
        self.problems = ordered[:MAX_PROBLEMS]
        self.omitted = len(ordered) - len(self.problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        lines = [str(problem) for problem in self.problems]
        if self.omitted:
            lines.append(f"... and {self.omitted:,} more problems")
        return "\n".join(lines)


def dotted(loc: Loc) -> str:
    """A data path as a problem names its field: ``customers[0].accounts[1].pin``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
