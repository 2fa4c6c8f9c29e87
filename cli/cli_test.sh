#!/bin/bash
# tailorc assign / report / sign / preview-token end to end: rules files that declare tables
# and Lua signals load as nginx loads them (paths relative to the rules file, whatever the
# working directory), and every command that takes --secret reads it as nginx does.
set -u
TAILORC=$1
fail=0
ok() { echo "ok - $1"; }
not_ok() { echo "not ok - $1"; fail=1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/site/lua" "$tmp/elsewhere"
cat > "$tmp/site/site.rules" <<'RULES'
table crm = csv("crm.csv", key: id, by: cookie("customer"))
signal tier = lua("lua/tier.lua") : string
segment gold = crm.tier == "gold" or tier == "gold"
experiment hero {
  variants { control 50, bold 50 }
}
page "/" {
  variant "gold" when gold
  variant "home-bold" when experiment.hero == "bold"
  default "home"
}
RULES
printf 'id,tier:string\nc1,gold\n' > "$tmp/site/crm.csv"
printf 'return function(req) return "gold" end\n' > "$tmp/site/lua/tier.lua"

# --- assign and report load tables and Lua signals -----------------------------------------
cd "$tmp/elsewhere"
out=$(printf 'v1\nv2\n' | "$TAILORC" assign ../site/site.rules 2>&1); rc=$?
[ $rc -eq 0 ] && ok "assign: rules with a table and a Lua signal" || not_ok "assign exit $rc: $out"
[ "$(grep -c $'\thero\t' <<<"$out")" = 2 ] && ok "assign: one line per id" || not_ok "assign output: $out"
printf '%s\n' \
  '{"time":"2026-12-01T10:00:00+00:00","visitor_hash":"h1","experiments":"hero:bold","variant":"home-bold","uri":"/","status":"200"}' \
  '{"time":"2026-12-01T10:01:00+00:00","visitor_hash":"h1","experiments":"","variant":"","uri":"/buy","status":"200"}' \
  > "$tmp/access.json"
out=$("$TAILORC" report "$tmp/access.json" --experiment hero --goal /buy --rules ../site/site.rules 2>&1); rc=$?
[ $rc -eq 0 ] && ok "report --rules: rules with a table and a Lua signal" || not_ok "report exit $rc: $out"
grep -q '^bold ' <<<"$out" && grep -q '^control ' <<<"$out" && ok "report: variants from the rules" \
  || not_ok "report output: $out"
# A broken table is still an error, named like nginx names it.
printf 'id,tier:string\nc1\n' > "$tmp/site/crm.csv"
out=$(echo v1 | "$TAILORC" assign ../site/site.rules 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q 'crm.csv' <<<"$out" && ok "assign: a broken table fails, named" \
  || not_ok "assign with a broken table: exit $rc: $out"
printf 'id,tier:string\nc1,gold\n' > "$tmp/site/crm.csv"
cd "$tmp"

# --- one secret loader -----------------------------------------------------------------------
printf '0123456789abcdef\n' > short.secret
out=$("$TAILORC" sign --secret short.secret orders 2 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q '16 bytes; at least 32' <<<"$out" && ok "sign refuses a 16-byte secret" \
  || not_ok "sign with a 16-byte secret: exit $rc: $out"
out=$("$TAILORC" preview-token --secret short.secret --set hero=bold --ttl 1h 2>&1); rc=$?
[ $rc -eq 1 ] && grep -q '16 bytes; at least 32' <<<"$out" && ok "preview-token refuses a 16-byte secret" \
  || not_ok "preview-token with a 16-byte secret: exit $rc: $out"

# Trailing spaces are key material (as for nginx); one line end is not.
key='tailor-test-secret-0123456789abcdef '
printf '%s\r\n' "$key" > site.secret
hmac() {  # base64url(HMAC-SHA256(key, data)) cut to 22 characters
  perl -MDigest::SHA=hmac_sha256_base64 -e \
    '($s = hmac_sha256_base64($ARGV[1], $ARGV[0])) =~ tr{+/}{-_}; print substr($s, 0, 22)' \
    "$1" "$2"
}
out=$("$TAILORC" sign --secret site.secret orders 2); rc=$?
want="2.$(hmac "$key" 'lifecycle:orders:2')"
[ $rc -eq 0 ] && [ "$out" = "$want" ] && ok "sign: VALUE.SIGNATURE as documented" \
  || not_ok "sign: exit $rc, got '$out', want '$want'"
out=$("$TAILORC" sign --secret site.secret registered 1)
[ "$out" = "1.$(hmac "$key" 'lifecycle:registered:1')" ] && ok "sign: the stage is signed" \
  || not_ok "sign registered: $out"
"$TAILORC" sign --secret site.secret customers 2 >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok "sign: unknown stage is a usage error" || not_ok "sign customers: exit $rc"
"$TAILORC" sign --secret site.secret orders '2; x=1' >/dev/null 2>&1; rc=$?
[ $rc -eq 2 ] && ok "sign: a value that would break the cookie is refused" || not_ok "sign '2; x=1': exit $rc"
token=$("$TAILORC" preview-token --secret site.secret --set hero=bold --ttl 1h) \
  && "$TAILORC" preview-token --secret site.secret --check "$token" >/dev/null \
  && ok "preview-token: made and checked with the same loader" || not_ok "preview-token round trip"

exit $fail
