"""Fetch a URL through a proxy with urllib.request, as internal/clienttest asks.

Usage:

    python_urllib.py MODE PROXY USER PASSWORD CAFILE URL

MODE is how the credentials are given: "basic-handler" registers them with a
ProxyBasicAuthHandler, which answers a 407 challenge; "url" puts them in the
proxy URL given to ProxyHandler, which sends them up front. CAFILE is the
origin certificate to trust, or "-". Prints one JSON line: the final status
and body, or the error.
"""

import json
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request

HANDLERS = {
    "basic-handler": urllib.request.ProxyBasicAuthHandler,
}


def main():
    mode, proxy, user, password, cafile, url = sys.argv[1:7]
    context = ssl.create_default_context(cafile=cafile if cafile != "-" else None)
    handlers = [urllib.request.HTTPSHandler(context=context)]
    if mode in HANDLERS:
        passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        passwords.add_password(None, proxy, user, password)
        handlers.append(HANDLERS[mode](passwords))
    elif mode == "url":
        parts = urllib.parse.urlsplit(proxy)
        userinfo = urllib.parse.quote(user, safe="") + ":" + urllib.parse.quote(password, safe="")
        proxy = parts._replace(netloc=userinfo + "@" + parts.netloc).geturl()
    else:
        raise SystemExit("unknown mode " + mode)
    handlers.append(urllib.request.ProxyHandler({"http": proxy, "https": proxy}))
    opener = urllib.request.build_opener(*handlers)
    try:
        with opener.open(url, timeout=20) as resp:
            body = resp.read().decode("utf-8")
            print(json.dumps({"status": resp.status, "body": body}))
    except urllib.error.HTTPError as e:
        print(json.dumps({"status": e.code, "body": e.read().decode("utf-8", "replace")}))
    except (urllib.error.URLError, OSError) as e:
        print(json.dumps({"error": "%s: %s" % (type(e).__name__, e)}))


if __name__ == "__main__":
    main()
