"""Fetch a URL through a proxy with requests, as internal/clienttest asks.

Run with Debian's /usr/bin/python3 and python3-requests. Usage:

    python_requests.py MODE PROXY USER PASSWORD CAFILE URL

MODE is how the credentials are given: "url" puts them in the proxy URL
(percent-encoded), "auth" passes requests.auth.HTTPProxyAuth. CAFILE is the
origin certificate to trust, or "-". Prints one JSON line: the final status
and body, or the error.
"""

import json
import sys
import urllib.parse

import requests
from requests.auth import HTTPProxyAuth


def main():
    mode, proxy, user, password, cafile, url = sys.argv[1:7]
    session = requests.Session()
    session.trust_env = False  # no proxy or CA settings from the environment
    auth = None
    if mode == "url":
        parts = urllib.parse.urlsplit(proxy)
        userinfo = urllib.parse.quote(user, safe="") + ":" + urllib.parse.quote(password, safe="")
        proxy = parts._replace(netloc=userinfo + "@" + parts.netloc).geturl()
    elif mode == "auth":
        auth = HTTPProxyAuth(user, password)
    else:
        raise SystemExit("unknown mode " + mode)
    try:
        resp = session.get(
            url,
            proxies={"http": proxy, "https": proxy},
            auth=auth,
            verify=cafile if cafile != "-" else True,
            timeout=20,
        )
        print(json.dumps({"status": resp.status_code, "body": resp.text}))
    except requests.RequestException as e:
        print(json.dumps({"error": "%s: %s" % (type(e).__name__, e)}))


if __name__ == "__main__":
    main()
