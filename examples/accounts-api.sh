#!/bin/sh
# Add, change and remove proxy_auth's inline accounts through Caddy's
# admin API (/config/), without a config file reload. docs/operations.md
# explains each command; the test suite runs this script against a real
# Caddy.
#
#   accounts-api.sh list
#   accounts-api.sh add    <user> <hash>
#   accounts-api.sh change <user> <hash>
#   accounts-api.sh remove <user>
#
# <hash> is what `caddy hash-password` prints. Environment:
#   CADDY_ADMIN      admin address (default localhost:2019)
#   PROXY_AUTH_NAME  the handler's name (default realm:proxy, the name of a
#                    handler with neither `name` nor `realm`)
#
# Needs curl and jq. Changes made this way live in Caddy's running config
# (and its autosave); a later `caddy reload` from a Caddyfile replaces them.
set -eu

admin=${CADDY_ADMIN:-localhost:2019}
name=${PROXY_AUTH_NAME:-realm:proxy}

# The handler's path in the running config: the proxy_auth handler whose
# name (or default name, "realm:" and its realm) is $name.
handler=$(curl -fsS "http://$admin/config/" | jq -r --arg name "$name" '
	[paths(type == "object" and .handler? == "proxy_auth"
		and (.name // ("realm:" + (.realm // "proxy"))) == $name)]
	| if length == 1 then .[0] | map(tostring) | join("/")
	  else error("want exactly one proxy_auth handler named \($name), found \(length)") end')
accounts="http://$admin/config/$handler/accounts"

# lookup sets $i to the position of user $1 in the accounts array and
# $etag to the array's ETag: sent back as If-Match, it makes the change that
# follows fail (412) rather than hit the wrong account if someone changed
# the array in between.
lookup() {
	headers=$(mktemp)
	body=$(curl -fsS -D "$headers" "$accounts")
	etag=$(sed -n 's/^[Ee][Tt]ag: *//p' "$headers" | tr -d '\r')
	rm -f "$headers"
	i=$(printf '%s' "$body" | jq -e --arg user "$1" 'map(.username) | index($user)') ||
		{ echo "no inline account named $1" >&2; exit 1; }
}

case ${1:-} in
list)
	curl -fsS "$accounts" | jq -r '.[].username'
	;;
add)
	account=$(jq -cn --arg user "$2" --arg hash "$3" '{username: $user, password: $hash}')
	if curl -fsS "$accounts" >/dev/null 2>&1; then
		curl -sS --fail-with-body -X POST -H "Content-Type: application/json" -d "$account" "$accounts"
	else # the handler has no inline accounts yet
		curl -sS --fail-with-body -X PUT -H "Content-Type: application/json" -d "[$account]" "$accounts"
	fi
	;;
change)
	lookup "$2"
	curl -sS --fail-with-body -X PATCH -H "Content-Type: application/json" -H "If-Match: $etag" -d "$(jq -cn --arg hash "$3" '$hash')" "$accounts/$i/password"
	;;
remove)
	lookup "$2"
	curl -sS --fail-with-body -X DELETE -H "If-Match: $etag" "$accounts/$i"
	;;
*)
	echo "usage: $0 list | add <user> <hash> | change <user> <hash> | remove <user>" >&2
	exit 2
	;;
esac
