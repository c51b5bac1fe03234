"""A minimal browser for OAuth consent pages: follow redirects and submit a form's button.

The demo and the end-to-end tests use it to approve (or cancel) the sandbox's consent page the
way a person's browser would, over real HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import httpx


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str, str]] = field(default_factory=list)  # (name, value, label)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._button: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.forms.append(
                Form(attributes.get("action", ""), attributes.get("method", "get").upper())
            )
        elif not self.forms:
            return
        elif tag == "input":
            kind = attributes.get("type", "text").lower()
            name = attributes.get("name")
            if kind == "submit":
                self.forms[-1].buttons.append(
                    (name or "", attributes.get("value", ""), attributes.get("value", ""))
                )
            elif name and (kind != "radio" or "checked" in attributes):
                self.forms[-1].fields[name] = attributes.get("value", "")
        elif tag == "button":
            self._button = [attributes.get("name", ""), attributes.get("value", ""), ""]

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button[2] += data.strip()

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button is not None and self.forms:
            name, value, label = self._button
            self.forms[-1].buttons.append((name, value, label))
            self._button = None


def parse_forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


async def submit_consent(http: httpx.AsyncClient, authorization_url: str, *, approve: bool) -> str:
    """Open the consent page, press Approve (or Cancel); return where LinkedIn redirected."""
    page = await http.get(authorization_url, follow_redirects=True)
    page.raise_for_status()
    wanted = ("approve", "allow") if approve else ("cancel", "deny")
    for form in parse_forms(page.text):
        for name, value, label in form.buttons:
            text = f"{name} {value} {label}".lower()
            if any(word in text for word in wanted):
                data = dict(form.fields)
                if name:
                    data[name] = value
                target = urljoin(str(page.url), form.action or str(page.url))
                if form.method == "POST":
                    answer = await http.post(target, data=data, follow_redirects=False)
                else:
                    answer = await http.get(target, params=data, follow_redirects=False)
                if answer.status_code not in (301, 302, 303, 307):
                    raise RuntimeError(
                        f"the consent form returned HTTP {answer.status_code}, not a redirect"
                    )
                return urljoin(target, answer.headers["location"])
    raise RuntimeError("no Approve/Cancel button on the consent page")
