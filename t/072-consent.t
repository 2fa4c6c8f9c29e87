# Consent is explicit: only the values of tailor_consent_values (default "1 yes true granted
# accept accepted", any case) mean yes. Without consent Tailor's own cookies are invisible to
# the rules and to experiment units, and the ones the browser sends are expired. Cookie
# attributes: Secure with tailor_cookie_secure.
use Tailor::Test;
require_tailor_module();
run_tests();

__DATA__

=== TEST 1: values that do not say yes are no consent
--- http_config
tailor_rules conf/site.rules;
--- config
location / { tailor on; tailor_consent $cookie_consent; return 200 "[$tailor_visitor]\n"; }
--- user_files
>>> conf/site.rules
page "/" { default "home" }
--- request eval
[("GET /") x 8]
--- more_headers eval
[map { "Cookie: consent=$_" } qw(denied off rejected refuse no 0 false maybe)]
--- response_body
[]
--- response_headers
!Set-Cookie

=== TEST 2: the default yes values, in any case
--- http_config
tailor_rules conf/site.rules;
--- config
location / { tailor on; tailor_consent $cookie_consent; return 200 "ok\n"; }
--- user_files
>>> conf/site.rules
page "/" { default "home" }
--- request eval
[("GET /") x 7]
--- more_headers eval
[map { "Cookie: consent=$_" } qw(1 yes true granted accept accepted ACCEPTED)]
--- response_headers_like
Set-Cookie: ^tailor_id=[A-Za-z0-9_-]{22};

=== TEST 3: tailor_consent_values replaces the list
--- http_config
tailor_rules conf/site.rules;
--- config
tailor_consent $cookie_consent;
tailor_consent_values opt-in all;
location / { tailor on; return 200 "[$tailor_visitor]\n"; }
location /inner { tailor on; tailor_consent_values 1; return 200 "[$tailor_visitor]\n"; }
--- user_files
>>> conf/site.rules
page "/*" { default "home" }
--- request eval
["GET /", "GET /", "GET /", "GET /inner", "GET /inner"]
--- more_headers eval
["Cookie: consent=opt-in", "Cookie: consent=ALL", "Cookie: consent=yes",
 "Cookie: consent=1", "Cookie: consent=opt-in"]
--- response_body_like eval
[qr/^\[[A-Za-z0-9_-]{22}\]$/, qr/^\[[A-Za-z0-9_-]{22}\]$/, qr/^\[\]$/,
 qr/^\[[A-Za-z0-9_-]{22}\]$/, qr/^\[\]$/]

=== TEST 4: withdrawn consent expires the visitor cookie
--- http_config
tailor_rules conf/site.rules;
--- config
location / { tailor on; tailor_consent $cookie_consent; return 200 "ok\n"; }
--- user_files
>>> conf/site.rules
page "/" { default "home" }
--- request
GET /
--- more_headers
Cookie: consent=denied; tailor_id=AAAAAAAAAAAAAAAAAAAAAA; tailor_preview=x
--- response_headers
Set-Cookie: tailor_id=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT
Set-Cookie: tailor_preview=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT
Cache-Control: private

=== TEST 5: without consent the rules do not see Tailor's own cookies
--- http_config
tailor_rules conf/site.rules;
--- config
location / { tailor on; tailor_consent $cookie_consent; return 200 "$tailor_variant\n"; }
--- user_files
>>> conf/site.rules
page "/" { variant "known" when cookie("tailor_id") == "AAAAAAAAAAAAAAAAAAAAAA"  default "home" }
--- request eval
["GET /", "GET /"]
--- more_headers eval
["Cookie: consent=yes; tailor_id=AAAAAAAAAAAAAAAAAAAAAA",
 "Cookie: consent=no; tailor_id=AAAAAAAAAAAAAAAAAAAAAA"]
--- response_body eval
["known\n", "home\n"]

=== TEST 6: an experiment with a cookie unit does not enrol without consent
--- http_config
tailor_rules conf/site.rules;
--- config
location / { tailor on; tailor_consent $cookie_consent; return 200 "$tailor_variant|$tailor_experiments\n"; }
--- user_files
>>> conf/site.rules
experiment split {
  unit cookie("uid")
  variants { a 50, b 50 }
}
page "/" {
  variant "in-a" when experiment.split == "a"
  variant "in-b" when experiment.split == "b"
  default "none"
}
--- request eval
["GET /", "GET /"]
--- more_headers eval
["Cookie: consent=yes; uid=u-42", "Cookie: consent=no; uid=u-42"]
--- response_body_like eval
[qr/^in-(a|b)\|split:(a|b)$/, qr/^none\|$/]

=== TEST 7: tailor_cookie_secure on and off
--- http_config
tailor_rules conf/site.rules;
tailor_cookie_secure on;
--- config
location / { tailor on; return 200 "ok\n"; }
--- user_files
>>> conf/site.rules
page "/" { default "home" }
--- request
GET /
--- response_headers_like
Set-Cookie: ^tailor_id=[A-Za-z0-9_-]{22}; HttpOnly; SameSite=Lax; Path=/; Max-Age=34128000; Expires=[^;]+; Secure$

=== TEST 8: auto: X-Forwarded-Proto https from a proxy trusted by set_real_ip_from
--- http_config
tailor_rules conf/site.rules;
--- config
set_real_ip_from 127.0.0.1;
real_ip_header X-Forwarded-For;
location / { tailor on; return 200 "ok\n"; }
--- user_files
>>> conf/site.rules
page "/" { default "home" }
--- request
GET /
--- more_headers
X-Forwarded-For: 203.0.113.9
X-Forwarded-Proto: https
--- response_headers_like
Set-Cookie: ; Secure$

=== TEST 9: auto: X-Forwarded-Proto from an untrusted client is ignored
--- http_config
tailor_rules conf/site.rules;
--- config
set_real_ip_from 192.0.2.1;
real_ip_header X-Forwarded-For;
location / { tailor on; return 200 "ok\n"; }
--- user_files
>>> conf/site.rules
page "/*" { default "home" }
--- request
GET /
--- more_headers
X-Forwarded-For: 203.0.113.9
X-Forwarded-Proto: https
--- response_headers_like
Set-Cookie: Path=/; Max-Age=\d+; Expires=[^;]+$

=== TEST 10: a bad tailor_cookie_secure value
--- http_config
tailor_rules conf/site.rules;
tailor_cookie_secure maybe;
--- config
location / { tailor on; return 200 "ok\n"; }
--- user_files
>>> conf/site.rules
page "/" { default "home" }
--- must_die
--- error_log
invalid value "maybe"

=== TEST 11: an empty consent value is refused
--- http_config
tailor_rules conf/site.rules;
--- config
location / { tailor on; tailor_consent $cookie_consent; tailor_consent_values yes ""; return 200 "ok\n"; }
--- user_files
>>> conf/site.rules
page "/" { default "home" }
--- must_die
--- error_log
empty consent value

=== TEST 12: auto: realip configured in the location, which runs after Tailor's handler
--- http_config
tailor_rules conf/site.rules;
--- config
location / {
    root $TEST_NGINX_PREFIX/html;
    set_real_ip_from 127.0.0.1;
    real_ip_header X-Forwarded-For;
    tailor on;
}
--- user_files
>>> conf/site.rules
page "/" { default "home" }
>>> html/index.html
home
--- request
GET /index.html
--- more_headers
X-Forwarded-For: 203.0.113.9
X-Forwarded-Proto: https
--- response_headers_like
Set-Cookie: ; Secure$
