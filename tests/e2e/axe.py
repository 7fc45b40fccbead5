"""axe-core in a real browser, shared by the accessibility and the screenshot tests.

axe is test tooling vendored under tests/e2e/vendor/axe-core (see its README); the app never
serves it. The site's CSP (`script-src 'self'`) rightly blocks an injected script, so pages
audited with axe are opened in a browser context that bypasses CSP.
"""

from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
FAILING_IMPACTS = {"serious", "critical"}

AXE_RUN = """async (tags) => {
    const results = await axe.run(document, {runOnly: {type: "tag", values: tags}});
    return results.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        targets: v.nodes.slice(0, 3).map((node) => node.target.join(" ")),
        count: v.nodes.length,
        why: (v.nodes[0].any[0] || v.nodes[0].all[0] || v.nodes[0].none[0] || {}).message || "",
    }));
}"""


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Every WCAG 2.1 A/AA violation axe finds on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=AXE)
    return page.evaluate(AXE_RUN, WCAG_TAGS)


def describe(found: list[tuple[str, dict[str, Any]]]) -> str:
    """One line per violation, labelled with where it was found."""
    return "\n".join(
        f"{label}: {v['impact']} {v['id']} ({v['help']}) x{v['count']}: "
        f"{', '.join(v['targets'])} -- {v['why']}"
        for label, v in found
    )
