# Page matching, first-match order of variants, the default, and requests matching no page.
use Tailor::Test;
require_tailor_module();
run_tests();

__DATA__

=== TEST 1: the demo rules: email campaign, beta cookie, beta header, plain
--- http_config eval
# examples/demo.rules itself (the tests run from the repository's root)
"tailor_rules " . Cwd::abs_path('examples/demo.rules') . ";\n"
--- config
location / { tailor on; return 200 "$tailor_variant\n"; }
--- request eval
["GET /?utm_medium=email", "GET /", "GET /?utm_medium=social", "GET /shop/shoes", "GET /shop/"]
--- response_body eval
["home-email\n", "home\n", "home\n", "shop\n", "shop\n"]

=== TEST 2: first matching variant wins (email before beta)
--- http_config
tailor_rules conf/site.rules;
--- config
location / { tailor on; return 200 "$tailor_variant\n"; }
--- user_files
>>> conf/site.rules
segment from_email = query("utm_medium") == "email"
segment beta       = cookie("beta") == "1"
page "/" {
  variant "home-email" when from_email
  variant "home-beta"  when beta
  default "home"
}
--- request
GET /?utm_medium=email
--- more_headers
Cookie: beta=1
--- response_body
home-email

=== TEST 3: order reversed, beta wins
--- http_config
tailor_rules conf/site.rules;
--- config
location / { tailor on; return 200 "$tailor_variant\n"; }
--- user_files
>>> conf/site.rules
segment from_email = query("utm_medium") == "email"
segment beta       = cookie("beta") == "1"
page "/" {
  variant "home-beta"  when beta
  variant "home-email" when from_email
  default "home"
}
--- request
GET /?utm_medium=email
--- more_headers
Cookie: beta=1
--- response_body
home-beta

=== TEST 4: a request matching no page gets an empty variant
--- http_config
tailor_rules conf/site.rules;
--- config
location / { tailor on; return 200 "[$tailor_variant]\n"; }
--- user_files
>>> conf/site.rules
page "/" { default "home" }
page "/shop/*" { default "shop" }
--- request eval
["GET /about", "GET /shopping", "GET /shop"]
--- response_body eval
["[]\n", "[]\n", "[]\n"]

=== TEST 5: operators: !=, ends_with, contains, not, parentheses
--- http_config
tailor_rules conf/site.rules;
--- config
location / { tailor on; return 200 "$tailor_variant\n"; }
--- user_files
>>> conf/site.rules
segment pdf    = path ends_with ".pdf"
segment promo  = query("q") contains "sale"
segment notget = method != "GET"
page "/*" {
  variant "pdf"   when pdf and not (promo or notget)
  variant "promo" when promo
  default "other"
}
--- request eval
["GET /doc/a.pdf", "GET /doc/a.pdf?q=big+sale", "GET /x?q=summer%20sale", "HEAD /a.pdf", "GET /x"]
--- response_body eval
["pdf\n", "promo\n", "promo\n", "", "other\n"]

=== TEST 6: the chosen variant selects a page with try_files (default)
--- http_config
tailor_rules conf/site.rules;
--- config
root $TEST_NGINX_PREFIX/html;
location = / { tailor on; try_files /$tailor_variant.html =404; }
--- user_files
>>> conf/site.rules
segment beta = cookie("beta") == "1"
page "/" { variant "home-beta" when beta  default "home" }
>>> html/home.html
plain home
>>> html/home-beta.html
beta home
--- request
GET /
--- response_body
plain home

=== TEST 7: the chosen variant selects a page with try_files (beta)
--- http_config
tailor_rules conf/site.rules;
--- config
root $TEST_NGINX_PREFIX/html;
location = / { tailor on; try_files /$tailor_variant.html =404; }
--- user_files
>>> conf/site.rules
segment beta = cookie("beta") == "1"
page "/" { variant "home-beta" when beta  default "home" }
>>> html/home.html
plain home
>>> html/home-beta.html
beta home
--- request
GET /
--- more_headers
Cookie: beta=1
--- response_body
beta home
