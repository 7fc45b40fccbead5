"""What one run of `load_content` did, file by file."""

from dataclasses import dataclass, field


@dataclass
class LoadReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (path, what is wrong)

    @property
    def ok(self) -> bool:
        return not self.errors

    def error(self, path: str, problem: str) -> None:
        self.errors.append((path, problem))

    def summary_lines(self) -> list[str]:
        lines = [
            f"created {len(self.created)}, updated {len(self.updated)}, "
            f"unchanged {len(self.unchanged)}, errors {len(self.errors)}"
        ]
        lines += [f"  created {name}" for name in self.created]
        lines += [f"  updated {name}" for name in self.updated]
        lines += [f"  ERROR {path}: {problem}" for path, problem in self.errors]
        return lines
