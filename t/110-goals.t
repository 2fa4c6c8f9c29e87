# Goals: $tailor_goals lists the goals the request reaches, with their values.
use Tailor::Test;
require_tailor_module();
run_tests();

__DATA__

=== TEST 1: a goal with a value from the query, and a goal without a value
--- http_config
tailor_rules conf/site.rules;
--- config
location / { tailor on; return 200 "[$tailor_goals]\n"; }
--- user_files
>>> conf/site.rules
segment beta = cookie("beta") == "1"
goal order  when path == "/order/done" value query("total")   # revenue
goal signup when path == "/account/welcome" or beta
goal fixed  when path == "/order/done" value 2.50
page "/" { default "home" }
--- request eval
["GET /order/done?total=12.50", "GET /account/welcome", "GET /", "GET /order/done?total=0"]
--- response_body eval
["[order:12.5,fixed:2.5]\n", "[signup]\n", "[]\n", "[order:0,fixed:2.5]\n"]

=== TEST 2: a missing, negative or non-numeric value: the goal is reached without a value
--- http_config
tailor_rules conf/site.rules;
--- config
location / { tailor on; return 200 "[$tailor_goals]\n"; }
--- user_files
>>> conf/site.rules
goal order when path == "/order/done" value query("total")
goal seen  when path starts_with "/order/"
--- request eval
["GET /order/done", "GET /order/done?total=-5", "GET /order/done?total=12abc", "GET /order/x"]
--- response_body eval
["[order,seen]\n", "[order,seen]\n", "[order,seen]\n", "[seen]\n"]

=== TEST 3: $tailor_goals in add_header, on a matching and a non-matching request
--- http_config
tailor_rules conf/site.rules;
--- config
location / { tailor on; add_header X-Goals "[$tailor_goals]" always; return 200 "ok\n"; }
--- user_files
>>> conf/site.rules
goal signup when path == "/account/welcome" and cookie("beta") == "1"
--- request eval
["GET /account/welcome", "GET /account/other"]
--- more_headers
Cookie: beta=1
--- response_headers eval
["X-Goals: [signup]", "X-Goals: []"]

=== TEST 4: with tailor off, $tailor_goals is empty
--- http_config
tailor_rules conf/site.rules;
--- config
location / { tailor off; return 200 "[$tailor_goals]\n"; }
--- user_files
>>> conf/site.rules
goal all when true
--- request
GET /
--- response_body
[]

=== TEST 5: a goal whose value is not a number fails nginx -t with FILE:LINE:COL
--- http_config
tailor_rules conf/bad.rules;
--- user_files
>>> conf/bad.rules
# line one is a comment
goal order when path == "/order/done" value device.bot
page "/" { default "home" }
--- must_die
--- error_log eval
qr{bad\.rules:2:45: error: a goal's value must be a number or a string holding one, but device\.bot is a bool}

=== TEST 6: a duplicate goal fails nginx -t with FILE:LINE:COL
--- http_config
tailor_rules conf/bad.rules;
--- user_files
>>> conf/bad.rules
goal order when path == "/a"
goal order when path == "/b"
--- must_die
--- error_log eval
qr{bad\.rules:2:6: error: duplicate goal 'order'}

=== TEST 7: a goal without `when` fails nginx -t with FILE:LINE:COL
--- http_config
tailor_rules conf/bad.rules;
--- user_files
>>> conf/bad.rules
goal signup path == "/welcome"
--- must_die
--- error_log eval
qr{bad\.rules:1:13: error: expected 'when', found 'path'}
