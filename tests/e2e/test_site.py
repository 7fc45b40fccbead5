import re

from playwright.sync_api import Page, expect


def test_sign_up_then_see_my_name_and_toggle_theme(page: Page, live_server) -> None:
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Sign up").first.click()
    page.get_by_label("Username").fill("grace")
    page.get_by_label("Password:", exact=True).fill("a-Strong-pass-9x")
    page.get_by_label("Password confirmation").fill("a-Strong-pass-9x")
    page.get_by_role("button", name="Sign up").click()
    # Sign-up never says whether a name was taken: the learner logs in next.
    expect(page.get_by_text("log in with it")).to_be_visible()
    page.get_by_label("Username").fill("grace")
    page.get_by_label("Password").fill("a-Strong-pass-9x")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("link", name="grace")).to_be_visible()

    html = page.locator("html")
    before = html.get_attribute("data-theme")
    page.get_by_role("button", name="Switch colour theme").click()
    after = html.get_attribute("data-theme")
    assert after in {"light", "dark"} and after != before
    page.reload()
    expect(html).to_have_attribute("data-theme", after)


def test_unknown_page_is_a_styled_404(page: Page, live_server) -> None:
    response = page.goto(f"{live_server.url}/does-not-exist/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("home page"))).to_be_visible()
