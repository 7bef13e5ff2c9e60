"""The console reads skills-group's lists as pages (``{"items", "next_cursor"}``): "My groups"
shows the page it was given and links the next one, whose cursor it hands back to skills-group;
no group is dropped past a page's end. The services' HTTP is faked."""

from __future__ import annotations

import re

from test_console_groups_site_calls import _group, _services, _signed_in

from console.testing import page

CURSOR = "6e6578742d70616765"  # as skills-group gives one out: opaque to the console


def test_my_groups_links_the_next_page_and_hands_its_cursor_back(clock):
    services = _services(3)
    groups = [_group(n) for n in range(3)]

    def pages(params, _body):
        if (params or {}).get("cursor") == CURSOR:
            return page(groups[2:])
        return page(groups[:2], next_cursor=CURSOR)

    services.on("GET", "skills-group", "/v1/groups", pages)
    client = _signed_in(clock, services, ["operator"], [])

    first = client.get("/groups").get_data(as_text=True)
    assert "Group of site 0" in first and "Group of site 1" in first
    assert "Group of site 2" not in first
    link = re.search(r'href="([^"]*cursor=[^"]*)">More groups</a>', first)
    assert link, "the next page is linked"

    second = client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "Group of site 2" in second and "More groups" not in second
    asked = [c["params"] for c in services.calls if c["path"] == "/v1/groups"]
    assert (asked[0] or {}).get("cursor") is None and asked[-1]["cursor"] == CURSOR
