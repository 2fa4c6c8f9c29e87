# Variables: $tailor_variant, $tailor_segments, $tailor_visitor, and `tailor off`.
use Tailor::Test;
require_tailor_module();
run_tests();

__DATA__

=== TEST 1: segments the request is in, comma-separated, in rule order
--- http_config
tailor_rules conf/site.rules;
--- config
location / { tailor on; return 200 "[$tailor_segments]\n"; }
--- user_files
>>> conf/site.rules
segment from_email = query("utm_medium") == "email"
segment beta       = cookie("beta") == "1" or header("X-Beta") in ["yes", "1"]
segment shop       = path starts_with "/shop/" and not beta
page "/" { default "home" }
--- request
GET /shop/x?utm_medium=email
--- response_body
[from_email,shop]

=== TEST 2: no segment gives an empty list
--- http_config
tailor_rules conf/site.rules;
--- config
location / { tailor on; return 200 "[$tailor_segments]\n"; }
--- user_files
>>> conf/site.rules
segment beta = cookie("beta") == "1"
page "/" { default "home" }
--- request
GET /
--- response_body
[]

=== TEST 3: $tailor_visitor is a 22-character URL-safe ID
--- config
location / { tailor on; return 200 "$tailor_visitor\n"; }
--- request
GET /
--- response_body_like
^[A-Za-z0-9_-]{22}\n$

=== TEST 4: with tailor off, variables are empty and no cookie is set
--- http_config
tailor_rules conf/site.rules;
--- config
location / { tailor off; return 200 "[$tailor_variant][$tailor_segments][$tailor_visitor]\n"; }
--- user_files
>>> conf/site.rules
segment all = method == "GET"
page "/" { default "home" }
--- request
GET /
--- response_body
[][][]
--- response_headers
!Set-Cookie

=== TEST 5: tailor on at server level is inherited, and a location can turn it off
--- http_config
tailor_rules conf/site.rules;
--- config
tailor on;
location / { return 200 "[$tailor_variant]\n"; }
location /off { tailor off; return 200 "[$tailor_variant]\n"; }
--- user_files
>>> conf/site.rules
page "/*" { default "all" }
--- request eval
["GET /", "GET /off"]
--- response_body eval
["[all]\n", "[]\n"]

=== TEST 6: variables work in add_header and log_format
--- http_config
tailor_rules conf/site.rules;
log_format tailor '$request_uri variant=$tailor_variant segments=$tailor_segments';
--- config
tailor on;
access_log logs/tailor.log tailor;
location / { add_header X-Tailor-Variant $tailor_variant; return 200 "ok\n"; }
--- user_files
>>> conf/site.rules
segment beta = header("X-Beta") == "yes"
page "/" { variant "home-beta" when beta  default "home" }
--- request
GET /
--- more_headers
X-Beta: yes
--- response_headers
X-Tailor-Variant: home-beta
--- response_body
ok
