"""Load the course from learn/content/ into the database, and export it back.

`content_load(root=...)` is what `manage.py load_content` runs. Slugs are the stable keys: a
module or lesson whose slug exists is updated in place, so learners' progress, bookmarks and
notes (which point at the row) survive every reload; nothing is ever deleted. Each file is
validated strictly and loaded in its own transaction: a malformed file is reported with its path
and the problem, and the other files still load.
"""

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction

from learn.content_report import LoadReport
from learn.front_matter import FrontMatterError, front_matter_split
from learn.models import Lesson, Module
from learn.services.rendering import markdown_render, rendered_version_for
from sandbox import labs

CONTENT_ROOT = Path(__file__).resolve().parent.parent / "content"
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

MODULE_KEYS = {"slug": str, "title": str, "order": int, "summary": str}
LESSON_REQUIRED = {
    "slug": str,
    "title": str,
    "module": str,
    "order": int,
    "summary": str,
    "minutes": int,
}
LESSON_OPTIONAL = {
    "prerequisites": list,
    "published": bool,
    "objectives": list,
    "takeaways": list,
    "try_it": dict,
}
# Front matter keys in the order the README documents them; export writes them in this order.
LESSON_KEY_ORDER = [
    "slug", "title", "module", "order", "summary", "minutes", "prerequisites", "published",
    "objectives", "takeaways", "try_it",
]  # fmt: skip
TRY_IT_REQUIRED = {
    "title": str,
    "description": str,
    "handler": str,
    "memory_mb": int,
    "timeout_s": int,
    "files": dict,
}
TRY_IT_KEY_ORDER = [
    "title", "description", "handler", "memory_mb", "timeout_s", "files", "event", "lab",
]  # fmt: skip


class ContentError(ValueError):
    """A problem with one content file, worded for the author."""


@dataclass(frozen=True)
class LessonSource:
    """One lesson file, parsed and validated."""

    path: str  # relative to the content root, for messages
    data: dict[str, Any]  # the front matter
    body: str

    @property
    def slug(self) -> str:
        return str(self.data["slug"])

    @property
    def version(self) -> str:
        return content_version_for(data=front_matter_normalise(data=self.data), body=self.body)


def front_matter_normalise(*, data: dict[str, Any]) -> dict[str, Any]:
    """Fill optional keys with their defaults, so a file and its export have one version."""
    normal = {
        **data,
        "prerequisites": sorted(data.get("prerequisites", [])),
        "published": data.get("published", True),
        "objectives": list(data.get("objectives", [])),
        "takeaways": list(data.get("takeaways", [])),
    }
    if "try_it" in normal and "event" not in normal["try_it"]:
        normal["try_it"] = {**normal["try_it"], "event": None}
    return normal


def content_version_for(*, data: dict[str, Any], body: str) -> str:
    """A digest of what a lesson says, independent of YAML formatting (so exports round-trip)."""
    canonical = json.dumps({"front": data, "body": body.strip()}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_type(where: str, key: str, value: Any, expected: type) -> None:
    # bool is a subclass of int: `order: true` must not pass as a number.
    if expected is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ContentError(f"{where}'{key}' must be a whole number, not {value!r}")
    if not isinstance(value, expected):
        raise ContentError(f"{where}'{key}' must be a {expected.__name__}, not {value!r}")


def _check_mapping(
    where: str, data: dict[str, Any], required: dict[str, type], optional: dict[str, type]
) -> None:
    missing = [key for key in required if key not in data]
    if missing:
        raise ContentError(f"{where}missing required key(s): {', '.join(missing)}")
    unknown = sorted(set(data) - set(required) - set(optional))
    if unknown:
        raise ContentError(f"{where}unknown key(s): {', '.join(map(str, unknown))}")
    for key, expected in {**required, **optional}.items():
        if key in data:
            _check_type(where, key, data[key], expected)


def _check_slug(where: str, slug: str) -> None:
    if not SLUG_RE.match(slug) or len(slug) > 50:
        raise ContentError(f"{where}slug {slug!r} must be lowercase letters, digits and hyphens")


def _check_strings(where: str, key: str, values: list[Any]) -> None:
    for value in values:
        if not isinstance(value, str) or not value.strip():
            raise ContentError(f"{where}'{key}' must be a list of non-empty strings")


def _check_try_it(try_it: dict[str, Any]) -> None:
    _check_mapping("try_it: ", try_it, TRY_IT_REQUIRED, {"event": object, "lab": dict})
    if not 128 <= try_it["memory_mb"] <= 10_240:
        raise ContentError("try_it: 'memory_mb' must be between 128 and 10240")
    if not 1 <= try_it["timeout_s"] <= 900:
        raise ContentError("try_it: 'timeout_s' must be between 1 and 900")
    files = try_it["files"]
    if not files:
        raise ContentError("try_it: 'files' must hold at least one file")
    for name, source in files.items():
        if not isinstance(name, str) or not isinstance(source, str):
            raise ContentError("try_it: 'files' maps file names to source text")
    module = try_it["handler"].rsplit(".", 1)[0].replace(".", "/") + ".py"
    if module not in files:
        raise ContentError(f"try_it: handler {try_it['handler']!r} needs a file named {module}")
    try:
        json.dumps(try_it.get("event"))
    except (TypeError, ValueError) as exc:
        raise ContentError(f"try_it: 'event' must be a JSON value ({exc})") from None
    if "lab" in try_it:
        try:
            labs.lab_check(try_it["lab"])
        except labs.LabError as exc:
            raise ContentError(f"try_it: lab: {exc}") from None


def lesson_source_parse(*, text: str, path: str) -> LessonSource:
    """Split and validate one lesson file. Raises ContentError saying what is wrong."""
    try:
        data, body = front_matter_split(text)
    except FrontMatterError as exc:
        raise ContentError(str(exc)) from None
    _check_mapping("", data, LESSON_REQUIRED, LESSON_OPTIONAL)
    _check_slug("", data["slug"])
    if data["order"] < 0:
        raise ContentError("'order' must not be negative")
    if not 1 <= data["minutes"] <= 600:
        raise ContentError("'minutes' must be between 1 and 600")
    for key in ("prerequisites", "objectives", "takeaways"):
        _check_strings("", key, data.get(key, []))
    if data["slug"] in data.get("prerequisites", []):
        raise ContentError("a lesson cannot be its own prerequisite")
    if "try_it" in data:
        _check_try_it(data["try_it"])
    body = body.strip()
    if not body:
        raise ContentError("the lesson has no body")
    return LessonSource(path=path, data=data, body=body)


def modules_parse(*, text: str) -> list[dict[str, Any]]:
    """Validate modules.yaml. Raises ContentError naming the entry at fault."""
    try:
        entries = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ContentError(f"not valid YAML: {exc}") from None
    if not isinstance(entries, list):
        raise ContentError("must be a list of modules")
    seen: set[str] = set()
    for index, entry in enumerate(entries, 1):
        where = f"module #{index}: "
        if not isinstance(entry, dict):
            raise ContentError(f"{where}must be a mapping")
        _check_mapping(where, entry, MODULE_KEYS, {})
        _check_slug(where, entry["slug"])
        if entry["slug"] in seen:
            raise ContentError(f"{where}duplicate slug {entry['slug']!r}")
        seen.add(entry["slug"])
    return entries


def _module_upsert(*, entry: dict[str, Any], report: LoadReport) -> None:
    name = f"module {entry['slug']}"
    fields = {"title": entry["title"], "order": entry["order"], "summary": entry["summary"]}
    module = Module.objects.filter(slug=entry["slug"]).first()
    if module is None:
        Module.objects.create(slug=entry["slug"], **fields)
        report.created.append(name)
    elif any(getattr(module, key) != value for key, value in fields.items()):
        for key, value in fields.items():
            setattr(module, key, value)
        module.save()
        report.updated.append(name)
    else:
        report.unchanged.append(name)


@transaction.atomic
def lesson_upsert(*, source: LessonSource, module: Module, prerequisites: list[Lesson]) -> str:
    """Create or update the lesson of `source`; returns "created", "updated" or "unchanged"."""
    data = source.data
    version = source.version
    lesson = Lesson.objects.filter(slug=source.slug).first()
    state = "created" if lesson is None else "updated"
    if lesson is None:
        lesson = Lesson(slug=source.slug)
    elif lesson.content_version == version and lesson.module_id == module.pk:
        return "unchanged"
    rendered = markdown_render(text=source.body)
    lesson.module = module
    lesson.title = data["title"]
    lesson.order = data["order"]
    lesson.summary = data["summary"]
    lesson.estimated_minutes = data["minutes"]
    lesson.published = data.get("published", True)
    lesson.objectives = data.get("objectives", [])
    lesson.takeaways = data.get("takeaways", [])
    lesson.try_it = data.get("try_it")
    lesson.body_markdown = source.body
    lesson.body_html = rendered.html
    lesson.toc_html = rendered.toc_html
    lesson.content_version = version
    lesson.rendered_version = rendered_version_for(content_version=version)
    lesson.source_path = source.path
    lesson.full_clean(exclude=["prerequisites"])
    lesson.save()
    lesson.prerequisites.set(prerequisites)
    return state


def content_load(*, root: Path = CONTENT_ROOT, report: LoadReport | None = None) -> LoadReport:
    """Import modules, lessons and questions under `root`; report what changed and what failed.

    Never raises for bad content: every problem lands in `report.errors` as (path, problem).
    """
    report = report if report is not None else LoadReport()
    modules_path = root / "modules.yaml"
    try:
        entries = modules_parse(text=modules_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ContentError) as exc:
        report.error("modules.yaml", str(exc))
        entries = []
    for entry in entries:
        with transaction.atomic():
            _module_upsert(entry=entry, report=report)

    sources = _lesson_sources(root=root, report=report)
    modules = {module.slug: module for module in Module.objects.all()}
    known_lessons = set(sources) | set(Lesson.objects.values_list("slug", flat=True))
    pending = {}
    for slug, source in sources.items():
        module_slug = source.data["module"]
        missing = [p for p in source.data.get("prerequisites", []) if p not in known_lessons]
        if module_slug not in modules:
            report.error(source.path, f"unknown module {module_slug!r} (not in modules.yaml)")
        elif missing:
            report.error(source.path, f"unknown prerequisite(s): {', '.join(missing)}")
        else:
            pending[slug] = source

    # Lessons first without prerequisites that are themselves new, then link them: a lesson may
    # name a prerequisite that appears later in the folder.
    for slug, source in pending.items():
        existing = list(Lesson.objects.filter(slug__in=source.data.get("prerequisites", [])))
        try:
            state = lesson_upsert(
                source=source, module=modules[source.data["module"]], prerequisites=existing
            )
        except Exception as exc:  # a broken file must not stop the others
            report.error(source.path, f"could not be saved: {exc}")
            continue
        getattr(report, state).append(f"lesson {slug}")
    for slug, source in pending.items():
        wanted = source.data.get("prerequisites", [])
        lesson = Lesson.objects.filter(slug=slug).first()
        if lesson is not None and wanted:
            lesson.prerequisites.set(Lesson.objects.filter(slug__in=wanted))

    from learn.practice.loader import load_questions

    load_questions(root=root, report=report)

    from learn.services.search import search_index_rebuild

    search_index_rebuild()
    return report


def _lesson_sources(*, root: Path, report: LoadReport) -> dict[str, LessonSource]:
    sources: dict[str, LessonSource] = {}
    for file in sorted((root / "lessons").glob("*.md")):
        path = str(file.relative_to(root))
        try:
            source = lesson_source_parse(text=file.read_text(encoding="utf-8"), path=path)
        except (OSError, UnicodeDecodeError, ContentError) as exc:
            report.error(path, str(exc))
            continue
        if source.slug in sources:
            report.error(
                path, f"duplicate slug {source.slug!r} (also in {sources[source.slug].path})"
            )
            continue
        sources[source.slug] = source
    return sources


class _LiteralDumper(yaml.SafeDumper):
    """Writes multi-line strings (code, descriptions) as `|` blocks, as authors do."""


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_LiteralDumper.add_representer(str, _str_representer)


def lesson_front_matter(*, lesson: Lesson) -> dict[str, Any]:
    """The front matter a lesson file needs to reproduce `lesson` through the loader."""
    data: dict[str, Any] = {
        "slug": lesson.slug,
        "title": lesson.title,
        "module": lesson.module.slug,
        "order": lesson.order,
        "summary": lesson.summary,
        "minutes": lesson.estimated_minutes,
        "prerequisites": sorted(lesson.prerequisites.values_list("slug", flat=True)),
        "published": lesson.published,
        "objectives": list(lesson.objectives or []),
        "takeaways": list(lesson.takeaways or []),
    }
    if lesson.try_it:
        data["try_it"] = {k: lesson.try_it[k] for k in TRY_IT_KEY_ORDER if k in lesson.try_it}
    return front_matter_normalise(data=data)


def lesson_export_markdown(*, lesson: Lesson) -> str:
    """The lesson as a Markdown file with YAML front matter, in learn/content/README.md's format."""
    front = yaml.dump(
        lesson_front_matter(lesson=lesson),
        Dumper=_LiteralDumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
    )
    return f"---\n{front}---\n\n{lesson.body_markdown.strip()}\n"


def lesson_export_filename(*, lesson: Lesson) -> str:
    """Where the export belongs: its source file name if known, else NN-<slug>.md."""
    if lesson.source_path:
        return Path(lesson.source_path).name
    return f"{lesson.order:02d}-{lesson.slug}.md"


def lesson_refresh(*, lesson: Lesson) -> Lesson:
    """After an edit outside the loader (the admin): recompute the version and re-render."""
    lesson.content_version = content_version_for(
        data=lesson_front_matter(lesson=lesson), body=lesson.body_markdown
    )  # the same digest the loader gives the exported file, so export → load is "unchanged"
    rendered = markdown_render(text=lesson.body_markdown)
    lesson.body_html = rendered.html
    lesson.toc_html = rendered.toc_html
    lesson.rendered_version = rendered_version_for(content_version=lesson.content_version)
    lesson.save(update_fields=["content_version", "body_html", "toc_html", "rendered_version"])
    from learn.services.search import search_index_rebuild

    search_index_rebuild()
    return lesson
