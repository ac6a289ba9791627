"""Fetch a URL through a proxy with urllib.request, as internal/clienttest asks.

Usage:

    python_urllib.py MODE PROXY USER PASSWORD CAFILE URL

MODE is how the credentials are given: "basic-handler" registers them for
the proxy URL with a ProxyBasicAuthHandler, which answers a 407 challenge;
"digest-handler" does the same with a ProxyDigestAuthHandler, and
"digest-handler-target" registers them for the target URL instead, where the
Digest handler looks them up; "url" puts them in the proxy URL given to
ProxyHandler, which sends them up front. CAFILE is the origin certificate to
trust, or "-". Prints one JSON line: the final status and body, or the error.
"""

import json
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request

# mode: (handler, register the credentials for the target URL rather than
# the proxy's)
HANDLERS = {
    "basic-handler": (urllib.request.ProxyBasicAuthHandler, False),
    "digest-handler": (urllib.request.ProxyDigestAuthHandler, False),
    "digest-handler-target": (urllib.request.ProxyDigestAuthHandler, True),
}


def main():
    mode, proxy, user, password, cafile, url = sys.argv[1:7]
    context = ssl.create_default_context(cafile=cafile if cafile != "-" else None)
    handlers = [urllib.request.HTTPSHandler(context=context)]
    if mode in HANDLERS:
        handler, for_target = HANDLERS[mode]
        passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
        passwords.add_password(None, url if for_target else proxy, user, password)
        handlers.append(handler(passwords))
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
        # The Digest handler's own "digest auth failed" error has no
        # response behind it; its read() gives a str.
        body = e.read()
        if isinstance(body, bytes):
            body = body.decode("utf-8", "replace")
        print(json.dumps({"status": e.code, "body": body}))
    except Exception as e:  # what urllib raises is part of the result
        print(json.dumps({"error": "%s: %s" % (type(e).__name__, e)}))


if __name__ == "__main__":
    main()
