# Directives: accepted forms, and every configuration error caught by `nginx -t`.
use Tailor::Test;
require_tailor_module();
run_tests();

__DATA__

=== TEST 1: minimal configuration loads and serves
--- http_config
tailor_rules conf/site.rules;
--- config
location / { tailor on; return 200 "v=$tailor_variant\n"; }
--- user_files
>>> conf/site.rules
page "/" { default "home" }
--- request
GET /
--- response_body
v=home
--- no_error_log
[error]
[emerg]

=== TEST 2: tailor_rules path is relative to the prefix, absolute works too
--- http_config
tailor_rules $TEST_NGINX_PREFIX/conf/site.rules;
--- config
location / { tailor on; return 200 "v=$tailor_variant\n"; }
--- user_files
>>> conf/site.rules
page "/" { default "abs" }
--- request
GET /
--- response_body
v=abs

=== TEST 3: missing rules file fails nginx -t naming the file
--- http_config
tailor_rules conf/none.rules;
--- must_die
--- error_log
none.rules

=== TEST 4: syntax error fails nginx -t with FILE:LINE:COL
--- http_config
tailor_rules conf/bad.rules;
--- user_files
>>> conf/bad.rules
segment a = query("x") == "1"
segment b = (query("y") == "2"
page "/" { default "home" }
--- must_die
--- error_log eval
qr{bad\.rules:[23]:\d+: error:}

=== TEST 5: unknown signal fails nginx -t with FILE:LINE:COL
--- http_config
tailor_rules conf/bad.rules;
--- user_files
>>> conf/bad.rules
# line one is a comment
segment a = cokie("beta") == "1"
page "/" { default "home" }
--- must_die
--- error_log eval
qr{bad\.rules:2:13: error: .*cokie}

=== TEST 6: duplicate segment fails nginx -t with FILE:LINE:COL
--- http_config
tailor_rules conf/bad.rules;
--- user_files
>>> conf/bad.rules
segment a = query("x") == "1"
segment a = query("y") == "1"
page "/" { default "home" }
--- must_die
--- error_log eval
qr{bad\.rules:2:\d+: error: .*\ba\b}

=== TEST 7: tailor_rules is http-level only
--- config
location / { tailor_rules conf/site.rules; }
--- user_files
>>> conf/site.rules
page "/" { default "home" }
--- must_die
--- error_log
"tailor_rules" directive is not allowed here

=== TEST 8: tailor takes on|off only
--- config
location / { tailor maybe; }
--- must_die
--- error_log
invalid value "maybe"

=== TEST 9: duplicate tailor_rules
--- http_config
tailor_rules conf/site.rules;
tailor_rules conf/site.rules;
--- user_files
>>> conf/site.rules
page "/" { default "home" }
--- must_die
--- error_log
"tailor_rules" directive is duplicate

=== TEST 10: tailor_visitor_cookie accepts name, max_age, domain and path
--- http_config
tailor_visitor_cookie vid max_age=30d domain=example.com path=/shop;
--- config
location / { tailor on; return 200 "ok\n"; }
--- request
GET /
--- response_headers_like
Set-Cookie: ^vid=[A-Za-z0-9_-]{22}; HttpOnly; SameSite=Lax; Path=/shop; Max-Age=2592000; Expires=[^;]+; Domain=example\.com$
--- response_body
ok

=== TEST 11: tailor_visitor_cookie rejects an unknown parameter
--- http_config
tailor_visitor_cookie vid color=blue;
--- must_die
--- error_log
invalid parameter "color=blue"

=== TEST 12: tailor_visitor_cookie rejects a bad max_age
--- http_config
tailor_visitor_cookie vid max_age=forever;
--- must_die
--- error_log
invalid max_age "forever"

=== TEST 13: more than 13 months needs allow_long=on
--- http_config
tailor_visitor_cookie vid max_age=400d;
--- must_die
--- error_log
needs "allow_long=on"

=== TEST 14: allow_long=on permits a longer lifetime
--- http_config
tailor_visitor_cookie vid max_age=400d allow_long=on;
--- config
location / { tailor on; return 200 "ok\n"; }
--- request
GET /
--- response_headers_like
Set-Cookie: ^vid=[^;]+; HttpOnly; SameSite=Lax; Path=/; Max-Age=34560000;

=== TEST 15: tailor_visitor_cookie rejects a name with separators
--- http_config
tailor_visitor_cookie "a;b";
--- must_die
--- error_log
invalid cookie name "a;b"

=== TEST 16: tailor_lifecycle takes registered or orders
--- http_config
tailor_lifecycle customers cookie:x;
--- must_die
--- error_log
invalid lifecycle stage "customers"

=== TEST 17: tailor_lifecycle sources are cookie:NAME or header:NAME
--- http_config
tailor_lifecycle registered cookie:logged_in query:user;
--- must_die
--- error_log
invalid lifecycle source "query:user"

=== TEST 18: tailor_lifecycle names each stage once
--- http_config
tailor_lifecycle orders cookie:orders;
tailor_lifecycle orders header:X-Orders;
--- must_die
--- error_log
duplicate lifecycle stage "orders"

=== TEST 19: tailor_geoip2 rejects an unknown parameter
--- http_config
tailor_geoip2 conf/geo.mmdb color=blue;
--- must_die
--- error_log
invalid parameter "color=blue"

=== TEST 20: tailor_geoip2 rejects a bad auto_reload
--- http_config
tailor_geoip2 conf/geo.mmdb auto_reload=soon;
--- must_die
--- error_log
invalid auto_reload "soon"

=== TEST 21: tailor_geoip2 rejects auto_reload=0
--- http_config
tailor_geoip2 conf/geo.mmdb auto_reload=0;
--- must_die
--- error_log
invalid auto_reload "0"

=== TEST 22: tailor_geoip2 takes a path and at most its options
--- http_config
tailor_geoip2 conf/geo.mmdb auto_reload=1s auto_reload=2s;
--- must_die
--- error_log
invalid number of arguments in "tailor_geoip2" directive

=== TEST 23: tailor_geoip2 belongs to the http block
--- config
location / { tailor_geoip2 conf/geo.mmdb; return 200; }
--- must_die
--- error_log
"tailor_geoip2" directive is not allowed here

=== TEST 24: a tailor_geoip2 file that is not a database fails the configuration
--- http_config
tailor_geoip2 conf/geo.mmdb;
--- user_files
>>> conf/geo.mmdb
not a database
--- must_die
--- error_log
geo.mmdb
