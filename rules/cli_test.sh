#!/bin/bash
# tailorc check / explain / fmt end to end: exit codes, FILE:LINE:COL messages with carets,
# explain's JSON keys and decisions, fmt idempotency on every example rules file.
set -u
TAILORC=$1
SRC=$2
fail=0
ok() { echo "ok - $1"; }
not_ok() { echo "not ok - $1"; fail=1; }
# json_at KEY...: the value at that path of the JSON on stdin, compact, keys sorted.
json_at() {
  perl -MJSON::PP -0777 -e 'my $v = decode_json(<STDIN>); $v = $v->{$_} for @ARGV;
    print JSON::PP->new->canonical->allow_nonref->encode($v)' "$@"
}

out=$("$TAILORC" check "$SRC/rules/testdata/errors.rules" 2>&1); rc=$?
[ $rc -eq 1 ] && ok "check exits 1 on errors" || not_ok "check exit code $rc"
for want in \
  "errors.rules:2:13: error: unknown signal 'heder' (did you mean 'header'?)" \
  "errors.rules:4:13: error: cycle: 'b' depends on itself (b -> c -> b)" \
  "errors.rules:4:33: error: type mismatch: geo.country is a string but 3 is a number" \
  "errors.rules:5:9: error: duplicate name 'a'" \
  "errors.rules:6:18: error: bad regex" \
  "errors.rules:7:21: error: unterminated string" \
  "errors.rules:8:13: error: unknown signal or segment 'nosuch_segment'" \
  "errors.rules:8:49: error: type mismatch: visitor.visits is a number but \"x\" is a string" \
  "errors.rules:9:10: error: unmatched '{'"; do
  grep -qF -- "$want" <<<"$out" && ok "reports: $want" || not_ok "missing: $want"
done
# The caret sits under the column.
grep -qF -- $'  segment a = heder("X") == "1"\n              ^' <<<"$out" && ok "caret under the column" || not_ok "caret"

for f in "$SRC"/examples/demo.rules "$SRC"/examples/rules/*.rules; do
  "$TAILORC" check "$f" >/dev/null 2>&1 && ok "check $f" || not_ok "check $f"
  once=$("$TAILORC" fmt "$f") || { not_ok "fmt $f"; continue; }
  tmp=$(mktemp --suffix=.rules); printf '%s\n' "$once" > "$tmp"
  twice=$("$TAILORC" fmt "$tmp")
  [ "$once" = "$twice" ] && ok "fmt idempotent: $f" || not_ok "fmt not idempotent: $f"
  rm -f "$tmp"
done

json=$("$TAILORC" explain "$SRC/examples/demo.rules" --url '/?utm_medium=email' --cookie beta=1)
for key in '"page": "/"' '"variant": "home-email"' '"scores"' '"signals"' '"trace"' '"query(\"utm_medium\")": "email"'; do
  grep -qF -- "$key" <<<"$json" && ok "explain has $key" || not_ok "explain lacks $key"
done
[ "$(json_at segments <<<"$json")" = '["from_email","beta"]' ] && ok "explain: segments" \
  || not_ok "explain segments: $json"
json=$("$TAILORC" explain "$SRC/examples/demo.rules" --url '/shop/shoes' --header 'X-Beta: yes')
grep -qF '"variant": "shop-beta"' <<<"$json" && ok "explain: header decides" || not_ok "explain header"
json=$("$TAILORC" explain "$SRC/examples/rules/shop.rules" --url '/?utm_medium=email' --header 'Save-Data: on')
[ "$(json_at scores intent <<<"$json")" = '{"band":"medium","points":20}' ] && ok "explain: score band" \
  || not_ok "explain score: $json"
json=$("$TAILORC" explain "$SRC/examples/demo.rules" --url '/nowhere')
grep -qF '"page": null' <<<"$json" && grep -qF '"variant": null' <<<"$json" && ok "explain: no page" || not_ok "explain no page"

# Goals: explain lists the goals reached (after the segments), check counts them.
goals=$(mktemp --suffix=.rules)
cat > "$goals" <<'RULES'
segment beta = cookie("beta") == "1"
goal order when path == "/order/done" value query("total")
goal signup when path == "/account/welcome" or beta
goal fixed when path == "/order/done" value 3
page "/" { default "home" }
RULES
json=$("$TAILORC" explain "$goals" --url '/order/done?total=12.50' --cookie beta=1)
[ "$(json_at goals <<<"$json")" = '[{"name":"order","value":12.5},{"name":"signup","value":null},{"name":"fixed","value":3}]' ] \
  && ok "explain: goals" || not_ok "explain goals: $json"
perl -0777 -ne 'exit(/"segments".*"goals".*"scores"/s ? 0 : 1)' <<<"$json" && ok "explain: goals after segments" \
  || not_ok "explain goals order"
json=$("$TAILORC" explain "$goals" --url '/')
[ "$(json_at goals <<<"$json")" = '[]' ] && ok "explain: no goal" || not_ok "explain no goal: $json"
out=$("$TAILORC" check "$goals" 2>&1)
grep -qF ', 3 goals;' <<<"$out" && ok "check counts goals" || not_ok "check goals: $out"
rm -f "$goals"
exit $fail
