#!/usr/bin/env python3
"""Writes a deterministic nginx/Apache combined access log for the HTTP benchmarks.

    bench/gen_access_log.py LINES OUT [--seed N]

Each line is in the Combined Log Format (nginx's `combined`, Apache's `%h %l %u %t "%r" %>s %b
"%{Referer}i" "%{User-agent}i"`):

    203.0.113.9 - - [01/Jun/2025:08:15:02 +0000] "GET /shop/item?id=42&ref=home HTTP/1.1" 200 5123 "https://www.example.com/shop" "Mozilla/5.0 ..."

Clients (5000 IPv4 and 200 IPv6 addresses) and paths are drawn with Zipf-like popularity;
about a third of the paths carry a query string; referrers are internal pages, search engines
or `-`; a dozen user agents (browsers, bots, curl); statuses mostly 200 with 304/301/404/500
and friends; sizes depend on the path's kind; times rise monotonically over one day
(2025-06-01, +0000). A few requests use an authenticated user. The output is a pure function of
LINES and the seed. Prints a JSON summary (lines, bytes) on stdout.
"""

import argparse
import bisect
import itertools
import json
import random
import sys

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

AGENTS = [
    (30, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"),
    (15, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15"),
    (12, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"),
    (10, "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"),
    (8, "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36"),
    (6, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0"),
    (5, "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
    (3, "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"),
    (3, "curl/8.5.0"),
    (2, "python-requests/2.31.0"),
    (2, "Go-http-client/1.1"),
    (1, "-"),
]

SECTIONS = ["shop", "blog", "docs", "api/v1", "api/v2", "account", "search", "news", "help", "static"]
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
         "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango"]
ASSETS = ["/static/css/site.css", "/static/js/app.js", "/static/js/vendor.js", "/favicon.ico",
          "/static/img/logo.png", "/static/img/hero.jpg", "/static/fonts/inter.woff2", "/robots.txt"]
SEARCH_REFERRERS = ["https://www.google.com/", "https://www.bing.com/search?q=example+shop",
                    "https://duckduckgo.com/", "https://t.co/AbCdEf123", "https://news.ycombinator.com/"]
USERS = ["alice", "bob", "carol", "dave"]


def zipf_sampler(rng, n, s=1.1):
    """Returns a function drawing an index in 0..n with Zipf-like weights 1/(k+1)^s."""
    cum = list(itertools.accumulate(1.0 / (k + 1) ** s for k in range(n)))
    total = cum[-1]
    return lambda: min(bisect.bisect_left(cum, rng.random() * total), n - 1)


def weighted(rng, pairs):
    cum = list(itertools.accumulate(w for w, _ in pairs))
    values = [v for _, v in pairs]
    return lambda: values[bisect.bisect_left(cum, rng.random() * cum[-1])]


def make_paths(rng, n):
    """n distinct request targets: (target, kind) with kind in page/api/asset."""
    out = [(a, "asset") for a in ASSETS]
    seen = set(a for a, _ in out)
    while len(out) < n:
        sec = rng.choice(SECTIONS)
        depth = rng.randint(1, 3)
        path = "/" + sec + "/" + "/".join(rng.choice(WORDS) for _ in range(depth))
        kind = "api" if sec.startswith("api") else "page"
        if rng.random() < 0.35:
            if kind == "api":
                path += f"?limit={rng.choice([10, 20, 50, 100])}&offset={rng.randint(0, 500)}"
            elif sec == "search":
                path += f"?q={rng.choice(WORDS)}+{rng.choice(WORDS)}&page={rng.randint(1, 9)}"
            else:
                path += f"?id={rng.randint(1, 99999)}&utm_source={rng.choice(['mail', 'ad', 'social'])}"
        elif rng.random() < 0.3 and kind == "page":
            path += ".html"
        if path not in seen:
            seen.add(path)
            out.append((path, kind))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("lines", type=int)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=20250601)
    a = ap.parse_args()
    if a.lines <= 0:
        sys.exit("gen_access_log.py: LINES must be positive")
    rng = random.Random(a.seed)

    clients = [f"{rng.choice([198, 203, 192, 81, 93, 145, 176, 185, 2, 45])}.{rng.randint(0, 255)}."
               f"{rng.randint(0, 255)}.{rng.randint(1, 254)}" for _ in range(5000)]
    clients += [f"2001:db8:{rng.randint(0, 0xffff):x}::{rng.randint(1, 0xffff):x}" for _ in range(200)]
    rng.shuffle(clients)
    pick_client = zipf_sampler(rng, len(clients), 1.05)
    paths = make_paths(rng, 4000)
    pick_path = zipf_sampler(rng, len(paths), 1.15)
    pick_agent = weighted(rng, AGENTS)
    pick_method = weighted(rng, [(90, "GET"), (6, "POST"), (2, "HEAD"), (1, "PUT"), (1, "DELETE")])
    pick_proto = weighted(rng, [(55, "HTTP/1.1"), (40, "HTTP/2.0"), (5, "HTTP/1.0")])
    pick_status = weighted(rng, [(780, 200), (90, 304), (30, 301), (20, 302), (50, 404), (8, 403),
                                 (5, 400), (2, 401), (10, 500), (3, 502), (2, 503)])

    day_start = 0  # seconds since 2025-06-01 00:00:00 +0000
    step = 86400.0 / a.lines
    written = 0
    buf = []
    with open(a.out, "w", encoding="utf-8", newline="\n") as f:
        for i in range(a.lines):
            t = day_start + int(i * step)
            hh, rem = divmod(t, 3600)
            mm, ss = divmod(rem, 60)
            ts = f"01/{MONTHS[5]}/2025:{hh:02d}:{mm:02d}:{ss:02d} +0000"
            target, kind = paths[pick_path()]
            method = pick_method()
            status = pick_status()
            if kind == "asset" and method not in ("GET", "HEAD"):
                method = "GET"
            if status in (304, 301, 302) or method == "HEAD":
                size = 0
            elif status >= 400:
                size = rng.randint(150, 600)
            elif kind == "asset":
                size = int(rng.lognormvariate(9.5, 1.2))
            elif kind == "api":
                size = int(rng.lognormvariate(7.0, 1.0))
            else:
                size = int(rng.lognormvariate(9.0, 0.8))
            r = rng.random()
            if kind == "asset" or r < 0.45:
                sec = rng.choice(SECTIONS)
                referrer = f"https://www.example.com/{sec}/{rng.choice(WORDS)}"
            elif r < 0.65:
                referrer = rng.choice(SEARCH_REFERRERS)
            else:
                referrer = "-"
            user = rng.choice(USERS) if target.startswith("/account") and rng.random() < 0.5 else "-"
            buf.append(f'{clients[pick_client()]} - {user} [{ts}] "{method} {target} {pick_proto()}" '
                       f'{status} {size} "{referrer}" "{pick_agent()}"\n')
            if len(buf) >= 10000:
                written += f.write("".join(buf))
                buf.clear()
        written += f.write("".join(buf))
    print(json.dumps({"lines": a.lines, "bytes": written, "seed": a.seed}))


if __name__ == "__main__":
    main()
