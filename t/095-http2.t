# The request path over HTTP/2 (cleartext, prior knowledge, through curl): cookies (also
# sent as several cookie header fields, which HTTP/2 allows), client hints, the visitor
# cookie and the variant decision behave as over HTTP/1.1.
use Tailor::Test;
require_tailor_module();

my $ok = `curl -V 2>&1` =~ /\bHTTP2\b/;
Test::More::plan(skip_all => 'curl without HTTP/2') unless $ok;
run_tests();

__DATA__

=== TEST 1: a variant from a cookie, a query parameter and a header
--- http2
--- http_config
tailor_rules conf/site.rules;
--- config
location / { tailor on; return 200 "$tailor_variant|$tailor_segments\n"; }
--- user_files
>>> conf/site.rules
segment beta       = cookie("beta") == "1"
segment from_email = query("utm_medium") == "email"
segment vip        = header("X-Tier") == "vip"
page "/" {
  variant "home-email" when from_email
  variant "home-beta"  when beta
  variant "home-vip"   when vip
  default "home"
}
--- request eval
["GET /?utm_medium=email", "GET /", "GET /", "GET /"]
--- more_headers eval
["", "Cookie: beta=1", "X-Tier: vip", ""]
--- response_body eval
["home-email|from_email\n", "home-beta|beta\n", "home-vip|vip\n", "home|\n"]

=== TEST 2: cookies split over several cookie header fields are all seen
--- http2
--- http_config
tailor_rules conf/site.rules;
--- config
location / { tailor on; return 200 "$tailor_variant|$tailor_visitor\n"; }
--- user_files
>>> conf/site.rules
segment both = cookie("a") == "1" and cookie("b") == "2"
page "/" { variant "both" when both  default "home" }
--- request
GET /
--- more_headers
Cookie: a=1
Cookie: tailor_id=AAAAAAAAAAAAAAAAAAAAAA
Cookie: b=2
--- response_body
both|AAAAAAAAAAAAAAAAAAAAAA
--- response_headers
!Set-Cookie

=== TEST 3: a new visitor gets the visitor cookie, and the response is private
--- http2
--- http_config
tailor_rules conf/site.rules;
--- config
location / { tailor on; return 200 "[$tailor_visitor]\n"; }
--- user_files
>>> conf/site.rules
page "/" { default "home" }
--- request
GET /
--- response_headers_like
Set-Cookie: ^tailor_id=[A-Za-z0-9_-]{22}; HttpOnly; SameSite=Lax; Path=/; Max-Age=34128000; Expires=
Cache-Control: ^private$
--- response_body_like
^\[[A-Za-z0-9_-]{22}\]$

=== TEST 4: client hints
--- http2
--- http_config
tailor_rules conf/site.rules;
--- config
location / { tailor on; return 200 "$tailor_device_type|$tailor_device_os\n"; }
--- user_files
>>> conf/site.rules
page "/" { default "home" }
--- request eval
["GET /", "GET /"]
--- more_headers eval
["User-Agent: Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
 "User-Agent: Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36\nSec-CH-UA-Mobile: ?0"]
--- response_body eval
["smartphone|android\n", "tablet|android\n"]

=== TEST 5: the private rewrite of Cache-Control and the debug headers
--- http2
--- http_config
tailor_rules conf/site.rules;
--- config
location / {
    tailor on;
    tailor_debug_header on;
    add_header Cache-Control "public,max-age=60,s-maxage=600";
    return 200 "ok\n";
}
--- user_files
>>> conf/site.rules
segment beta = cookie("beta") == "1"
page "/" { variant "home-beta" when beta  default "home" }
--- request
GET /
--- more_headers
Cookie: beta=1; tailor_id=AAAAAAAAAAAAAAAAAAAAAA
--- response_headers
Cache-Control: private, max-age=60
X-Tailor-Variant: home-beta
X-Tailor-Segments: beta
!Set-Cookie
