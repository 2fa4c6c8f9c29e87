# $tailor_experiments does not depend on the order in which the configuration reads
# variables; $tailor_experiment_NAME reads one experiment, counts it once, and an unknown name
# fails nginx -t naming it.
use Tailor::Test;
require_tailor_module();
run_tests();

__DATA__

=== TEST 1: [$tailor_experiments][$tailor_segments] lists what the other order lists
--- http_config
tailor_rules conf/site.rules;
--- config
location /a { tailor on; return 200 "[$tailor_experiments][$tailor_segments]\n"; }
location /b { tailor on; return 200 "[$tailor_segments][$tailor_experiments]\n"; }
--- user_files
>>> conf/site.rules
experiment hero  { traffic 100%  variants { bold 1 } }
experiment promo { traffic 100%  variants { big 1 } }
experiment quiet { traffic 100%  variants { on 1 } }
segment promo_big = experiment.promo == "big"
page "/*" { variant "home-bold" when experiment.hero == "bold"  default "home" }
--- request eval
["GET /a", "GET /b"]
--- response_body eval
["[hero:bold,promo:big][promo_big]\n", "[promo_big][hero:bold,promo:big]\n"]
--- no_error_log
[error]

=== TEST 2: experiments read through $tailor_experiment_NAME are listed whatever the order
--- http_config
tailor_rules conf/site.rules;
--- config
location /a { tailor on; return 200 "[$tailor_experiments][$tailor_experiment_checkout]\n"; }
location /b { tailor on; return 200 "[$tailor_experiment_checkout][$tailor_experiments]\n"; }
location /c { tailor on; return 200 "[$tailor_experiments]\n"; }
--- user_files
>>> conf/site.rules
experiment hero     { traffic 100%  variants { bold 1 } }
experiment checkout { traffic 100%  variants { canary 1 } }
experiment quiet    { traffic 100%  variants { on 1 } }
page "/*" { variant "home-bold" when experiment.hero == "bold"  default "home" }
--- request eval
["GET /a", "GET /b", "GET /c"]
--- response_body eval
["[hero:bold,checkout:canary][canary]\n", "[canary][hero:bold,checkout:canary]\n",
 "[hero:bold,checkout:canary]\n"]
--- no_error_log
[error]

=== TEST 3: not enrolled: empty variable, not listed (audience, bot)
--- http_config
tailor_rules conf/site.rules;
--- config
location / { tailor on; return 200 "[$tailor_experiment_checkout][$tailor_experiments]\n"; }
--- user_files
>>> conf/site.rules
experiment checkout {
  traffic 100%
  variants { canary 1 }
  when not (header("X-Legacy-Client") == "1")
}
--- request eval
["GET /", "GET /", "GET /"]
--- more_headers eval
["", "X-Legacy-Client: 1", "User-Agent: Googlebot/2.1 (+http://www.google.com/bot.html)"]
--- response_body eval
["[canary][checkout:canary]\n", "[][]\n", "[][]\n"]

=== TEST 4: nginx variable names are lower case: an experiment with capitals is read so
--- http_config
tailor_rules conf/site.rules;
--- config
location / { tailor on; return 200 "[$tailor_experiment_newcheckout_v2]\n"; }
--- user_files
>>> conf/site.rules
experiment NewCheckout_V2 { traffic 100%  variants { canary 1 } }
--- request
GET /
--- response_body
[canary]

=== TEST 5: two experiments differing only by case cannot be told apart: nginx -t fails
--- http_config
tailor_rules conf/site.rules;
--- config
location / { tailor on; return 200 "[$tailor_experiment_hero]\n"; }
--- user_files
>>> conf/site.rules
experiment Hero { variants { a 1 } }
experiment HERO { variants { b 1 } }
--- must_die
--- error_log
variable "$tailor_experiment_hero": several experiments of

=== TEST 6: an unknown experiment fails nginx -t naming it
--- http_config
tailor_rules conf/site.rules;
--- config
location / { tailor on; return 200 "[$tailor_experiment_chekout]\n"; }
--- user_files
>>> conf/site.rules
experiment checkout { variants { stable 90, canary 10 } }
--- must_die
--- error_log
unknown experiment "chekout" in variable "$tailor_experiment_chekout"

=== TEST 7: $tailor_experiment_NAME without tailor_rules fails nginx -t
--- config
location / { tailor on; return 200 "[$tailor_experiment_checkout]\n"; }
--- must_die
--- error_log
variable "$tailor_experiment_checkout" reads experiment "checkout", but there are no rules

=== TEST 8: one exposure per request, however often and wherever the variable is read
--- http_config
tailor_rules conf/site.rules;
log_format exp '$request_uri exp=$tailor_experiments v=$tailor_experiment_checkout';
access_log logs/exp.log exp;
--- config
location = /tailor-status { tailor off; tailor_status; }
location / {
    tailor on;
    set $first $tailor_experiment_checkout;
    add_header X-A $tailor_experiment_checkout;
    return 200 "[$first][$tailor_experiment_checkout][$tailor_experiment_checkout]\n";
}
--- user_files
>>> conf/site.rules
experiment checkout { traffic 100%  variants { canary 1 } }
--- request eval
["GET /x", "GET /x", "GET /x", "GET /tailor-status"]
--- response_body_like eval
["^\\[canary\\]\\[canary\\]\\[canary\\]\n\$", "^\\[canary\\]\\[canary\\]\\[canary\\]\n\$",
 "^\\[canary\\]\\[canary\\]\\[canary\\]\n\$",
 "\"experiment\":\"checkout\",\"variant\":\"canary\",\"count\":3\\b"]
--- no_repeat

=== TEST 9: tailor off: the variable is empty and nothing is enrolled
--- http_config
tailor_rules conf/site.rules;
--- config
location / { tailor off; return 200 "[$tailor_experiment_checkout][$tailor_experiments]\n"; }
--- user_files
>>> conf/site.rules
experiment checkout { traffic 100%  variants { canary 1 } }
--- request
GET /
--- response_body
[][]

=== TEST 10: the short map of docs/canary.md: the variant names the upstream, empty is stable
--- http_config
tailor_rules conf/site.rules;
map $tailor_experiment_checkout $checkout_upstream {
    ""       stable;
    default  $tailor_experiment_checkout;
}
--- config
location / { tailor on; return 200 "$checkout_upstream\n"; }
--- user_files
>>> conf/site.rules
experiment checkout {
  traffic 100%
  variants { canary 1 }
  when not (header("X-Legacy-Client") == "1")
}
--- request eval
["GET /", "GET /"]
--- more_headers eval
["", "X-Legacy-Client: 1"]
--- response_body eval
["canary\n", "stable\n"]

=== TEST 11: read by name at run time (SSI echo): the same value; an unknown name is empty
--- http_config
tailor_rules conf/site.rules;
--- config
location / { tailor on; ssi on; ssi_types *; }
--- user_files
>>> conf/site.rules
experiment checkout { traffic 100%  variants { canary 1 } }
>>> html/ssi.txt
[<!--# echo var="tailor_experiment_checkout" default="" -->][<!--# echo var="tailor_experiment_nope" default="none" -->]
--- request
GET /ssi.txt
--- response_body
[canary][none]
--- no_error_log
[error]
