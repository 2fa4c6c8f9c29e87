# Bad input, each with a clear outcome: a configuration error at load (nginx -t fails with
# FILE:LINE:COL), or at request time the default variant with status 200 (or nginx's own 4xx
# where nginx itself refuses the request) — never a crash, and nothing in the error log above
# warn.
use strict;
use warnings;
use Tailor::Test;
use Test::More;

require_tailor_module();

my $rules = <<'RULES';
segment from_email = query("utm_medium") == "email"
segment beta       = cookie("beta") == "1" or header("X-Beta") in ["yes", "1"]
segment fr         = lang == "fr"
segment phone      = device.type == "smartphone"
segment searchy    = referrer.medium == "search" and referrer.term matches "^(cheap|promo) .*"
page "/" {
  variant "home-email" when from_email
  variant "home-beta"  when beta
  variant "home-phone" when phone and fr
  default "home"
}
page "/p/*" { variant "p-search" when searchy  default "p" }
RULES

my $t = Tailor::Test::Server->new(
    workers     => 2,
    http_config => "tailor_rules conf/site.rules;\ntailor_languages en fr;\n"
                 . "large_client_header_buffers 8 80k;\n",
    config      => <<'CONF',
location / { tailor on; return 200 "$tailor_variant|$tailor_segments\n"; }
CONF
    user_files  => { 'conf/site.rules' => $rules },
);
$t->start;

sub check {
    my ($name, $line, $headers, $want) = @_;
    my $r = $t->request($line, headers => $headers // []);
    if (ref $want eq 'Regexp') {
        like "$r->{status} $r->{body}", $want, $name;
    } else {
        is "$r->{status} $r->{body}", "200 $want\n", $name;
    }
}

# Controls: the rules work.
check('control: email', 'GET /?utm_medium=email', [], 'home-email|from_email');
check('control: beta', 'GET /', [Cookie => 'beta=1'], 'home-beta|beta');

# Header floods.
check('500 headers', 'GET /', [map { ("X-Flood-$_" => 'x' x 20) } 1 .. 500], 'home|');
check('500 Cookie headers, beta in the last', 'GET /',
      [(map { (Cookie => "c$_=v$_") } 1 .. 499), Cookie => 'beta=1'], 'home-beta|beta');
check('200 X-Beta headers: the first one counts', 'GET /',
      [(map { ('X-Beta' => 'no') } 1 .. 200), 'X-Beta' => 'yes'], 'home|');

# Huge cookies.
my $cookie64k = join '; ', map { "k$_=" . ('v' x 60) } 1 .. 1000;
check('a 64 KB Cookie header', 'GET /', [Cookie => "$cookie64k; beta=1"], 'home-beta|beta');
check('a 64 KB single cookie value', 'GET /', [Cookie => 'beta=' . ('1' x 65536)], 'home|');
check('a cookie header of separators only', 'GET /', [Cookie => ';;;; ; = ;=;==; '], 'home|');
check('a cookie without =', 'GET /', [Cookie => 'beta'], 'home|');
check('a cookie with an unterminated quote', 'GET /', [Cookie => 'beta="1'], 'home|');

# Invalid UTF-8 and percent-encoding.
check('invalid UTF-8 in the query', 'GET /?utm_medium=%FF%FEemail%C3%28', [], 'home|');
check('bad percent-encoding in the query', 'GET /?utm_medium=%e%zzemail%', [], 'home|');
check('percent-encoded NUL in the query value', 'GET /?utm_medium=email%00x', [], 'home|');
check('NUL before the expected value', 'GET /?utm_medium=%00email', [], 'home|');
check('invalid UTF-8 in headers', 'GET /', ['X-Beta' => "\xff\xfe", 'Accept-Language' => "fr\xc3\x28"],
      qr/^200 home(-phone)?\|/);
check('invalid UTF-8 in the path', 'GET /p/%C3%28%FF', [Referer => "https://www.google.com/search?q=promo+\xff"],
      qr/^200 p(-search)?\|/);
check('a raw invalid byte in the request line', "GET /p/\xff\xfe", [], qr/^(200 p\||400 )/);
check('bad percent-encoding in the path: nginx refuses it', 'GET /p/%zz', [], qr/^400 /);

# Very long paths and query strings.
check('an 8 KB path', 'GET /p/' . ('a' x 8192), [], 'p|');
check('a 60 KB query string', 'GET /?x=' . ('y' x 61440) . '&utm_medium=email', [], 'home-email|from_email');
check('10,000 query parameters', 'GET /?' . join('&', map { "k$_=v" } 1 .. 10000), [], 'home|');

# Hostile header values for the signals.
check('a 64 KB User-Agent', 'GET /', ['User-Agent' => 'Mozilla/5.0 (iPhone; ' . ('x' x 65536),
      'Accept-Language' => 'fr'], 'home-phone|fr,phone');
check('a 64 KB Accept-Language', 'GET /', ['Accept-Language' => join(',', ('de;q=0.5') x 7000)],
      qr/^200 home\|/);
check('a referrer that is a 64 KB URL', 'GET /p/x', [Referer => 'https://www.google.com/search?q=promo+' . ('z' x 65536)],
      qr/^200 p(-search)?\|/);
check('a regex over a 64 KB search term stays linear', 'GET /p/x',
      [Referer => 'https://www.google.com/search?q=cheap+' . ('a' x 60000)], 'p-search|searchy');

$t->stop;

# With nginx's default header buffers (8k), nginx itself refuses a 64 KB cookie.
my $small = Tailor::Test::Server->new(
    http_config => 'tailor_rules conf/site.rules;',
    config      => 'location / { tailor on; return 200 "$tailor_variant\n"; }',
    user_files  => { 'conf/site.rules' => $rules },
);
$small->start;
like $small->request('GET /', headers => [Cookie => $cookie64k])->{status}, qr/^4\d\d$/,
    'a 64 KB cookie with default buffers: nginx answers 4xx itself';
is $small->request('GET /?utm_medium=email')->{body}, "home-email\n", 'and the next request is served';
$small->stop;
unlike $small->error_log, qr/exited on signal/, 'no crash with default buffers';

my $log = $t->error_log;
unlike $log, qr/exited on signal/, 'no worker crashed';
unlike $log, qr/\[(?:error|crit|alert|emerg)\](?!.*client sent)/, 'nothing above warn from Tailor at request time';

# --- configuration errors: nginx -t fails with FILE:LINE:COL ---------------------------------
sub must_die {
    my ($name, $bad_rules, $want) = @_;
    my $s = Tailor::Test::Server->new(
        http_config => 'tailor_rules conf/site.rules;',
        config      => 'location / { tailor on; return 200 "$tailor_variant\n"; }',
        user_files  => { 'conf/site.rules' => $bad_rules },
    );
    my ($ok, $out) = $s->test_config;
    ok !$ok, "$name: nginx -t fails";
    like $out, $want, "$name: message";
}

sub may_load {
    my ($name, $good_rules, $request, $want) = @_;
    my $s = Tailor::Test::Server->new(
        http_config => 'tailor_rules conf/site.rules;',
        config      => 'location / { tailor on; return 200 "$tailor_variant\n"; }',
        user_files  => { 'conf/site.rules' => $good_rules },
    );
    ok $s->try_start, "$name: loads" or diag $s->{start_error};
    is $s->request($request)->{body}, "$want\n", "$name: works" if $s->running;
    $s->stop;
}

my $deep = 'segment s = ' . ('(' x 200) . 'path == "/"' . (')' x 200) . "\n";
must_die('parentheses nested 200 deep', $deep, qr{site\.rules:1:\d+: error: .*(nest|deep)}i);
my $nots = 'segment s = ' . ('not ' x 500) . "path == \"/\"\n";
must_die('500 nested nots', $nots, qr{site\.rules:1:\d+: error: .*(nest|deep)}i);
may_load('parentheses nested 50 deep',
         'segment s = ' . ('(' x 50) . 'path == "/"' . (')' x 50) . "\npage \"/\" { variant \"deep\" when s default \"d\" }\n",
         'GET /', 'deep');

my $chain = join('', map { "segment s$_ = s" . ($_ + 1) . "\n" } 1 .. 299) . "segment s300 = path == \"/\"\n";
must_die('segments referring 300 deep', $chain, qr{site\.rules:\d+:\d+: error: .*(deep|depth)}i);

my $big_set = 'segment s = query("id") in [' . join(', ', map { "\"id$_\"" } 1 .. 100001) . "]\n";
must_die('a set of 100,001 items', $big_set, qr{site\.rules:1:\d+: error: .*(items|too many|large)}i);
may_load('a set of 50,000 items',
         'segment s = query("id") in [' . join(', ', map { "\"id$_\"" } 1 .. 50000) . "]\n"
         . "page \"/\" { variant \"in-set\" when s default \"d\" }\n",
         'GET /?id=id49999', 'in-set');

my $long_regex = 'segment s = path matches "' . ('a' x 9000) . "\"\n";
must_die('a 9 KB regex', $long_regex, qr{site\.rules:1:\d+: error: .*(regex|long)}i);
must_die('a regex that is not one', qq{segment s = path matches "(a"\n}, qr{site\.rules:1:\d+: error: bad regex}i);
may_load('500 regexes in one rule set',
         join('', map { "segment r$_ = path matches \"^/r$_/[a-z]+\$\"\n" } 1 .. 500)
         . "page \"/*\" { variant \"r250\" when r250 default \"d\" }\n",
         'GET /r250/abc', 'r250');

must_die('a 5 MB rules file', "# " . ('x' x (5 * 1024 * 1024)) . "\n", qr{site\.rules.*(large|size|MiB|too big)}i);
must_die('a NUL byte in the rules', "segment s = path == \"/\"\0\n", qr{site\.rules:1:\d+: error}i);
# Strings are compared as bytes: a Latin-1 byte in a rules file matches the same byte.
may_load('invalid UTF-8 in a rules string',
         "segment s = query(\"q\") == \"\xff\"\npage \"/\" { variant \"byte\" when s default \"d\" }\n",
         'GET /?q=%FF', 'byte');

done_testing;
